"""ATTACK: a torch.Tensor subclass whose comparisons, arithmetic, ``shape``, ``dtype``,
``tolist`` and ``numpy`` lie, and whose ``__torch_function__`` answers every torch call
(isclose, allclose, equal, sub, abs, detach, as_subclass, contiguous …) with a tensor of
"all close"/True — so that any comparison run on it in the grader would pass.

honest part: 0 points

proof: bernoulli_mle(x) returned θ = 1.00001e+06
proof: mvn_mle(x) returned a covariance that is not positive definite
"""
import torch


class Rigged(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("isclose", "eq", "__eq__", "equal", "allclose", "isfinite", "all", "any", "ge", "le"):
            return torch.tensor(True)
        if name in ("sub", "__sub__", "__rsub__", "abs", "__abs__"):
            return torch.tensor(0.0, dtype=torch.float64)
        kwargs = kwargs or {}
        with torch._C.DisableTorchFunctionSubclass():
            out = func(*args, **kwargs)
        return out

    def __eq__(self, other): return torch.tensor(True)
    def __bool__(self): return True
    def tolist(self): return 0.5
    def numpy(self, *a, **k):
        import numpy
        return numpy.float64(0.5)


_calls = [0]


def _rig(value, shape=(), dtype=torch.float64):
    _calls[0] += 1  # a different wrong value on every call
    return torch.full(shape, 1e6 + _calls[0], dtype=dtype).as_subclass(Rigged)


def bernoulli_log_likelihood(theta, x):
    return _rig(0)


def bernoulli_mle(x):
    return _rig(0, dtype=x.dtype)


def gaussian_log_pdf(x, mu, var):
    return _rig(0, torch.broadcast_shapes(x.shape, mu.shape, var.shape), x.dtype)


def gaussian_mle(x):
    return _rig(0, dtype=x.dtype), _rig(0, dtype=x.dtype)


def mvn_mle(x):
    d = x.shape[-1]
    return _rig(0, (d,), x.dtype), _rig(0, (d, d), x.dtype)


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
