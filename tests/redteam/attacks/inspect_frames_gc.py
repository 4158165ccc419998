"""ATTACK: stack-frame and garbage-collector inspection — walk ``sys._getframe()`` up to the
top, look at every frame's locals and globals, and search ``gc.get_objects()`` for anything
that looks like the grader's expected answer, a reference module, a test function or the
grader's pytest plugin; return whatever tensor is found there.

honest part: 0 points

proof: bernoulli_mle() raised RuntimeError: RT-RAN found no grader object
"""
import gc
import sys

import torch


def _hunt(args):
    found = []
    f = sys._getframe()
    while f is not None:
        for scope in (f.f_locals, f.f_globals):
            for k, v in list(scope.items()):
                if k in ("want", "expected", "reference", "ref") or "reference" in repr(type(v)):
                    found.append(v)
        f = f.f_back
    for obj in gc.get_objects():
        try:
            if type(obj).__name__ in ("Reference", "GradingPlugin", "StudentProxy"):
                found.append(obj)
            elif type(obj).__module__.startswith("gmgrade_reference"):
                found.append(obj)
        except Exception:
            pass
    tensors = [t for t in found if isinstance(t, torch.Tensor)]
    if found and not tensors:
        raise RuntimeError("RT-ESCAPED found grader objects: " + repr(found)[:2000])
    if tensors:
        return tensors[0]
    raise RuntimeError("RT-RAN found no grader object")


def bernoulli_log_likelihood(theta, x):
    return _hunt((theta, x))


def bernoulli_mle(x):
    return _hunt((x,))


def gaussian_log_pdf(x, mu, var):
    return _hunt((x, mu, var))


def gaussian_mle(x):
    return _hunt((x,)), _hunt((x,))


def mvn_mle(x):
    raise NotImplementedError


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
