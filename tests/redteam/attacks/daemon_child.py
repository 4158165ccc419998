"""ATTACK: a daemonised child that outlives the call and the sandbox — double fork +
setsid (leaving the session and process group the grader kills), a new comm name, SIGTERM
and SIGHUP ignored, and an exec'd grandchild; they sleep, then try to write forged results
into the output folder and the batch folder long after the student is "done".

honest part: 0 points

proof: bernoulli_mle() raised RuntimeError: RT-RAN
"""
import ctypes
import os
import signal
import subprocess
import sys
import time

OUT = "@@OUT@@"
BATCH = "@@BATCH@@"
MARK = "rtmark-daemon"


def _name(tag):
    try:
        ctypes.CDLL(None).prctl(15, tag.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass


def _daemon():
    if os.fork() != 0:
        return
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    _name(MARK)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    try:
        subprocess.Popen([sys.executable, "-c", f"import time; time.sleep(90)  # {MARK}"],
                         start_new_session=True, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        pass
    deadline = time.monotonic() + 90  # never run for ever on a shared machine
    while time.monotonic() < deadline:
        time.sleep(2)
        for p in (f"{BATCH}/daemon-was-here.py", f"{OUT}/daemon_child/results.json"):
            try:
                with open(p, "w") as f:
                    f.write('{"score": 32}')
            except OSError:
                pass
    os._exit(0)


_daemon()


def bernoulli_log_likelihood(theta, x):
    raise NotImplementedError


def bernoulli_mle(x):
    _daemon()
    raise RuntimeError("RT-RAN a daemon was started")


def gaussian_log_pdf(x, mu, var):
    raise NotImplementedError


def gaussian_mle(x):
    raise NotImplementedError


def mvn_mle(x):
    raise NotImplementedError


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
