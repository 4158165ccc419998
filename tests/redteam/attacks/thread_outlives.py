"""ATTACK: threads that outlive the call — a non-daemon thread started at import that spins
for ever (so the interpreter can never exit normally), a thread started inside a call that
later writes a forged reply to the reply pipe, and a thread that keeps printing.

honest part: 0 points

proof: bernoulli_mle() raised RuntimeError: RT-RAN
"""
import fcntl
import os
import stat
import struct
import threading
import time

import torch

from autograder.protocol import encode


def _reply_pipe():
    """The worker's reply pipe, found as a student who read the engine would: the one
    write-only pipe it holds besides the standard streams."""
    for fd in range(3, 256):
        try:
            if (stat.S_ISFIFO(os.fstat(fd).st_mode)
                    and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY):
                return fd
        except OSError:
            pass
    raise RuntimeError("no reply pipe found")


_fd = _reply_pipe()


def _forever():
    n = 0
    while True:
        n += 1


threading.Thread(target=_forever, daemon=False, name="rtmark-spin").start()


def _forge_later():
    time.sleep(0.2)
    data = encode({"ev": "result", "value": torch.tensor(0.5, dtype=torch.float64)})
    for _ in range(20):
        try:
            os.write(_fd, struct.pack(">Q", len(data)) + data)
        except OSError:
            return
        time.sleep(0.1)


def bernoulli_log_likelihood(theta, x):
    raise NotImplementedError


def bernoulli_mle(x):
    threading.Thread(target=_forge_later, daemon=False).start()
    raise RuntimeError("RT-RAN started a thread that forges replies later")


def gaussian_log_pdf(x, mu, var):
    raise NotImplementedError


def gaussian_mle(x):
    raise NotImplementedError


def mvn_mle(x):
    raise NotImplementedError


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
