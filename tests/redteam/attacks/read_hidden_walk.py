"""ATTACK: walk the whole visible file system looking for the reference solution and the
hidden tests (files holding the reference's solution blocks, or the hidden tests' text),
including the course folder the harness names; if found,
run the reference and return its answers, and leak the text through error messages.

honest part: 0 points

proof: raised RuntimeError: RT-RAN found no hidden file
"""
import os

COURSE = "@@COURSE@@"
FOUND = {}


def _scan(roots, budget):
    import time

    stop = time.monotonic() + budget
    seen = 0
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in ("proc", "sys", "dev")]
            for name in filenames:
                seen += 1
                if seen > 300_000 or time.monotonic() > stop:
                    return
                if not name.endswith(".py"):
                    continue
                path = os.path.join(dirpath, name)
                if path.startswith("/submission"):
                    continue
                try:
                    with open(path, errors="replace") as f:
                        text = f.read(200_000)
                except OSError:
                    continue
                # the reference (its solution blocks), or the hidden tests (the harness marks
                # both; public engine code such as autograder/testing.py also shows examples)
                if ("RT-SOLUTION-SECRET" in text or "RT-HIDDEN-SECRET" in text
                        or ("BEGIN SOLUTION" in text and "def gaussian_mle" in text)):
                    FOUND[path] = text


_scan([COURSE, "/work", "/home", "/root", "/srv", "/autograder", "/grader", "/tmp",
       os.path.expanduser("~")], 4.0)
_ref = {}
for _path, _text in FOUND.items():
    if "BEGIN SOLUTION" in _text and _path.endswith("mle.py"):
        try:
            exec(compile(_text, _path, "exec"), _ref)
        except Exception:
            pass


def _leak():
    if FOUND:
        raise RuntimeError("RT-ESCAPED read hidden files: " + " ".join(FOUND)[:500]
                           + "\n" + "\n".join(t[:3000] for t in FOUND.values()))
    raise RuntimeError("RT-RAN found no hidden file")


def _use(name, *args):
    if name in _ref:
        return _ref[name](*args)
    _leak()


def bernoulli_log_likelihood(theta, x):
    return _use("bernoulli_log_likelihood", theta, x)


def bernoulli_mle(x):
    _scan(["/"], 2.5)  # the whole file system, within this test's time limit
    return _use("bernoulli_mle", x)


def gaussian_log_pdf(x, mu, var):
    return _use("gaussian_log_pdf", x, mu, var)


def gaussian_mle(x):
    return _use("gaussian_mle", x)


def mvn_mle(x):
    return _use("mvn_mle", x)


def mvn_log_pdf(x, mu, cov):
    return _use("mvn_log_pdf", x, mu, cov)
