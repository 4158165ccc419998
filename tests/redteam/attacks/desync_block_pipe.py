"""ATTACK: desynchronise and block the grader. The per-test process is replaced: it stops
reading its request pipe as soon as a large request (the D = 100 test sends ~86 kB, more
than a pipe holds) is on the way, so that a grader writing without a deadline blocks for
ever; on the public ``gaussian_log_pdf`` test it keeps sending frames after ``end`` so that
a grader waiting for ``done`` without an overall deadline never gets there; every other
call gets a wrong answer.

honest part: 1 point (its one wrong answer is a constant, which honestly passes the
permutation-invariance property of ``mvn_mle``)

proof: mvn_log_pdf() timed out after
proof: returned tensor(7, float16, shape ())
"""
import fcntl
import os
import stat
import struct
import time

import torch

import autograder.worker as worker
from autograder.protocol import decode, encode, read_exact


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


def _frame(msg):
    data = encode(msg)
    return struct.pack(">Q", len(data)) + data


def _serve(module, inp, out, *_):  # whatever else the worker passes (limits, seed)
    os.setpgid(0, 0)
    os.write(_fd, _frame({"ev": "forked"}))
    while True:
        (size,) = struct.unpack(">Q", read_exact(inp, 8))
        if size > 60_000:
            time.sleep(60)  # the grader is still writing the rest of this request
            os._exit(0)
        msg = decode(read_exact(inp, size))
        if msg.get("op") == "end":
            os._exit(0)
        os.write(_fd, _frame({"ev": "result", "value": torch.full((), 7.0, dtype=torch.float16)}))
        args = msg.get("args") or []
        if msg.get("fn") == "gaussian_log_pdf" and args and getattr(args[0], "shape", None) == (3,):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # never read again; chatter
                os.write(_fd, _frame({"ev": "result", "value": None}))
                time.sleep(0.3)
            os._exit(0)


worker.serve_test = _serve


def bernoulli_log_likelihood(theta, x):
    raise NotImplementedError


def bernoulli_mle(x):
    raise NotImplementedError


def gaussian_log_pdf(x, mu, var):
    raise NotImplementedError


def gaussian_mle(x):
    raise NotImplementedError


def mvn_mle(x):
    raise NotImplementedError


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
