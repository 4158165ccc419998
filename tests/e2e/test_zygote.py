"""The sandboxed zygote: students forked from one warm template cannot see each other.

Each test runs two students at once from the same zygote (the way a batch with
``--jobs 2`` does, and the worst case: the earlier student is still alive) and lets the
second one look for anything the first one left: files, processes, shared memory,
sockets, memory. The per-backend tests of every worker feature run through a zygote too
(tests/e2e/test_worker.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch

from autograder import sandbox, zygote
from autograder.student import StudentProxy, WorkerSession

pytestmark = pytest.mark.skipif(not sandbox.bwrap_works(), reason="needs bubblewrap")

# both students' code: the command line of every process a student can see
PROCESSES = r'''
def processes():
    import os
    seen = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    seen.append(f.read().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                pass
    return seen
'''

FIRST = r'''
import os, socket, subprocess, time
SECRET = "first-student-secret-4711"
_keep = []
def leave_traces():
    with open("/tmp/secret.txt", "w") as f:
        f.write(SECRET)
    with open("/dev/shm/secret", "w") as f:
        f.write(SECRET)
    os.makedirs("/tmp/work/deep", exist_ok=True)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind("\0gmgrade-first-student")
    s.listen(1)
    _keep.append(s)
    # a daemon that outlives the test: it left the session and the process group
    subprocess.Popen(["/bin/sh", "-c", "sleep 300"], start_new_session=True)
    return os.getpid()
def still_alive():
    return processes()
''' + PROCESSES

SECOND = r'''
import gc, os, socket
def look():
    found = {}
    found["tmp"] = sorted(os.listdir("/tmp"))
    found["work"] = sorted(os.listdir("/tmp/work"))
    found["shm"] = sorted(os.listdir("/dev/shm"))
    found["processes"] = processes()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect("\0gmgrade-first-student")
        found["socket"] = "connected"
    except OSError as e:
        found["socket"] = type(e).__name__
    found["memory"] = any(isinstance(o, str) and "first-student-secret" in o
                          for o in gc.get_objects())
    found["hostname"] = os.uname().nodename
    return found
def fork_many(n):
    import time
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        pids.append(pid)
    return len(pids)
''' + PROCESSES


@pytest.fixture(scope="module")
def z():
    got = zygote.start_shared("bwrap", sandbox.Limits(processes=40), "cpu", [], ())
    assert got is not None, "nested namespaces should work where bubblewrap does"
    assert got.threads == 1, "the zygote must stay single-threaded before it forks"
    yield got
    zygote.stop_shared()


def _student(tmp_path, name: str, source: str, processes: int = 40):
    src = tmp_path / f"{name}.py"
    src.write_text(source)
    spec = sandbox.SandboxSpec(backend="bwrap", limits=sandbox.Limits(processes=processes),
                               submission=src)
    session = WorkerSession(spec, [source], name, filename=f"/submission/{name}.py")
    session.ensure_started()
    assert not isinstance(session.proc.proc, subprocess.Popen), "not forked by the zygote"
    return session, StudentProxy(session, timeout=20, cpu_seconds=30)


def _in_test(proxy: StudentProxy, fn: str, *args):
    proxy._start_test(20)
    try:
        return proxy.call(fn, *args)
    finally:
        proxy._finish_test()


def test_a_student_sees_nothing_of_another(z, tmp_path):
    first, p1 = _student(tmp_path, "first", FIRST)
    second, p2 = _student(tmp_path, "second", SECOND)
    try:
        p1._start_test(20)
        p1.call("leave_traces")  # the first student's test is still running meanwhile
        found = _in_test(p2, "look")
        p1._finish_test()
    finally:
        first.close()
        second.close()
    assert found["tmp"] == ["work"] and found["work"] == [] and found["shm"] == []
    assert not any("sleep" in c for c in found["processes"]), found["processes"]
    assert len(found["processes"]) <= 3, found["processes"]  # worker, its test child, (init)
    assert found["socket"] in ("ConnectionRefusedError", "FileNotFoundError"), found["socket"]
    assert found["memory"] is False
    assert found["hostname"] == "sandbox"


def test_leftovers_die_with_the_test_and_the_student(z, tmp_path):
    session, p = _student(tmp_path, "first", FIRST)
    try:
        _in_test(p, "leave_traces")
        alive = _in_test(p, "still_alive")  # the next test of the same student
        assert not any("sleep" in c for c in alive), alive  # the daemon is gone
        assert len(alive) <= 3, alive  # the worker, this test's child and the next one's, forked ahead
        ns = session.proc._ns
        assert ns and sandbox._pids_in_pidns(ns)
    finally:
        session.close()
    assert sandbox._pids_in_pidns(ns) == []


def test_process_limit_is_per_student(z, tmp_path):
    hog, p1 = _student(tmp_path, "hog", SECOND, processes=12)
    other, p2 = _student(tmp_path, "other", SECOND, processes=12)
    try:
        p1._start_test(20)
        with pytest.raises(AssertionError, match="BlockingIOError|Resource temporarily"):
            p1.call("fork_many", 50)  # hits its own limit while its children still sleep
        assert _in_test(p2, "fork_many", 5) == 5  # another student still has all of its own
        p1._finish_test()
    finally:
        hog.close()
        other.close()


def test_worker_dies_when_the_grader_does(z, tmp_path):
    session, p = _student(tmp_path, "first", FIRST)
    ns = session.proc._ns
    os.close(session.proc.lifeline)  # what the kernel does when the grader's process ends
    session.proc.lifeline = None
    deadline = time.monotonic() + 10
    while sandbox._pids_in_pidns(ns) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox._pids_in_pidns(ns) == []
    session.close()


def test_spawned_workers_answer_like_exec_ones(z, tmp_path):
    session, p = _student(tmp_path, "sub", "import torch\ndef f(x):\n    return x.cumsum(0)\n")
    try:
        assert torch.equal(_in_test(p, "f", torch.arange(4.0)), torch.tensor([0.0, 1, 3, 6]))
    finally:
        session.close()


def test_without_nested_namespaces_each_student_gets_its_own_sandbox(monkeypatch):
    notes = []

    def refuse(*a, **k):
        raise zygote.ZygoteUnavailable("this host does not allow nested namespaces (EPERM)")

    monkeypatch.setattr(zygote, "Zygote", refuse)
    assert zygote.start_shared("bwrap", sandbox.Limits(), "cpu", [], (), note=notes.append) is None
    assert notes and "nested namespaces" in notes[0] and "sandbox of its own" in notes[0]
    spec = sandbox.SandboxSpec(backend="bwrap", limits=sandbox.Limits(), submission=None)
    assert zygote.shared_for(spec) is None


def test_the_probe_reports_a_host_without_nested_namespaces(tmp_path):
    """Inside an exec'd worker's sandbox (--disable-userns) the probe must say no."""
    code = ("import sys; sys.path.insert(0, '/grader'); from autograder import zygote; "
            "print(repr(zygote._probe_nested()))")
    stage = sandbox._Stage()
    args = sandbox._bwrap_args(sandbox.Limits(), "cpu", None, (), stage, nested=False)
    if "--disable-userns" not in args:
        pytest.skip("this bubblewrap cannot forbid nested user namespaces")

    def pre():
        if stage.paths:
            sandbox._expose_to_nobody(stage.paths, stage.dir)
        if os.geteuid() == 0:
            sandbox._drop_privileges(sandbox.NOBODY, sandbox.NOBODY)

    try:
        out = subprocess.run(args + [sys.executable, "-s", "-E", "-c", code], capture_output=True,
                             text=True, timeout=60, preexec_fn=pre)
    finally:
        if stage.dir:
            import shutil

            shutil.rmtree(stage.dir, ignore_errors=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() != "True"
