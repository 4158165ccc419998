"""ATTACK: answers that change between calls — state kept in module globals and in a file in
the working folder, so that repeated
calls, hypothesis' replays and the shrinking phase see different values; values depend on
the call count, the wall clock and the process id.

honest part: 0 points

proof: mvn_mle(x[perm]) vs mvn_mle(x)
"""
import os
import time

import torch

STATE = "rt-state"  # in the working folder
_n = [0]


def _count():
    _n[0] += 1
    try:
        with open(STATE) as f:
            k = int(f.read() or 0) + 1
    except (OSError, ValueError):
        k = 1
    try:
        with open(STATE, "w") as f:
            f.write(str(k))
    except OSError:
        pass
    return k + _n[0]  # grows by 2 per call: no two calls in a row answer the same


def _val(shape=(), dtype=torch.float64):
    k = _count() + os.getpid() % 2 + int(time.time() // 3600) % 2
    return torch.full(shape, float(k % 3) * 0.25 + 0.125, dtype=dtype)


def bernoulli_log_likelihood(theta, x):
    return _val(dtype=x.dtype) - 1.0


def bernoulli_mle(x):
    return _val(dtype=x.dtype)


def gaussian_log_pdf(x, mu, var):
    return _val(torch.broadcast_shapes(x.shape, mu.shape, var.shape), x.dtype)


def gaussian_mle(x):
    return _val(dtype=x.dtype), _val(dtype=x.dtype)


def mvn_mle(x):
    d = x.shape[1]
    return _val((d,), x.dtype), _val((d, d), x.dtype)


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
