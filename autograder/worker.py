"""The untrusted side: runs a student's code inside the sandbox and answers calls.

Everything in this process is untrusted once student code has been loaded: the
student may replace any function here. Nothing the grader believes depends on this
file behaving; the grader only ever receives plain data (see :mod:`protocol`) and
checks it. This file just makes honest submissions easy to talk to.

Life cycle (messages on the two pipes named in GMGRADE_FDS):

1. start (exec'd, or forked by a zygote: :mod:`autograder.zygote`), import torch and warm
   up, reply ``ready``;
2. ``load``: execute the submission's cells into a module, reply ``loaded`` with the
   functions it defines and notes about cells that failed or ran long;
3. one child process per test, so one test cannot leave state behind for the next: it
   waits for ``fork`` (the test's CPU limit and seed), then serves ``call`` messages until
   ``end``; when it is gone the parent kills anything it left running, empties the
   scratch folder, replies ``done`` and lets the next test's child begin. That child was
   forked while the test ran (forking a process that holds torch takes milliseconds) and
   waited, apart from it, until then.
"""

from __future__ import annotations

import io
import linecache
import os
import shutil
import signal
import socket
import sys
import time
import traceback
import types

from autograder.i18n import N_  # marks messages for the catalogues; translated by the grader

try:
    import resource
except ImportError:  # Windows: only the per-test fork (POSIX) uses it, never run there
    pass


class CellTimeout(BaseException):
    """Raised in a notebook cell that ran past its time budget."""


def _send(out, msg) -> None:
    from autograder.protocol import write_frame

    write_frame(out, msg)


def _recv(inp):
    from autograder.protocol import read_frame

    return read_frame(inp)


def _short_tb(exc: BaseException, filename: str) -> str:
    """The traceback limited to frames in the student's file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(filename)]
    lines = traceback.format_list(frames[-5:])
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-4000:]


def _exc_message(exc: BaseException) -> str:
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - hostile __str__
        text = "<unprintable>"
    return text[:2000]


def load(msg: dict) -> dict:
    name = msg["module"]
    filename = msg["filename"]
    cell_timeout = float(msg["cell_timeout"])
    module = types.ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module
    notes: list[str] = []
    error = None

    def on_alarm(signum, frame):
        raise CellTimeout()

    cells = msg["cells"]
    for i, src in enumerate(cells):
        label = N_(f"cell {i + 1}") if len(cells) > 1 else "your file"
        cell_name = filename if len(cells) == 1 else f"{filename}#cell{i + 1}"
        # so that tracebacks can show the student's source lines
        linecache.cache[cell_name] = (len(src), None, src.splitlines(True), cell_name)
        try:
            code = compile(src, cell_name, "exec")
        except SyntaxError as e:
            text = f"{label} has a syntax error (line {e.lineno}): {e.msg}"
            if len(cells) == 1:
                error = text
            notes.append(text + " — it was skipped")
            continue
        _cell_alarm(on_alarm, cell_timeout if len(cells) > 1 else 0)
        try:
            exec(code, module.__dict__)
        except CellTimeout:
            notes.append(f"{label} ran longer than {cell_timeout:g} s and was stopped; "
                         "functions it defined before that point are kept")
        except SystemExit as e:
            notes.append(f"{label} called exit({e.code!r}); the rest of it was skipped")
        except BaseException as e:  # noqa: BLE001 - anything the student raises
            text = N_(f"{label} raised {type(e).__name__}: {_exc_message(e)}")
            if len(cells) == 1:
                text = "importing your file raised " + f"{type(e).__name__}: {_exc_message(e)}"
            notes.append(text)
        finally:
            _cell_alarm(signal.SIG_DFL, 0)
    functions = sorted(
        k for k, v in list(module.__dict__.items()) if not k.startswith("_") and callable(v)
    )
    return {"ev": "loaded", "functions": functions, "notes": notes, "error": error}


def _materialise(value, device):
    """Turn decoded arguments into what the student function receives."""
    from autograder.protocol import Helper

    import torch

    if isinstance(value, Helper):
        obj = value.build()
        if device != "cpu" and hasattr(obj, "to"):
            obj = obj.to(device)
        return obj
    if isinstance(value, torch.Tensor):
        return value.to(device) if device != "cpu" else value
    if type(value) is list:
        return [_materialise(v, device) for v in value]
    if type(value) is tuple:
        return tuple(_materialise(v, device) for v in value)
    if type(value) is dict:
        return {k: _materialise(v, device) for k, v in value.items()}
    return value


def call(module, msg: dict) -> dict:
    import torch

    fn = module.__dict__.get(msg["fn"])
    if fn is None or not callable(fn):
        return {"ev": "missing", "fn": msg["fn"]}
    device = msg.get("device", "cpu")
    args = list(_materialise(msg["args"], device))
    kwargs = dict(_materialise(msg["kwargs"], device))
    grad = msg.get("grad")
    inputs = []
    if grad:
        for key in grad["wrt"]:
            holder, slot = (args, key) if type(key) is int else (kwargs, key)
            t = holder[slot].detach().clone().requires_grad_(True)
            holder[slot] = t
            inputs.append(t)
    report_mutation = bool(msg.get("report_mutation"))
    snapshot = ([a.clone() if isinstance(a, torch.Tensor) else None for a in args]
                if report_mutation else [])
    start = time.perf_counter()
    if grad:
        value = fn(*args, **kwargs)
    else:
        with torch.no_grad() if msg.get("no_grad") else _Null():
            value = fn(*args, **kwargs)
    elapsed = time.perf_counter() - start
    reply = {"ev": "result", "value": value, "time": elapsed}
    if report_mutation:
        reply["mutated"] = [
            i for i, (a, s) in enumerate(zip(args, snapshot))
            if s is not None and not (a.shape == s.shape and torch.equal(a.detach(), s))
        ]
    if grad:
        out = value
        if grad.get("select") is not None:
            out = out[grad["select"]]
        grads: list = [None] * len(inputs)
        if isinstance(out, torch.Tensor) and out.requires_grad:
            go = grad.get("grad_output")
            if go is None:
                go = torch.ones_like(out)
            got = torch.autograd.grad(out, inputs, grad_outputs=go.to(out.device, out.dtype), allow_unused=True)
            grads = list(got)
        reply["grads"] = grads
        reply["value"] = value
    return reply


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def _kill_others(keep: int | None) -> None:
    """Inside a private pid namespace: end every process except init, us and ``keep``."""
    spared = {1, os.getpid(), keep}
    for _ in range(50):
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in spared]
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in others:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        time.sleep(0.01)


def _reset_scratch(scratch: str) -> None:
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch, exist_ok=True)
    os.chdir(scratch)


def seed_everything(seed: int) -> None:
    """The same seeds for unseeded randomness (torch, random, numpy) on every run of a test.

    Not torch.manual_seed: for each accelerator backend not initialised yet it queues the
    seed together with a formatted call stack (a millisecond or more per test under
    pytest); only the CPU and, where there is one, CUDA matter here."""
    import random

    import numpy
    import torch

    torch.default_generator.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    random.seed(seed)
    numpy.random.seed(seed % 2**32)


QUIT = 17  # a waiting test child's exit code: the grader said quit, or went away


def _expect(inp, op: str, code: int = 0) -> dict:
    """The grader's next message, which must be ``op``: on anything else, or when the
    grader has gone, this process exits with ``code``."""
    try:
        msg = _recv(inp)
    except EOFError:
        os._exit(code)
    if msg.get("op") != op:
        os._exit(code)
    return msg


def serve_test(module, inp, out) -> None:
    """Body of a per-test child, once it may begin (see :func:`_fork_child`): wait for
    ``fork`` (the test's CPU limit and seed), then answer calls until ``end``; never returns."""
    code = 0
    try:
        os.setpgid(0, 0)
        msg = _expect(inp, "fork", QUIT)
        cpu_seconds = int(msg.get("cpu_seconds", 60))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        seed_everything(int(msg.get("seed", 0)))
        _send(out, {"ev": "forked"})
        _serve_calls(module, inp, out)
    except BaseException:  # noqa: BLE001
        code = 3
    finally:
        os._exit(code)


def prepare_torch() -> None:
    """Settings every worker needs before any student code; never initialises CUDA (the
    zygote calls this too, and forks must not inherit a CUDA context)."""
    import torch

    torch.set_num_threads(1)
    # CUDA results must match the CPU within the tests' tolerances: no TF32, and
    # deterministic kernels so the same submission always gets the same feedback.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import numpy  # noqa: F401 - imported once here, before any student code


LOAD_SEED = 0  # seeds the student's unseeded randomness at load time (top-level code)


def main() -> None:
    """A worker started by exec (its own sandbox): prepare, then :func:`serve`."""
    from autograder.zygote import warm_up

    prepare_torch()
    warm_up([])  # as a zygote's child starts, less what helpers import on first use
    req_fd, rep_fd = (int(x) for x in os.environ["GMGRADE_FDS"].split(","))
    serve(req_fd, rep_fd, pidns=os.environ.get("GMGRADE_PIDNS") == "1",
          own_uid=os.environ.get("GMGRADE_OWN_UID") == "1",
          scratch=os.environ.get("GMGRADE_SCRATCH", os.getcwd()))


def serve(req_fd: int, rep_fd: int, *, pidns: bool, own_uid: bool, scratch: str) -> None:
    """Answer the grader on the two pipes until it quits or goes away; never returns.

    Used by :func:`main` and by a zygote's per-student child (:mod:`autograder.zygote`),
    which has already set up its sandbox.
    """
    import torch

    inp = io.open(req_fd, "rb", buffering=0)
    out = io.open(rep_fd, "wb", buffering=0)
    _reset_scratch(scratch)
    seed_everything(LOAD_SEED)  # the same start whether this process was exec'd or forked
    _send(out, {"ev": "ready", "cuda": torch.cuda.is_available()})
    msg = _expect(inp, "load")
    result = load(msg)
    module = sys.modules[msg["module"]]
    sys.stdout.flush()
    sys.stderr.flush()
    _send(out, result)
    if os.environ.get("GMGRADE_IN_PLACE") == "1":  # compat's portable worker: no fork
        while True:
            msg = _expect(inp, "fork")
            _serve_here(module, inp, out, int(msg.get("seed", 0)), scratch)
    child = _fork_child(module, inp, out, scratch)
    while True:  # one child per test
        if not _release(child):  # the previous test ended it (e.g. kill(-1)), or it hangs
            _end(child[0])
            child = _fork_child(module, inp, out, scratch)
            if not _release(child):  # cannot begin either: its status tells the grader
                os.kill(child[0], signal.SIGKILL)
        pid = child[0]
        # The next test's child, forked now unless the clean-up below would end it: with a
        # uid of its own, everything under that uid goes. Forking fails when the test's
        # processes take every slot the limits allow: then it is forked after the clean-up.
        spare = None
        if not own_uid:
            try:
                spare = _fork_child(module, inp, out, scratch)
            except OSError:
                pass
        _, status = os.waitpid(pid, 0)
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if pidns:
            _kill_others(spare[0] if spare else None)
        elif own_uid:
            # process backend with a uid of its own: everything else under this uid was
            # started by the test (daemons too, even outside our session)
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == QUIT:
            os._exit(0)  # the spare sees its channel close and ends too
        _reset_scratch(scratch)
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            how = {"kind": "signal", "value": sig, "name": signal.Signals(sig).name}
        else:
            how = {"kind": "exit", "value": os.WEXITSTATUS(status)}
        _send(out, {"ev": "done", "status": how})
        child = spare or _fork_child(module, inp, out, scratch)


RELEASE_TIMEOUT = 2.0  # seconds a waiting child may take to confirm that it begins


def _fork_child(module, inp, out, scratch: str) -> tuple[int, socket.socket]:
    """Fork a test's child, which warms up, then waits for :func:`_release` before it
    reads a request: until then the previous test may still be running."""
    sys.stdout.flush()
    sys.stderr.flush()
    ours, theirs = socket.socketpair()
    try:
        pid = os.fork()
    except OSError:
        ours.close()
        theirs.close()
        raise
    if pid == 0:
        try:
            ours.close()
            os.setpgid(0, 0)
            seed_everything(LOAD_SEED)  # copies the pages seeding writes now, not in the test
            if theirs.recv(1) != b"g":
                os._exit(QUIT)  # the parent is gone
            os.chdir(scratch)  # made anew since the fork
            theirs.sendall(b"k")
            theirs.close()
        except BaseException:  # noqa: BLE001
            os._exit(3)
        serve_test(module, inp, out)
    theirs.close()
    ours.settimeout(RELEASE_TIMEOUT)
    return pid, ours


def _release(child: tuple[int, socket.socket]) -> bool:
    """Let a waiting child begin (the previous test is over and cleaned up); False when it
    did not confirm."""
    try:
        child[1].sendall(b"g")
        return child[1].recv(1) == b"k"
    except OSError:
        return False
    finally:
        child[1].close()


def _end(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _serve_calls(module, inp, out) -> None:
    """Answer ``call`` messages until ``end``."""
    while True:
        msg = _recv(inp)
        if msg.get("op") == "end":
            break
        try:
            reply = call(module, msg)
        except MemoryError:
            reply = {"ev": "error", "type": "MemoryError",
                     "message": "ran out of memory", "traceback": ""}
        except BaseException as e:  # noqa: BLE001 - the student's exception
            reply = {"ev": "error", "type": type(e).__name__, "message": _exc_message(e),
                     "traceback": _short_tb(e, module.__file__)}
        try:
            _send(out, reply)
        except Exception as e:  # noqa: BLE001 - the value could not be encoded
            _send(out, {"ev": "error", "type": "UnsendableResult",
                        "message": f"the value your function returned cannot be sent to "
                                   f"the grader: {_exc_message(e)}", "traceback": ""})


def _serve_here(module, inp, out, seed: int, scratch: str) -> None:
    """One test without fork (compat's portable worker, on the student's own machine): its
    calls run in this process. A crash or timeout ends the worker and the grader starts a
    new one; what a test leaves in the module stays for the next test."""
    seed_everything(seed)
    _send(out, {"ev": "forked"})
    _serve_calls(module, inp, out)
    _reset_scratch(scratch)
    _send(out, {"ev": "done", "status": {"kind": "exit", "value": 0}})


def _cell_alarm(handler, seconds: float) -> None:
    """Set the SIGALRM handler and arm the cell timer (0: disarm it). Windows has neither:
    there a slow cell is stopped only by the grader's limit on the whole load."""
    if not hasattr(signal, "setitimer"):
        return
    if not seconds:
        signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, handler)
    if seconds:
        signal.setitimer(signal.ITIMER_REAL, seconds)


if __name__ == "__main__":
    main()
