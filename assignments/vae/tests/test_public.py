"""Public tests for the VAE assignment: shapes, dtypes and small examples you can check by hand.

Run them with `gmgrade check vae`. The hidden tests also check values on random inputs,
the gradients that reach mu and log_var, logits of ±100, a linear-Gaussian model where
log p(x) is known exactly, and a small VAE trained with your elbo on 8×8 digits.
"""

from __future__ import annotations

import math

import torch

from autograder.testing import Helper, expect, expect_close, expect_tensor, fail, points

F64 = torch.float64
LOG2 = math.log(2.0)
LOG_2PI = math.log(2 * math.pi)


@points(1)
def test_reparameterize_by_hand(student):
    """reparameterize: eps = 0 gives μ; eps = 1 with log_var = log 4 gives μ + 2"""
    mu = torch.tensor([[1.0, -2.0, 0.5]], dtype=F64)
    lv = torch.full((1, 3), math.log(4.0), dtype=F64)
    call = "reparameterize(mu, log_var, eps=0)"
    got = expect_tensor(student.reparameterize(mu, lv, torch.zeros(1, 3, dtype=F64)), call=call, shape=(1, 3))
    again = expect_tensor(student.reparameterize(mu, lv, torch.zeros(1, 3, dtype=F64)), call=call, shape=(1, 3))
    expect(torch.equal(got, again), f"{call} returned {got.tolist()}, then {again.tolist()} for the same "
           "eps: use the eps argument, and draw ε ~ N(0, I) only when eps is None")
    expect_close(got, mu, call=call, inputs={"mu": mu, "log_var": lv}, rtol=1e-6)
    expect_close(student.reparameterize(mu, lv, torch.ones(1, 3, dtype=F64)), mu + 2.0,
                 call="reparameterize(mu, log_var=log 4, eps=1)", inputs={"mu": mu, "log_var": lv},
                 rtol=1e-6)


@points(1)
def test_reparameterize_sample_dims(student):
    """reparameterize: eps (L, B, Dz) gives z (L, B, Dz); float32 stays float32"""
    mu, lv = torch.zeros(4, 2), torch.zeros(4, 2)
    eps = torch.randn(3, 4, 2, generator=torch.Generator().manual_seed(0))
    got = student.reparameterize(mu, lv, eps)
    expect_tensor(got, call="reparameterize(mu, log_var, eps)", inputs={"eps": eps}, shape=(3, 4, 2),
                  dtype=torch.float32, shape_note="(L, B, Dz), the shape of eps")
    expect_close(got, eps, call="reparameterize(mu=0, log_var=0, eps)", rtol=1e-6)


@points(1)
def test_gaussian_kl_by_hand(student):
    """gaussian_kl: 0 at the prior; ½ per unit of μ² and (σ² − 1 − log σ²)/2 per dimension"""
    mu = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]], dtype=F64)
    lv = torch.tensor([[0.0, 0.0], [0.0, 0.0], [math.log(2.0), 0.0]], dtype=F64)
    want = torch.tensor([0.0, 0.5, 0.5 * (2.0 - 1.0 - math.log(2.0))], dtype=F64)
    got = student.gaussian_kl(mu, lv)
    expect_tensor(got, call="gaussian_kl(mu, log_var)", shape=(3,), dtype=F64, shape_note="(B,)")
    expect_close(got, want, call="gaussian_kl(mu, log_var)", inputs={"mu": mu, "log_var": lv},
                 rtol=1e-6, atol=1e-9)


@points(1)
def test_bernoulli_log_likelihood_by_hand(student):
    """bernoulli_log_likelihood: logits 0 give Dx·log ½; logit log 3 (p = ¾) on x = 1 gives log ¾"""
    x = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]], dtype=F64)
    logits = torch.tensor([[0.0, 0.0, 0.0], [math.log(3.0), -math.log(3.0), -math.log(3.0)]], dtype=F64)
    want = torch.tensor([-3 * LOG2, math.log(0.75) + math.log(0.25) + math.log(0.75)], dtype=F64)
    got = student.bernoulli_log_likelihood(x, logits)
    expect_tensor(got, call="bernoulli_log_likelihood(x, logits)", shape=(2,), dtype=F64, shape_note="(B,)")
    expect_close(got, want, call="bernoulli_log_likelihood(x, logits)", inputs={"x": x, "logits": logits},
                 rtol=1e-6)


@points(1)
def test_bernoulli_log_likelihood_large_logits(student):
    """bernoulli_log_likelihood: logits ±100 give 0 where they agree with x and −100 where not"""
    x = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    logits = torch.tensor([[100.0, -100.0, -100.0, 100.0]])
    expect_close(student.bernoulli_log_likelihood(x, logits), torch.tensor([-200.0]),
                 call="bernoulli_log_likelihood(x, logits)", inputs={"x": x, "logits": logits},
                 rtol=1e-5)


@points(1)
def test_gaussian_log_likelihood_by_hand(student):
    """gaussian_log_likelihood: standard normal at the mean, and log_var = log 4"""
    x = torch.tensor([[0.0, 0.0], [3.0, 1.0]], dtype=F64)
    mean = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=F64)
    lv = torch.tensor([[0.0, 0.0], [math.log(4.0), 0.0]], dtype=F64)
    want = torch.tensor([-LOG_2PI, -LOG_2PI - 0.5 * math.log(4.0) - 0.5 * 4.0 / 4.0], dtype=F64)
    expect_close(student.gaussian_log_likelihood(x, mean, lv), want,
                 call="gaussian_log_likelihood(x, mean, log_var)",
                 inputs={"x": x, "mean": mean, "log_var": lv}, rtol=1e-6)


def _one_dim_model():
    # p(z) = N(0, 1), p(x|z) = N(z, 1): p(x) = N(0, 2), p(z | x) = N(x/2, 1/2)
    dec = Helper("linear_gaussian_decoder", w=[[1.0]], b=[0.0], log_var=[0.0])
    x = torch.tensor([[1.0], [-2.0]], dtype=F64)
    log_px = -0.5 * math.log(2 * math.pi * 2.0) - x[:, 0] ** 2 / 4.0
    mu = x / 2.0
    lv = torch.full_like(x, math.log(0.5))
    return dec, x, log_px, mu, lv


@points(1)
def test_elbo_tight_at_true_posterior(student):
    """elbo: on p(x|z) = N(z, 1), q = the exact posterior N(x/2, ½) and eps = ±1 give log p(x)"""
    dec, x, log_px, mu, lv = _one_dim_model()
    eps = torch.tensor([1.0, -1.0], dtype=F64).view(2, 1, 1).expand(2, 2, 1)  # mean 0, variance 1
    try:
        got = student.elbo(x, mu, lv, dec, eps, likelihood="gaussian")
    except AssertionError as e:  # the student's exception, as the grader reports it
        if "in bernoulli_log_likelihood" not in str(e):
            raise
        fail(f"{e}\n  Hint: with likelihood='gaussian' your elbo called bernoulli_log_likelihood; "
             "decode returns (mean, log_var) there, for gaussian_log_likelihood")
    expect_tensor(got, call="elbo(x, mu, log_var, decode, eps, likelihood='gaussian')", shape=(2,),
                  dtype=F64, shape_note="(B,)")
    expect_close(got, log_px, call="elbo(x, mu, log_var, decode, eps, likelihood='gaussian') with q = "
                 "p(z|x) and eps = ±1", inputs={"x": x, "mu": mu, "log_var": lv, "eps": eps}, rtol=1e-6)


@points(1)
def test_iwae_exact_at_true_posterior(student):
    """iwae_bound: with q = the exact posterior every weight equals p(x), so the bound is log p(x)"""
    dec, x, log_px, mu, lv = _one_dim_model()
    eps = torch.tensor([0.3, -1.2, 2.0], dtype=F64).view(3, 1, 1).expand(3, 2, 1)
    got = student.iwae_bound(x, mu, lv, dec, eps, likelihood="gaussian")
    expect_tensor(got, call="iwae_bound(x, mu, log_var, decode, eps, likelihood='gaussian')", shape=(2,),
                  dtype=F64, shape_note="(B,)")
    expect_close(got, log_px, call="iwae_bound(x, mu, log_var, decode, eps, likelihood='gaussian') with "
                 "q = p(z|x)", inputs={"x": x, "mu": mu, "log_var": lv, "eps": eps}, rtol=1e-6)
