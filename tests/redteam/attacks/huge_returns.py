"""ATTACK: huge and hostile return values — a 1.2 GB tensor, a list of 10**6 numbers, a
dict with a million keys, a 2 MB string, a 10**5-digit int, nesting 10 000 levels deep, a
self-referential list, a generator, a sparse tensor claiming 10**12 elements, a meta-device
tensor and a tensor of an unsupported dtype.

honest part: 0 points

proof: bernoulli_mle() raised UnsendableResult
proof: mvn_mle() raised UnsendableResult
"""
import torch

_n = [0]


def _huge():
    _n[0] += 1
    k = _n[0] % 10
    if k == 0:
        return torch.ones(300 * 2 ** 20)  # 1.2 GB of float32
    if k == 1:
        return list(range(10 ** 6))
    if k == 2:
        return {str(i): i for i in range(10 ** 6)}
    if k == 3:
        return "S" * (2 * 2 ** 20)
    if k == 4:
        import sys
        sys.set_int_max_str_digits(0)
        return 10 ** 100_000
    if k == 5:
        v = []
        for _ in range(10_000):
            v = [v]
        return v
    if k == 6:
        v = []
        v.append(v)
        return v
    if k == 7:
        return (i for i in range(3))
    if k == 8:
        return torch.sparse_coo_tensor(torch.tensor([[0], [0]]), torch.tensor([1.0]),
                                       (10 ** 6, 10 ** 6))
    return torch.empty(10 ** 9, device="meta")


def bernoulli_log_likelihood(theta, x):
    return _huge()


def bernoulli_mle(x):
    return _huge()


def gaussian_log_pdf(x, mu, var):
    return _huge()


def gaussian_mle(x):
    return _huge(), _huge()


def mvn_mle(x):
    return _huge()


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
