"""A pre-warmed trusted template for batches: imports paid once, one fork per submission.

Grading one submission in a fresh ``python -m autograder.runner`` costs a second or two of
CPU before any test runs (torch, pytest, hypothesis and the engine are imported again each
time), then pytest's start-up and the collection of the tests (importing their modules).
A batch instead starts one template process that imports all of that once. For each
assignment (and grading options) it forks an *assignment template* that runs pytest up to
the end of collection (:func:`autograder.runner.collect_once`); that one forks a child per
submission, which continues the collected session: the tests, for that submission only,
then the result, exactly as ``autograder.runner`` writes it.
When an assignment's tests cannot be collected, its requests are graded by plain forks of
the template, which run the whole of ``autograder.runner`` (and report the error as it
does). Each child is a fresh copy of a template that never ran a test, so no state passes
from one student to the next, and the student's code still runs only in the sandboxed
worker the child starts.

Protocol, over a Unix socket in a private folder: the client sends the request file's path
and a newline; the template hands the connection to the request's assignment template (or
forks itself); the child answers its pid at once and its exit code when it is done. A
connection closed without a code means the child died (the client reports it like a
crashed ``autograder.runner``). The client kills the child on timeout.
"""

from __future__ import annotations

import ast
import faulthandler
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from autograder.errors import GraderError

if TYPE_CHECKING:
    from autograder.course import Course
    from autograder.runner import GradeOptions, Tests

COLLECT_TIMEOUT = 300.0  # seconds an assignment template may take to collect the tests
PER_REQUEST = ("tests", "record_calls")  # GradeOptions a collected session applies per child


def course_imports(course: "Course", assignments: Iterable[str]) -> list[str]:
    """Modules the grading side of ``assignments`` imports (tests, references), anywhere in
    the file: the template imports them once (e.g. scikit-learn for gmm, transformers for
    bert) instead of every submission importing them again."""
    names: set[str] = set()
    for a in assignments:
        for path in course.grading_files(a):
            if path.suffix != ".py" or path == course.skeleton(a):
                continue
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (OSError, SyntaxError, UnicodeDecodeError):
                continue  # the run itself will report it
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module)
    # an assignment's helpers come from the course the template collects (helpers.use)
    return sorted(n for n in names if n != "__future__" and not n.startswith("autograder.helpers.")
                  and n.split(".")[0] not in ("tests", "solutions", "conftest"))


@dataclass(frozen=True)
class WorkerPlan:
    """Where a batch's students' workers come from: one zygote for these options
    (``GradeOptions.sandbox``, ``memory_mb``, ``device``) and ``assignments``, whose
    workers can import the assignments' ``helpers`` files."""

    sandbox: str
    memory_mb: int
    device: str
    assignments: tuple[str, ...]
    helpers: tuple[Path, ...]

    @classmethod
    def of(cls, opts: "GradeOptions", course: "Course", assignments: Iterable[str]) -> "WorkerPlan":
        names = tuple(assignments)
        return cls(opts.sandbox, opts.memory_mb, opts.device, names,
                   tuple(f for a in names for f in course.helper_files(a)))


class WarmRunner:
    """Client side: start the template, ``run`` requests on it, ``close`` it.

    ``preload``: modules the template imports once besides the engine's own (see
    :func:`course_imports`); one that fails to import is left to each child, as without it.
    """

    def __init__(self, preload: Iterable[str] = (), workers: "WorkerPlan | None" = None,
                 note: Callable[[str], None] | None = None) -> None:
        self._dir = tempfile.mkdtemp(prefix="gmgrade-warm-")  # 0700: only we can connect
        self.address = os.path.join(self._dir, "sock")
        # one thread everywhere (as torch.set_num_threads(1)): batches run one child per job,
        # and a BLAS pool started at import would be forked into every child
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1",
                   OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        fds: tuple[int, ...] = ()
        self._zygote = None
        if workers is not None:
            # the students' workers: forks of one sandboxed zygote, started here (not by the
            # template) so that its note reaches the instructor; every fork of the template
            # asks it for a worker over the control socket it inherits
            from autograder import sandbox, zygote

            self._zygote = zygote.start_shared(
                workers.sandbox, sandbox.Limits(memory_mb=workers.memory_mb), workers.device,
                list(workers.assignments), workers.helpers, note=note or (lambda m: print(m, file=sys.stderr)))
            if self._zygote is not None:
                fd, env[zygote.ENV] = self._zygote.pass_on()
                fds = (fd,)
        self._proc = subprocess.Popen([sys.executable, "-m", "autograder.warm", self.address,
                                       str(os.getpid()), ",".join(preload)],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, env=env, start_new_session=True,
                                      pass_fds=fds)

    def _connect(self, deadline: float) -> socket.socket:
        while True:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace")[-2000:] if self._proc.stderr else ""
                raise GraderError(f"the warm grading template stopped: {err}")
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.address)
                return s
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                if time.monotonic() > deadline:
                    raise TimeoutError("the warm grading template did not start") from None
                time.sleep(0.05)

    def run(self, request: Path, stderr_path: Path, timeout: float) -> int | None:
        """Grade ``request`` in a fresh fork; its exit code, or None if it died or timed out."""
        deadline = time.monotonic() + timeout
        conn = self._connect(min(deadline, time.monotonic() + 120.0))
        pid = None
        try:
            conn.sendall(f"{request}\t{stderr_path}\n".encode())
            conn.settimeout(max(0.1, deadline - time.monotonic()))
            buf = b""
            while True:
                chunk = conn.recv(64)
                if not chunk:
                    break
                buf += chunk
                lines = buf.split(b"\n")
                if pid is None and len(lines) > 1:
                    pid = int(lines[0])
                if len(lines) > 2:
                    return int(lines[1])
                conn.settimeout(max(0.1, deadline - time.monotonic()))
            return None  # the child died without answering
        except (socket.timeout, TimeoutError):
            if pid is not None:
                _kill_group(pid)
            raise TimeoutError from None
        finally:
            conn.close()

    def close(self) -> None:
        if self._proc.poll() is None:
            try:  # the template and its assignment templates (children grading stay in their own groups)
                os.killpg(self._proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stderr:
            self._proc.stderr.close()
        if self._zygote is not None:
            from autograder import zygote

            zygote.stop_shared()
            self._zygote = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "WarmRunner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _kill_group(pid: int) -> None:
    for target in (-pid, pid):  # the child leads its own process group
        try:
            os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _child(conn: socket.socket, request: str, stderr_path: str, tests: "Tests | None") -> None:
    """In the fork: grade one request like ``python -m autograder.runner`` (with ``tests``,
    in the assignment template's collected session)."""
    code = 1
    try:
        os.setpgid(0, 0)
        conn.sendall(f"{os.getpid()}\n".encode())  # first, so the client can kill us on timeout
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the runner waits for its worker
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 2)
        os.close(fd)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        faulthandler.enable(2)  # the file above: a collected session's handler writes where it collected
        from autograder import runner

        code = runner.main([request], tests)
    except BaseException:  # noqa: BLE001 - reported like a crashed runner process
        # sys.stderr may be the collected session's capture: write to the file itself
        traceback.print_exc(file=sys.__stderr__)
    finally:
        try:
            if sys.__stderr__ is not None:
                sys.__stderr__.flush()
            conn.sendall(f"{code}\n".encode())
        finally:
            os._exit(code)


def _template_key(request: str) -> str | None:
    """What an assignment template is collected for: course, assignment, options (but not
    the per-request ones: which tests run, whether their calls are recorded)."""
    try:
        req = json.loads(Path(request).read_text())
        options = {k: v for k, v in req["options"].items() if k not in PER_REQUEST}
        return json.dumps([req["course"], req["assignment"], options], sort_keys=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a plain fork reports it


def _start_assignment_template(key: str, template: int, close: Callable[[], None]) -> socket.socket | None:
    """Fork an assignment template for ``key``; its control socket once it has collected the
    tests, or None when it could not (the fresh runner then reports why)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        try:
            ours.close()
            close()
            _assignment_template(theirs, json.loads(key), template)
        finally:
            os._exit(0)  # never back into the template's loop
    theirs.close()
    ours.settimeout(COLLECT_TIMEOUT)
    try:
        ready = ours.recv(16)
    except OSError:
        ready = b""
    if ready != b"ready":
        ours.close()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return None
    ours.settimeout(None)
    return ours


def _assignment_template(control: socket.socket, key: list, template: int) -> None:
    """Collect the tests of one assignment, then fork a child per connection handed over."""
    from autograder import runner
    from autograder.course import Course

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # nobody reads this; a failure here is reported by the fresh runner
    os.close(devnull)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # while collecting, as in a runner process
    course_root, assignment, options = key

    def serve(tests: "Tests") -> None:
        import gc

        gc.collect()
        gc.freeze()
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        control.sendall(b"ready")
        control.settimeout(1.0)
        while True:
            try:
                msg, fds, _, _ = socket.recv_fds(control, 4096, 1)
            except socket.timeout:
                if os.getppid() != template:
                    return
                continue
            if not msg or not fds:
                return  # the template is gone
            conn = socket.socket(fileno=fds[0])
            request, _, stderr_path = msg.decode().strip().partition("\t")
            try:
                pid = os.fork()
            except OSError:
                conn.close()
                continue
            if pid == 0:
                control.close()
                _child(conn, request, stderr_path, tests)
            conn.close()

    runner.collect_once(Course(Path(course_root)), assignment, runner.GradeOptions(**options), serve)


def warm_up(preload: Iterable[str]) -> None:
    """What the template imports once, before forking."""
    import torch

    torch.set_num_threads(1)
    import hypothesis  # noqa: F401
    import numpy  # noqa: F401
    import pytest  # noqa: F401

    from autograder import plugin, runner, testing  # noqa: F401
    from autograder.helpers import common  # noqa: F401

    # torch imports this (and sympy, ~0.3 s) the first time anything calls
    # torch.broadcast_shapes, e.g. torch.distributions: once here, not in every child
    import torch.fx.experimental.symbolic_shapes  # noqa: F401

    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the child imports it again and reports the error
            pass
    import gc

    gc.collect()
    gc.freeze()  # the children's collector leaves the template's objects (and their pages) alone


def serve(address: str, grader: int, preload: list[str]) -> None:
    """The template: import once, then fork one child per connection, until the grader goes."""
    from autograder import zygote

    zygote.attach_shared_from_env()  # the grader's zygote, if it started one: forks inherit it
    warm_up(preload)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    server.listen(64)
    server.settimeout(1.0)
    me = os.getpid()
    # per key (course, assignment, options): its assignment template's control socket, or
    # None where the tests could not be collected (plain forks grade those requests)
    templates: dict[str, socket.socket | None] = {}

    def close_in_child(*also: socket.socket) -> None:
        for s in (server, *also, *(t for t in templates.values() if t is not None)):
            s.close()

    while True:
        try:
            conn, _ = server.accept()
        except socket.timeout:
            if os.getppid() != grader:
                return  # the grader is gone (even killed with -9): so is the template
            continue
        conn.settimeout(None)
        try:
            line = b""
            while not line.endswith(b"\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                line += chunk
            request, _, stderr_path = line.decode().strip().partition("\t")
            if not request or not stderr_path:
                continue
            key = _template_key(request)
            if key is not None:
                if key not in templates:
                    templates[key] = _start_assignment_template(key, me, lambda: close_in_child(conn))
                control = templates[key]
                if control is not None:
                    try:
                        socket.send_fds(control, [line], [conn.fileno()])
                        continue
                    except OSError:  # it died: this request in a plain fork, the next in a new one
                        control.close()
                        del templates[key]
            pid = os.fork()
            if pid == 0:
                close_in_child()
                _child(conn, request, stderr_path, None)
        except OSError:
            pass  # a client that went away: its child (if any) reports to nobody
        finally:
            conn.close()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), [n for n in sys.argv[3].split(",") if n])
