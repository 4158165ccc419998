"""The trusted side of the boundary: talking to a student's sandboxed worker.

Tests see a :class:`StudentProxy`: ``student.gaussian_mle(x)`` sends the call, waits
at most the test's time limit, and returns freshly decoded plain data — or raises one
of the :class:`StudentFailure` exceptions below, which the runner turns into feedback.
A timeout or crash kills the worker; the next test gets a fresh one.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any, NoReturn

from autograder import compat, protocol, sandbox, zygote
from autograder.errors import GraderError, StudentFacing
from autograder.i18n import N_


class StudentFailure(StudentFacing, AssertionError):
    """The student's code did not produce a gradable answer. ``feedback`` speaks to them."""


class StudentAbort(StudentFacing, BaseException):
    """A failure that does not depend on the test's input (missing function, timeout,
    crash). It derives from BaseException so that hypothesis stops at once instead of
    shrinking an input that cannot matter; pytest still records it as a failed test."""


class StudentMissing(StudentAbort):
    pass


class StudentError(StudentFailure):
    def __init__(self, fn: str, exc_type: str, message: str, tb: str) -> None:
        text = N_(f"{fn}() raised {exc_type}: {message}")
        if tb.strip():
            text += "\n" + tb.rstrip()
        super().__init__(text)
        self.exc_type = exc_type


class StudentNotImplemented(StudentAbort):
    """The function still raises NotImplementedError (the skeleton's body)."""


class StudentTimeout(StudentAbort):
    timed_out = True


class StudentCrash(StudentAbort):
    pass


class WorkerUnavailable(StudentAbort):
    """The submission could not be loaded at all (every test fails with this message)."""


class LoadTimeout(WorkerUnavailable):
    """Loading the submission took longer than allowed."""

    timed_out = True


def _text(value: Any, limit: int) -> str:
    """A string the worker sent, cut to ``limit`` characters ("" for anything else)."""
    return value[:limit] if type(value) is str else ""


def _texts(value: Any, limit: int, count: int) -> list[str]:
    """A list of strings the worker sent: at most ``count``, each cut to ``limit``."""
    if type(value) is not list:
        return []
    return [v[:limit] for v in value if type(v) is str][:count]


def _describe_status(status: dict) -> str:
    # Everything here came from the untrusted worker: only short, typed fields are used.
    if status.get("kind") == "signal":
        name = _text(status.get("name"), 20)
        if name == "SIGKILL":
            return "was killed (it probably ran out of memory or CPU time)"
        if name == "SIGXCPU":
            return "used up its CPU-time limit"
        if name == "SIGXFSZ":
            return "wrote a file larger than the limit"
        return f"was killed by signal {name}"
    code = status.get("value")
    return f"ended the process with exit code {code if type(code) is int else '?'}"


class _OutputTail:
    """Drains the worker's stdout/stderr so it can never block; keeps the last bytes."""

    def __init__(self, stream, keep: int = 4096) -> None:
        self.keep = keep
        self.data = b""
        self.total = 0
        self.thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self.thread.start()

    def _run(self, stream) -> None:
        try:
            while True:
                chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
                if not chunk:
                    return
                self.total += len(chunk)
                self.data = (self.data + chunk)[-self.keep:]
        except (OSError, ValueError):
            return

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


@dataclass
class LoadInfo:
    functions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None


class WorkerSession:
    """One student's sandboxed worker, restarted after a timeout or a crash."""

    def __init__(self, spec: sandbox.SandboxSpec, cells: list[str], module: str, *,
                 filename: str, startup_timeout: float = 120.0, load_timeout: float = 60.0,
                 cell_timeout: float = 10.0, load_budget: float | None = None,
                 early: sandbox.Worker | None = None) -> None:
        self.spec = spec
        self.cells = cells
        self.module = module
        self.filename = filename
        self.startup_timeout = startup_timeout
        self.load_timeout = load_timeout
        self.cell_timeout = cell_timeout
        self.proc: sandbox.Worker | None = None
        self.output: _OutputTail | None = None
        self.load_info: LoadInfo | None = None
        self.in_test = False
        self.restarts = 0
        # After a timeout or crash the worker is restarted and the file loaded again; all
        # loads together get this many seconds, so that a slow top level cannot multiply
        # its cost by the number of tests.
        self.load_budget = 3 * load_timeout if load_budget is None else load_budget
        self.load_spent = 0.0
        # A load that failed (crash, timeout, budget spent) fails the same way again: every
        # later test gets the same answer at once instead of a new worker and a new load.
        self.unavailable: WorkerUnavailable | None = None
        self._buf = bytearray()
        self.last_devices: set[str] = set()
        self._early = early  # a worker started before this session (runner.grade_path)
        self._ending = False  # an ``end`` was sent; its ``done`` is still to be read
        self._forking = False  # a ``fork`` was sent; its ``forked`` is still to be read

    # ---------------------------------------------------------------- transport
    def _send(self, msg: Any, timeout: float) -> None:
        """Write one request, giving up (TimeoutError) after ``timeout`` seconds: a worker
        that stops reading its requests must not block the grader on a full pipe."""
        assert self.proc is not None
        data = protocol.encode(msg)
        view = memoryview(struct.pack(">Q", len(data)) + data)
        deadline = time.monotonic() + timeout
        fd = self.proc.req_w
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if not compat.wait_fd(fd, True, remaining):
                raise TimeoutError
            try:
                n = os.write(fd, view)  # the fd is non-blocking: writes what fits
            except BlockingIOError:
                continue
            view = view[n:]

    def _read_exact(self, n: int, deadline: float) -> bytes:
        assert self.proc is not None
        while len(self._buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if not compat.wait_fd(self.proc.rep_r, False, remaining):
                raise TimeoutError
            chunk = os.read(self.proc.rep_r, max(65536, n - len(self._buf)))
            if not chunk:
                raise EOFError
            self._buf += chunk  # a bytearray: large answers arrive in linear time
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _recv(self, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        (size,) = struct.unpack(">Q", self._read_exact(8, deadline))
        if size > protocol.MAX_FRAME_BYTES:
            raise protocol.ProtocolError(
                f"the answer is {size / 1e6:.0f} MB, more than the "
                f"{protocol.MAX_FRAME_BYTES / 1e6:.0f} MB limit")
        self.last_devices = set()
        return protocol.decode(self._read_exact(size, deadline), self.last_devices, helpers=False)

    def _dead_because(self) -> str | None:
        """Why the grader itself stopped the sandbox, if it did (e.g. total memory)."""
        return self.proc.stopped_because if self.proc is not None else None

    # ---------------------------------------------------------------- life cycle
    def ensure_started(self) -> LoadInfo:
        if self.proc is not None and self.load_info is not None:
            return self.load_info
        if self.unavailable is not None:
            raise WorkerUnavailable(self.unavailable.feedback)
        try:
            return self._start_and_load()
        except WorkerUnavailable as e:
            self.unavailable = e
            raise

    def _start_and_load(self) -> LoadInfo:
        left = self.load_budget - self.load_spent
        if left <= 0:
            raise WorkerUnavailable(
                f"your code had to be loaded again after a timeout or a crash, and loading it "
                f"has taken {self.load_spent:.0f} s in total, more than the "
                f"{self.load_budget:g} s allowed; the remaining tests were not run. Make the "
                "top level of your file fast (no training loops or experiments there)")
        self.proc = self._launch()
        compat.set_nonblocking(self.proc.req_w)  # see _send
        self._buf = bytearray()
        self.output = _OutputTail(self.proc.proc.stdout)
        try:
            ready = self._recv(self.startup_timeout)
            if type(ready) is not dict or ready.get("ev") != "ready":
                raise protocol.ProtocolError("worker did not start")
        except (TimeoutError, EOFError, protocol.ProtocolError) as e:
            self.kill()
            self.output.thread.join(timeout=2)  # the last words of a worker that never started
            out = self.output.text()
            raise GraderError(f"the grading worker failed to start ({type(e).__name__}); "
                              f"worker output:\n{out[-2000:]}") from None
        limit = min(self.load_timeout, left)
        started = time.monotonic()
        try:
            self._send({"op": "load", "module": self.module, "filename": self.filename,
                        "cells": self.cells, "cell_timeout": self.cell_timeout}, limit)
            msg = self._recv(limit - (time.monotonic() - started))
        except TimeoutError:
            self.load_spent += time.monotonic() - started
            self.kill()
            if limit < self.load_timeout:
                raise LoadTimeout(
                    f"your code had to be loaded again after a timeout or a crash, and loading "
                    f"it took more than the {self.load_budget:g} s allowed in total; the "
                    "remaining tests were not run. Make the top level of your file fast") from None
            self.load_info = None
            raise LoadTimeout(
                f"loading your code took longer than {self.load_timeout:g} s; move long-running "
                "code (training loops, experiments) out of the top level of your file") from None
        except (EOFError, OSError, protocol.ProtocolError) as e:
            self.load_spent += time.monotonic() - started
            tail = self.output.text()[-600:] if self.output else ""
            why = self._dead_because()
            self.kill()
            if why:
                raise WorkerUnavailable(f"loading your code {why}") from None
            if isinstance(e, protocol.ProtocolError):
                raise WorkerUnavailable("while your code was being loaded, the grading process sent "
                                        f"something the grader cannot read ({e})") from None
            raise WorkerUnavailable(
                "your code ended the grading process while it was being loaded (did it call "
                "os._exit, or run out of memory at the top level?)"
                + (f"\nLast output:\n{tail}" if tail.strip() else "")) from None
        self.load_spent += time.monotonic() - started
        if type(msg) is not dict or msg.get("ev") != "loaded":
            self.kill()
            raise WorkerUnavailable("the grading process answered with something unexpected "
                                    "while your code was being loaded")
        # Student code ran before this reply: it may be forged. Keep it short and typed.
        info = LoadInfo(
            functions=_texts(msg.get("functions"), 200, 1000),
            notes=_texts(msg.get("notes"), 2000, 50),
            error=_text(msg.get("error"), 2000) or None,
        )
        self.load_info = info
        return info

    def _launch(self) -> sandbox.Worker:
        """A worker: the one started early for this session, a fork of this process's zygote
        (:mod:`autograder.zygote`), or one started from scratch."""
        if self._early is not None:
            early, self._early = self._early, None
            return early
        z = zygote.shared_for(self.spec)
        if z is not None:
            try:
                return z.spawn(self.spec)
            except zygote.ZygoteUnavailable:
                pass  # the zygote is gone: a sandbox of its own, as without one
        return sandbox.start(self.spec)

    def kill(self) -> None:
        if self._early is not None:
            self._early.kill()
            self._early = None
        if self.proc is not None:
            self.proc.kill()
        self.proc = None
        self.in_test = False
        self._forking = False
        self._ending = False
        self.load_info = None

    def close(self) -> None:
        self.kill()

    # ---------------------------------------------------------------- per test
    def begin_test(self, cpu_seconds: int, seed: int = 0) -> None:
        """Ask for the test's child. Its ``forked`` is read after the first call has been
        sent (:meth:`_forked`): one round trip less per test."""
        self._collect_done()
        self.ensure_started()
        try:
            self._send({"op": "fork", "cpu_seconds": int(cpu_seconds), "seed": int(seed)}, 30.0)
        except (TimeoutError, OSError):
            self._not_started()
        self.in_test = True
        self._forking = True

    def _forked(self) -> None:
        self._forking = False
        try:
            msg = self._recv(30.0)
        except (TimeoutError, EOFError, OSError, protocol.ProtocolError):
            self._not_started()
        if type(msg) is not dict or msg.get("ev") != "forked":
            self.kill()
            raise StudentCrash("the grading process could not start this test")

    def _not_started(self) -> NoReturn:
        self.kill()
        raise StudentCrash("the grading process stopped answering before the test started "
                           "(your code may have broken it at import time)") from None

    def end_test(self) -> None:
        """Tell the test's child to end. Its ``done`` (sent once the worker has cleaned up
        after it) is read when the next test begins, so that clean-up overlaps the
        grader's own work between tests."""
        if self.proc is None or not self.in_test:
            return
        self.in_test = False
        try:
            self._send({"op": "end"}, 10.0)
            self._ending = True
        except (TimeoutError, OSError):
            self.kill()

    def _collect_done(self) -> None:
        if not self._ending or self.proc is None:
            return
        self._ending = False
        deadline = time.monotonic() + 10.0  # in all: a worker that keeps talking is cut off
        try:
            while True:
                msg = self._recv(deadline - time.monotonic())
                if type(msg) is dict and msg.get("ev") == "done":
                    return
        except (TimeoutError, EOFError, OSError, protocol.ProtocolError):
            self.kill()

    def call(self, fn: str, args: tuple, kwargs: dict, *, timeout: float, limit: float, cpu_seconds: int,
             grad: dict | None = None, report_mutation: bool = False, seed: int = 0) -> dict:
        """Run ``fn(*args, **kwargs)`` in the worker; return the decoded reply dict."""
        try:
            if not self.in_test:
                self.begin_test(cpu_seconds, seed)
            msg = {"op": "call", "fn": fn, "args": list(args), "kwargs": dict(kwargs),
                   "device": self.spec.device, "grad": grad, "report_mutation": report_mutation}
            deadline = time.monotonic() + timeout
            try:
                self._send(msg, timeout)
            except (TimeoutError, OSError):
                if self._forking:  # did the test's child start at all?
                    self._forked()
                raise
            if self._forking:  # the test's child starting is not the call's time
                started = time.monotonic()
                self._forked()
                deadline += time.monotonic() - started
            reply = self._recv(deadline - time.monotonic())
        except TimeoutError:
            self.kill()
            raise StudentTimeout(f"{fn}() timed out after {limit:g} s (this test's time limit); look "
                                 "for an endless loop or a much slower method than needed") from None
        except (EOFError, BrokenPipeError, ConnectionError):
            why = self._dead_because()
            self.kill()
            if why:
                raise StudentCrash(f"{fn}() {why}") from None
            raise StudentCrash(f"{fn}() ended the grading process (did it call os._exit, or "
                               "run out of memory?)") from None
        except protocol.ProtocolError as e:
            self.kill()
            raise StudentCrash(f"{fn}() returned something the grader cannot read: {e}") from None
        if type(reply) is not dict:
            self.kill()
            raise StudentCrash(f"{fn}(): the grading process answered with something unexpected")
        ev = reply.get("ev")
        if ev == "done":  # the per-test child died while running the call
            self.in_test = False
            status = reply.get("status")
            raise StudentCrash(f"{fn}() {_describe_status(status if type(status) is dict else {})} "
                               "while it was running")
        if ev == "missing":
            raise StudentMissing(f"your submission does not define {fn}(); check the spelling "
                                 "of the function name against the skeleton")
        if ev == "error":
            def s(key: str, limit: int) -> str:
                v = reply.get(key)
                return v[:limit] if type(v) is str else ""
            exc_type = s("type", 100)
            if exc_type == "NotImplementedError":
                raise StudentNotImplemented(f"{fn}() is not implemented yet (it raises "
                                            "NotImplementedError): replace the `raise` line with "
                                            "your code")
            if exc_type == "MemoryError":
                raise StudentError(fn, exc_type, f"ran out of memory (limit "
                                   f"{self.spec.limits.memory_mb} MB)", "")
            raise StudentError(fn, exc_type, s("message", 2000), s("traceback", 4000))
        if ev != "result":
            self.kill()
            raise StudentCrash(f"{fn}(): the grading process answered with something unexpected")
        wrong = sorted(d for d in self.last_devices if d != self.spec.device)
        if wrong:
            raise StudentError(fn, "DeviceMismatch", f"returned a tensor on {wrong[0]}, but its "
                               f"inputs were on {self.spec.device}: create new tensors on the "
                               "input's device (device=x.device, torch.*_like)", "")
        return reply


class StudentProxy:
    """What tests receive as ``student``: attribute access calls into the worker."""

    def __init__(self, session: WorkerSession, *, timeout: float, cpu_seconds: int) -> None:
        self._session = session
        self._timeout = timeout
        self._cpu_seconds = cpu_seconds
        self._poisoned: StudentAbort | None = None
        self._deadline: float | None = None
        self._seed = 0
        self.answered: list[str] = []
        self.called: list[str] = []
        self.last_call: tuple[str, tuple, dict] | None = None

    # called by the runner around each test
    def _start_test(self, timeout: float, seed: int = 0) -> None:
        """``seed`` seeds torch, random and numpy in the worker's child for this test, so a
        student's unseeded randomness is the same on every run of the same submission."""
        self._timeout = timeout
        self._seed = seed
        self.answered = []  # functions that returned a value in this test
        self.called = []  # functions this test called, answered or not
        self._deadline = None  # starts at the first call, once the worker is up
        self._poisoned = None
        self.last_call = None  # (fn, args, kwargs) of this test's last call

    def _finish_test(self) -> None:
        self._session.end_test()

    @property
    def functions(self) -> list[str]:
        info = self._session.ensure_started()
        return list(info.functions)

    def has(self, name: str) -> bool:
        return name in self.functions

    def _invoke(self, fn: str, args: tuple, kwargs: dict, **extra: Any) -> dict:
        if self._poisoned is not None:
            # After a timeout or crash the rest of this test fails the same way, at once.
            raise type(self._poisoned)(self._poisoned.feedback)
        if fn not in self.called:
            self.called.append(fn)
        self.last_call = (fn, args, kwargs)
        try:
            info = self._session.ensure_started()
            if fn not in info.functions:
                why = f"; loading it reported: {info.error}" if info.error else ""
                raise StudentMissing(f"your submission does not define {fn}() (check the spelling "
                                     f"of the function name against the skeleton){why}")
            if self._deadline is None:
                self._deadline = time.monotonic() + self._timeout
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise StudentTimeout(f"{fn}() timed out after {self._timeout:g} s (this test's time "
                                     "limit, shared by all its calls)")
            reply = self._session.call(fn, args, kwargs, timeout=remaining, limit=self._timeout,
                                       cpu_seconds=self._cpu_seconds, seed=self._seed, **extra)
            if fn not in self.answered:
                self.answered.append(fn)
            return reply
        except (StudentTimeout, StudentCrash, WorkerUnavailable) as e:
            self._poisoned = e
            raise

    def call(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        return self._invoke(fn, args, kwargs)["value"]

    def call_checking_inputs(self, fn: str, *args: Any, **kwargs: Any) -> tuple[Any, list[int]]:
        """Like :meth:`call`, also returning the positions of tensor arguments it modified."""
        reply = self._invoke(fn, args, kwargs, report_mutation=True)
        mutated = reply.get("mutated")
        if type(mutated) is not list or not all(type(i) is int for i in mutated):
            raise StudentCrash(f"{fn}(): the grading process gave an unreadable answer")
        return reply["value"], mutated

    def grad(self, fn: str, *args: Any, wrt: tuple = (0,), select: int | None = None,
             grad_output: Any = None, **kwargs: Any) -> tuple[Any, list]:
        """Call ``fn`` and differentiate its output (or ``output[select]``).

        Returns ``(value, grads)``: ``grads[i]`` is d(sum(output * grad_output))/d(wrt[i]),
        or ``None`` when no gradient reaches that input.
        """
        spec = {"wrt": list(wrt), "select": select, "grad_output": grad_output}
        reply = self._invoke(fn, args, kwargs, grad=spec)
        grads = reply.get("grads")
        if type(grads) is not list or len(grads) != len(wrt):
            raise StudentCrash(f"{fn}(): the grading process returned unreadable gradients")
        return reply["value"], grads

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def remote(*args: Any, **kwargs: Any) -> Any:
            return self.call(name, *args, **kwargs)

        remote.__name__ = name
        return remote
