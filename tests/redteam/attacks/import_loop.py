"""ATTACK: an endless loop at import that catches every exception (the load time limit),
with SIGALRM ignored so that an in-process alarm cannot stop it.

honest part: 0 points

proof: loading your code took longer than
"""
import signal

signal.signal(signal.SIGALRM, signal.SIG_IGN)
while True:
    try:
        while True:
            pass
    except BaseException:  # noqa: BLE001
        pass


def bernoulli_mle(x):
    return x.mean()
