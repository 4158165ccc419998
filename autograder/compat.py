"""The student's own machine: a worker process that needs nothing but Python, on any system.

The instructor's backends (bubblewrap, and the process backend with seccomp, a user id of
its own and a /proc watchdog) need Linux. A student's ``check`` runs wherever Python and
PyTorch run: Linux, macOS, Windows, Colab. There the student's code needs no sandbox
against its own author, only a separate process with limits, so that a hang or a crash
costs a test, never the terminal or the notebook kernel. ``sandbox.start`` uses
:func:`start_portable` for the process backend wherever the Linux pieces are missing.

The portable worker:
  * talks over its own standard streams: requests on stdin, replies on a duplicate of
    stderr; its fd 2 then points at stdout, so whatever the student's code prints (Python
    or C) goes to the output the grader drains, never into the replies;
  * serves each test in its own process, without ``fork`` (``GMGRADE_IN_PLACE``: Windows
    has no fork, macOS forks badly once PyTorch is loaded); a timeout or a crash ends the
    worker and the next test gets a fresh one, as with the other backends;
  * limits: the grader's time limits hold everywhere (it kills the worker); on Windows a
    Job object caps the worker's memory and ends whatever it started when it ends; macOS
    enforces no address-space limit, so there only the time limits hold;
  * protects nothing against the student (SECURITY.md): it is for ``check`` on their own
    machine, never for grading.

:func:`set_nonblocking` and :func:`wait_fd` are the grader's waits on the worker's pipes:
``select`` where it works on pipes (POSIX), polling ``PeekNamedPipe`` on Windows, where
``select`` takes only sockets.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

WINDOWS = os.name == "nt"

_BOOT = (
    "import os, sys; sys.path.insert(0, {root!r}); sys.dont_write_bytecode = True; "
    "fd = os.dup(2); os.dup2(1, 2); os.environ['GMGRADE_FDS'] = '0,%d' % fd; "
    "import autograder.compat as c; c.limit_this_process({memory_mb}); "
    "import autograder.worker as w; w.main()"
)


# every worker, on every backend: one thread, hashing and bytecode fixed, output unbuffered
WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}

def linux_process_backend() -> bool:
    """True where the process backend's Linux pieces exist: resource limits and libc's
    ``prctl``/``unshare`` (seccomp, private mounts)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        import resource  # noqa: F401 - only whether Python has it

        libc = ctypes.CDLL(None, use_errno=True)
        return hasattr(libc, "prctl") and hasattr(libc, "unshare")
    except (ImportError, OSError):
        return False


class PortableWorker:
    """A running portable worker, with what ``student.WorkerSession`` uses of a sandbox."""

    def __init__(self, proc: subprocess.Popen, scratch: str) -> None:
        assert proc.stdin is not None and proc.stderr is not None  # start_portable pipes all three
        self.proc = proc  # proc.stdout: what the student's code printed
        self._pipes = (proc.stdin, proc.stderr)  # requests, replies
        self.req_w = proc.stdin.fileno()
        self.rep_r = proc.stderr.fileno()
        self.scratch = scratch

    @property
    def stopped_because(self) -> str | None:
        """How the worker ended, once its replies have ended: without a per-test child, a
        test that ends the process ends the worker itself (``os._exit(7)``: "ended the
        process with exit code 7")."""
        from autograder.student import _describe_status

        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None
        if code < 0:
            return _describe_status({"kind": "signal", "name": signal.Signals(-code).name})
        return _describe_status({"kind": "exit", "value": code})

    def kill(self) -> None:
        if not WINDOWS:
            try:  # the worker's session: whatever the student's code started too
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.kill()  # on Windows, closing the Job object ends what it started
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in self._pipes:
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.scratch, ignore_errors=True)


def start_portable(spec) -> PortableWorker:
    """Start the worker for ``spec`` (a ``sandbox.SandboxSpec``) as a plain child process."""
    import autograder
    from autograder.helpers import worker_env

    scratch = tempfile.mkdtemp(prefix="gmgrade-worker-")
    env = dict(os.environ)  # the student's own environment: where their PyTorch is (Colab: PYTHONPATH)
    env.update(WORKER_ENV)
    env.update({
        "MPLBACKEND": "Agg",  # a replayed plt.show() must not open a window and wait
        "GMGRADE_IN_PLACE": "1",
        "GMGRADE_SCRATCH": os.path.join(scratch, "work"),
        "GMGRADE_SUBMISSION": str(spec.submission),
        "TMPDIR": scratch,
        "TEMP": scratch,
        "TMP": scratch,
    })
    env.update(worker_env(str(f) for f in spec.helpers))
    if spec.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    root = os.path.dirname(os.path.dirname(os.path.abspath(autograder.__file__)))
    boot = _BOOT.format(root=root, memory_mb=int(spec.limits.memory_mb))
    proc = subprocess.Popen(
        [sys.executable, "-c", boot],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=scratch,
        start_new_session=not WINDOWS,
        creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0)
        | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
    )
    return PortableWorker(proc, scratch)


_JOB = None  # the Job object's handle: closing it would end this process


def limit_this_process(memory_mb: int) -> None:
    """In the portable worker, before any student code: on Windows, a Job object that caps
    this process's memory and ends its children with it. Best effort: where the system
    refuses, the grader's time limits still hold."""
    if sys.platform != "win32":  # not WINDOWS: mypy then skips ctypes' Windows-only names below
        return
    import ctypes

    global _JOB
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)

    class Basic(ctypes.Structure):  # JOBOBJECT_BASIC_LIMIT_INFORMATION
        _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                    ("LimitFlags", ctypes.c_uint32), ("MinimumWorkingSetSize", ctypes.c_size_t),
                    ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", ctypes.c_uint32),
                    ("Affinity", ctypes.c_size_t), ("PriorityClass", ctypes.c_uint32),
                    ("SchedulingClass", ctypes.c_uint32)]

    class Extended(ctypes.Structure):  # JOBOBJECT_EXTENDED_LIMIT_INFORMATION
        _fields_ = [("BasicLimitInformation", Basic), ("IoInfo", ctypes.c_uint64 * 6),
                    ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                    ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]

    kernel32.CreateJobObjectW.restype = ctypes.c_void_p
    kernel32.GetCurrentProcess.restype = ctypes.c_void_p
    job = kernel32.CreateJobObjectW(None, None)
    if not job:
        return
    info = Extended()
    info.BasicLimitInformation.LimitFlags = 0x100 | 0x2000  # PROCESS_MEMORY | KILL_ON_JOB_CLOSE
    info.ProcessMemoryLimit = memory_mb * 2**20
    if kernel32.SetInformationJobObject(ctypes.c_void_p(job), 9, ctypes.byref(info),  # extended limits
                                        ctypes.sizeof(info)) and \
            kernel32.AssignProcessToJobObject(ctypes.c_void_p(job),
                                              ctypes.c_void_p(kernel32.GetCurrentProcess())):
        _JOB = job


def set_nonblocking(fd: int) -> None:
    """The grader's end of the request pipe writes only what fits (POSIX). Windows pipes
    stay blocking: the worker reads each request whole before it runs anything."""
    if not WINDOWS:
        os.set_blocking(fd, False)


def wait_fd(fd: int, write: bool, timeout: float) -> bool:
    """True when the pipe ``fd`` can be read (or written) within ``timeout`` seconds."""
    if sys.platform != "win32":  # not WINDOWS: mypy then skips msvcrt's Windows-only names below
        import select

        ready = select.select([] if write else [fd], [fd] if write else [], [], timeout)
        return bool(ready[0] or ready[1])
    if write:
        return True
    import _winapi
    import msvcrt

    handle = msvcrt.get_osfhandle(fd)
    deadline = time.monotonic() + timeout
    pause = 0.0005
    while True:
        try:
            if _winapi.PeekNamedPipe(handle, 0)[0]:
                return True
        except OSError:  # the worker is gone: the read that follows sees the end
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 0.01)
