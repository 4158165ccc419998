"""Hidden tests: reparameterize, gaussian_kl, the likelihoods, elbo and iwae_bound.

Oracles: analytic gradients, torch.distributions, the reference solution, and a
linear-Gaussian model p(z) = N(0, I), p(x | z) = N(W z + b, D) in which log p(x) and the
true posterior are known exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from autograder.testing import Helper, expect, expect_close, expect_tensor, fail, points

F64 = torch.float64
TOL = dict(rtol=1e-5, atol=1e-6)  # float32 internals pass; O(1) slips and factors of 2 do not
LOG_2PI = math.log(2 * math.pi)


def _enc(rng, b, dz, dtype=F64):
    mu = torch.randn(b, dz, generator=rng, dtype=F64)
    log_var = 1.5 * torch.rand(b, dz, generator=rng, dtype=F64) - 1.0  # in [-1, 0.5]
    return mu.to(dtype), log_var.to(dtype)


def _eps(rng, l, b, dz, dtype=F64):
    return torch.randn(l, b, dz, generator=rng, dtype=F64).to(dtype)


def _bern_decoder(dz, dx, seed, dtype="float64", out_scale=2.0):
    return Helper("mlp", sizes=[dz, 16, dx], seed=seed, activation="tanh", dtype=dtype,
                  out_scale=out_scale)


def _gauss_decoder(dz, dx, seed, dtype="float64"):
    return Helper("vae_gaussian_decoder", dz=dz, dx=dx, hidden=16, seed=seed, dtype=dtype)


def _nograd_message(call, name):
    return (f"{call}: no gradient reached `{name}`. The result must be differentiable: don't "
            "use .detach(), .item(), .data, torch.no_grad() or NumPy on the way.")


# --------------------------------------------------------------------------- reparameterize


@points(1)
def test_reparameterize_values(student, reference, rng):
    """reparameterize: z = μ + exp(½ log_var) ε for eps (B, Dz) and (L, B, Dz)"""
    mu, lv = _enc(rng, 5, 3)
    for eps in (_eps(rng, 1, 5, 3)[0], _eps(rng, 4, 5, 3)):
        call = f"reparameterize(mu, log_var, eps) with eps of shape {tuple(eps.shape)}"
        expect_close(student.reparameterize(mu, lv, eps), reference.reparameterize(mu, lv, eps),
                     call=call, inputs={"mu": mu, "log_var": lv, "eps": eps}, **TOL,
                     mistakes={"σ = exp(½ log_var), not exp(log_var): log_var is the log of the "
                               "variance σ²": mu + torch.exp(lv) * eps,
                               "σ = exp(½ log_var), not ½ exp(log_var)": mu + 0.5 * torch.exp(lv) * eps,
                               "σ = exp(½ log_var), not sqrt(log_var) or log_var itself":
                                   mu + lv * eps})


@points(2)
def test_reparameterize_gradients(student, rng):
    """reparameterize: ∂z/∂μ = 1 and ∂z/∂log_var = ½ σ ε reach mu and log_var"""
    mu, lv = _enc(rng, 4, 3)
    eps = _eps(rng, 2, 4, 3)
    g = torch.randn(2, 4, 3, generator=rng, dtype=F64)
    call = "reparameterize(mu, log_var, eps) with eps (L, B, Dz), backpropagating a random grad_output"
    _, grads = student.grad("reparameterize", mu, lv, eps, wrt=(0, 1), grad_output=g)
    for i, name in enumerate(("mu", "log_var")):
        if grads[i] is None:
            fail(_nograd_message(call, name))
    sigma = torch.exp(0.5 * lv)
    expect_close(grads[0], g.sum(0), call=call + ": gradient with respect to mu",
                 inputs={"mu": mu, "log_var": lv, "eps": eps}, **TOL)
    expect_close(grads[1], (g * eps * 0.5 * sigma).sum(0),
                 call=call + ": gradient with respect to log_var (expected Σ_l g_l ⊙ ε_l ⊙ ½σ)",
                 inputs={"mu": mu, "log_var": lv, "eps": eps}, **TOL,
                 mistakes={"z uses exp(log_var) instead of exp(½ log_var)":
                           (g * eps * torch.exp(lv)).sum(0)})


@points(1)
def test_reparameterize_draws_standard_normal_noise(student, rng):
    """reparameterize: with eps=None, (z − μ)/σ looks like fresh N(0, 1) noise"""
    mu = 3.0 * torch.randn(2000, 3, generator=rng, dtype=F64)
    lv = 4.0 * torch.rand(2000, 3, generator=rng, dtype=F64) - 2.0
    call = "reparameterize(mu, log_var) (eps=None)"
    z = expect_tensor(student.reparameterize(mu, lv), call=call, shape=(2000, 3), dtype=F64)
    z2 = expect_tensor(student.reparameterize(mu, lv), call=call + " (second call)", shape=(2000, 3),
                       dtype=F64)
    e = (z - mu) / torch.exp(0.5 * lv)
    mean, std = e.mean().item(), e.std().item()
    expect(abs(mean) < 0.1 and 0.9 < std < 1.1,
           f"{call} on 6000 latent coordinates: (z − mu) / exp(½ log_var) has mean {mean:.3g} and "
           f"standard deviation {std:.3g}; for ε ~ N(0, I) they should be about 0 and 1. Draw the "
           "noise with torch.randn_like(mu) and scale it by σ = exp(½ log_var).")
    expect(not torch.equal(z, z2), f"{call}: two calls returned the same z; draw new noise "
           "each call (don't reseed inside the function).")


# --------------------------------------------------------------------------- KL


def _kl_mistakes(mu, lv):
    return {
        "the sign is flipped: KL = ½ Σ (μ² + σ² − 1 − log σ²) ≥ 0":
            -0.5 * (mu**2 + lv.exp() - 1 - lv).sum(-1),
        "the factor ½ is missing": (mu**2 + lv.exp() - 1 - lv).sum(-1),
        "sum over the latent dimensions, don't average":
            0.5 * (mu**2 + lv.exp() - 1 - lv).mean(-1),
        "log_var is log σ², so σ² = exp(log_var) (not exp(2·log_var))":
            0.5 * (mu**2 + (2 * lv).exp() - 1 - 2 * lv).sum(-1),
    }


@points(2)
def test_gaussian_kl_matches_torch_distributions(student, rng):
    """gaussian_kl: equals torch.distributions.kl_divergence summed over Dz"""
    for b, dz in [(6, 3), (1, 7)]:
        mu, lv = _enc(rng, b, dz)
        mu = 2.0 * mu
        expected = kl_divergence(Normal(mu, torch.exp(0.5 * lv)),
                                 Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
        expect_close(student.gaussian_kl(mu, lv), expected, call=f"gaussian_kl(mu, log_var) with B={b}, Dz={dz}",
                     inputs={"mu": mu, "log_var": lv}, **TOL, mistakes=_kl_mistakes(mu, lv))


@points(1)
def test_gaussian_kl_zero_only_at_prior(student, rng):
    """gaussian_kl: exactly 0 for q = N(0, I) and positive for any other q"""
    zero = torch.zeros(2, 4, dtype=F64)
    expect_close(student.gaussian_kl(zero, zero), torch.zeros(2, dtype=F64),
                 call="gaussian_kl(mu=0, log_var=0)", inputs={"mu": zero, "log_var": zero},
                 rtol=0, atol=1e-12)
    mu = torch.zeros(4, 4, dtype=F64)
    lv = torch.zeros(4, 4, dtype=F64)
    mu[0, 1] = 1e-2
    lv[1, 2] = 1e-2
    lv[2, 0] = -1e-2
    mu[3] = torch.randn(4, generator=rng, dtype=F64)
    lv[3] = torch.randn(4, generator=rng, dtype=F64)
    got = expect_tensor(student.gaussian_kl(mu, lv), call="gaussian_kl(mu, log_var)",
                        inputs={"mu": mu, "log_var": lv}, shape=(4,), dtype=F64)
    expect(bool((got > 0).all()),
           f"gaussian_kl(mu, log_var) near the prior (rows: μ = 0.01 in one coordinate; "
           f"log σ² = ±0.01 in one coordinate; a random q) returned {got.tolist()}; KL(q ‖ p) > 0 "
           "whenever q ≠ p.")


@points(1)
def test_gaussian_kl_gradients(student, rng):
    """gaussian_kl: ∂KL/∂μ = μ and ∂KL/∂log_var = ½(exp(log_var) − 1)"""
    mu, lv = _enc(rng, 3, 4)
    g = torch.rand(3, generator=rng, dtype=F64) + 0.5
    _, grads = student.grad("gaussian_kl", mu, lv, wrt=(0, 1), grad_output=g)
    call = "gaussian_kl(mu, log_var), backpropagating a random grad_output"
    for i, name in enumerate(("mu", "log_var")):
        if grads[i] is None:
            fail(_nograd_message(call, name))
    expect_close(grads[0], mu * g[:, None], call=call + ": gradient with respect to mu",
                 inputs={"mu": mu, "log_var": lv}, **TOL)
    expect_close(grads[1], 0.5 * (lv.exp() - 1) * g[:, None],
                 call=call + ": gradient with respect to log_var", inputs={"mu": mu, "log_var": lv}, **TOL)


# --------------------------------------------------------------------------- likelihoods


def _bern_mistakes(x, logits):
    return {
        "this is the binary cross-entropy (the negative log-likelihood); return log p(x|z) itself":
            (F.softplus(logits) - x * logits).sum(-1),
        "sum over the Dx pixels, don't average": (x * logits - F.softplus(logits)).mean(-1),
        "log(sigmoid(·) + eps) or a clamped probability is not exact for large |logits|: use "
        "x·ℓ − softplus(ℓ) (or F.binary_cross_entropy_with_logits)":
            (x * torch.log(torch.sigmoid(logits) + 1e-7)
             + (1 - x) * torch.log(1 - torch.sigmoid(logits) + 1e-7)).sum(-1),
        "log(sigmoid(ℓ)) underflows to log 0 = −inf at ℓ = −100: use x·ℓ − softplus(ℓ)":
            (x * torch.log(torch.sigmoid(logits)) + (1 - x) * torch.log(1 - torch.sigmoid(logits))).sum(-1),
    }


@points(2)
def test_bernoulli_log_likelihood_values(student, reference, rng):
    """bernoulli_log_likelihood: binary and grey-level data, random logits"""
    for b, dx in [(4, 10), (3, 1)]:
        logits = 3.0 * torch.randn(b, dx, generator=rng, dtype=F64)
        for x in ((torch.rand(b, dx, generator=rng, dtype=F64) > 0.5).to(F64),
                  torch.rand(b, dx, generator=rng, dtype=F64)):
            expect_close(student.bernoulli_log_likelihood(x, logits),
                         reference.bernoulli_log_likelihood(x, logits),
                         call=f"bernoulli_log_likelihood(x, logits) with B={b}, Dx={dx}",
                         inputs={"x": x, "logits": logits}, **TOL, mistakes=_bern_mistakes(x, logits))


@points(2)
def test_bernoulli_log_likelihood_stable(student, rng):
    """bernoulli_log_likelihood: exact for logits of ±20, ±50 and ±100 (x agreeing and disagreeing)"""
    magnitude = torch.tensor([20.0, 50.0, 100.0], dtype=F64).repeat_interleave(2)[:, None]
    signs = torch.where(torch.rand(6, 8, generator=rng) > 0.5, 1.0, -1.0).to(F64)
    logits = magnitude * signs
    x = (torch.rand(6, 8, generator=rng) > 0.5).to(F64)
    x[0, 0] = 0.5  # a grey value
    # exact: Σ x ℓ − softplus(ℓ), softplus(ℓ) = max(ℓ, 0) + log1p(e^−|ℓ|)
    expected = (x * logits - (logits.clamp(min=0) + torch.log1p(torch.exp(-logits.abs())))).sum(-1)
    for dtype in (F64, torch.float32):
        xd, ld = x.to(dtype), logits.to(dtype)
        tol = dict(rtol=1e-6, atol=1e-6) if dtype == F64 else dict(rtol=1e-5, atol=1e-4)
        expect_close(student.bernoulli_log_likelihood(xd, ld), expected.to(dtype),
                     call=f"bernoulli_log_likelihood(x, logits) with logits ±20, ±50, ±100 (two rows "
                          f"each) in {str(dtype).replace('torch.', '')}",
                     inputs={"x": xd, "logits": ld}, **tol, mistakes=_bern_mistakes(x, logits))


@points(2)
def test_gaussian_log_likelihood_values(student, reference, rng):
    """gaussian_log_likelihood: random means and log-variances, summed over Dx"""
    for b, dx in [(4, 5), (2, 1)]:
        x = torch.randn(b, dx, generator=rng, dtype=F64)
        mean = torch.randn(b, dx, generator=rng, dtype=F64)
        lv = 2.0 * torch.randn(b, dx, generator=rng, dtype=F64)
        expect_close(student.gaussian_log_likelihood(x, mean, lv),
                     reference.gaussian_log_likelihood(x, mean, lv),
                     call=f"gaussian_log_likelihood(x, mean, log_var) with B={b}, Dx={dx}",
                     inputs={"x": x, "mean": mean, "log_var": lv}, **TOL,
                     mistakes={
                         "the constant −½ log 2π per dimension is missing":
                             -0.5 * (lv + (x - mean) ** 2 / lv.exp()).sum(-1),
                         "log_var is log σ²: the density has −½ log σ² and (x − mean)²/σ² with "
                         "σ² = exp(log_var)":
                             -0.5 * (LOG_2PI + 2 * lv + (x - mean) ** 2 / (2 * lv).exp()).sum(-1),
                         "sum over the Dx dimensions, don't average":
                             -0.5 * (LOG_2PI + lv + (x - mean) ** 2 / lv.exp()).mean(-1),
                         "the squared error must be divided by σ² = exp(log_var)":
                             -0.5 * (LOG_2PI + lv + (x - mean) ** 2).sum(-1),
                     })


# --------------------------------------------------------------------------- ELBO


def _elbo_mistakes(reference, x, mu, lv, decode, eps, likelihood="bernoulli"):
    def parts():
        z = mu + torch.exp(0.5 * lv) * eps
        out = decode.build()(z)
        if likelihood == "bernoulli":
            rec = reference.bernoulli_log_likelihood(x, out)
        else:
            rec = reference.gaussian_log_likelihood(x, *out)
        return rec, reference.gaussian_kl(mu, lv)

    def m(f):
        return lambda: f(*parts())

    return {
        "the KL term is missing: ELBO = mean_l log p(x|z_l) − KL(q ‖ p)": m(lambda r, k: r.mean(0)),
        "the KL must be subtracted, not added": m(lambda r, k: r.mean(0) + k),
        "this is the negative ELBO (the loss); return the ELBO itself": m(lambda r, k: k - r.mean(0)),
        "average the reconstruction term over the L samples (mean, not sum)": m(lambda r, k: r.sum(0) - k),
        "use all L samples eps[0], …, eps[L−1], not only the first": m(lambda r, k: r[0] - k),
        "the KL is counted once, not once per sample": m(lambda r, k: r.mean(0) - r.shape[0] * k),
    }


@points(2)
def test_elbo_values_bernoulli(student, reference, rng):
    """elbo: Bernoulli likelihood, MLP decoder, L = 3 samples"""
    b, dz, dx = 5, 3, 12
    x = (torch.rand(b, dx, generator=rng, dtype=F64) > 0.5).to(F64)
    mu, lv = _enc(rng, b, dz)
    eps = _eps(rng, 3, b, dz)
    dec = _bern_decoder(dz, dx, seed=7)
    expect_close(student.elbo(x, mu, lv, dec, eps), reference.elbo(x, mu, lv, dec, eps),
                 call="elbo(x, mu, log_var, decode, eps)",
                 inputs={"x": x, "mu": mu, "log_var": lv, "decode": dec, "eps": eps}, **TOL,
                 mistakes=_elbo_mistakes(reference, x, mu, lv, dec, eps))


@points(1)
def test_elbo_values_gaussian(student, reference, rng):
    """elbo: Gaussian likelihood (decode returns (mean, log_var)), L = 2 samples"""
    b, dz, dx = 4, 2, 5
    x = torch.randn(b, dx, generator=rng, dtype=F64)
    mu, lv = _enc(rng, b, dz)
    eps = _eps(rng, 2, b, dz)
    dec = _gauss_decoder(dz, dx, seed=3)
    expect_close(student.elbo(x, mu, lv, dec, eps, likelihood="gaussian"),
                 reference.elbo(x, mu, lv, dec, eps, likelihood="gaussian"),
                 call="elbo(x, mu, log_var, decode, eps, likelihood='gaussian')",
                 inputs={"x": x, "mu": mu, "log_var": lv, "decode": dec, "eps": eps}, **TOL,
                 mistakes=_elbo_mistakes(reference, x, mu, lv, dec, eps, "gaussian"))


@points(2)
def test_elbo_gradients(student, reference, rng):
    """elbo: gradients with respect to mu and log_var (through the decoder and the KL)"""
    b, dz, dx = 4, 3, 9
    x = torch.rand(b, dx, generator=rng, dtype=F64)
    mu, lv = _enc(rng, b, dz)
    eps = _eps(rng, 2, b, dz)
    dec = _bern_decoder(dz, dx, seed=11)
    call = "elbo(x, mu, log_var, decode, eps), backpropagating ones"
    _, grads = student.grad("elbo", x, mu, lv, dec, eps, wrt=(1, 2))
    for i, name in enumerate(("mu", "log_var")):
        if grads[i] is None:
            fail(_nograd_message(call, name))
    mu_r, lv_r = mu.clone().requires_grad_(), lv.clone().requires_grad_()
    expected = torch.autograd.grad(reference.elbo(x, mu_r, lv_r, dec, eps).sum(), [mu_r, lv_r])
    inputs = {"x": x, "mu": mu, "log_var": lv, "eps": eps}
    # without the KL's gradient, −∂KL/∂mu = −mu and −∂KL/∂log_var = −½(exp(log_var) − 1) are missing
    no_kl = "the KL term's gradient is missing: compute the KL from mu and log_var themselves (no .detach())"
    expect_close(grads[0], expected[0], call=call + ": gradient with respect to mu", inputs=inputs, **TOL,
                 mistakes={no_kl: expected[0] + mu})
    expect_close(grads[1], expected[1], call=call + ": gradient with respect to log_var",
                 inputs=inputs, **TOL, mistakes={no_kl: expected[1] + 0.5 * (lv.exp() - 1)})


# --------------------------------------------------------------------------- linear-Gaussian oracle


class LinearGaussian:
    """p(z) = N(0, I), p(x | z) = N(W z + b, diag(d)), with WᵀD⁻¹W diagonal so that the true
    posterior N(m, S) is a diagonal Gaussian (a q the encoder can represent exactly)."""

    def __init__(self, rng, dz=2, dx=4):
        q, _ = torch.linalg.qr(torch.randn(dx, dz, generator=rng, dtype=F64))
        self.d = 0.3 + torch.rand(dx, generator=rng, dtype=F64)
        lam = 0.8 + 1.5 * torch.rand(dz, generator=rng, dtype=F64)
        self.w = self.d.sqrt()[:, None] * q * lam  # WᵀD⁻¹W = diag(λ²)
        self.b = torch.randn(dx, generator=rng, dtype=F64)
        self.dz, self.dx = dz, dx
        self.helper = Helper("linear_gaussian_decoder", w=self.w, b=self.b, log_var=self.d.log())

    def log_px(self, x):
        cov = self.w @ self.w.T + torch.diag(self.d)
        return torch.distributions.MultivariateNormal(self.b, cov).log_prob(x)

    def posterior(self, x):
        """(mu, log_var) of the exact posterior p(z | x) (diagonal by construction)."""
        prec = torch.eye(self.dz, dtype=F64) + self.w.T @ (self.w / self.d[:, None])
        s = torch.diagonal(torch.linalg.inv(prec))
        m = ((x - self.b) / self.d) @ self.w * s
        return m, s.log().expand_as(m).clone()

    def elbo(self, x, mu, lv):
        """The exact ELBO E_q[log p(x|z)] − KL for q = N(mu, diag(exp(lv)))."""
        s2 = lv.exp()
        resid = x - mu @ self.w.T - self.b
        var_term = s2 @ (self.w**2).T  # diag(W S Wᵀ) per row
        rec = -0.5 * (LOG_2PI + self.d.log() + (resid**2 + var_term) / self.d).sum(-1)
        kl = 0.5 * (mu**2 + s2 - 1 - lv).sum(-1)
        return rec - kl

    def sigma_points(self, b):
        """(2·Dz, b, Dz) noise whose sample mean and covariance are exactly 0 and I: the MC
        average of anything quadratic in ε (all terms of this model's ELBO) is exact."""
        e = math.sqrt(self.dz) * torch.eye(self.dz, dtype=F64)
        return torch.cat([e, -e])[:, None, :].expand(2 * self.dz, b, self.dz).clone()


@points(3)
def test_elbo_linear_gaussian_bound(student, rng):
    """elbo: on a linear-Gaussian model, ELBO ≤ log p(x), with equality when q is the true posterior"""
    model = LinearGaussian(rng)
    b = 4
    x = model.b + torch.randn(b, model.dx, generator=rng, dtype=F64) * 1.5
    log_px = model.log_px(x)
    eps = model.sigma_points(b)
    inputs = {"x": x, "decode": model.helper, "eps": eps}
    # q = the exact posterior: the bound is tight
    m, s = model.posterior(x)
    call = ("elbo(x, mu, log_var, decode, eps, likelihood='gaussian') with q = the exact posterior "
            "of a linear-Gaussian model and sigma-point eps (the average over them is exact)")
    expect_close(student.elbo(x, m, s, model.helper, eps, likelihood="gaussian"), log_px,
                 call=call, inputs={**inputs, "mu": m, "log_var": s}, **TOL)
    # any other q: a strict lower bound, with the exact value
    mu = m + 0.7 * torch.randn(b, model.dz, generator=rng, dtype=F64)
    lv = s + 0.8 * torch.randn(b, model.dz, generator=rng, dtype=F64)
    call = ("elbo(x, mu, log_var, decode, eps, likelihood='gaussian') on a linear-Gaussian model "
            "with sigma-point eps")
    got = expect_tensor(student.elbo(x, mu, lv, model.helper, eps, likelihood="gaussian"),
                        call=call, inputs={**inputs, "mu": mu, "log_var": lv}, shape=(b,), dtype=F64)
    gap = log_px - got
    expect(bool((gap > 0).all()),
           f"{call}: the ELBO {got.tolist()} is not below log p(x) = {log_px.tolist()}; "
           "the ELBO is a lower bound of the log-likelihood.")
    expect_close(got, model.elbo(x, mu, lv), call=call + " (compared with the exact ELBO)",
                 inputs={**inputs, "mu": mu, "log_var": lv}, **TOL)


# --------------------------------------------------------------------------- IWAE


def _iwae_mistakes(reference, x, mu, lv, decode, eps):
    def log_w(log_q_from_z=False):
        z = mu + torch.exp(0.5 * lv) * eps
        rec = reference.bernoulli_log_likelihood(x, decode.build()(z))
        log_pz = -0.5 * (LOG_2PI + z**2).sum(-1)
        e2 = z**2 if log_q_from_z else eps**2
        log_qz = -0.5 * (LOG_2PI + lv + e2).sum(-1)
        return rec, log_pz, log_qz

    L = eps.shape[0]
    return {
        "this is the mean of the log-weights (an ELBO estimate); the bound is "
        "log (1/L) Σ_l w_l = logsumexp_l(log w_l) − log L":
            lambda: (lambda r, p, q: (r + p - q).mean(0))(*log_w()),
        "the −log L is missing: log (1/L) Σ_l w_l = logsumexp_l(log w_l) − log L":
            lambda: (lambda r, p, q: torch.logsumexp(r + p - q, 0))(*log_w()),
        "log q(z|x) must use (z − μ)/σ = ε, not z itself":
            lambda: (lambda r, p, q: torch.logsumexp(r + p - q, 0) - math.log(L))(*log_w(True)),
        "the prior term log p(z_l) is missing from the log-weights":
            lambda: (lambda r, p, q: torch.logsumexp(r - q, 0) - math.log(L))(*log_w()),
        "exp() of the log-weights underflows: use torch.logsumexp over the samples":
            lambda: (lambda r, p, q: torch.log(torch.exp(r + p - q).mean(0)))(*log_w()),
    }


@points(2)
def test_iwae_values(student, reference, rng):
    """iwae_bound: Bernoulli likelihood, MLP decoder, L = 5 samples"""
    b, dz, dx = 4, 3, 10
    x = (torch.rand(b, dx, generator=rng, dtype=F64) > 0.5).to(F64)
    mu, lv = _enc(rng, b, dz)
    eps = _eps(rng, 5, b, dz)
    dec = _bern_decoder(dz, dx, seed=5)
    expect_close(student.iwae_bound(x, mu, lv, dec, eps), reference.iwae_bound(x, mu, lv, dec, eps),
                 call="iwae_bound(x, mu, log_var, decode, eps)",
                 inputs={"x": x, "mu": mu, "log_var": lv, "decode": dec, "eps": eps}, **TOL,
                 mistakes=_iwae_mistakes(reference, x, mu, lv, dec, eps))


@points(1)
def test_iwae_stable(student, reference, rng):
    """iwae_bound: finite and exact when every log-weight is below −1000"""
    b, dz, dx = 3, 2, 64
    mu, lv = _enc(rng, b, dz)
    lv = lv - 6.0  # a narrow q: every z_l decodes to about the same confident logits
    eps = _eps(rng, 6, b, dz)
    dec = _bern_decoder(dz, dx, seed=9, out_scale=200.0)
    with torch.no_grad():
        x = (dec.build()(mu) < 0).to(F64)  # every pixel against the decoder's confident guess
    expected = reference.iwae_bound(x, mu, lv, dec, eps)
    if not bool((expected < -1000).all()):
        raise RuntimeError("test problem is not extreme enough")
    expect_close(student.iwae_bound(x, mu, lv, dec, eps), expected,
                 call="iwae_bound(x, mu, log_var, decode, eps) with log-weights below −1000",
                 inputs={"x": x, "mu": mu, "log_var": lv, "decode": dec, "eps": eps}, **TOL,
                 mistakes=_iwae_mistakes(reference, x, mu, lv, dec, eps))


@points(3)
def test_iwae_linear_gaussian(student, rng):
    """iwae_bound: exact at the true posterior; otherwise ELBO ≤ E[IWAE_L] ≤ log p(x), rising with L"""
    model = LinearGaussian(rng)
    x = model.b + 1.5 * torch.randn(1, model.dx, generator=rng, dtype=F64)
    log_px = model.log_px(x)
    # at the true posterior every importance weight equals p(x): exact for any eps and any L
    m, s = model.posterior(x)
    for L in (1, 5):
        eps = _eps(rng, L, 1, model.dz)
        call = (f"iwae_bound(x, mu, log_var, decode, eps, likelihood='gaussian') with L={L} and q "
                "= the exact posterior of a linear-Gaussian model")
        expect_close(student.iwae_bound(x, m, s, model.helper, eps, likelihood="gaussian"), log_px,
                     call=call, inputs={"x": x, "mu": m, "log_var": s, "eps": eps}, **TOL)
    # an imperfect q, R independent replicates of the estimate in one batch
    R = 1000
    mu = (m + 0.8).expand(R, -1).clone()
    lv = (s + 0.9).expand(R, -1).clone()
    xr = x.expand(R, -1).clone()
    elbo = model.elbo(x, mu[:1], lv[:1])[0].item()
    means, ses = [], []
    for L in (1, 4, 32):
        eps = _eps(rng, L, R, model.dz)
        call = f"iwae_bound(x, mu, log_var, decode, eps, likelihood='gaussian') with L={L}"
        got = expect_tensor(student.iwae_bound(xr, mu, lv, model.helper, eps, likelihood="gaussian"),
                            call=call, shape=(R,), dtype=F64)
        means.append(got.mean().item())
        ses.append(got.std().item() / math.sqrt(R))
    report = (f"averages over {R} replicates: L=1 → {means[0]:.4f}, L=4 → {means[1]:.4f}, "
              f"L=32 → {means[2]:.4f}; exact ELBO {elbo:.4f}, log p(x) {log_px.item():.4f}")
    expect(abs(means[0] - elbo) < 4 * ses[0] + 1e-3,
           f"iwae_bound with L=1 should be an unbiased estimate of the ELBO: {report}.")
    expect(means[0] < means[1] - 2 * ses[1] and means[1] < means[2] - 2 * ses[2],
           f"iwae_bound should grow with the number of samples L: {report}.")
    expect(means[2] < log_px.item() + 4 * ses[2] + 1e-3,
           f"iwae_bound is a lower bound of log p(x) on average: {report}.")


# --------------------------------------------------------------------------- dtypes, purity


@points(1)
def test_float32_inputs(student, reference, rng):
    """all functions: float32 inputs give float32 results of the right shapes"""
    f32 = torch.float32
    b, dz, dx = 3, 2, 6
    mu, lv = _enc(rng, b, dz, f32)
    eps = _eps(rng, 2, b, dz, f32)
    x = (torch.rand(b, dx, generator=rng) > 0.5).to(f32)
    logits = torch.randn(b, dx, generator=rng)
    dec = _bern_decoder(dz, dx, seed=2, dtype="float32")
    tol = dict(rtol=1e-4, atol=1e-4)
    checks = [
        ("reparameterize(mu, log_var, eps)", "reparameterize", (mu, lv, eps), {}),
        ("gaussian_kl(mu, log_var)", "gaussian_kl", (mu, lv), {}),
        ("bernoulli_log_likelihood(x, logits)", "bernoulli_log_likelihood", (x, logits), {}),
        ("gaussian_log_likelihood(x, mean, log_var)", "gaussian_log_likelihood", (x, logits, logits / 3), {}),
        ("elbo(x, mu, log_var, decode, eps)", "elbo", (x, mu, lv, dec, eps), {}),
        ("iwae_bound(x, mu, log_var, decode, eps)", "iwae_bound", (x, mu, lv, dec, eps), {}),
    ]
    for call, fn, args, kw in checks:
        expect_close(student.call(fn, *args, **kw), getattr(reference, fn)(*args, **kw),
                     call=call + " in float32", **tol)
