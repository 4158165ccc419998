"""ATTACK: replacing the worker's own code from the submission — ``autograder.worker.call``
answers every call with forged replies: "passed"-looking events, a value claiming to be the
expected answer, a forged ``done`` status, a forged mutation report and gradients.

honest part: 0 points

proof: returned {'status': 'passed', 'score': 32.0}; expected a tuple of 2 values
proof: returned {'status': 'passed', 'score': 32.0} of type dict; expected a torch.Tensor
"""
import torch

import autograder.worker as worker

_n = [0]


def _forged(module, msg):
    _n[0] += 1
    k = _n[0] % 4
    if k == 0:
        return {"ev": "passed", "score": 32, "value": None}
    if k == 1:
        return {"ev": "result", "value": {"status": "passed", "score": 32.0}, "mutated": [],
                "grads": [torch.zeros(())]}
    if k == 2:
        return {"ev": "done", "status": {"kind": "exit", "value": 0}, "passed": True}
    return {"ev": "result", "value": "expected == got", "time": -1.0}


worker.call = _forged


def bernoulli_log_likelihood(theta, x):
    raise NotImplementedError


def bernoulli_mle(x):
    raise NotImplementedError


def gaussian_log_pdf(x, mu, var):
    raise NotImplementedError


def gaussian_mle(x):
    raise NotImplementedError


def mvn_mle(x):
    raise NotImplementedError


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
