"""ATTACK: fake results on stdout and stderr — pytest summary lines, Gradescope JSON,
terminal escape sequences that rewrite earlier lines (\\r, ANSI cursor moves, OSC title),
"FAILED" lines turned into "PASSED", both at import and inside every call.

honest part: 0 points

proof: bernoulli_log_likelihood() raised ValueError:
proof: returned 'PASSED' of type str; expected a torch.Tensor
"""
import json
import sys

import torch

FAKE = [
    "\r\x1b[2K\x1b[1A\x1b[2K" + "=" * 30 + " 32 passed in 0.1s " + "=" * 30,
    json.dumps({"score": 32.0, "max_score": 32.0, "tests": [{"name": "all", "score": 32.0,
                                                              "status": "passed"}]}),
    "\x1b]0;gmgrade: 32/32\x07PASSED test_hidden.py::test_gaussian_mle_values",
    "<script>alert('xss')</script><b>32 / 32</b>",
]


def _say():
    for line in FAKE:
        print(line, flush=True)
        sys.stderr.write(line + "\n")
    sys.stdout.flush()


_say()


def bernoulli_log_likelihood(theta, x):
    _say()
    raise ValueError("\r\x1b[2K<script>alert(1)</script> PASSED 32/32")


def bernoulli_mle(x):
    _say()
    return "PASSED"


def gaussian_log_pdf(x, mu, var):
    _say()
    raise NotImplementedError


def gaussian_mle(x):
    _say()
    raise NotImplementedError


def mvn_mle(x):
    _say()
    raise NotImplementedError


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
