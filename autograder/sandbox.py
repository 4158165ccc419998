"""Starting the untrusted worker: bubblewrap where available, a weaker fallback elsewhere.

``bwrap`` backend (Linux with bubblewrap and user namespaces):
  * new user, pid, network, ipc, uts and cgroup namespaces (``--unshare-all``): no
    network at all, not even loopback to the host; the worker sees only its own
    processes;
  * a file system made only of read-only binds of the system (``/usr``, ``/etc``
    minus nothing secret is needed), the Python installation, the ``autograder``
    package (public engine code, no tests, no solutions) and the one submission
    file; ``/tmp`` is a private tmpfs; nothing else — not the course folder with
    ``solutions/`` and hidden tests, not the output folder, not other students;
  * ``--die-with-parent`` and ``--new-session``; when the grader kills the sandbox every
    process inside ends with it.

``process`` backend (no bubblewrap, e.g. a student's laptop or macOS): the worker is a
plain child process in its own session with the same resource limits, a clean
environment, a private scratch folder as working directory, and — when the grader runs
as root — an unprivileged user id. It does NOT hide the file system or the network.
SECURITY.md says what each backend does and does not protect.

Both backends apply limits in the child before it starts: address space (memory),
CPU time, file size, open files and, under an unprivileged uid, process count.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

import autograder

PACKAGE_DIR = Path(autograder.__file__).resolve().parent
NOBODY = 65534


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 4096
    cpu_seconds: int = 600  # whole worker lifetime; per-test CPU is set per child
    file_mb: int = 64
    processes: int = 256
    open_files: int = 256


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
            raise RuntimeError(
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


def _drop_privileges() -> None:
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def _apply_limits(limits: Limits) -> None:
    mem = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    fsize = limits.file_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _nproc_for_uid(uid: int, budget: int) -> int:
    """RLIMIT_NPROC counts every process of the real uid: leave room for what already runs."""
    count = 0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.stat(f"/proc/{p}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count + budget


@dataclass
class SandboxSpec:
    backend: str
    limits: Limits
    submission: Path  # the file with the student's code (copied, read-only inside)
    device: str = "cpu"


class Started:
    """A running worker: the process and the grader's ends of the pipes."""

    def __init__(self, proc: subprocess.Popen, req_w: int, rep_r: int, scratch: str | None,
                 stage: str | None = None) -> None:
        self.proc = proc
        self.stage = stage  # bind targets of the child's private mount namespace
        self.req_w = req_w
        self.rep_r = rep_r
        self.scratch = scratch

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for fd in (self.req_w, self.rep_r):
            try:
                os.close(fd)
            except OSError:
                pass
        for attr in ("scratch", "stage"):
            path = getattr(self, attr)
            if path:
                shutil.rmtree(path, ignore_errors=True)
                setattr(self, attr, None)


_BOOT = (
    "import sys; sys.path.insert(0, {root!r}); sys.dont_write_bytecode = True; "
    "import autograder.worker as w; w.main()"
)


def start(spec: SandboxSpec) -> Started:
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/tmp",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    for keep in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if keep in os.environ:
            env[keep] = os.environ[keep]
    if spec.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    limits = spec.limits
    scratch_host: str | None = None
    staged: list[str] = []
    stage: str | None = None
    if spec.backend == "bwrap":
        grader_root = "/grader"

        def source(path: str) -> str:
            """Where bwrap (running as nobody) can read ``path`` from."""
            nonlocal stage
            if os.geteuid() != 0 or _others_can_reach(path):
                return path
            if stage is None:
                stage = tempfile.mkdtemp(prefix="gmgrade-stage-")
                os.chmod(stage, 0o755)
            target = os.path.join(stage, str(len(staged)))
            os.makedirs(target)
            if os.path.isfile(path):
                os.rmdir(target)
                open(target, "w").close()
            staged.append(path)
            return target

        py_binds: list[str] = []
        for root in _python_roots():
            py_binds += ["--ro-bind", source(root), root]
        args = [
            bwrap_path() or "bwrap",
            *_system_binds(),
            *py_binds,
            "--ro-bind", source(str(PACKAGE_DIR)), f"{grader_root}/autograder",
            "--ro-bind", source(str(spec.submission)), f"/submission/{spec.submission.name}",
            "--proc", "/proc",
            "--dev", "/dev",
            "--tmpfs", "/tmp",
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--hostname", "sandbox",
            "--chdir", "/tmp",
        ]
        if spec.device != "cpu":
            # GPU grading: the NVIDIA device nodes must be visible inside.
            for dev in sorted(os.listdir("/dev")):
                if dev.startswith("nvidia"):
                    args += ["--dev-bind", f"/dev/{dev}", f"/dev/{dev}"]
        env["GMGRADE_PIDNS"] = "1"
        env["GMGRADE_SCRATCH"] = "/tmp/work"
        env["GMGRADE_SUBMISSION"] = f"/submission/{spec.submission.name}"
        cmd = args + [sys.executable, "-s", "-E", "-c", _BOOT.format(root=grader_root)]
    else:
        scratch_host = tempfile.mkdtemp(prefix="gmgrade-worker-")
        os.chmod(scratch_host, 0o777)
        env["GMGRADE_SCRATCH"] = os.path.join(scratch_host, "work")
        env["GMGRADE_SUBMISSION"] = str(spec.submission)
        env["TMPDIR"] = scratch_host
        cmd = [sys.executable, "-s", "-E", "-c", _BOOT.format(root=str(PACKAGE_DIR.parent))]
    nproc = None
    if os.geteuid() == 0 and (spec.backend == "bwrap" or _process_backend_can_drop()):
        nproc = _nproc_for_uid(NOBODY, limits.processes)
    elif spec.backend == "process":
        nproc = _nproc_for_uid(os.getuid(), limits.processes)

    env["GMGRADE_FDS"] = f"{req_r},{rep_w}"

    drop = spec.backend == "bwrap" or _process_backend_can_drop()

    def preexec() -> None:
        if staged and stage:
            _expose_to_nobody(staged, stage)
        if drop:
            _drop_privileges()
        if nproc is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        _apply_limits(limits)

    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=scratch_host or "/",
        preexec_fn=preexec,
        pass_fds=(req_r, rep_w),
        start_new_session=True,
        close_fds=True,
    )
    os.close(req_r)
    os.close(rep_w)
    return Started(proc, req_w, rep_r, scratch_host, stage)


def _process_backend_can_drop() -> bool:
    """Under the process backend, root drops to nobody only if nobody can run Python."""
    if os.geteuid() != 0:
        return False
    return all(_others_can_reach(r) for r in _python_roots() + [str(PACKAGE_DIR.parent)])
