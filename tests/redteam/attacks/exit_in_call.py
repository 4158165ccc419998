"""ATTACK: leaving in the middle of a call every way Python allows — sys.exit(0),
os._exit(0), SIGKILL to itself, SIGSTOP to itself, SIGKILL/SIGSTOP to its parent (the
worker), KeyboardInterrupt, GeneratorExit — each after printing "PASSED".

honest part: 0 points
"""
import os
import signal
import sys

_n = [0]


def _leave():
    _n[0] += 1
    print("PASSED", flush=True)
    way = _n[0] % 7
    if way == 0:
        sys.exit(0)
    if way == 1:
        os._exit(0)
    if way == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    if way == 3:
        os.kill(os.getpid(), signal.SIGSTOP)
    if way == 4:
        os.kill(os.getppid(), signal.SIGSTOP)
    if way == 5:
        raise KeyboardInterrupt
    raise GeneratorExit


def bernoulli_log_likelihood(theta, x):
    _leave()


def bernoulli_mle(x):
    _leave()


def gaussian_log_pdf(x, mu, var):
    _leave()


def gaussian_mle(x):
    os.kill(os.getppid(), signal.SIGKILL)
    _leave()


def mvn_mle(x):
    _leave()


def mvn_log_pdf(x, mu, cov):
    _leave()
