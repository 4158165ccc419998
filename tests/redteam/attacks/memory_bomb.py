"""ATTACK: memory bombs — map memory until the worker's address-space limit refuses, then
the fork-and-allocate trick that a per-process address-space limit does not stop: many
children each holding just under the per-process limit. Capped at 3 GB in total so that a
failing defence is detected (RT-ESCAPED when it got more than the 1.5 GB the harness
allows) without exhausting the machine.

honest part: 0 points

proof: bernoulli_mle() raised RuntimeError: RT-RAN
proof: gaussian_mle() used more than | gaussian_mle() timed out after
"""
import ctypes
import mmap
import os
import time

CHUNK = 256 * 2 ** 20
CHILD = 512 * 2 ** 20  # fits under each process's own address-space limit
LIMIT_MB = 1536
CAP = 3 * 2 ** 30


def _inprocess():
    held = []
    try:
        while len(held) * CHUNK < CAP:
            held.append(mmap.mmap(-1, CHUNK))  # address space (what the limit counts), at once
    except (MemoryError, OSError):
        pass
    return len(held) * CHUNK


def _forked():
    r, w = os.pipe()
    kids = 0
    while kids * CHILD < CAP:
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            try:
                ctypes.CDLL(None).prctl(15, b"rtmark-mem", 0, 0, 0)
                b = bytearray(b"\x01") * CHILD  # touches every page
                os.write(w, b"1")
                time.sleep(30)
            finally:
                os._exit(0)
        kids += 1
    os.close(w)
    got = 0
    deadline = time.monotonic() + 2.5
    os.set_blocking(r, False)
    while time.monotonic() < deadline and got < kids:
        try:
            got += len(os.read(r, 100))
        except BlockingIOError:
            time.sleep(0.05)
    return got * CHILD


def bernoulli_log_likelihood(theta, x):
    raise NotImplementedError


def bernoulli_mle(x):
    total = _inprocess()
    if total > LIMIT_MB * 2 ** 20:
        raise RuntimeError(f"RT-ESCAPED held {total >> 20} MB in one process")
    raise RuntimeError(f"RT-RAN held only {total >> 20} MB in one process")


def gaussian_mle(x):
    total = _forked()
    if total > LIMIT_MB * 2 ** 20:
        raise RuntimeError(f"RT-ESCAPED held {total >> 20} MB across processes")
    raise NotImplementedError


def gaussian_log_pdf(x, mu, var):
    raise NotImplementedError


def mvn_mle(x):
    raise NotImplementedError


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
