"""The sandboxed worker through the trusted proxy, on both backends."""


import subprocess

import pytest
import torch

from autograder import compat, sandbox, zygote
from autograder.student import (StudentCrash, StudentError, StudentMissing, StudentNotImplemented,
                                StudentProxy, StudentTimeout, WorkerSession, WorkerUnavailable)

SOURCE = '''
import os, time, torch
def double(x):
    return x * 2
def affine(mu, log_var):
    return mu + torch.exp(0.5 * log_var)
def inplace(x):
    x += 1
    return x
def boom():
    os._exit(7)
def spin():
    while True:
        pass
def raises(n):
    return [1, 2][n]
def todo():
    raise NotImplementedError
def numpy_out():
    import numpy
    return numpy.zeros(2)
'''

# portable: the student's own machine (compat.py: no fork, stdio transport), here on Linux
BACKENDS = ["process", "portable"] + (["bwrap"] if sandbox.bwrap_works() else [])


# how workers start: each from scratch ("exec"), or forked by a zygote of their backend
LAUNCHES = [("exec", b) for b in BACKENDS] + [("zygote", b) for b in BACKENDS if b != "portable"]


def pytest_generate_tests(metafunc):
    if "proxy" in metafunc.fixturenames:  # every test below runs on every (launch, backend)
        metafunc.parametrize("launch", LAUNCHES, ids=[f"{a}-{b}" for a, b in LAUNCHES],
                             indirect=True, scope="module")


@pytest.fixture(scope="module")
def launch(request):
    how, backend = request.param
    if how == "zygote":
        assert zygote.start_shared(backend, sandbox.Limits(), "cpu", [], ()) is not None
    yield request.param
    zygote.stop_shared()


@pytest.fixture
def proxy(launch, tmp_path, monkeypatch):
    how, kind = launch
    src = tmp_path / "sub.py"
    src.write_text(SOURCE)
    if kind == "portable":
        monkeypatch.setattr(compat, "linux_process_backend", lambda: False)
    backend = "process" if kind == "portable" else kind
    spec = sandbox.SandboxSpec(backend=backend, limits=sandbox.Limits(), submission=src)
    session = WorkerSession(spec, [SOURCE], "sub", filename=str(src))
    p = StudentProxy(session, timeout=3, cpu_seconds=10)
    yield p
    if how == "zygote":
        assert session.proc is None or not isinstance(session.proc.proc, subprocess.Popen), \
            "the worker did not come from the zygote"
    session.close()


def run(p, fn, *args, **kw):
    p._start_test(3)
    try:
        return p.call(fn, *args, **kw)
    finally:
        p._finish_test()


def test_calls_return_plain_data(proxy):
    assert torch.equal(run(proxy, "double", torch.arange(3.0)), torch.tensor([0.0, 2, 4]))


def test_gradients_come_back_as_data(proxy):
    proxy._start_test(3)
    value, (g_mu, g_lv) = proxy.grad("affine", torch.zeros(2), torch.zeros(2), wrt=(0, 1))
    proxy._finish_test()
    assert torch.equal(value, torch.ones(2))
    assert torch.equal(g_mu, torch.ones(2)) and torch.allclose(g_lv, torch.full((2,), 0.5))


def test_mutation_is_reported(proxy):
    proxy._start_test(3)
    _, mutated = proxy.call_checking_inputs("inplace", torch.zeros(2))
    proxy._finish_test()
    assert mutated == [0]


@pytest.mark.parametrize("fn, exc, text", [
    ("boom", StudentCrash, "exit code 7"),
    ("spin", StudentTimeout, "timed out after 3 s"),
    ("nope", StudentMissing, "does not define nope()"),
    ("todo", StudentNotImplemented, "not implemented yet"),
])
def test_failures_become_feedback_and_worker_recovers(proxy, fn, exc, text):
    with pytest.raises(exc) as e:
        run(proxy, fn)
    assert text in e.value.feedback
    assert torch.equal(run(proxy, "double", torch.ones(1)), torch.full((1,), 2.0))


def test_student_exception_has_traceback(proxy):
    with pytest.raises(StudentError) as e:
        run(proxy, "raises", 5)
    assert "IndexError" in e.value.feedback and "[1, 2][n]" in e.value.feedback


def test_non_tensor_results_are_described(proxy):
    out = run(proxy, "numpy_out")
    assert "numpy" in out.type_name


def test_import_failure_reports_for_every_call(tmp_path):
    src = tmp_path / "bad.py"
    src.write_text("import os\nos._exit(3)\n")
    spec = sandbox.SandboxSpec(backend="process", limits=sandbox.Limits(), submission=src)
    session = WorkerSession(spec, [src.read_text()], "bad", filename=str(src))
    p = StudentProxy(session, timeout=3, cpu_seconds=10)
    with pytest.raises(WorkerUnavailable, match="while it was being loaded"):
        run(p, "f")
    session.close()


@pytest.mark.skipif(not sandbox.bwrap_works(), reason="bubblewrap is not usable here")
def test_bwrap_hides_the_course_and_the_network(tmp_path):
    probe = '''
import os, socket
def look():
    seen = {p: os.path.exists(p) for p in [%r, "/work", "/root/.ssh", "/home"]}
    try:
        socket.create_connection(("127.0.0.1", 22), timeout=1)
        seen["net"] = True
    except OSError:
        seen["net"] = False
    return seen
''' % str(sandbox.PACKAGE_DIR.parent / "solutions")
    src = tmp_path / "probe.py"
    src.write_text(probe)
    spec = sandbox.SandboxSpec(backend="bwrap", limits=sandbox.Limits(), submission=src)
    session = WorkerSession(spec, [probe], "probe", filename="/submission/probe.py")
    p = StudentProxy(session, timeout=5, cpu_seconds=10)
    seen = run(p, "look")
    session.close()
    assert not any(seen.values()), seen
