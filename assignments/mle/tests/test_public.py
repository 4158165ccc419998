"""Public tests for `mle`: run them with `gmgrade check mle`.

Each test uses an input small enough to work out by hand; where a known slip gives a
different value, the test names it."""

import math

import torch

from autograder.testing import expect, expect_close, expect_tensor, expect_tuple, points

F64 = torch.float64
COIN = torch.tensor([1.0, 0, 1, 0, 1, 1, 0])
UNBIASED = "looks like the unbiased N−1 variance; the MLE divides by N"


@points(1)
def test_bernoulli_mle_coin(student):
    """bernoulli_mle: the lecture's coin [1,0,1,0,1,1,0] gives 4/7"""
    got = student.bernoulli_mle(COIN)
    expect_close(got, torch.tensor(4 / 7), call="bernoulli_mle(x)", inputs={"x": COIN},
                 mistakes={"that is the fraction of zeros; θ is the probability of a 1": 3 / 7})


@points(1)
def test_bernoulli_log_likelihood_coin(student):
    """bernoulli_log_likelihood: the coin at θ = 1/4 is (4 log ¼ + 3 log ¾)/7"""
    theta = torch.tensor(0.25)
    want = (4 * math.log(0.25) + 3 * math.log(0.75)) / 7
    got = student.bernoulli_log_likelihood(theta, COIN)
    expect_close(got, torch.tensor(want), call="bernoulli_log_likelihood(theta, x)",
                 inputs={"theta": theta, "x": COIN}, rtol=1e-5,
                 mistakes={"that is the sum over the data; the contract asks for the mean (1/N)": 7 * want,
                           "θ and 1 − θ are swapped: θ is the probability of a 1":
                           (4 * math.log(0.75) + 3 * math.log(0.25)) / 7})


@points(1)
def test_bernoulli_log_likelihood_certain(student):
    """bernoulli_log_likelihood: θ = 1 on all-ones data is log 1 = 0 (0·log 0 = 0)"""
    theta, x = torch.tensor(1.0), torch.ones(3)
    got = student.bernoulli_log_likelihood(theta, x)
    expect_close(got, torch.tensor(0.0), call="bernoulli_log_likelihood(theta, x)",
                 inputs={"theta": theta, "x": x},
                 mistakes={"NaN comes from 0·log 0: use torch.xlogy or torch.where so that 0·log 0 = 0":
                           math.nan})


@points(1)
def test_gaussian_log_pdf_by_hand(student):
    """gaussian_log_pdf: N(0; 0, 1) = −½ log 2π and N(1; 0, σ² = 4) = −½ log 8π − 1/8"""
    x, mu, var = torch.tensor([0.0, 1.0]), torch.zeros(2), torch.tensor([1.0, 4.0])
    got = student.gaussian_log_pdf(x, mu, var)
    want = torch.tensor([-0.5 * math.log(2 * math.pi), -0.5 * math.log(8 * math.pi) - 1 / 8])
    expect_close(got, want, call="gaussian_log_pdf(x, mu, var)", inputs={"x": x, "mu": mu, "var": var},
                 mistakes={"var is the variance σ², not the standard deviation σ":
                           torch.tensor([-0.5 * math.log(2 * math.pi), -0.5 * math.log(32 * math.pi) - 1 / 32])})


@points(1)
def test_gaussian_mle_shapes(student):  # (the name known mistakes refer to)
    """gaussian_mle: [1, 2, 4] gives μ = 7/3 and σ² = 14/9"""
    x = torch.tensor([1.0, 2.0, 4.0])
    got = student.gaussian_mle(x)
    expect_close(got, (torch.tensor(7 / 3), torch.tensor(14 / 9)), call="gaussian_mle(x)",
                 inputs={"x": x}, rtol=1e-5,
                 mistakes={UNBIASED: (torch.tensor(7 / 3), torch.tensor(14 / 6)),
                           "that is the standard deviation; return the variance σ²":
                           (torch.tensor(7 / 3), torch.tensor(14 / 9).sqrt())})


@points(1)
def test_gaussian_mle_keeps_input(student):
    """gaussian_mle: leaves its input as it was"""
    x = torch.tensor([1.0, 2.0, 4.0])
    got, mutated = student.call_checking_inputs("gaussian_mle", x)
    expect(not mutated, "gaussian_mle() modified its input argument(s) at position(s) "
                        f"{mutated} in place; compute x - mu into a new tensor instead of x -= mu.")
    # credited with a right answer only: μ = 7/3, σ² = (16/9 + 1/9 + 25/9)/3 = 14/9
    expect_close(got, (torch.tensor(7 / 3), torch.tensor(14 / 9)), call="gaussian_mle(x)", inputs={"x": x},
                 rtol=1e-5, atol=1e-6)


@points(1)
def test_mvn_mle_by_hand(student):
    """mvn_mle: rows [0,1], [2,1], [1,4] give μ = (1, 2) and Σ = [[2/3, 0], [0, 2]]"""
    x = torch.tensor([[0.0, 1.0], [2.0, 1.0], [1.0, 4.0]])
    mu = torch.tensor([1.0, 2.0])
    got = expect_tuple(student.mvn_mle(x), 2, call="mvn_mle(x)", inputs={"x": x})
    expect_close(got, (mu, torch.tensor([[2 / 3, 0.0], [0.0, 2.0]])), call="mvn_mle(x)",
                 inputs={"x": x}, rtol=1e-5, atol=1e-6,
                 mistakes={UNBIASED: (mu, torch.tensor([[1.0, 0.0], [0.0, 3.0]])),
                           "that is the second moment E[x xᵀ] (an outer product of the raw rows); "
                           "centre the data first: Σ = E[(x − μ)(x − μ)ᵀ]":
                           (mu, x.T @ x / 3)})


@points(1)
def test_mvn_log_pdf_by_hand(student):
    """mvn_log_pdf: Σ = diag(1, 4), μ = 0 at x = (0, 0) and (1, 2) is −log 2π − ½ log 4 − ½ maha"""
    x = torch.tensor([[0.0, 0.0], [1.0, 2.0]], dtype=F64)
    mu, cov = torch.zeros(2, dtype=F64), torch.diag(torch.tensor([1.0, 4.0], dtype=F64))
    maha = torch.tensor([0.0, 2.0], dtype=F64)  # 1²/1 + 2²/4
    log2pi, logdet = math.log(2 * math.pi), math.log(4.0)
    got = student.mvn_log_pdf(x, mu, cov)
    expect_tensor(got, call="mvn_log_pdf(x, mu, cov)", inputs={"x": x, "mu": mu, "cov": cov},
                  shape=(2,), shape_note="(N,)", dtype=F64)
    expect_close(got, -log2pi - 0.5 * logdet - 0.5 * maha, call="mvn_log_pdf(x, mu, cov)",
                 inputs={"x": x, "mu": mu, "cov": cov}, rtol=1e-9, atol=1e-9,
                 mistakes={"the log-determinant term needs the factor ½ (−½ log det Σ)":
                           -log2pi - logdet - 0.5 * maha,
                           "the constant is −(D/2)·log 2π, not −½·log 2π":
                           -0.5 * log2pi - 0.5 * logdet - 0.5 * maha})
