"""ATTACK: monkeypatching builtins — isinstance, type, float, abs, bool, all, any, round,
len, print, open, __import__ — through the ``builtins`` module and ``__builtins__``.

honest part: 0 points

proof: your code ended the grading process while it was being loaded
"""
import builtins

import torch

_real_isinstance = builtins.isinstance
builtins.isinstance = lambda obj, cls: True
builtins.abs = lambda x: 0.0
builtins.all = lambda it: True
builtins.any = lambda it: True
builtins.float = lambda *a: 0.0
builtins.round = lambda *a, **k: 0
builtins.bool = lambda *a: True
_real_import = builtins.__import__


def _import(name, *a, **k):
    mod = _real_import(name, *a, **k)
    if name.startswith(("autograder", "pytest", "hypothesis")):
        for attr in ("expect_close", "expect_tensor", "expect", "fail"):
            if hasattr(mod, attr):
                try:
                    setattr(mod, attr, lambda *a, **k: None)
                except Exception:
                    pass
    return mod


builtins.__import__ = _import


def bernoulli_log_likelihood(theta, x):
    return "passed"


def bernoulli_mle(x):
    return True


def gaussian_log_pdf(x, mu, var):
    return None


def gaussian_mle(x):
    return 0, 0


def mvn_mle(x):
    return [], {}


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
