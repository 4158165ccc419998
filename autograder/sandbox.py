"""Starting the untrusted worker: bubblewrap where available, a weaker fallback elsewhere.

``bwrap`` backend (Linux with bubblewrap and user namespaces):
  * new user, pid, network, ipc, uts and cgroup namespaces (``--unshare-all``): no
    network at all, not even loopback to the host; the worker sees only its own
    processes;
  * a file system made only of read-only binds of the system (``/usr``, ``/etc``
    minus nothing secret is needed), the Python installation, the ``autograder``
    package (public engine code, no tests, no solutions), the public helpers file of
    each assignment graded (``assignments/NAME/helpers.py``, see
    :mod:`autograder.helpers`) and the one submission file; ``/tmp`` is a private tmpfs;
    nothing else — not the course folder with ``solutions/`` and hidden tests, not the
    output folder, not other students;
  * ``--die-with-parent`` and ``--new-session``; when the grader kills the sandbox every
    process inside ends with it;
  * the root, ``/dev`` and the system are read-only; the only writable places are ``/tmp``
    and ``/dev/shm``, size-limited tmpfs mounts (they live in RAM, outside the address-space
    limit); no nested user namespaces (``--disable-userns``).

``process`` backend (Linux without bubblewrap; on macOS and Windows it starts the portable
worker of ``compat.py`` instead, for a student's own ``check``): the worker is a
plain child process in its own session with the same resource limits, a clean
environment, a private scratch folder as working directory, and — when the grader runs
as root — an unprivileged user id (``_rebuild_in_place`` makes Python reachable for it when
it is installed under a closed folder such as /root). It does NOT hide the file system or
the network.
SECURITY.md says what each backend does and does not protect.

Both backends apply limits in the child before it starts: address space (memory),
CPU time, file size, open files and, under an unprivileged uid, process count. Both also
load a seccomp filter (x86_64 and aarch64) that refuses the few system calls that would
get around those limits or out of the sandbox: SysV shared memory and message queues,
``memfd_create`` (memory no address-space limit counts), new namespaces, ptrace and
process_vm_*, mount, bpf, keyrings, io_uring, userfaultfd, perf events.

When the grader runs as root, each sandbox gets a user id of its own (a random one from
``UID_RANGE``, when this user namespace maps it; ``nobody`` otherwise). Everything the
student's code starts runs under that uid, so the grader can count it (``RLIMIT_NPROC``
exactly), watch the memory of all of it together (``Started`` polls the processes' PSS
and stops the sandbox past the limit: many processes each under the per-process limit
cannot add up to more) and kill all of it at the end — including daemons that left the
session — without ever touching another student's sandbox.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import autograder
from autograder import compat
from autograder.errors import UsageError
from autograder.helpers import worker_env
from autograder.options import DEFAULT_MEMORY_MB

try:
    import resource
except ImportError:  # Windows: the process backend starts compat's portable worker, which needs none
    pass

PACKAGE_DIR = Path(autograder.__file__).resolve().parent
NOBODY = 65534
UID_RANGE = (2_000_000_000, 2_100_000_000)  # per-sandbox user ids (when the grader is root)


@dataclass(frozen=True)
class Limits:
    memory_mb: int = DEFAULT_MEMORY_MB
    cpu_seconds: int = 600  # whole worker lifetime; per-test CPU is set per child
    file_mb: int = 64
    processes: int = 256
    open_files: int = 256
    tmp_mb: int = 256  # the sandbox's /tmp (bwrap: RAM-backed tmpfs)
    shm_mb: int = 64  # the sandbox's /dev/shm (bwrap)


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


_BWRAP_OK: bool | None = None


def bwrap_works() -> bool:
    """True when bubblewrap exists and can create the namespaces we need here."""
    global _BWRAP_OK
    if _BWRAP_OK is None:
        path = bwrap_path()
        if path is None:
            _BWRAP_OK = False
        else:
            cmd = [path, *_system_binds(), "--unshare-all", "--die-with-parent", "/bin/true"]
            try:
                r = subprocess.run(cmd, capture_output=True, timeout=20, preexec_fn=_drop_privileges)
                _BWRAP_OK = r.returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                _BWRAP_OK = False
    return _BWRAP_OK


def choose_backend(requested: str) -> str:
    if requested == "process":
        return "process"
    if requested == "bwrap":
        if not bwrap_works():
            raise UsageError(
                "--sandbox bwrap was requested but bubblewrap is not usable here; install it "
                "with `apt-get install -y bubblewrap` (Debian/Ubuntu) or use --sandbox process"
            )
        return "bwrap"
    return "bwrap" if bwrap_works() else "process"


def _system_binds() -> list[str]:
    args: list[str] = []
    for d in ("/usr", "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
              "/etc/localtime", "/etc/ssl"):
        if os.path.exists(d):
            args += ["--ro-bind", d, d]
    for link in ("bin", "lib", "lib64", "sbin"):
        p = f"/{link}"
        if os.path.islink(p):
            args += ["--symlink", os.readlink(p), p]
        elif os.path.isdir(p):
            args += ["--ro-bind", p, p]
    return args


def _python_roots() -> list[str]:
    """The folders holding the interpreter and its installed packages (outermost only)."""
    roots: set[str] = set()
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix):
        roots.add(os.path.realpath(p))
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            roots.add(os.path.realpath(sysconfig.get_path(key)))
        except KeyError:
            pass
    roots.add(os.path.dirname(os.path.realpath(sys.executable)))
    keep: list[str] = []
    for r in sorted(roots, key=len):
        if r == "/usr" or r.startswith("/usr/"):
            continue
        if any(r == k or r.startswith(k + "/") for k in keep):
            continue
        keep.append(r)
    return keep


def _others_can_reach(path: str) -> bool:
    """True when every folder above ``path`` is searchable by an unprivileged user."""
    parts = Path(path).parts
    for i in range(1, len(parts) + 1):
        p = os.path.join(*parts[:i])
        try:
            if os.path.isdir(p) and not os.stat(p).st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


_MS_REC, _MS_PRIVATE, _MS_BIND, _CLONE_NEWNS = 0x4000, 0x40000, 0x1000, 0x00020000


def _expose_to_nobody(paths: list[str], stage: str) -> None:
    """In a private mount namespace, bind ``paths`` where an unprivileged uid can reach them.

    Runs in the child between fork and exec, as root. The grader's own view of the
    file system is unchanged. ``stage`` is an empty folder made by the grader.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None)
    for i, p in enumerate(paths):
        target = os.path.join(stage, str(i))
        if libc.mount(p.encode(), target.encode(), None, _MS_BIND | _MS_REC, None) != 0:
            raise OSError(ctypes.get_errno(), f"bind {p} failed")


def _closed_ancestor(path: str) -> str | None:
    """The outermost folder above (or at) ``path`` that others may not enter, if any."""
    parts = Path(path).parts
    for i in range(1, len(parts) + 1):
        p = os.path.join(*parts[:i])
        try:
            if not os.stat(p).st_mode & 0o001:
                return p
        except OSError:
            return p
    return None


def _rebuild_in_place(paths: list[str], stage: str) -> None:
    """Process backend as root, after :func:`_expose_to_nobody`: cover each closed folder
    above ``paths`` (e.g. /root around a Python installed in ~/.pyenv) with an empty tmpfs
    and bind each path (a folder, or a file) back at its own name, so that the sandbox's uid
    can run Python from where it is installed while everything else in that folder stays
    out of sight.
    Without this the worker would run as root. Only in the child's mount namespace.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    covered: list[str] = []
    for p in paths:
        top = _closed_ancestor(p)
        if top and not any(top == c or top.startswith(c + "/") for c in covered):
            if libc.mount(b"tmpfs", top.encode(), b"tmpfs", 0x2 | 0x4, b"mode=755,size=1m") != 0:
                raise OSError(ctypes.get_errno(), f"tmpfs over {top} failed")  # nosuid, nodev
            covered.append(top)
    for i, p in enumerate(paths):
        if os.path.isdir(os.path.join(stage, str(i))):
            os.makedirs(p, mode=0o755, exist_ok=True)
        else:  # a file (a helpers file): an empty one to bind it onto
            os.makedirs(os.path.dirname(p), mode=0o755, exist_ok=True)
            os.close(os.open(p, os.O_CREAT | os.O_RDONLY, 0o644))
        if libc.mount(os.path.join(stage, str(i)).encode(), p.encode(), None, _MS_BIND | _MS_REC,
                      None) != 0:
            raise OSError(ctypes.get_errno(), f"bind back {p} failed")


def _drop_privileges(uid: int = NOBODY, gid: int = NOBODY) -> None:
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)


def _apply_limits(limits: Limits) -> None:
    mem = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    fsize = limits.file_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _pids_of_uid(uid: int) -> list[int]:
    """Live (not zombie) processes whose owner is ``uid``."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            if os.stat(f"/proc/{p}").st_uid != uid:
                continue
            with open(f"/proc/{p}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X"):
            pids.append(int(p))
    return pids


def _nproc_for_uid(uid: int, budget: int) -> int:
    """RLIMIT_NPROC counts every process of the real uid: leave room for what already runs."""
    return len(_pids_of_uid(uid)) + budget


def _mapped(uid: int, map_file: str) -> bool:
    """True when ``uid`` exists in this user namespace (containers often map only a few)."""
    try:
        with open(map_file) as f:
            for line in f:
                inside, _, count = (int(x) for x in line.split())
                if inside <= uid < inside + count:
                    return True
    except (OSError, ValueError):
        pass
    return False


def _sandbox_ids() -> tuple[int, int, bool]:
    """``(uid, gid, own)`` for a new sandbox started by root: a user id no process has, from
    ``UID_RANGE``, or ``nobody`` (shared with other sandboxes: ``own`` is False)."""
    for _ in range(20):
        uid = UID_RANGE[0] + secrets.randbelow(UID_RANGE[1] - UID_RANGE[0])
        if _mapped(uid, "/proc/self/uid_map") and not _pids_of_uid(uid):
            gid = uid if _mapped(uid, "/proc/self/gid_map") else NOBODY
            return uid, gid, True
    return NOBODY, NOBODY, False


def _memory_mb(pids: list[int]) -> float:
    """Memory the processes use together: their proportional share (PSS) of anonymous and
    shared-memory pages, so that pages shared after fork() are counted once."""
    total_kb = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                fields = dict(line.split(b":", 1) for line in f.read().splitlines() if b":" in line)
            if b"Pss_Anon" in fields:
                kb = int(fields[b"Pss_Anon"].split()[0]) + int(fields.get(b"Pss_Shmem", b"0 kB").split()[0])
            else:  # older kernels: all of PSS (file pages too; errs on the safe side)
                kb = int(fields[b"Pss"].split()[0])
        except (OSError, KeyError, ValueError, IndexError):
            continue
        total_kb += kb
    return total_kb / 1024


# --------------------------------------------------------------------------- seccomp

# System calls the worker never needs and that would get around the limits or out of the
# sandbox. Denied with EPERM (clone3 with ENOSYS, so that the C library falls back to clone,
# whose flags the filter can see).
_DENY = ("shmget shmat shmctl msgget semget memfd_create unshare setns userfaultfd "
         "perf_event_open bpf keyctl add_key request_key io_uring_setup io_uring_enter "
         "io_uring_register ptrace process_vm_readv process_vm_writev mount umount2 pivot_root "
         "chroot open_by_handle_at kexec_load init_module finit_module open_tree move_mount "
         "fsopen fsmount").split()
_SYSCALLS = {
    # AUDIT_ARCH value, {name: number}
    "x86_64": (0xC000003E, dict(zip(_DENY + ["clone", "clone3"], [
        29, 30, 31, 68, 64, 319, 272, 308, 323, 298, 321, 250, 248, 249, 425, 426, 427, 101, 310,
        311, 165, 166, 155, 161, 304, 246, 175, 313, 428, 429, 430, 432, 56, 435]))),
    "aarch64": (0xC00000B7, dict(zip(_DENY + ["clone", "clone3"], [
        194, 196, 195, 186, 190, 279, 97, 268, 282, 241, 280, 219, 217, 218, 425, 426, 427, 117,
        270, 271, 40, 39, 41, 51, 265, 104, 105, 273, 428, 429, 430, 432, 220, 435]))),
}
_CLONE_NEW_NAMESPACES = 0x7E020000  # CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET


def seccomp_program() -> bytes | None:
    """The classic-BPF seccomp filter as raw ``struct sock_filter`` records (None when this
    machine's architecture is not one we have syscall numbers for)."""
    arch = platform.machine()
    if arch not in _SYSCALLS:
        return None
    audit_arch, nr = _SYSCALLS[arch]
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill = 0x7FFF0000, 0x80000000
    eperm, enosys = 0x00050000 | 1, 0x00050000 | 38
    prog: list[tuple] = [(ld, 0, 0, 4), (jeq, 1, 0, audit_arch), (ret, 0, 0, kill), (ld, 0, 0, 0)]
    if arch == "x86_64":  # the x32 ABI: same arch value, numbers from 0x40000000
        prog.append((jge, "EPERM", 0, 0x40000000))
    for name in _DENY:
        prog.append((jeq, "EPERM", 0, nr[name]))
    prog.append((jeq, "ENOSYS", 0, nr["clone3"]))
    prog.append((jeq, 0, "ALLOW", nr["clone"]))
    prog.append((ld, 0, 0, 16))  # low 32 bits of the first argument: clone's flags
    prog.append((jset, "EPERM", "ALLOW", _CLONE_NEW_NAMESPACES))
    labels = {"ALLOW": len(prog), "EPERM": len(prog) + 1, "ENOSYS": len(prog) + 2}
    prog += [(ret, 0, 0, allow), (ret, 0, 0, eperm), (ret, 0, 0, enosys)]
    out = b""
    for i, (code, jt, jf, k) in enumerate(prog):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        out += struct.pack("=HBBI", code, jt, jf, k)
    return out


def _load_seccomp(program: bytes) -> None:
    """Install ``program`` for this process and everything it starts (process backend;
    bubblewrap loads it itself with --seccomp)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(program, len(program))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(program) // 8, ctypes.addressof(buf))
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
    if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "loading the seccomp filter failed")


_BWRAP_HELP: str | None = None


def _bwrap_supports(option: str) -> bool:
    global _BWRAP_HELP
    if _BWRAP_HELP is None:
        try:
            r = subprocess.run([bwrap_path() or "bwrap", "--help"], capture_output=True, text=True,
                               timeout=20)
            _BWRAP_HELP = r.stdout + r.stderr
        except (OSError, subprocess.TimeoutExpired):
            _BWRAP_HELP = ""
    return option in _BWRAP_HELP


@dataclass
class SandboxSpec:
    backend: str
    limits: Limits
    # the file with the student's code, bound read-only inside (the worker receives the
    # code itself in its ``load`` message; None for a worker started before it was read)
    submission: Path | None
    device: str = "cpu"
    # the public helpers files (``Course.helper_files``) the worker may import, bound read-only
    helpers: tuple[Path, ...] = ()


class WorkerProcess(Protocol):
    """What a worker's handle uses of its process: a ``subprocess.Popen``, or
    ``zygote._Spawned`` for a worker that a zygote forked."""

    @property
    def pid(self) -> int | None: ...

    @property
    def stdout(self) -> IO[bytes] | None: ...  # what the student's code printed

    def wait(self, timeout: float | None = None) -> int | None: ...


class Worker(Protocol):
    """A running worker as ``student.WorkerSession`` drives it: a :class:`Started`, or a
    ``compat.PortableWorker`` where the process backend's Linux pieces are missing."""

    req_w: int  # the grader's ends of the request and reply pipes
    rep_r: int

    @property
    def proc(self) -> WorkerProcess: ...

    @property
    def stopped_because(self) -> str | None: ...

    def kill(self) -> None: ...


class Started:
    """A running worker: the process and the grader's ends of the pipes.

    A watchdog thread stops the whole sandbox when all its processes together use more
    than ``memory_mb`` (``stopped_because`` then says so), and :meth:`kill` ends every one
    of them. The sandbox's processes are those of its own user id (``uid``), else those in
    its pid namespace (``pidns``: bubblewrap without root), else those in the worker's
    session (``session``: the process backend without root).
    """

    def __init__(self, proc: WorkerProcess, req_w: int, rep_r: int, scratch: str | None,
                 stage: str | None = None, *, uid: int | None = None, pidns: bool = False,
                 session: bool = False, memory_mb: int = 0, lifeline: int | None = None) -> None:
        self.proc = proc
        self.pid = proc.pid  # None until a worker a zygote forked says who it is (adopt)
        self.stage = stage  # bind targets of the child's private mount namespace
        self.req_w = req_w
        self.rep_r = rep_r
        self.scratch = scratch
        self.uid = uid  # the sandbox's own user id, or None when it shares one
        self.pidns = pidns
        self.session = session
        self.lifeline = lifeline  # a zygote's child dies when this end closes
        self._ns: str | None = None  # the sandbox's pid namespace, once seen
        self.stopped_because: str | None = None
        self._done = threading.Event()
        self._memory_mb = memory_mb
        if memory_mb and (uid is not None or pidns or session):
            self._start_watch()

    def _start_watch(self) -> None:
        threading.Thread(target=self._watch, args=(self._memory_mb,), daemon=True).start()

    def adopt(self, pid: int, pidns: str | None, *, session: bool) -> None:
        """A worker forked by a zygote said who it is (before it read any student code):
        its pid namespace (bwrap), else its pid and, without a user id of its own, its
        session. Watch it from now on like a worker started here."""
        if pidns is not None:
            self.pidns, self._ns = True, pidns
        else:
            self.pid = pid
            self.session = session
        if self._memory_mb and self.uid is None:
            self._start_watch()

    def _members(self) -> list[int]:
        if self.uid is not None:
            return _pids_of_uid(self.uid)
        if self.pidns:
            if self._ns is None and self.pid is not None:
                self._ns = _child_pidns(self.pid)
            return _pids_in_pidns(self._ns) if self._ns else []
        if self.session and self.pid is not None:
            return _pids_of_session(self.pid)
        return []

    def _watch(self, limit_mb: int) -> None:
        while not self._done.wait(0.1):
            if _memory_mb(self._members()) > limit_mb:
                self.stopped_because = (f"used more than {limit_mb} MB of memory (all its "
                                        "processes together) and was stopped")
                self._kill_processes()
                return

    def _kill_processes(self) -> None:
        """SIGKILL the worker, its process group, and every other process of the sandbox;
        the grader's ends of the pipes then see EOF. Safe to call from the watchdog."""
        if self.pid is not None:
            for kill in (os.killpg, os.kill):
                try:
                    kill(self.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        for i in range(100):  # a fork bomb may add processes between two rounds
            pids = self._members()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(min(0.02, 0.001 * 2**i))  # killed processes are mostly gone within ms

    def kill(self) -> None:
        """End the sandbox and release everything it held; once only (a pid is never
        signalled again after its process was reaped: it may be another's by then)."""
        if self._done.is_set():
            return
        self._done.set()
        self._kill_processes()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for fd in (self.req_w, self.rep_r, self.lifeline):
            if fd is None or fd < 0:
                continue
            try:
                os.close(fd)
            except OSError:
                pass
        self.req_w = self.rep_r = -1
        self.lifeline = None
        if self.scratch:
            remove_scratch(self.scratch)
            self.scratch = None
        if self.stage:
            shutil.rmtree(self.stage, ignore_errors=True)
            self.stage = None


def _child_pidns(pid: int) -> str | None:
    """The pid namespace bubblewrap (``pid``) created for the sandbox, once it exists."""
    try:
        own = os.readlink("/proc/self/ns/pid")
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            for child in f.read().split():
                ns = os.readlink(f"/proc/{child}/ns/pid")
                if ns != own:
                    return ns
    except OSError:
        pass
    return None


def _pids_in_pidns(ns: str) -> list[int]:
    pids = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.readlink(f"/proc/{p}/ns/pid") == ns:
                    pids.append(int(p))
            except OSError:
                pass
    return pids


def _pids_of_session(sid: int) -> list[int]:
    pids = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                if int(fields[3]) == sid and fields[0] not in (b"Z", b"X"):
                    pids.append(int(p))
            except (OSError, IndexError, ValueError):
                pass
    return pids


_BOOT = (
    "import sys; sys.path.insert(0, {root!r}); sys.dont_write_bytecode = True; "
    "import autograder.{module} as w; w.main()"
)
GRADER_ROOT = "/grader"  # where the engine is mounted inside a bwrap sandbox


def _helpers_env(helpers: tuple[Path, ...], bwrap: bool) -> dict[str, str]:
    """Where the worker finds the helpers files it may import (:mod:`autograder.helpers`):
    under bwrap, where :func:`_bwrap_args` binds them; otherwise where they are."""
    return worker_env(_inside(f) if bwrap else str(f) for f in helpers)


def _inside(helper: Path) -> str:
    """Where a bwrap sandbox sees the helpers file ``assignments/NAME/helpers.py``."""
    return f"{GRADER_ROOT}/assignments/{helper.parent.name}/{helper.name}"


def _base_env(device: str) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp", **compat.WORKER_ENV}
    for keep in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if keep in os.environ:
            env[keep] = os.environ[keep]
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


class _Stage:
    """Folders an unprivileged uid cannot reach (Python under /root): bound into a private
    mount namespace of the child by root before it drops its uid (see _expose_to_nobody)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.dir: str | None = None

    def slot(self, path: str) -> str:
        """An empty file or folder that ``path`` will be bound onto in the child."""
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="gmgrade-stage-")
            os.chmod(self.dir, 0o755)
        target = os.path.join(self.dir, str(len(self.paths)))
        if os.path.isfile(path):
            open(target, "w").close()
        else:
            os.makedirs(target)
        self.paths.append(path)
        return target


def _bwrap_args(limits: Limits, device: str, submission: Path | None, helpers: tuple[Path, ...],
                stage: _Stage, *, nested: bool) -> list[str]:
    """The bubblewrap command line (up to the program). ``nested``: for a zygote, whose
    per-student children enter namespaces of their own and load the seccomp filter
    themselves (autograder.zygote), so neither --disable-userns nor --seccomp here."""

    def source(path: str) -> str:
        """Where bwrap (running as an unprivileged uid) can read ``path`` from."""
        if os.geteuid() != 0 or _others_can_reach(path):
            return path
        return stage.slot(path)

    py_binds: list[str] = []
    tmp_binds: list[str] = []  # roots under /tmp: bound after the tmpfs that would hide them
    for root in _python_roots():
        (tmp_binds if root == "/tmp" or root.startswith("/tmp/") else py_binds).extend(
            ["--ro-bind", source(root), root])
    args = [
        bwrap_path() or "bwrap",
        *_system_binds(),
        *py_binds,
        "--ro-bind", source(str(PACKAGE_DIR)), f"{GRADER_ROOT}/autograder",
    ]
    for f in helpers:  # each file alone: nothing else of the course
        args += ["--ro-bind", source(str(f)), _inside(f)]
    if submission is not None:
        args += ["--ro-bind", source(str(submission)), f"/submission/{submission.name}"]
    args += [
        "--proc", "/proc",
        "--dev", "/dev",
        # tmpfs lives in RAM, where the address-space limit does not see it: cap each one
        *_size(limits.shm_mb), "--tmpfs", "/dev/shm",
        *_size(limits.tmp_mb), "--tmpfs", "/tmp",
        *tmp_binds,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--hostname", "sandbox",
        "--chdir", "/tmp",
    ]
    if not nested and _bwrap_supports("--disable-userns"):  # no nested namespaces
        args += ["--unshare-user", "--disable-userns"]
    if device != "cpu":
        # GPU grading: the NVIDIA device nodes must be visible inside.
        for dev in sorted(os.listdir("/dev")):
            if dev.startswith("nvidia"):
                args += ["--dev-bind", f"/dev/{dev}", f"/dev/{dev}"]
    if _bwrap_supports("--remount-ro"):  # only /tmp and /dev/shm stay writable
        args += ["--remount-ro", "/dev", "--remount-ro", "/"]
    return args


def _process_stage(helpers: tuple[Path, ...]) -> _Stage:
    """Process backend as root: Python (or the engine, or a helpers file) under a folder the
    sandbox's uid cannot enter is rebuilt in place in the child's mount namespace
    (_rebuild_in_place)."""
    stage = _Stage()
    if os.geteuid() == 0 and _process_backend_can_drop():
        for r in _python_roots() + [str(PACKAGE_DIR.parent)] + [str(f) for f in helpers]:
            if not _others_can_reach(r):
                stage.slot(r)
    return stage


def start(spec: SandboxSpec) -> Worker:
    """A worker in a sandbox of its own (exec: bwrap + Python + torch for each student)."""
    if spec.backend == "process" and not compat.linux_process_backend():
        return compat.start_portable(spec)  # macOS, Windows: a plain child process (compat.py)
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    env = _base_env(spec.device)
    limits = spec.limits
    program = seccomp_program()
    seccomp_r: int | None = None
    scratch_host: str | None = None
    if spec.backend == "bwrap":
        stage = _Stage()
        args = _bwrap_args(limits, spec.device, spec.submission, spec.helpers, stage, nested=False)
        if program is not None:
            seccomp_r, seccomp_w = os.pipe()
            os.write(seccomp_w, program)  # a few hundred bytes: fits in the pipe
            os.close(seccomp_w)
            args += ["--seccomp", str(seccomp_r)]
        env["GMGRADE_PIDNS"] = "1"
        env["GMGRADE_SCRATCH"] = "/tmp/work"
        cmd = args + [sys.executable, "-s", "-E", "-c",
                      _BOOT.format(root=GRADER_ROOT, module="worker")]
    else:
        scratch_host = new_scratch()
        env["GMGRADE_SCRATCH"] = os.path.join(scratch_host, "work")
        env["TMPDIR"] = scratch_host
        cmd = [sys.executable, "-s", "-E", "-c",
               _BOOT.format(root=str(PACKAGE_DIR.parent), module="worker")]
        stage = _process_stage(spec.helpers)
    env.update(_helpers_env(spec.helpers, bwrap=spec.backend == "bwrap"))
    drop = os.geteuid() == 0 and (spec.backend == "bwrap" or _process_backend_can_drop())
    uid, gid, own = _sandbox_ids() if drop else (os.getuid(), os.getgid(), False)
    if own:
        nproc = limits.processes  # nothing else runs under this uid
        if spec.backend == "process":
            env["GMGRADE_OWN_UID"] = "1"  # the worker may kill(-1) what a test left behind
    else:
        nproc = _nproc_for_uid(uid, limits.processes)

    env["GMGRADE_FDS"] = f"{req_r},{rep_w}"
    fds = (req_r, rep_w) + ((seccomp_r,) if seccomp_r is not None else ())

    def preexec() -> None:
        if stage.paths and stage.dir:
            _expose_to_nobody(stage.paths, stage.dir)
            if spec.backend == "process":
                _rebuild_in_place(stage.paths, stage.dir)
        if drop:
            _drop_privileges(uid, gid)
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        _apply_limits(limits)
        if program is not None and spec.backend == "process":
            _load_seccomp(program)  # last: bubblewrap needs mount() etc. and loads it itself

    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=scratch_host or "/",
        preexec_fn=preexec,
        pass_fds=fds,
        start_new_session=True,
        close_fds=True,
    )
    for fd in fds:
        os.close(fd)
    return Started(proc, req_w, rep_r, scratch_host, stage.dir, uid=uid if own else None,
                   pidns=spec.backend == "bwrap" and not own,
                   session=spec.backend == "process" and not own, memory_mb=limits.memory_mb)


def start_early(requested: str, memory_mb: int, device: str,
                helpers: list[Path]) -> Worker | None:
    """A worker for one submission (``check``, a Gradescope run) of an assignment with these
    ``helpers`` files, started before the caller imports torch and the tests so that the two
    start-ups overlap. None when the device
    cannot be known yet without torch (``auto`` on a machine with NVIDIA devices) or the
    sandbox cannot start: the usual path then starts one, or reports why."""
    if device == "auto":
        device = "cuda" if os.path.exists("/dev/nvidiactl") else "cpu"
    if device != "cpu":
        return None
    try:
        backend = choose_backend(requested)
        return start(SandboxSpec(backend=backend, submission=None, device=device,
                                 limits=Limits(memory_mb=memory_mb), helpers=tuple(helpers)))
    except (UsageError, RuntimeError, OSError):
        return None


def start_zygote(backend: str, limits: Limits, device: str, ctl: int,
                 assignments: list[str], helpers: tuple[Path, ...]) -> Started:
    """The zygote of :mod:`autograder.zygote`: one sandbox (bwrap) or one plain process
    that imports torch and warms up once and forks a sandboxed worker per student on
    request over the control socket ``ctl``. It never runs student code. Its workers may
    import the ``helpers`` files (those of ``assignments``).

    Under bwrap it runs as one unprivileged uid (a fresh one when the grader is root); its
    children enter namespaces of their own. Under the process backend as root it stays
    root in a private mount namespace (Python rebuilt in place for other uids) so that
    each child can take a user id of its own.
    """
    env = _base_env(device)
    env["GMGRADE_ZYGOTE"] = json.dumps({"ctl": ctl, "backend": backend,
                                             "assignments": assignments})
    env.update(_helpers_env(helpers, bwrap=backend == "bwrap"))
    if backend == "bwrap":
        stage = _Stage()
        cmd = _bwrap_args(limits, device, None, helpers, stage, nested=True) + [
            sys.executable, "-s", "-E", "-c", _BOOT.format(root=GRADER_ROOT, module="zygote")]
        uid, gid, own = _sandbox_ids() if os.geteuid() == 0 else (os.getuid(), os.getgid(), False)
        drop = os.geteuid() == 0
    else:
        stage = _process_stage(helpers)
        cmd = [sys.executable, "-s", "-E", "-c",
               _BOOT.format(root=str(PACKAGE_DIR.parent), module="zygote")]
        uid, gid, own, drop = os.getuid(), os.getgid(), False, False

    def preexec() -> None:
        if stage.paths and stage.dir:
            _expose_to_nobody(stage.paths, stage.dir)
            if backend == "process":
                _rebuild_in_place(stage.paths, stage.dir)
        if drop:
            _drop_privileges(uid, gid)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, cwd="/", preexec_fn=preexec,
                            pass_fds=(ctl,), start_new_session=True, close_fds=True)
    return Started(proc, -1, -1, None, stage.dir, uid=uid if own else None)


def new_scratch() -> str:
    """A process-backend worker's private working folder (its uid may differ from ours)."""
    path = tempfile.mkdtemp(prefix="gmgrade-worker-")
    os.chmod(path, 0o777)
    return path


def remove_scratch(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def limits_dict(limits: Limits) -> dict[str, int]:
    return dataclasses.asdict(limits)


def _size(mb: int) -> list[str]:
    return ["--size", str(mb * 2 ** 20)] if _bwrap_supports("--size") else []


def _process_backend_can_drop() -> bool:
    """Under the process backend, root drops to an unprivileged uid when that uid can run
    Python: directly, or through _rebuild_in_place (not when "/" itself is closed)."""
    if os.geteuid() != 0:
        return False
    return all(_closed_ancestor(r) != "/" for r in _python_roots() + [str(PACKAGE_DIR.parent)])
