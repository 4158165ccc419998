"""ATTACK: objects that lie — __eq__/__ne__/__bool__/__float__/__index__/__len__ rigged to
look equal to anything, a float subclass, and a fake ``__class__`` claiming to be a tensor.

honest part: 0 points

proof: returned a mle.AlwaysClose (cannot be sent to the grader)
proof: gaussian_log_pdf() raised UnsendableResult
"""
import torch


class Liar:
    """Equal to everything, truthy, close to everything, and claims to be a tensor."""
    __class__ = property(lambda self: torch.Tensor)  # isinstance(obj, torch.Tensor) is True
    shape = torch.Size([])
    dtype = torch.float64
    device = torch.device("cpu")

    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __le__(self, other): return True
    def __gt__(self, other): return True
    def __ge__(self, other): return True
    def __bool__(self): return True
    def __float__(self): return 0.0
    def __index__(self): return 0
    def __int__(self): return 0
    def __len__(self): return 2
    def __iter__(self): return iter([Liar(), Liar()])
    def __getitem__(self, i): return Liar()
    def __abs__(self): return 0.0
    def __sub__(self, other): return 0.0
    __rsub__ = __sub__
    def __hash__(self): return 0
    def __getattr__(self, name): return lambda *a, **k: Liar()
    def __array__(self, *a, **k):
        import numpy
        return numpy.zeros(())


class AlwaysClose(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __sub__(self, other): return AlwaysClose(0.0)
    __rsub__ = __sub__
    def __abs__(self): return AlwaysClose(0.0)
    def __le__(self, other): return True
    def __ge__(self, other): return True
    __hash__ = float.__hash__


def bernoulli_log_likelihood(theta, x):
    return Liar()


def bernoulli_mle(x):
    return AlwaysClose(0.5)


def gaussian_log_pdf(x, mu, var):
    return Liar()


def gaussian_mle(x):
    return (Liar(), AlwaysClose(1.0))


def mvn_mle(x):
    return Liar()


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
