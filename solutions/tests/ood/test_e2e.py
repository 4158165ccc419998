"""Hidden end-to-end tests: the lecture's paradox on 8×8 digits, with the student's functions.

A Gaussian fitted to 1000 of scikit-learn's digits (the 48 pixels that vary) gives held-out digits *shrunk towards the
mean* (x ↦ μ + 0.7 (x − μ): low-contrast, "simpler" images, our stand-in for SVHN) a higher
likelihood than held-out digits, so −ln p as an out-of-distribution score has AUROC < 0.5;
the typicality test on batches of 10 flags the shrunk batches all the same.
"""

from __future__ import annotations

import math

import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score

from autograder.testing import expect, expect_close, expect_tensor, points

F64 = torch.float64
SHRINK, M, ALPHA = 0.7, 10, 0.05

# Built once per batch (module level): the data and the grader's model, never the student's code.
_gen = torch.Generator().manual_seed(0)
_digits = torch.tensor(load_digits().data, dtype=F64)[torch.randperm(1797, generator=_gen)]
_digits = _digits[:, _digits.std(0) > 1.0]  # 48 pixels; the others (borders) are almost always 0,
D = _digits.shape[1]  # and would make the data's covariances singular (the contract wants S ≻ 0)
TRAIN, VAL, TEST = _digits[:1000], _digits[1000:1400], _digits[1400:1790]
MU = TRAIN.mean(0)
S_TRAIN = torch.cov(TRAIN.T, correction=0)
COV = S_TRAIN + torch.eye(D, dtype=F64)  # + I: a little smoothing, as a fitted model would have
SHRUNK = MU + SHRINK * (TEST - MU)
_model = torch.distributions.MultivariateNormal(MU, COV)
LP_TRAIN, LP_VAL, LP_IN, LP_OUT = (_model.log_prob(x) for x in (TRAIN, VAL, TEST, SHRUNK))
ENTROPY = -LP_TRAIN.mean()
BATCH_IDX = torch.randint(0, len(VAL), (1000, M), generator=_gen)
WHAT = ("a Gaussian fitted to 1000 of scikit-learn's 8×8 digits (48 varying pixels); in = 390 held-out digits, out = the "
        f"same digits shrunk towards the mean, μ + {SHRINK}·(x − μ)")


@pytest.mark.slow
@points(2)
def test_digits_likelihood_prefers_shrunk_digits(student):
    """auroc and bits_per_dim: on digits, −ln p ranks shrunk digits as MORE typical (AUROC < 0.5)"""
    want = torch.tensor(roc_auc_score([0] * len(LP_IN) + [1] * len(LP_OUT),
                                      torch.cat([-LP_IN, -LP_OUT]).numpy()), dtype=F64)
    expect(float(want) < 0.5, "the grader's experiment no longer shows the paradox")
    call = "auroc(-log_px_in, -log_px_out)"
    expect_close(student.auroc(-LP_IN, -LP_OUT), want, call=call + f" on {WHAT}", rtol=1e-12,
                 mistakes={"that is 1 − AUROC: the out-of-distribution scores are the positives": 1 - want})
    bpd_in = expect_tensor(student.bits_per_dim(LP_IN, D, 1.0), call=f"bits_per_dim(log_px_in, {D}, 1.0)",
                           shape=(len(LP_IN),), dtype=F64)
    bpd_out = expect_tensor(student.bits_per_dim(LP_OUT, D, 1.0), call=f"bits_per_dim(log_px_out, {D}, 1.0)",
                            shape=(len(LP_OUT),), dtype=F64)
    expect_close(bpd_out.mean() - bpd_in.mean(), (LP_IN.mean() - LP_OUT.mean()) / (D * math.log(2)),
                 call="mean bits/dim of the shrunk digits − mean bits/dim of the held-out digits", rtol=1e-9)


@pytest.mark.slow
@points(2)
def test_digits_closed_form_predicts_mean_log_likelihoods(student):
    """gaussian_expected_log_prob: on digits, the closed form gives each set's mean log-likelihood; shrunk is higher"""
    for name, x, lp in (("training digits", TRAIN, LP_TRAIN), ("held-out digits", TEST, LP_IN),
                        ("shrunk digits", SHRUNK, LP_OUT)):
        got = student.gaussian_expected_log_prob(MU, COV, x.mean(0), torch.cov(x.T, correction=0))
        expect_close(got, lp.mean(), call=f"gaussian_expected_log_prob(mu, cov, m, S) with m, S the mean and 1/N "
                     f"covariance of the {name}", inputs={"model": WHAT.split(";")[0]}, rtol=1e-9)


@pytest.mark.slow
@points(3)
def test_digits_typicality_flags_shrunk_digits(student):
    """typicality_threshold and typicality_test: on digits, batches of 10 shrunk digits are flagged, held-out ones rarely"""
    scores = (-LP_VAL[BATCH_IDX].mean(-1) - ENTROPY).abs()
    want = torch.quantile(scores, 1 - ALPHA)
    call = f"typicality_threshold(log_px_val, entropy, batch_idx, alpha={ALPHA})"
    threshold = student.typicality_threshold(LP_VAL, ENTROPY, BATCH_IDX, ALPHA)
    expect_close(threshold, want, call=call + " on 400 validation digits, 1000 bootstrap batches of 10",
                 rtol=1e-9,
                 mistakes={"that is the alpha quantile; the threshold is the (1 − alpha) quantile":
                           torch.quantile(scores, ALPHA)})
    flags = {}
    for name, lp in (("held-out", LP_IN), ("shrunk", LP_OUT)):
        got = expect_tensor(student.typicality_test(lp.reshape(-1, M), ENTROPY, want),
                            call=f"typicality_test(log_px of {name} digits in batches of {M}, entropy, threshold)",
                            shape=(len(lp) // M,), finite=False)
        flags[name] = float(got.double().mean())
    if flags["held-out"] > 0.2 and flags["shrunk"] < 0.1:
        why = "True must mean out of distribution: a score above the threshold."
    else:
        why = ("The shrunk digits' likelihood is too HIGH, not too low: the score must be the absolute "
               "difference |−mean ln p − H|.")
    expect(flags["shrunk"] >= 0.9 and flags["held-out"] <= 0.2,
           f"typicality_test on {WHAT}: flags {flags['held-out']:.0%} of the held-out batches and "
           f"{flags['shrunk']:.0%} of the shrunk batches; expected at most 20 % and at least 90 % (the "
           f"threshold allows 5 % false positives). {why}")
