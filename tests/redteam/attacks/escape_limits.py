"""ATTACK: escape the limits from inside — raise rlimits back (setrlimit to infinity),
setuid(0)/setgid(0), unshare new user/mount/pid/net namespaces, mount over /grader, chroot,
write a machine-wide /proc/sys setting, open the grader's package for
writing and replace autograder/testing.py.

honest part: 0 points

proof: bernoulli_mle() raised RuntimeError: RT-RAN
"""
import ctypes
import os
import resource

libc = ctypes.CDLL(None, use_errno=True)


def _try():
    won = []
    for r in (resource.RLIMIT_AS, resource.RLIMIT_CPU, resource.RLIMIT_NPROC, resource.RLIMIT_FSIZE):
        try:
            resource.setrlimit(r, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            won.append(f"rlimit {r}")
        except (ValueError, OSError):
            pass
    for fn in (lambda: os.setuid(0), lambda: os.setgid(0)):
        try:
            fn()
            won.append("setuid/setgid 0")
        except OSError:
            pass
    for flags in (0x10000000, 0x00020000, 0x20000000, 0x40000000):  # NEWUSER, NEWNS, NEWPID, NEWNET
        if libc.unshare(flags) == 0:
            won.append(f"unshare({flags:#x})")
    if libc.mount(b"tmpfs", b"/grader", b"tmpfs", 0, None) == 0:
        won.append("mounted over /grader")
    if libc.chroot(b"/tmp") == 0:
        won.append("chroot")
    import autograder.testing as t
    for path in (t.__file__, "/grader/autograder/testing.py"):
        try:
            with open(path, "a") as f:
                f.write("\n# RT was here\n")
            won.append(f"wrote {path}")
        except OSError:
            pass
    try:  # a machine-wide setting (pid_max, shmmax … are per namespace): write it back
        with open("/proc/sys/kernel/randomize_va_space") as f:
            current = f.read()
        with open("/proc/sys/kernel/randomize_va_space", "w") as f:
            f.write(current)
        won.append("wrote /proc/sys/kernel/randomize_va_space")
    except OSError:
        pass
    if won and any(w.startswith(("setuid", "mounted", "chroot", "wrote", "unshare")) for w in won):
        raise RuntimeError("RT-ESCAPED " + ", ".join(won))
    raise RuntimeError("RT-RAN every escape was refused")


def bernoulli_log_likelihood(theta, x):
    raise NotImplementedError


def bernoulli_mle(x):
    _try()


def gaussian_log_pdf(x, mu, var):
    raise NotImplementedError


def gaussian_mle(x):
    raise NotImplementedError


def mvn_mle(x):
    raise NotImplementedError


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
