"""ATTACK: hostile wire frames written straight to the reply pipe — a tensor header whose
shape/dtype/offset do not match its bytes, absurd shapes, a 16 MB deeply nested JSON
header, ints like "0x10", a forged ``helper`` node (a grader-provided object the grader
would rebuild), NaN in JSON, a frame length of 2**63, and junk between frames.

honest part: 0 points

proof: bernoulli_log_likelihood() returned something the grader cannot read: tensor size
proof: bernoulli_mle() returned something the grader cannot read: header is not valid JSON
proof: gaussian_log_pdf() returned something the grader cannot read: a grader-provided object
proof: gaussian_mle() returned something the grader cannot read: the answer is
proof: mvn_mle() raised XXXXXXXX
proof: mvn_log_pdf() was killed by signal WWWWWWWW
"""
import fcntl
import json
import os
import stat
import struct

import autograder.worker as worker


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


REPLY_FD = _reply_pipe()


def _frame(header, blob=b""):
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    data = struct.pack(">Q", len(h)) + h + blob
    return struct.pack(">Q", len(data)) + data


def _deep(n):
    return b'{"k": "list", "v": [' * 0 + b"[" * n + b"]" * n


PAYLOADS = [
    lambda: _frame({"k": "dict", "v": [["ev", {"k": "str", "v": "result"}], ["value", {
        "k": "tensor", "dtype": "float64", "shape": [2 ** 40, 2 ** 40], "device": "cpu", "off": 0,
        "n": 8, "sub": None}]]}, b"\0" * 8),
    lambda: _frame({"k": "dict", "v": [["ev", {"k": "str", "v": "result"}], ["value", {
        "k": "tensor", "dtype": "float64", "shape": [3, 0, 2 ** 62, 2 ** 62], "device": "cpu",
        "off": 0, "n": 0, "sub": None}]]}),
    lambda: _frame({"k": "dict", "v": [["ev", {"k": "str", "v": "result"}], ["value", {
        "k": "int", "v": "0x10"}]]}),
    lambda: _frame(_deep(200_000)),
    lambda: _frame({"k": "dict", "v": [["ev", {"k": "str", "v": "result"}], ["value", {
        "k": "helper", "name": "__import__('os').system('touch /tmp/rt-pwned')",
        "params": {"k": "dict", "v": [["name", {"k": "str", "v": "x"}]]}}]]}),
    lambda: _frame(b'{"k": "float", "v": NaN}'),
    lambda: struct.pack(">Q", 2 ** 63) + b"junk",
    lambda: _frame({"k": "dict", "v": [["ev", {"k": "str", "v": "error"}],
                                        ["type", {"k": "str", "v": "X" * 900_000}],
                                        ["message", {"k": "str", "v": "Y" * 900_000}],
                                        ["traceback", {"k": "str", "v": "Z" * 900_000}]]}),
    lambda: _frame({"k": "dict", "v": [["ev", {"k": "str", "v": "done"}], ["status", {
        "k": "dict", "v": [["kind", {"k": "str", "v": "signal"}],
                           ["name", {"k": "str", "v": "W" * 900_000}]]}]]}),
]


# Each test runs in a fresh fork of the loaded file (a call counter would start from zero
# every time): each function sends its own payload first, three of them one more after it.
SENT = {"bernoulli_log_likelihood": (0, 1), "bernoulli_mle": (3, 2), "gaussian_log_pdf": (4, 5),
        "gaussian_mle": (6,), "mvn_mle": (7,), "mvn_log_pdf": (8,)}


def _call(module, msg):
    for i in SENT.get(msg.get("fn"), (0,)):
        os.write(REPLY_FD, PAYLOADS[i]())
    os._exit(0)


worker.call = _call


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
