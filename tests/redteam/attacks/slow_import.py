"""ATTACK: a slow import that the grader must redo after every timeout — 8 s of top-level
work (under the load limit), and a function that always times out, so that a grader which
restarts the worker and reloads the file after each timeout spends 8 s more per test.

honest part: 0 points

proof: had to be loaded again after a timeout or a crash, and loading it took more
"""
import time

time.sleep(8)


def bernoulli_log_likelihood(theta, x):
    time.sleep(10 ** 6)


def bernoulli_mle(x):
    time.sleep(10 ** 6)


def gaussian_log_pdf(x, mu, var):
    time.sleep(10 ** 6)


def gaussian_mle(x):
    time.sleep(10 ** 6)


def mvn_mle(x):
    time.sleep(10 ** 6)


def mvn_log_pdf(x, mu, cov):
    time.sleep(10 ** 6)
