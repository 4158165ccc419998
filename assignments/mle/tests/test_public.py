"""Public tests for `mle`: run them with `gmgrade check mle`."""

import math

import torch

from autograder.testing import describe, expect_close, expect_tensor, fail, points


@points(1)
def test_bernoulli_mle_coin(student):
    """bernoulli_mle: the lecture's coin [1,0,1,0,1,1,0] gives 4/7"""
    x = torch.tensor([1.0, 0, 1, 0, 1, 1, 0])
    got = student.bernoulli_mle(x)
    expect_close(got, torch.tensor(4 / 7), call="bernoulli_mle(x)", inputs={"x": x},
                 mistakes={"that is the fraction of zeros; θ is the probability of a 1": 3 / 7})


@points(1)
def test_bernoulli_log_likelihood_coin(student):
    """bernoulli_log_likelihood: value at θ = 1/2 is log(1/2)"""
    x = torch.tensor([1.0, 0, 1, 0, 1, 1, 0])
    theta = torch.tensor(0.5)
    got = student.bernoulli_log_likelihood(theta, x)
    expect_close(got, torch.tensor(math.log(0.5)), call="bernoulli_log_likelihood(theta, x)",
                 inputs={"theta": theta, "x": x}, rtol=1e-5,
                 mistakes={"that is the sum over the data; the contract asks for the mean (1/N)":
                           7 * math.log(0.5)})


@points(1)
def test_gaussian_log_pdf_standard(student):
    """gaussian_log_pdf: the standard normal at 0 is −½ log 2π"""
    x, mu, var = torch.zeros(3), torch.zeros(3), torch.ones(3)
    got = student.gaussian_log_pdf(x, mu, var)
    expect_close(got, torch.full((3,), -0.5 * math.log(2 * math.pi)), call="gaussian_log_pdf(x, mu, var)",
                 inputs={"x": x, "mu": mu, "var": var})


@points(1)
def test_gaussian_mle_shapes(student):
    """gaussian_mle: returns two 0-dim tensors"""
    x = torch.tensor([1.0, 2.0, 4.0])
    got = student.gaussian_mle(x)
    expect_close(got, (torch.tensor(7 / 3), torch.tensor(14 / 9)), call="gaussian_mle(x)",
                 inputs={"x": x}, rtol=1e-5,
                 mistakes={"looks like the unbiased N−1 variance; the MLE divides by N":
                           (torch.tensor(7 / 3), torch.tensor(14 / 6)),
                           "that is the standard deviation; return the variance σ²":
                           (torch.tensor(7 / 3), torch.tensor(14 / 9).sqrt())})


@points(1)
def test_mvn_shapes(student):
    """mvn_mle and mvn_log_pdf: shapes (D,), (D, D) and (N,)"""
    x = torch.tensor([[0.0, 1.0], [2.0, 1.0], [1.0, 4.0]])
    got = student.mvn_mle(x)
    if not isinstance(got, tuple) or len(got) != 2:
        fail(f"mvn_mle(x) should return a tuple (mu, cov); got {describe(got)}")
    mu, cov = got
    expect_tensor(mu, call="mvn_mle(x)[0]", inputs={"x": x}, shape=(2,), shape_note="(D,)")
    expect_tensor(cov, call="mvn_mle(x)[1]", inputs={"x": x}, shape=(2, 2), shape_note="(D, D)")
    got = student.mvn_log_pdf(x, torch.zeros(2), torch.eye(2))
    expect_tensor(got, call="mvn_log_pdf(x, mu, cov)", inputs={"x": x}, shape=(3,), shape_note="(N,)")
