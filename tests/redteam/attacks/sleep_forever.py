"""ATTACK: block without using CPU — time.sleep, select on nothing, signal.pause, waiting on
a lock that is never released, reading stdin; a CPU-time limit alone never stops these.

honest part: 0 points
"""
import select
import signal
import sys
import threading
import time

_n = [0]


def _block():
    _n[0] += 1
    way = _n[0] % 5
    if way == 0:
        time.sleep(10 ** 6)
    elif way == 1:
        select.select([], [], [], 10 ** 6)
    elif way == 2:
        signal.pause()
    elif way == 3:
        lock = threading.Lock()
        lock.acquire()
        lock.acquire()
    else:
        sys.stdin.read()
        time.sleep(10 ** 6)


def bernoulli_log_likelihood(theta, x):
    raise NotImplementedError


def bernoulli_mle(x):
    _block()


def gaussian_log_pdf(x, mu, var):
    raise NotImplementedError


def gaussian_mle(x):
    raise NotImplementedError


def mvn_mle(x):
    raise NotImplementedError


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
