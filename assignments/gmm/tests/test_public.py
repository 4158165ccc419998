"""Public tests for the GMM / EM assignment: shapes, dtypes and small examples you can check by hand.

Run them with `gmgrade check gmm`. The hidden tests also check values on random mixtures,
points 1000 standard deviations from every component, that the M-step maximises the
expected complete-data log-likelihood, agreement with scikit-learn's GaussianMixture, the
stopping rule, and that EM recovers a well-separated mixture.
"""

from __future__ import annotations

import math

import torch

from autograder.testing import expect, expect_close, expect_tensor, fail, points

F64 = torch.float64
LOG_2PI = math.log(2 * math.pi)


def _two_components(dtype=F64):
    weights = torch.tensor([0.25, 0.75], dtype=dtype)
    means = torch.tensor([[0.0, 0.0], [3.0, -1.0]], dtype=dtype)
    covs = torch.stack([torch.eye(2, dtype=dtype), torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=dtype)])
    return weights, means, covs


@points(1)
def test_log_likelihood_single_standard_normal(student):
    """gmm_log_likelihood: one standard-normal component, log N(x; 0, I) by hand, shape (N,)"""
    x = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, -2.0]], dtype=F64)
    w, m, c = torch.ones(1, dtype=F64), torch.zeros(1, 3, dtype=F64), torch.eye(3, dtype=F64)[None]
    got = student.gmm_log_likelihood(x, w, m, c)
    call = "gmm_log_likelihood(x, weights=[1], means=[0], covs=[I])"
    expect_tensor(got, call=call, inputs={"x": x}, shape=(2,), dtype=F64, shape_note="(N,)")
    want = torch.tensor([-1.5 * LOG_2PI, -1.5 * LOG_2PI - 0.5 * 9.0], dtype=F64)
    expect_close(got, want, call=call, inputs={"x": x}, rtol=1e-6)


@points(1)
def test_log_likelihood_two_identical_components(student):
    """gmm_log_likelihood: two identical components give the density of one, whatever the weights"""
    x = torch.tensor([[0.5, -1.0], [2.0, 2.0], [0.0, 0.0]], dtype=F64)
    cov = torch.tensor([[2.0, 0.0], [0.0, 0.5]], dtype=F64)  # log det = 0
    w = torch.tensor([0.3, 0.7], dtype=F64)
    m = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=F64)
    c = torch.stack([cov, cov])
    maha = torch.tensor([0.25 / 2 + 1.0 / 0.5, 1.0 / 2 + 4.0 / 0.5, 1.0 / 2 + 0.0], dtype=F64)
    want = -LOG_2PI - 0.5 * maha
    expect_close(student.gmm_log_likelihood(x, w, m, c), want,
                 call="gmm_log_likelihood(x, weights, means, covs)", inputs={"x": x, "weights": w,
                 "means": m, "covs": c}, rtol=1e-6)


@points(1)
def test_e_step_shape_and_rows(student):
    """e_step: shape (N, K), float32 stays float32, rows sum to 1"""
    for dtype in (F64, torch.float32):
        w, m, c = _two_components(dtype)
        x = torch.tensor([[0.0, 0.0], [3.0, -1.0], [1.5, -0.5], [-1.0, 4.0], [2.0, 0.0]], dtype=dtype)
        call = f"e_step(x, weights, means, covs) in {str(dtype).replace('torch.', '')}"
        got = expect_tensor(student.e_step(x, w, m, c), call=call, inputs={"x": x}, shape=(5, 2),
                            dtype=dtype, shape_note="(N, K)")
        expect_close(got.sum(1), torch.ones(5, dtype=dtype), call=call + ", rows summed",
                     inputs={"x": x}, rtol=1e-5, atol=1e-5)


@points(1)
def test_e_step_equal_components_give_the_weights(student):
    """e_step: with two identical components the responsibilities are the mixture weights"""
    x = torch.randn(6, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    w = torch.tensor([0.2, 0.8], dtype=F64)
    m = torch.zeros(2, 2, dtype=F64)
    c = torch.eye(2, dtype=F64).repeat(2, 1, 1)
    expect_close(student.e_step(x, w, m, c), w.expand(6, 2),
                 call="e_step(x, weights=[0.2, 0.8], two identical components)", inputs={"x": x},
                 rtol=1e-6, atol=1e-9)


@points(1)
def test_m_step_hard_assignments(student):
    """m_step: one-hot responsibilities give per-cluster fractions, means and 1/N_k covariances"""
    x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0], [10.0, 10.0], [12.0, 10.0]],
                     dtype=F64)
    resp = torch.tensor([[1.0, 0.0]] * 4 + [[0.0, 1.0]] * 2, dtype=F64)
    got = student.m_step(x, resp, 0.1)
    want = (torch.tensor([4 / 6, 2 / 6], dtype=F64),
            torch.tensor([[1.0, 1.0], [11.0, 10.0]], dtype=F64),
            torch.tensor([[[1.1, 0.0], [0.0, 1.1]], [[1.1, 0.0], [0.0, 0.1]]], dtype=F64))
    expect_close(got, want, call="m_step(x, resp, reg_covar=0.1) with one-hot resp",
                 inputs={"x": x, "resp": resp}, rtol=1e-6, atol=1e-9)


@points(1)
def test_fit_gmm_returns_history(student):
    """fit_gmm: returns (weights, means, covs, history) with len(history) == iterations + 1"""
    gen = torch.Generator().manual_seed(1)
    x = torch.cat([torch.randn(20, 2, generator=gen, dtype=F64),
                   torch.randn(20, 2, generator=gen, dtype=F64) + 5.0])
    w0 = torch.tensor([0.5, 0.5], dtype=F64)
    m0 = torch.tensor([[1.0, 1.0], [3.0, 3.0]], dtype=F64)
    c0 = torch.eye(2, dtype=F64).repeat(2, 1, 1)
    call = "fit_gmm(x, weights, means, covs, n_iter=2, tol=0.0)"
    got = student.fit_gmm(x, w0, m0, c0, n_iter=2, tol=0.0)
    if not isinstance(got, (tuple, list)) or len(got) != 4:
        fail(f"{call}\n  expected a tuple (weights, means, covs, history) of 4 values.")
    w, m, c, history = got
    expect_tensor(w, call=call + " weights", shape=(2,), dtype=F64)
    expect_tensor(m, call=call + " means", shape=(2, 2), dtype=F64)
    expect_tensor(c, call=call + " covs", shape=(2, 2, 2), dtype=F64)
    expect_tensor(history, call=call + " history", shape=(3,), dtype=F64,
                  shape_note="2 iterations + 1 (the initial mean log-likelihood, then one per iteration)")
    expect(bool(history[1] >= history[0]) and bool(history[2] >= history[1]),
           f"{call}\n  history {history.tolist()} decreases; EM never decreases the mean "
           "log-likelihood.")
    expect_close(w.sum(), torch.tensor(1.0, dtype=F64), call=call + " weights summed", rtol=1e-9)
