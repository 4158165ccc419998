"""Public tests for the out-of-distribution assignment: small examples you can check by hand.

Run them with `gmgrade check ood`. The hidden tests also check random inputs, D = 100 with a
rotated covariance of condition number 1e8, the closed form against Monte Carlo, gradients,
`auroc` against scikit-learn and on 10⁵ scores per side (under a memory cap and a time limit
of a few seconds), float32 inputs, that no input is modified, and the lecture's experiment on
8×8 digits with your functions.
"""

from __future__ import annotations

import math

import torch

from autograder.testing import expect, expect_close, expect_tensor, points

F64 = torch.float64
F32 = torch.float32
LN2 = math.log(2)
LN_2PI = math.log(2 * math.pi)


# --------------------------------------------------------------------------- bits_per_dim


@points(1)
def test_bits_per_dim_without_bin_width(student):
    """bits_per_dim: −ln p / (D ln 2) without bin_width, any shape"""
    log_px = torch.tensor([[-100.0, -50.0], [0.0, -7.0]], dtype=F64)
    want = -log_px / (10 * LN2)
    expect_close(student.bits_per_dim(log_px, 10), want, call="bits_per_dim(log_px, 10)",
                 inputs={"log_px": log_px}, rtol=1e-9,
                 mistakes={"that is nats per dimension: divide by D·ln 2 to get bits": -log_px / 10,
                           "bits per dimension are −log₂ p / D: the sign is missing": -want,
                           "divide by D as well as by ln 2 (bits per *dimension*)": -log_px / LN2,
                           "without bin_width the ln term is dropped (the default is None, not 1/256)":
                           want + 8})


@points(1)
def test_bits_per_dim_with_bin_width(student):
    """bits_per_dim: with bin_width = 1/256, P(bin) ≈ p(x)·bin_width^D (CIFAR10-sized D = 3072, float32)"""
    d = 3072
    log_px = (d * LN2 * torch.tensor([4.6, 5.6], dtype=F64)).to(F32)  # log-densities on the x/256 scale
    call = f"bits_per_dim(log_px, {d}, bin_width=1/256)"
    want = -(log_px.double() + d * math.log(1 / 256)) / (d * LN2)  # ≈ [3.4, 2.4]
    expect_close(student.bits_per_dim(log_px, d, 1 / 256), want.to(F32), call=call, inputs={"log_px": log_px},
                 rtol=1e-5,
                 mistakes={"the bin term enters as ln p(x) + D·ln(bin_width) (P(bin) ≈ p(x)·bin_width^D); "
                           "your sign of D·ln(bin_width) is flipped":
                           -(log_px.double() - d * math.log(1 / 256)) / (d * LN2),
                           "bin_width^D: the ln term is D·ln(bin_width), not ln(bin_width)":
                           -(log_px.double() + math.log(1 / 256)) / (d * LN2),
                           "bin_width was ignored: add D·ln(bin_width) to ln p(x)": -log_px.double() / (d * LN2)})


# --------------------------------------------------------------------------- gaussian_expected_log_prob


def _closed_form(d, log_det, trace, maha):
    return torch.tensor(-0.5 * (d * LN_2PI + log_det + trace + maha), dtype=F64)


@points(2)
def test_gaussian_expected_log_prob_diagonal(student):
    """gaussian_expected_log_prob: a diagonal 3-D example by hand"""
    mu = torch.tensor([0.0, 1.0, -1.0], dtype=F64)
    cov = torch.diag(torch.tensor([2.0, 0.5, 4.0], dtype=F64))
    m = torch.tensor([1.0, 1.0, 0.0], dtype=F64)
    S = torch.diag(torch.tensor([1.0, 1.0, 2.0], dtype=F64))
    # ln|Σ| = ln 4, tr(Σ⁻¹S) = 0.5 + 2 + 0.5 = 3, (m − μ)ᵀ Σ⁻¹ (m − μ) = 1/2 + 1/4
    want = _closed_form(3, math.log(4), 3.0, 0.75)
    expect_close(student.gaussian_expected_log_prob(mu, cov, m, S), want,
                 call="gaussian_expected_log_prob(mu, cov, m, S)",
                 inputs={"mu": mu, "cov": cov, "m": m, "S": S}, rtol=1e-9,
                 mistakes={"ln|Σ| = 2 Σ_i ln L_ii for the Cholesky factor L: the factor 2 is missing":
                           _closed_form(3, math.log(2), 3.0, 0.75),
                           "that is ln N(m; μ, Σ), the log-density at the data's mean: the expectation "
                           "over x ~ N(m, S) adds tr(Σ⁻¹S)": _closed_form(3, math.log(4), 0.0, 0.75),
                           "the trace term is tr(Σ⁻¹S) (the model's covariance inverted), not tr(S⁻¹Σ)":
                           _closed_form(3, math.log(4), 4.5, 0.75),
                           "the constant is D·ln 2π, not ln 2π":
                           _closed_form(3, math.log(4), 3.0, 0.75) + (3 - 1) * 0.5 * LN_2PI})


@points(2)
def test_gaussian_expected_log_prob_det_overflows(student):
    """gaussian_expected_log_prob: D = 100, eigenvalues 1 … 1e8 (det Σ ≈ 1e400 overflows float64)"""
    eig = torch.logspace(0, 8, 100, dtype=F64)
    cov, S = torch.diag(eig), torch.diag(0.5 * eig)
    mu = torch.zeros(100, dtype=F64)
    want = _closed_form(100, float(eig.log().sum()), 50.0, 0.0)
    expect_close(student.gaussian_expected_log_prob(mu, cov, mu, S), want,
                 call="gaussian_expected_log_prob(mu=0, cov=diag(logspace(0, 8, 100)), m=0, S=cov/2)",
                 inputs={"eigenvalues of cov": eig}, rtol=1e-9,
                 mistakes={"det Σ overflows to inf in float64 (here ≈ 1e400), so log(det(Σ)) is inf: take "
                           "ln|Σ| from a Cholesky factor (2 Σ ln L_ii) or torch.linalg.slogdet":
                           torch.tensor(-math.inf, dtype=F64)})


# --------------------------------------------------------------------------- auroc


@points(2)
def test_auroc_small_with_a_tie(student):
    """auroc: 4 in- and 3 out-of-distribution scores with one tie, by hand"""
    s_in = torch.tensor([0.1, 0.4, 0.35, 0.8], dtype=F64)
    s_out = torch.tensor([0.9, 0.4, 0.65], dtype=F64)
    # 0.9 beats all 4; 0.4 beats 2 and ties 1; 0.65 beats 3: (4 + 2.5 + 3) / 12
    expect_close(student.auroc(s_in, s_out), torch.tensor(9.5 / 12, dtype=F64),
                 call="auroc(scores_in, scores_out)", inputs={"scores_in": s_in, "scores_out": s_out},
                 rtol=1e-12,
                 mistakes={"ties must count ½: yours counts a tie as a loss": 9.0 / 12,
                           "ties must count ½: yours counts a tie as a win": 10.0 / 12,
                           "that is 1 − AUROC: the out-of-distribution scores are the positives (a larger "
                           "score means more out-of-distribution)": 2.5 / 12,
                           "divide the count of wins by N_in·N_out (all pairs), not by N_out alone":
                           9.5 / 3})


@points(1)
def test_auroc_float64_result(student):
    """auroc: float32 scores give a float64 0-dim result (one score per side works)"""
    s_in, s_out = torch.tensor([0.25], dtype=F32), torch.tensor([0.75], dtype=F32)
    call = "auroc(scores_in, scores_out) with float32 scores"
    got = expect_tensor(student.auroc(s_in, s_out), call=call, inputs={"scores_in": s_in, "scores_out": s_out},
                        shape=())
    expect(got.dtype == F64, f"{call}\n  returned dtype {str(got.dtype).replace('torch.', '')}; auroc "
           "returns float64 whatever the dtype of the scores (a float32 sum of 10¹⁰ pair counts "
           "would lose digits). Convert with .to(torch.float64) (or .double()) before counting.")
    expect_close(got, torch.tensor(1.0, dtype=F64), call=call, inputs={"scores_in": s_in, "scores_out": s_out})


# --------------------------------------------------------------------------- typicality


@points(1)
def test_typicality_score_by_hand(student):
    """typicality_score: |−mean log p − H| per row, float64 and float32 with a tensor entropy"""
    log_px = torch.tensor([[-1.0, -2.0, -3.0], [-0.5, -0.5, -0.5]], dtype=F64)
    # −mean = [2, 0.5]; entropy 1.5
    want = torch.tensor([0.5, 1.0], dtype=F64)
    mistakes = {"take the absolute value: a batch with a too HIGH likelihood (−mean log p below H) is "
                "atypical too — that is the lecture's point": torch.tensor([0.5, -1.0], dtype=F64),
                "the entropy is H = −E[log p]: compare H with −mean log p, not with mean log p":
                torch.tensor([3.5, 2.0], dtype=F64),
                "average over the M inputs of a batch (mean, not sum)": torch.tensor([4.5, 0.0], dtype=F64)}
    call = "typicality_score(log_px, entropy=1.5)"
    got = expect_tensor(student.typicality_score(log_px, 1.5), call=call, inputs={"log_px": log_px}, shape=(2,),
                        shape_note="(B,), one score per row: average over the M inputs of each row (dim=-1)")
    expect_close(got, want, call=call, inputs={"log_px": log_px}, rtol=1e-9, mistakes=mistakes)
    h = torch.tensor(1.5, dtype=F64)
    expect_close(student.typicality_score(log_px.to(F32), h), want.to(F32),
                 call="typicality_score(log_px (float32), entropy=torch.tensor(1.5, dtype=float64))",
                 inputs={"log_px": log_px.to(F32)}, rtol=1e-6, mistakes=mistakes)


@points(2)
def test_typicality_threshold_by_hand(student):
    """typicality_threshold: the (1 − α) quantile of 4 bootstrap batch scores, by hand"""
    log_px_val = torch.tensor([-1.0, -2.0, -3.0, -4.0, -6.0], dtype=F64)
    batch_idx = torch.tensor([[0, 1], [2, 3], [1, 4], [0, 4]])
    # batch scores |−mean − 3| = [1.5, 0.5, 1.0, 0.5]; sorted [0.5, 0.5, 1.0, 1.5];
    # the 0.75 quantile sits at position 0.75·3 = 2.25: 1.0 + 0.25·(1.5 − 1.0)
    expect_close(student.typicality_threshold(log_px_val, 3.0, batch_idx, 0.25),
                 torch.tensor(1.125, dtype=F64), call="typicality_threshold(log_px_val, entropy=3.0, batch_idx, "
                 "alpha=0.25)", inputs={"log_px_val": log_px_val, "batch_idx": batch_idx}, rtol=1e-9,
                 mistakes={"that is the alpha quantile; the threshold is the (1 − alpha) quantile, so that "
                           "a fraction alpha of in-distribution batches lies above it": 0.5,
                           "use the entropy as given; yours looks re-estimated from log_px_val "
                           "(−mean = 3.2)": 1.025,
                           "score the bootstrap batches log_px_val[batch_idx] (R rows of M inputs), not "
                           "single examples": 2.0,
                           "interpolate linearly between the two neighbouring sorted scores (as "
                           "torch.quantile does), instead of picking one of them": 1.5})


@points(1)
def test_typicality_test_strict(student):
    """typicality_test: bool, True strictly above the threshold (a score equal to it is in-distribution)"""
    log_px = torch.tensor([[-1.5, -2.5], [-1.0, -1.0], [-4.0, -4.0]], dtype=F64)
    # scores with entropy 1: [1, 0, 3]
    want = torch.tensor([False, False, True])
    mistakes = {"flag a batch only when its score is strictly greater than the threshold (>, not ≥)":
                torch.tensor([True, False, True]),
                "True means out of distribution: the score is above the threshold":
                torch.tensor([False, True, False])}
    for threshold in (1.0, torch.tensor(1.0, dtype=F64)):
        call = f"typicality_test(log_px, entropy=1.0, threshold={threshold!r})"
        got = expect_tensor(student.typicality_test(log_px, 1.0, threshold), call=call,
                            inputs={"log_px": log_px}, shape=(3,), shape_note="(B,)")
        expect(got.dtype == torch.bool, f"{call}\n  returned dtype {str(got.dtype).replace('torch.', '')}; "
               "expected a bool tensor (True = out of distribution): return the comparison itself, "
               "score > threshold, without converting it to numbers.")
        expect_close(got, want, call=call, inputs={"log_px": log_px}, mistakes=mistakes)
