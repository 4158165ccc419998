"""ATTACK: disk and output bombs — one huge file, many 64 MB files in the working folder and
its parents (capped at 3 GB), gigabytes on stdout and stderr, an exception whose message is
100 MB, a 50 MB ``__str__`` and a RecursionError traceback thousands of frames deep.

honest part: 0 points

proof: RT-RAN wrote only | bernoulli_log_likelihood() timed out after
proof: gaussian_log_pdf() raised ValueError: MMMM
proof: gaussian_mle() raised Big: BBBB
"""
import os
import signal
import sys

CAP = 3 * 2 ** 30
BLOCK = b"\x02" * (8 * 2 ** 20)

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead of killing us


def _disk():
    got = 0
    for folder in (".", "..", "/tmp", os.path.expanduser("~")):
        for i in range(400):
            if got >= CAP:
                return got
            try:
                with open(os.path.join(folder, f"rt-disk-{i}"), "wb") as f:
                    for _ in range(128):  # up to 1 GB per file
                        f.write(BLOCK)
                        got += len(BLOCK)
            except OSError:
                break
    return got


class Big(Exception):
    def __str__(self):
        return "B" * (50 * 2 ** 20)


def _recurse(n):
    return _recurse(n + 1) + 1


def bernoulli_log_likelihood(theta, x):
    got = _disk()
    if got > 1536 * 2 ** 20:
        raise RuntimeError(f"RT-ESCAPED wrote {got >> 20} MB to disk")
    raise RuntimeError(f"RT-RAN wrote only {got >> 20} MB")


def bernoulli_mle(x):
    chunk = "spam " * 200_000
    for _ in range(2000):  # ~2 GB
        sys.stdout.write(chunk)
        sys.stderr.write(chunk)
    raise NotImplementedError


def gaussian_log_pdf(x, mu, var):
    raise ValueError("M" * (100 * 2 ** 20))


def gaussian_mle(x):
    raise Big()


def mvn_mle(x):
    sys.setrecursionlimit(100_000)
    return _recurse(0)


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
