"""ATTACK: import the hidden material — ``import solutions``, ``solutions.mle``, paths next to
the autograder package (``autograder/../solutions/mle.py``), the course folder put on
sys.path, the hidden test module by name, and ``autograder.verify``/``autograder.course``
to locate the course; the reference's answers are returned if found.

honest part: 0 points

proof: bernoulli_mle() raised RuntimeError: RT-RAN
"""
import importlib
import importlib.util
import os
import sys

COURSE = "@@COURSE@@"
REF = None
TRIED = []

for root in (COURSE, os.path.dirname(os.path.dirname(__import__("autograder").__file__)),
             "/grader", "/work/main", "/"):
    sys.path.insert(0, root)
    TRIED.append(root)
for name in ("solutions.mle", "solutions", "solutions.tests.mle.test_hidden", "test_hidden"):
    try:
        mod = importlib.import_module(name)
        if hasattr(mod, "gaussian_mle"):
            REF = mod
    except Exception:
        pass
for root in TRIED:
    path = os.path.join(root, "solutions", "mle.py")
    try:
        spec = importlib.util.spec_from_file_location("rt_ref", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        REF = mod
    except Exception:
        pass
try:
    from autograder.course import Course, find_root

    c = Course(find_root(None))
    sol = c.solution("mle")
    if sol:
        spec = importlib.util.spec_from_file_location("rt_ref2", sol)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        REF = mod
except Exception:
    pass


def _use(name, *args):
    if REF is not None:
        return getattr(REF, name)(*args)
    raise RuntimeError(f"RT-RAN found nothing to import in {len(TRIED)} places")


def bernoulli_log_likelihood(theta, x):
    return _use("bernoulli_log_likelihood", theta, x)


def bernoulli_mle(x):
    return _use("bernoulli_mle", x)


def gaussian_log_pdf(x, mu, var):
    return _use("gaussian_log_pdf", x, mu, var)


def gaussian_mle(x):
    return _use("gaussian_mle", x)


def mvn_mle(x):
    return _use("mvn_mle", x)


def mvn_log_pdf(x, mu, cov):
    return _use("mvn_log_pdf", x, mu, cov)
