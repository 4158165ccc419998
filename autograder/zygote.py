"""A sandboxed zygote: one warm worker template per batch, one fork per student.

Starting a student's worker from scratch costs bubblewrap, a Python interpreter, the
import of torch and the first call of many torch functions (lazily imported modules,
autograd's first backward): well over a second per submission. A zygote pays that once.
It is started by exec, never by forking the trusted grader (whose memory holds hidden
tests and references), inside the same sandbox a worker gets; it imports torch and the
course's helper modules, runs a small warm-up that touches what first calls would pay,
stays single-threaded, and never runs student code. For each student it forks:

1. an *intermediate* process (in the zygote's namespaces; runs no student code), which
   under bubblewrap enters fresh user, mount, pid, net, ipc, uts and cgroup namespaces,
   forks the worker, and kills it when the grader's end of the *lifeline* pipe closes
   (the grader died) or exits when the worker does;
2. the *worker*, which before reading one byte of the student's code: becomes pid 1 of
   its own pid namespace with its own ``/proc``, mounts its own size-limited ``/tmp`` and
   ``/dev/shm`` (so nothing an earlier student wrote is visible), drops every capability,
   sets its resource limits and no-new-privs, closes every descriptor but its own
   channel, reports who it is, and loads the seccomp filter last. Then it serves the
   grader exactly like an exec'd worker (:func:`autograder.worker.serve`).

Under the process backend (no bubblewrap) the child has no namespaces to enter; it gets
the same limits, session, scratch folder and seccomp filter as an exec'd process-backend
worker, and a user id of its own when the grader is root.

The grader's side is :class:`Zygote`: :meth:`Zygote.spawn` hands the zygote the worker's
pipes over a Unix socket (``SCM_RIGHTS``) and returns a :class:`sandbox.Started` the
grader watches and kills exactly as one it started itself. When nested namespaces are not
allowed on this host (probed when the zygote starts), :func:`start_shared` says so once
and returns None: each student then gets a sandbox of its own, as without a zygote.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import select
import signal
import socket
from pathlib import Path
from typing import Any

from autograder import compat, protocol, sandbox

# Modules that torch and the course's code import lazily on a first call (e.g.
# torch.broadcast_shapes pulls in sympy through symbolic_shapes: 0.3 s), imported once.
WARM_MODULES = (
    "torch.fx.experimental.symbolic_shapes",
    "torch.distributions",
    "torch.nn.functional",
    "torch.autograd.functional",
    "torch.func",
    "numpy.linalg",
    "autograder.protocol",
)

_CLONE = {"user": 0x10000000, "mnt": 0x00020000, "pid": 0x20000000, "net": 0x40000000,
          "ipc": 0x08000000, "uts": 0x04000000, "cgroup": 0x02000000}
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
_PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_SPAWN_FDS = 4  # request read end, reply write end, output write end, lifeline read end


# =========================================================================== grader side


class ZygoteUnavailable(Exception):
    """The zygote cannot serve (it died, or this host forbids what it needs)."""


class Zygote:
    """The grader's handle on a running zygote (see the module docstring)."""

    def __init__(self, backend: str, limits: sandbox.Limits, device: str,
                 assignments: list[str], helpers: tuple[Path, ...],
                 startup_timeout: float = 120.0) -> None:
        self.backend = backend
        self.device = device
        self.helpers = [str(f) for f in helpers]  # the helpers files its workers can import
        ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._ctl = ctl
        theirs.set_inheritable(True)
        try:
            self.proc: sandbox.Started | None = sandbox.start_zygote(backend, limits, device, theirs.fileno(),
                                                                     assignments, helpers)
        finally:
            theirs.close()
        self.dead: str | None = None
        ctl.settimeout(startup_timeout)
        try:
            ready = json.loads(ctl.recv(65536) or b"null")
        except (OSError, ValueError):
            ready = None
        ctl.settimeout(None)
        if type(ready) is not dict or ready.get("ev") != "ready":
            out = self._output()
            self.close()
            raise ZygoteUnavailable(f"the zygote did not start: {out[-1500:]}")
        self.threads = ready.get("threads")
        self.nested = ready.get("nested")
        if self.nested is not True:
            self.close()
            raise ZygoteUnavailable(f"this host does not allow nested namespaces ({self.nested})")

    @classmethod
    def attach(cls, ctl_fd: int, backend: str, device: str, helpers: list[str]) -> "Zygote":
        """A handle on a zygote another process started (a batch's template gets the
        control socket from the grader): it can spawn, and closing it leaves the zygote."""
        self = cls.__new__(cls)
        self.backend, self.device, self.helpers, self.dead = backend, device, helpers, None
        self._ctl = socket.socket(fileno=ctl_fd)
        self.proc = None
        return self

    def pass_on(self) -> tuple[int, str]:
        """The control socket's descriptor (inheritable) and what :meth:`attach` needs to
        know, for a process this one starts (``GMGRADE_ZYGOTE_CTL``)."""
        fd = self._ctl.fileno()
        os.set_inheritable(fd, True)
        return fd, json.dumps({"fd": fd, "backend": self.backend, "device": self.device,
                               "helpers": self.helpers})

    def _output(self) -> str:
        if self.proc is None:  # attached: another process started it
            return ""
        try:
            self.proc.proc.wait(timeout=5)
            data = self.proc.proc.stdout.read() if self.proc.proc.stdout else b""
        except Exception:  # noqa: BLE001 - diagnostics only
            data = b""
        return data.decode("utf-8", "replace")

    def spawn(self, spec: sandbox.SandboxSpec, timeout: float = 30.0) -> sandbox.Started:
        """A fresh sandboxed worker for one student, ready to be sent ``load``."""
        if self.dead:
            raise ZygoteUnavailable(self.dead)
        limits = spec.limits
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        out_r, out_w = os.pipe()
        life_r, life_w = os.pipe()
        scratch = None
        uid = gid = None
        own = False
        if self.backend == "process":
            scratch = sandbox.new_scratch()
            if os.geteuid() == 0 and sandbox._process_backend_can_drop():
                uid, gid, own = sandbox._sandbox_ids()
            nproc = limits.processes if own else sandbox._nproc_for_uid(os.getuid(), limits.processes)
        else:
            nproc = limits.processes  # counted in the child's own user namespace
        msg = {"limits": sandbox.limits_dict(limits), "nproc": nproc, "scratch": scratch,
               "uid": uid if own else None, "gid": gid if own else None}
        theirs = [req_r, rep_w, out_w, life_r]
        try:
            socket.send_fds(self._ctl, [json.dumps(msg).encode()], theirs)
        except OSError as e:
            for fd in (req_w, rep_r, out_r, life_w, *theirs):
                os.close(fd)
            if scratch:
                sandbox.remove_scratch(scratch)
            self.dead = f"the zygote is gone ({e.strerror or e})"
            raise ZygoteUnavailable(self.dead) from None
        for fd in theirs:
            os.close(fd)
        started = sandbox.Started(_Spawned(out_r), req_w, rep_r, scratch, None,
                                  uid=uid if own else None, memory_mb=limits.memory_mb,
                                  lifeline=life_w)
        try:
            if not select.select([rep_r], [], [], timeout)[0]:
                raise TimeoutError
            # one small frame, written at once: reading it whole reads nothing past it
            hello = protocol.read_frame(io.FileIO(rep_r, "rb", closefd=False))
        except (TimeoutError, EOFError, protocol.ProtocolError) as e:
            started.kill()
            said = _drain(out_r)
            raise ZygoteUnavailable(f"a worker from the zygote did not start ({type(e).__name__}"
                                    f"{': ' + said if said else ''})") from None
        # Sent before the worker read any of the student's code: trusted, but still checked.
        pid, pidns = hello.get("pid"), hello.get("pidns")
        if type(hello) is not dict or hello.get("ev") != "spawned" or type(pid) is not int:
            started.kill()
            raise ZygoteUnavailable("a worker from the zygote answered something unexpected")
        started.adopt(pid, pidns if type(pidns) is str else None,
                      session=self.backend == "process" and not own)
        return started

    def close(self) -> None:
        try:
            self._ctl.close()
        except OSError:
            pass
        if self.proc is not None:
            self.proc.kill()


class _Spawned:
    """What :class:`sandbox.Started` needs of a process it did not start itself: no pid (it
    learns the worker's once the worker says hello; the grader never signals a pid it did
    not learn), the output pipe, and a wait that returns once the worker's processes are gone."""

    def __init__(self, out_r: int) -> None:
        self.pid: int | None = None
        self.stdout = os.fdopen(out_r, "rb", buffering=0)

    def wait(self, timeout: float | None = None) -> None:
        return None


def _drain(fd: int) -> str:
    """What a failed child wrote to its output pipe (its writers are dead: no blocking)."""
    try:
        os.set_blocking(fd, False)
        return os.read(fd, 2000).decode("utf-8", "replace").strip()
    except OSError:
        return ""


_SHARED: Zygote | None = None
_SHARED_KEY: tuple[str, str] | None = None


def start_shared(backend: str, limits: sandbox.Limits, device: str, assignments: list[str],
                 helpers: tuple[Path, ...], note=None) -> Zygote | None:
    """Start this process's zygote for grading ``assignments``, whose helpers files are
    ``helpers`` (a batch's template calls it once; its forks inherit it). Returns None,
    after telling ``note`` why, when no zygote can run here."""
    global _SHARED, _SHARED_KEY
    backend = sandbox.choose_backend(backend)
    if backend == "process" and not compat.linux_process_backend():
        return None  # macOS, Windows: the portable worker has no fork to share
    if backend == "bwrap" and any(r == "/tmp" or r.startswith("/tmp/") for r in sandbox._python_roots()):
        # each child mounts a fresh /tmp over the one its Python was bound into
        if note is not None:
            note("note: Python is installed under /tmp, which each student's worker replaces "
                 "with its own; each submission gets a sandbox of its own instead (slower)")
        _SHARED, _SHARED_KEY = None, None
        return None
    try:
        _SHARED = Zygote(backend, limits, device, assignments, helpers)
        _SHARED_KEY = (backend, device)
    except ZygoteUnavailable as e:
        _SHARED, _SHARED_KEY = None, None
        if note is not None:
            note(f"note: {e}; each submission gets a sandbox of its own instead (slower)")
    return _SHARED


ENV = "GMGRADE_ZYGOTE_CTL"


def attach_shared_from_env() -> None:
    """In a process the grader started with a zygote's control socket (see
    :meth:`Zygote.pass_on`): make it this process's zygote, and its forks'."""
    global _SHARED, _SHARED_KEY
    info = os.environ.pop(ENV, None)
    if not info:
        return
    cfg = json.loads(info)
    _SHARED = Zygote.attach(int(cfg["fd"]), cfg["backend"], cfg["device"], cfg["helpers"])
    _SHARED_KEY = (cfg["backend"], cfg["device"])


def shared_for(spec: sandbox.SandboxSpec) -> Zygote | None:
    """The zygote started in this process (or inherited from the template), if it serves
    ``spec``'s backend and device, its workers can import ``spec``'s helpers and it is alive."""
    if _SHARED is None or _SHARED_KEY != (spec.backend, spec.device) or _SHARED.dead \
            or not {str(f) for f in spec.helpers} <= set(_SHARED.helpers):
        return None
    return _SHARED


def stop_shared() -> None:
    global _SHARED, _SHARED_KEY
    if _SHARED is not None:
        _SHARED.close()
    _SHARED, _SHARED_KEY = None, None


# =========================================================================== zygote side


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")


def _enter_namespaces() -> None:
    """New user (mapping our own uid and gid), mount, pid, net, ipc, uts, cgroup
    namespaces; the next fork becomes pid 1 of the new pid namespace."""
    uid, gid = os.getuid(), os.getgid()
    libc = _libc()
    _check(libc.unshare(sum(_CLONE.values())), "unshare")
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")


def _own_mounts(limits: dict) -> None:
    """As pid 1 of the new namespaces: a /proc of our own pid namespace, and fresh
    size-limited /tmp and /dev/shm (an earlier student's files are not there)."""
    libc = _libc()
    _check(libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "mount private")
    _check(libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None),
           "mount /proc")
    for path, mb in ((b"/tmp", limits["tmp_mb"]), (b"/dev/shm", limits["shm_mb"])):
        opts = f"size={mb * 2**20},mode=1777".encode()
        _check(libc.mount(b"tmpfs", path, b"tmpfs", _MS_NOSUID | _MS_NODEV, opts), f"mount {path!r}")


def _drop_capabilities() -> None:
    libc = _libc()
    for cap in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # past the last capability this kernel knows
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable ×2: all zero
    _check(libc.syscall(126 if os.uname().machine == "x86_64" else 91, header, data), "capset")


def _probe_nested() -> str | bool:
    """True when a child can enter the namespaces and mounts a worker needs; else why not."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 1
        try:
            _enter_namespaces()
            inner = os.fork()
            if inner == 0:
                try:
                    _own_mounts({"tmp_mb": 1, "shm_mb": 1})
                    os.write(w, b"ok")
                except BaseException as e:  # noqa: BLE001 - reported to the grader
                    os.write(w, str(e).encode()[:500])
                os._exit(0)
            os.waitpid(inner, 0)
            code = 0
        except BaseException as e:  # noqa: BLE001
            os.write(w, str(e).encode()[:500])
        os._exit(code)
    os.close(w)
    os.waitpid(pid, 0)
    with os.fdopen(r, "rb") as f:
        said = f.read().decode("utf-8", "replace")
    return True if said == "ok" else (said or "the probe died")


def warm_up(assignments: list[str]) -> None:
    """Import what torch and the engine import lazily and run what first calls would
    otherwise pay in every test's forked child: autograd's first backward, linear algebra,
    distributions, common nn functions. Uses only torch, public engine code and the public
    helpers files the sandbox gave it (never a reference solution). Also what the helpers
    of ``assignments`` import on first use (a zygote passes the batch's assignments and pays
    it once; an exec'd worker passes none and leaves it to the tests that need it)."""
    import importlib

    import torch

    from autograder import helpers

    helpers.names()  # registers every helper module
    modules = [*WARM_MODULES, *helpers.worker_imports(assignments)]
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the worker will report it when it matters
            pass
    F = torch.nn.functional
    for dtype in (torch.float32, torch.float64):
        x = torch.linspace(-1, 1, 12, dtype=dtype).reshape(3, 4).requires_grad_(True)
        spd = torch.eye(4, dtype=dtype) * 2 + 0.1
        chol = torch.linalg.cholesky(spd)
        z = torch.linalg.solve_triangular(chol, x.T, upper=False)
        y = (z.sum() + torch.logsumexp(x, -1).sum() + F.softmax(x, -1).sum() + torch.slogdet(spd)[1]
             + F.log_softmax(x, -1).sum() + F.binary_cross_entropy_with_logits(x, torch.ones_like(x))
             + F.cross_entropy(x, torch.tensor([0, 1, 2])) + F.gelu(x).sum() + torch.tanh(x).sum()
             + torch.sigmoid(x).sum() + F.softplus(x).sum() + torch.linalg.inv(spd).sum()
             + torch.distributions.Normal(x, 1.0).log_prob(x).sum()
             + torch.distributions.MultivariateNormal(torch.zeros(4, dtype=dtype), spd).log_prob(x).sum()
             + F.linear(x, torch.ones(2, 4, dtype=dtype)).sum() + (x @ x.T).sum()
             + torch.cumsum(x, 0).sum() + torch.logaddexp(x, x).sum() + x.var() + x.std())
        torch.autograd.grad(y, x, create_graph=True)[0].sum().backward()
        torch.broadcast_shapes((3, 1), (4,))
        torch.special.gammaln(x.detach().abs() + 1)
        torch.digamma(x.detach().abs() + 1)
        torch.multinomial(torch.ones(4), 2, replacement=True)
    torch.nn.Linear(4, 2)(torch.ones(1, 4)).sum().backward()


_MADV_COLLAPSE = 25
_HUGE = 2 << 20


def _huge_pages() -> None:
    """Back the zygote's large anonymous mappings (the C heap holding most of Python's and
    torch's objects) with 2 MB pages (Linux 6.1+; elsewhere this does nothing). Every fork
    below the zygote (the student's worker, then one child per test) copies the page
    tables of all that memory, and every exit tears them down: with huge pages that is a
    512th of the entries, which takes milliseconds off each test's fork and exit."""
    libc = _libc()
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    with open("/proc/self/maps") as f:
        maps = [line.split() for line in f]
    for fields in maps:
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        lo, hi = -(-lo // _HUGE) * _HUGE, hi // _HUGE * _HUGE
        if fields[1].startswith("rw") and (len(fields) == 5 or fields[5] == "[heap]") and hi - lo >= 2 * _HUGE:
            libc.madvise(lo, hi - lo, _MADV_COLLAPSE)  # fails harmlessly where not supported


def main() -> None:
    """The zygote (``python -c …``, see :func:`sandbox.start_zygote`)."""
    from autograder import worker

    cfg = json.loads(os.environ.pop("GMGRADE_ZYGOTE"))
    ctl = socket.socket(fileno=cfg["ctl"])
    backend = cfg["backend"]
    worker.prepare_torch()
    warm_up(cfg["assignments"])
    import gc

    gc.collect()
    gc.freeze()  # forks leave the template's objects (and their pages) alone
    nested = _probe_nested() if backend == "bwrap" else True
    threads = len(os.listdir("/proc/self/task"))
    ctl.send(json.dumps({"ev": "ready", "nested": nested, "threads": threads}).encode())
    _huge_pages()  # while the grader starts its own side
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # intermediates are reaped by the kernel
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(ctl, 65536, _SPAWN_FDS)
        except OSError:
            os._exit(0)
        if not data:
            os._exit(0)  # the grader closed its end: the batch is over
        if len(fds) != _SPAWN_FDS:
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            ctl.close()
            _intermediate(json.loads(data), backend, *fds)
        for fd in fds:
            os.close(fd)


def _intermediate(msg: dict, backend: str, req_r: int, rep_w: int, out_w: int, life_r: int) -> None:
    """Enter the student's namespaces, fork the worker, and watch the lifeline."""
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        if backend == "bwrap":
            _enter_namespaces()
        pid = os.fork()
        if pid == 0:
            os.close(life_r)
            _worker(msg, backend, req_r, rep_w, out_w)
        for fd in (req_r, rep_w, out_w):
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        ready, _, _ = select.select([life_r, pidfd], [], [])
        if pidfd not in ready:  # the grader went away (or wrote): end the student's worker
            for target in (pid, -pid):
                try:
                    os.kill(target, signal.SIGKILL)
                except OSError:
                    pass
        os.waitpid(pid, 0)
    except BaseException as e:  # noqa: BLE001 - the grader sees EOF and this on the output
        try:
            os.write(out_w, f"zygote: starting the worker failed: {e}\n".encode())
        except OSError:
            pass
        code = 1
    os._exit(code)


def _worker(msg: dict, backend: str, req_r: int, rep_w: int, out_w: int) -> None:
    """Become the student's sandboxed worker; never returns."""
    import resource

    from autograder import worker

    try:
        limits = msg["limits"]
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        keep = sorted({0, 1, 2, req_r, rep_w})
        for lo, hi in zip(keep, keep[1:] + [65536]):
            if hi > lo + 1:  # closerange(a, b) with b <= a would close everything
                os.closerange(lo + 1, hi)
        if backend == "bwrap":
            os.setsid()
            _own_mounts(limits)
            scratch = "/tmp/work"
            os.chdir("/tmp")
        else:
            os.setsid()
            scratch = os.path.join(msg["scratch"], "work")
            os.environ["TMPDIR"] = msg["scratch"]
            os.chdir(msg["scratch"])
            if msg["uid"] is not None:
                sandbox._drop_privileges(msg["uid"], msg["gid"])
        if backend == "bwrap":
            _drop_capabilities()
        resource.setrlimit(resource.RLIMIT_NPROC, (msg["nproc"], msg["nproc"]))
        sandbox._apply_limits(sandbox.Limits(**limits))
        hello = {"ev": "spawned", "pid": os.getpid(),
                 "pidns": os.readlink("/proc/self/ns/pid") if backend == "bwrap" else None}
        protocol.write_frame(io.FileIO(rep_w, "wb", closefd=False), hello)
        program = sandbox.seccomp_program()
        if program is not None:
            sandbox._load_seccomp(program)  # last: it forbids what the steps above needed
        else:
            _libc().prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS all the same
    except BaseException as e:  # noqa: BLE001 - the grader sees EOF and falls back
        try:
            os.write(2, f"zygote child setup failed: {e}\n".encode())
        finally:
            os._exit(4)
    worker.serve(req_r, rep_w, pidns=backend == "bwrap",
                 own_uid=backend == "process" and msg["uid"] is not None, scratch=scratch)


if __name__ == "__main__":
    main()
