"""Public tests for the VAE assignment: shapes, dtypes and small examples you can check by hand.

Run them with `gmgrade check vae`. The hidden tests also check values on random inputs,
the gradients that reach mu and log_var, logits of ±100, a linear-Gaussian model where
log p(x) is known exactly, and a small VAE trained with your elbo on 8×8 digits.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from autograder.testing import (Helper, expect, expect_close, expect_right_answer, expect_tensor, fail, points,
                                upstream_mistakes)

F64 = torch.float64
LOG2 = math.log(2.0)
LOG_2PI = math.log(2 * math.pi)


SIGMA_SLIPS = {"σ = exp(½ log_var), not exp(log_var): log_var is the log of the variance σ²":
               lambda lv: lv.exp(),
               "σ = exp(½ log_var), not ½ exp(log_var)": lambda lv: 0.5 * lv.exp()}


@points(1)
def test_reparameterize_by_hand(student):
    """reparameterize: eps = 0 gives μ; eps = 1 with log_var = log 9 (σ = 3) gives μ + 3"""
    mu = torch.tensor([[1.0, -2.0, 0.5]], dtype=F64)
    lv = torch.full((1, 3), math.log(9.0), dtype=F64)
    call = "reparameterize(mu, log_var, eps=0)"
    got = expect_tensor(student.reparameterize(mu, lv, torch.zeros(1, 3, dtype=F64)), call=call, shape=(1, 3))
    again = expect_tensor(student.reparameterize(mu, lv, torch.zeros(1, 3, dtype=F64)), call=call, shape=(1, 3))
    expect(torch.equal(got, again), f"{call} returned {got.tolist()}, then {again.tolist()} for the same "
           "eps: use the eps argument, and draw ε ~ N(0, I) only when eps is None")
    expect_close(got, mu, call=call, inputs={"mu": mu, "log_var": lv}, rtol=1e-6)
    expect_close(student.reparameterize(mu, lv, torch.ones(1, 3, dtype=F64)), mu + 3.0,
                 call="reparameterize(mu, log_var=log 9, eps=1)", inputs={"mu": mu, "log_var": lv},
                 rtol=1e-6, mistakes={hint: mu + sigma(lv) for hint, sigma in SIGMA_SLIPS.items()})


@points(1)
def test_reparameterize_gradient_and_inputs(student):
    """reparameterize: ∂z/∂μ = 1 and ∂z/∂log_var = ½σε (σ = 2, ε = 1: 1); mu, log_var, eps stay as they were"""
    mu, lv = torch.zeros(1, 2, dtype=F64), torch.full((1, 2), math.log(4.0), dtype=F64)
    eps = torch.ones(1, 2, dtype=F64)
    call = "reparameterize(mu, log_var=log 4, eps=1), backpropagating ones"
    _, grads = student.grad("reparameterize", mu, lv, eps, wrt=(0, 1))
    for g, name in zip(grads, ("mu", "log_var")):
        if g is None:
            fail(f"{call}: no gradient reached `{name}`. The result must be differentiable: don't "
                 "use .detach(), .item(), .data, torch.no_grad() or NumPy on the way.")
    expect_close(grads[0], torch.ones(1, 2, dtype=F64), call=call + ": gradient with respect to mu",
                 inputs={"mu": mu, "log_var": lv, "eps": eps}, rtol=1e-6)
    expect_close(grads[1], torch.ones(1, 2, dtype=F64), call=call + ": gradient with respect to log_var",
                 inputs={"mu": mu, "log_var": lv, "eps": eps}, rtol=1e-6,
                 mistakes={"z uses exp(log_var) instead of exp(½ log_var)": torch.full((1, 2), 4.0)})
    got, mutated = student.call_checking_inputs("reparameterize", mu, lv, eps)
    expect(not mutated, "reparameterize() modified its input(s) at position(s) "
           f"{mutated} in place; never write into an argument (e.g. `std * eps`, not `eps.mul_(std)`).")
    # inputs left alone count only with the right answer for this call: z = μ + σε = 0 + 2·1 = 2
    expect_right_answer(got, torch.full((1, 2), 2.0, dtype=F64), call="reparameterize(mu, log_var=log 4, eps=1)",
                        inputs={"mu": mu, "log_var": lv, "eps": eps})


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
def test_reparameterize_draws_noise_when_eps_is_none(student):
    """reparameterize: without eps, mu = 0 and log_var = 0 give z = ε, a fresh N(0, 1) draw in every entry"""
    mu, lv = torch.zeros(4, 3, dtype=F64), torch.zeros(4, 3, dtype=F64)
    call = "reparameterize(mu=zeros(4, 3), log_var=zeros(4, 3)) (eps=None)"
    z = expect_tensor(student.reparameterize(mu, lv), call=call, shape=(4, 3), dtype=F64)
    rows, cols = z.unique(dim=0).shape[0], z.T.unique(dim=0).shape[0]
    expect(rows == 4 and cols == 3, f"{call} returned {z.tolist()}: {rows} distinct rows of 4 and {cols} distinct "
           "columns of 3; ε ~ N(0, I) has the shape of mu, one independent draw per entry "
           "(torch.randn_like(mu)), not one vector shared by the batch or one number per row.")


def _kl(mu, lv, scale=0.5, reduce="sum"):
    # KL(N(μ, σ²) ‖ N(0, 1)) per row; scale and reduce let a test name the usual slips
    return scale * getattr(mu**2 + lv.exp() - 1 - lv, reduce)(-1)


def kl_slips(mu, lv):
    return {"the sign is flipped: KL = ½ Σ (μ² + σ² − 1 − log σ²) ≥ 0": _kl(mu, lv, -0.5),
            "the factor ½ is missing": _kl(mu, lv, 1.0),
            "sum over the latent dimensions, don't average": _kl(mu, lv, reduce="mean")}


@points(1)
def test_gaussian_kl_by_hand(student):
    """gaussian_kl: 0 at the prior; ½ per unit of μ² and (σ² − 1 − log σ²)/2 per dimension"""
    mu = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]], dtype=F64)
    lv = torch.tensor([[0.0, 0.0], [0.0, 0.0], [math.log(2.0), 0.0]], dtype=F64)
    want = torch.tensor([0.0, 0.5, 0.5 * (2.0 - 1.0 - math.log(2.0))], dtype=F64)
    got = student.gaussian_kl(mu, lv)
    expect_tensor(got, call="gaussian_kl(mu, log_var)", shape=(3,), dtype=F64, shape_note="(B,)")
    expect_close(got, want, call="gaussian_kl(mu, log_var)", inputs={"mu": mu, "log_var": lv},
                 rtol=1e-6, atol=1e-9, mistakes=kl_slips(mu, lv))


def bernoulli_slips(x, logits):
    p = torch.sigmoid(logits)
    return {
        "this is the binary cross-entropy (the negative log-likelihood); return log p(x|z) itself":
            (F.softplus(logits) - x * logits).sum(-1),
        "sum over the Dx pixels, don't average": (x * logits - F.softplus(logits)).mean(-1),
        "log(sigmoid(·) + eps) or a clamped probability is not exact for large |logits|: use "
        "x·ℓ − softplus(ℓ) (or F.binary_cross_entropy_with_logits)":
            (x * torch.log(p + 1e-7) + (1 - x) * torch.log(1 - p + 1e-7)).sum(-1),
        "log(sigmoid(ℓ)) underflows to log 0 = −inf at ℓ = −100: use x·ℓ − softplus(ℓ)":
            (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(-1),
    }


@points(1)
def test_bernoulli_log_likelihood_by_hand(student):
    """bernoulli_log_likelihood: logits 0 give Dx·log ½; logit log 3 (p = ¾) on x = 1 gives log ¾"""
    x = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]], dtype=F64)
    logits = torch.tensor([[0.0, 0.0, 0.0], [math.log(3.0), -math.log(3.0), -math.log(3.0)]], dtype=F64)
    want = torch.tensor([-3 * LOG2, math.log(0.75) + math.log(0.25) + math.log(0.75)], dtype=F64)
    got = student.bernoulli_log_likelihood(x, logits)
    expect_tensor(got, call="bernoulli_log_likelihood(x, logits)", shape=(2,), dtype=F64, shape_note="(B,)")
    expect_close(got, want, call="bernoulli_log_likelihood(x, logits)", inputs={"x": x, "logits": logits},
                 rtol=1e-6, mistakes=bernoulli_slips(x, logits))


@points(1)
def test_bernoulli_log_likelihood_large_logits(student):
    """bernoulli_log_likelihood: logits ±100 give 0 where they agree with x and −100 where not"""
    x = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    logits = torch.tensor([[100.0, -100.0, -100.0, 100.0]])
    expect_close(student.bernoulli_log_likelihood(x, logits), torch.tensor([-200.0]),
                 call="bernoulli_log_likelihood(x, logits)", inputs={"x": x, "logits": logits},
                 rtol=1e-5, mistakes=bernoulli_slips(x, logits))


def _log_normal(x, mean, lv, const=LOG_2PI, var=torch.exp):
    # elementwise log N(x; mean, σ²) with σ² = var(log_var); const and var let a test name slips
    return -0.5 * (const + torch.log(var(lv)) + (x - mean) ** 2 / var(lv))


GAUSS_SLIPS = {"the constant −½ log 2π per dimension is missing": {"const": 0.0},
               "log_var is log σ²: the density has −½ log σ² and (x − mean)²/σ² with σ² = exp(log_var)":
                   {"var": lambda lv: (2 * lv).exp()}}


@points(1)
def test_gaussian_log_likelihood_by_hand(student):
    """gaussian_log_likelihood: standard normal at the mean, and log_var = log 4"""
    x = torch.tensor([[0.0, 0.0], [3.0, 1.0]], dtype=F64)
    mean = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=F64)
    lv = torch.tensor([[0.0, 0.0], [math.log(4.0), 0.0]], dtype=F64)
    want = torch.tensor([-LOG_2PI, -LOG_2PI - 0.5 * math.log(4.0) - 0.5 * 4.0 / 4.0], dtype=F64)
    expect_close(student.gaussian_log_likelihood(x, mean, lv), want,
                 call="gaussian_log_likelihood(x, mean, log_var)",
                 inputs={"x": x, "mean": mean, "log_var": lv}, rtol=1e-6,
                 mistakes={hint: _log_normal(x, mean, lv, **slip).sum(-1) for hint, slip in GAUSS_SLIPS.items()})


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


def _off_posterior():
    # p(z) = N(0, 1), p(x|z) = N(z, 2); q = N(mu, σ²) is not the posterior, so the bounds
    # lie below log p(x) and every sample counts. With eps = ±1, z = mu ± σ.
    dec = Helper("linear_gaussian_decoder", w=[[1.0]], b=[0.0], log_var=[math.log(2.0)])
    x = torch.tensor([[1.0], [-2.0]], dtype=F64)
    mu = torch.tensor([[0.5], [0.0]], dtype=F64)
    lv = torch.tensor([[math.log(4.0)], [0.0]], dtype=F64)
    eps = torch.tensor([1.0, -1.0], dtype=F64).view(2, 1, 1).expand(2, 2, 1)
    return dec, x, mu, lv, eps


def _log_terms(x, mu, lv, eps, sigma=lambda lv: (0.5 * lv).exp(), const=LOG_2PI, var=torch.exp):
    """log p(x|z_l) (L, B) and z (L, B, 1) of the off-posterior model, from the pieces
    reparameterize and gaussian_log_likelihood compute (defaults: correct)."""
    z = mu + sigma(lv) * eps
    return _log_normal(x, z, torch.full_like(z, math.log(2.0)), const, var).sum(-1), z


# slips upstream of elbo and iwae_bound, as the pieces of _log_terms / _kl they replace
UPSTREAM = {
    **{f"reparameterize: {hint}": {"sigma": sigma} for hint, sigma in SIGMA_SLIPS.items()},
    **{f"gaussian_log_likelihood: {hint}": slip for hint, slip in GAUSS_SLIPS.items()},
}
KL_UPSTREAM = {"gaussian_kl: the factor ½ is missing": {"kl_scale": 1.0},
               "gaussian_kl: the sign is flipped: KL = ½ Σ (μ² + σ² − 1 − log σ²) ≥ 0": {"kl_scale": -0.5}}


@points(1)
def test_elbo_by_hand(student):
    """elbo: on p(x|z) = N(z, 2) with q ≠ the posterior and eps = ±1, the mean of log p(x|z_l) minus the KL"""
    dec, x, mu, lv, eps = _off_posterior()

    def expected(kl_scale=0.5, **pieces):
        rec, _ = _log_terms(x, mu, lv, eps, **pieces)
        return rec.mean(0) - _kl(mu, lv, kl_scale)

    rec, _ = _log_terms(x, mu, lv, eps)
    kl = _kl(mu, lv)
    call = "elbo(x, mu, log_var, decode, eps, likelihood='gaussian')"
    got = student.elbo(x, mu, lv, dec, eps, likelihood="gaussian")
    expect_close(got, expected(), call=call, inputs={"x": x, "mu": mu, "log_var": lv, "eps": eps},
                 rtol=1e-6, mistakes={
                     "the KL term is missing: ELBO = mean_l log p(x|z_l) − KL(q ‖ p)": rec.mean(0),
                     "the KL must be subtracted, not added": rec.mean(0) + kl,
                     "this is the negative ELBO (the loss); return the ELBO itself": kl - rec.mean(0),
                     "average the reconstruction term over the L samples (mean, not sum)": rec.sum(0) - kl,
                     "use all L samples eps[0], …, eps[L−1], not only the first": rec[0] - kl,
                     "the KL is counted once, not once per sample": rec.mean(0) - 2 * kl,
                     **upstream_mistakes("elbo", expected, {**UPSTREAM, **KL_UPSTREAM})})


@points(1)
def test_elbo_gradient_by_hand(student):
    """elbo: ∂/∂mu is mean_l (x − z_l)/2 − mu on p(x|z) = N(z, 2) (the KL's gradient −mu included)"""
    dec, x, mu, lv, eps = _off_posterior()
    _, z = _log_terms(x, mu, lv, eps)
    want = ((x - z) / 2.0).mean(0) - mu
    call = "elbo(x, mu, log_var, decode, eps, likelihood='gaussian'), backpropagating ones"
    _, grads = student.grad("elbo", x, mu, lv, dec, eps, likelihood="gaussian", wrt=(1,))
    if grads[0] is None:
        fail(f"{call}: no gradient reached `mu`. The result must be differentiable: don't "
             "use .detach(), .item(), .data, torch.no_grad() or NumPy on the way.")
    expect_close(grads[0], want, call=call + ": gradient with respect to mu",
                 inputs={"x": x, "mu": mu, "log_var": lv, "eps": eps}, rtol=1e-6,
                 mistakes={"the KL term's gradient is missing: compute the KL from mu and log_var "
                           "themselves (no .detach())": want + mu})


@points(1)
def test_iwae_by_hand(student):
    """iwae_bound: off the posterior, logsumexp_l(log p(x|z_l) + log p(z_l) − log q(z_l|x)) − log L"""
    dec, x, mu, lv, eps = _off_posterior()

    def log_w(log_q_of_z=False, prior=True, **pieces):
        rec, z = _log_terms(x, mu, lv, eps, **pieces)
        log_pz = -0.5 * (LOG_2PI + z**2).sum(-1)
        log_qz = -0.5 * (LOG_2PI + lv + (z if log_q_of_z else eps) ** 2).sum(-1)
        return rec + (log_pz if prior else 0) - log_qz

    def expected(**pieces):
        return torch.logsumexp(log_w(**pieces), 0) - math.log(2)

    call = "iwae_bound(x, mu, log_var, decode, eps, likelihood='gaussian')"
    got = student.iwae_bound(x, mu, lv, dec, eps, likelihood="gaussian")
    expect_close(got, expected(), call=call, inputs={"x": x, "mu": mu, "log_var": lv, "eps": eps},
                 rtol=1e-6, mistakes={
                     "this is the mean of the log-weights (an ELBO estimate); the bound is "
                     "log (1/L) Σ_l w_l = logsumexp_l(log w_l) − log L": log_w().mean(0),
                     "the −log L is missing: log (1/L) Σ_l w_l = logsumexp_l(log w_l) − log L":
                         torch.logsumexp(log_w(), 0),
                     "log q(z|x) must use (z − μ)/σ = ε, not z itself": expected(log_q_of_z=True),
                     "the prior term log p(z_l) is missing from the log-weights": expected(prior=False),
                     **upstream_mistakes("iwae_bound", expected, UPSTREAM)})


@points(1)
def test_iwae_far_from_the_data(student):
    """iwae_bound: x = 60 is far from every z, the weights are about e^−900: still finite (logsumexp)"""
    dec, _, mu, lv, eps = _off_posterior()
    x = torch.full((2, 1), 60.0, dtype=F64)
    rec, z = _log_terms(x, mu, lv, eps)
    log_w = rec - 0.5 * z.squeeze(-1) ** 2 + 0.5 * eps.squeeze(-1) ** 2 + 0.5 * lv.squeeze(-1)
    want = torch.logsumexp(log_w, 0) - math.log(2)
    expect_close(student.iwae_bound(x, mu, lv, dec, eps, likelihood="gaussian"), want,
                 call="iwae_bound(x, mu, log_var, decode, eps, likelihood='gaussian') with x = 60",
                 inputs={"x": x, "mu": mu, "log_var": lv, "eps": eps}, rtol=1e-6,
                 mistakes={"exp() of the log-weights underflows: use torch.logsumexp over the samples":
                           torch.log(log_w.exp().mean(0))})
