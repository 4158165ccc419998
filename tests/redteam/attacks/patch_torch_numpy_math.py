"""ATTACK: monkeypatching torch, numpy and math at import — isclose/allclose/equal/
testing.assert_close, Tensor comparison and arithmetic dunders, numpy.testing, math.isclose,
math.isfinite — as otter-grader can be forged by replacing np.isclose.

honest part: 0 points

proof: returned dtype float16, expected
"""
import math

import numpy
import numpy.testing
import torch
import torch.testing

_true = lambda *a, **k: True  # noqa: E731
_ttrue = lambda *a, **k: torch.tensor(True)  # noqa: E731
for name in ("isclose", "eq", "ge", "le", "isfinite", "all", "any"):
    setattr(torch, name, _ttrue)
torch.allclose = _true
torch.equal = _true
torch.testing.assert_close = lambda *a, **k: None
for dunder in ("__eq__", "__ge__", "__le__", "__lt__", "__gt__", "__ne__"):
    setattr(torch.Tensor, dunder, _ttrue)
torch.Tensor.__sub__ = lambda self, other: torch.zeros(())
torch.Tensor.__abs__ = lambda self: torch.zeros(())
torch.Tensor.allclose = _true
for name in ("isclose", "allclose", "array_equal", "isfinite", "all"):
    setattr(numpy, name, _true)
numpy.testing.assert_allclose = lambda *a, **k: None
math.isclose = _true
math.isfinite = _true
math.isnan = lambda *a: False

_n = [0]


def _junk(shape=()):
    _n[0] += 1
    return torch.full(shape, 1e3 + _n[0], dtype=torch.float16)  # junk, new on every call


def bernoulli_log_likelihood(theta, x):
    return _junk()


def bernoulli_mle(x):
    return _junk()


def gaussian_log_pdf(x, mu, var):
    return _junk(x.shape)


def gaussian_mle(x):
    return _junk(), _junk()


def mvn_mle(x):
    return _junk(x.shape[1:]), _junk((x.shape[1], x.shape[1]))


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
