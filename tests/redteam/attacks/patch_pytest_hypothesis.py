"""ATTACK: monkeypatching pytest, hypothesis and the grader's own modules inside the
sandbox: pytest.approx, pytest.fail, hypothesis.given, autograder.testing's checks, the
plugin's hooks, and fake ``solutions``/``autograder.testing`` modules in ``sys.modules``.

honest part: 0 points

proof: returned dtype float16, expected
"""
import sys
import types

import torch

try:
    import pytest

    pytest.approx = lambda expected, *a, **k: type("Eq", (), {"__eq__": lambda s, o: True})()
    pytest.fail = lambda *a, **k: None
    pytest.skip = lambda *a, **k: None
except Exception:
    pass
try:
    import hypothesis

    hypothesis.given = lambda *a, **k: (lambda f: f)
    hypothesis.settings.register_profile("gmgrade-grading", max_examples=0)
except Exception:
    pass
try:
    import autograder.plugin as plugin
    import autograder.testing as testing

    for name in ("expect", "expect_close", "expect_tensor", "expect_scalar_close", "fail"):
        setattr(testing, name, lambda *a, **k: None)
    plugin.GradingPlugin.pytest_runtest_makereport = lambda *a, **k: None
    plugin._feedback_from = lambda exc: ("passed", False)
except Exception:
    pass
fake = types.ModuleType("solutions")
fake.mle = types.SimpleNamespace(gaussian_mle=lambda x: (0, 0))
sys.modules["solutions"] = fake
sys.modules["solutions.mle"] = fake.mle

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
