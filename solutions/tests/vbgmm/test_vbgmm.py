"""Hidden tests: vb_m_step, vb_e_step, vb_elbo, fit_vbgmm, expected_weights, effective_components.

Oracles: the reference solution; scikit-learn's BayesianGaussianMixture with the same prior
(its covariance_prior is W0⁻¹; weight_concentration_prior_type="dirichlet_distribution",
reg_covar=0) given the same responsibilities; the exact Normal–Wishart log marginal
likelihood in closed form (K = 1); a Monte Carlo estimate of the bound (K = 2).
scikit-learn runs here, on the trusted side only.
"""

from __future__ import annotations

import math
import warnings

import torch

from autograder.testing import (GradingFailure, expect, expect_close, expect_tensor, expect_tuple, fail,
                                hint_for, points, timeout)

F64 = torch.float64
POST_TOL = dict(rtol=1e-6, atol=1e-9)   # posterior parameters (float32 internals would not pass)
RESP_TOL = dict(rtol=1e-5, atol=1e-8)
BOUND_TOL = dict(rtol=1e-8, atol=1e-8)  # the bound is a sum of O(N) terms: compare it tightly
NAMES = ("alpha", "beta", "m", "W", "nu")


# --------------------------------------------------------------------------- problems


def _spd(k: int, d: int, rng: torch.Generator, scale: float = 1.0) -> torch.Tensor:
    """(k, d, d) well-conditioned SPD matrices with non-zero off-diagonals."""
    a = torch.randn(k, d, d, generator=rng, dtype=F64)
    return scale * (a @ a.transpose(1, 2) / d + 0.3 * torch.eye(d, dtype=F64))


def _prior(rng: torch.Generator, d: int, alpha0: float = 0.7):
    return (torch.tensor(alpha0, dtype=F64), torch.tensor(0.5 + torch.rand(1, generator=rng).item(), dtype=F64),
            torch.randn(d, generator=rng, dtype=F64), _spd(1, d, rng)[0],
            torch.tensor(d + 0.5 + 2 * torch.rand(1, generator=rng).item(), dtype=F64))


def _data(rng: torch.Generator, n: int, d: int, k: int = 3, spread: float = 3.0) -> torch.Tensor:
    centres = spread * torch.randn(k, d, generator=rng, dtype=F64)
    comp = torch.randint(0, k, (n,), generator=rng)
    return centres[comp] + torch.randn(n, d, generator=rng, dtype=F64)


def _resp(rng: torch.Generator, n: int, k: int) -> torch.Tensor:
    """(n, k) Dirichlet(1) rows: soft responsibilities."""
    g = -torch.log(torch.rand(n, k, generator=rng, dtype=F64))
    return g / g.sum(1, keepdim=True)


def _random_posterior(rng: torch.Generator, k: int, d: int):
    """A posterior no M-step produced (the E-step and the bound accept any)."""
    return (0.5 + 5 * torch.rand(k, generator=rng, dtype=F64), 0.5 + 5 * torch.rand(k, generator=rng, dtype=F64),
            2.0 * torch.randn(k, d, generator=rng, dtype=F64), _spd(k, d, rng, 0.5),
            d + 0.5 + 5 * torch.rand(k, generator=rng, dtype=F64))


def _text(prior) -> str:
    a0, b0, m0, w0, n0 = prior
    return (f"prior (α0={a0.item():.4g}, β0={b0.item():.4g}, m0={[round(v, 3) for v in m0.tolist()]}, "
            f"W0={[[round(v, 3) for v in r] for r in w0.tolist()]}, ν0={n0.item():.4g})")


def _posterior_of(got, call: str, inputs, k: int, d: int):
    """The student's posterior tuple, each part checked for its shape."""
    parts = expect_tuple(got, 5, call=call, inputs=inputs)
    shapes = ((k,), (k,), (k, d), (k, d, d), (k,))
    return tuple(expect_tensor(p, call=f"{call}: {name}", inputs=inputs, shape=s, finite=False)
                 for p, name, s in zip(parts, NAMES, shapes))


# --------------------------------------------------------------------------- an M-step oracle


def _m_step_variants(x, resp, prior):
    """The posterior of PRML 10.58–10.63 written per component, and the known slips."""
    alpha0, beta0, m0, w0, nu0 = prior
    nk = resp.sum(0)
    sums = resp.T @ x  # N_k x̄_k
    raw = torch.einsum("nk,ni,nj->kij", resp, x, x)  # Σ_n r_nk x_n x_nᵀ
    w0_inv = torch.linalg.inv(w0)

    def posterior(*, start=w0_inv, scatter_scale=1.0, shrink=None, prior_mean=True):
        alphas, betas, ms, ws, nus = [], [], [], [], []
        for k in range(len(nk)):
            n = nk[k]
            xbar = sums[k] / n if n > 0 else torch.zeros_like(m0)
            scatter = raw[k] - n * torch.outer(xbar, xbar)  # N_k S_k
            f = beta0 * n / (beta0 + n) if shrink is None else shrink(n)
            dev = xbar - m0
            w_inv = start + scatter * (scatter_scale(n) if callable(scatter_scale) else 1.0) \
                + f * torch.outer(dev, dev)
            alphas.append(alpha0 + n)
            betas.append(beta0 + n)
            ms.append((beta0 * m0 + n * xbar) / (beta0 + n) if prior_mean else xbar)
            ws.append(torch.linalg.inv(w_inv))
            nus.append(nu0 + n)
        return torch.stack(alphas), torch.stack(betas), torch.stack(ms), torch.stack(ws), torch.stack(nus)

    return posterior(), {
        "W_k⁻¹ starts from W0⁻¹, the inverse of the prior's scale matrix, not from W0 itself (W0 is "
        "a Wishart scale matrix, not a covariance)": posterior(start=w0),
        "W_k⁻¹ adds N_k S_k = Σ_n r_nk (x_n − x̄_k)(x_n − x̄_k)ᵀ (the scatter, not divided by N_k)":
            posterior(scatter_scale=lambda n: 1.0 / n),
        "the term (x̄_k − m0)(x̄_k − m0)ᵀ is weighted by β0 N_k/(β0 + N_k), not by N_k":
            posterior(shrink=lambda n: n),
        "m_k = (β0 m0 + N_k x̄_k)/β_k: the prior mean m0 pulls it away from x̄_k": posterior(prior_mean=False),
    }


def _sklearn(prior, k: int, x: torch.Tensor, resp: torch.Tensor):
    """scikit-learn's BayesianGaussianMixture with our prior, its M-step run on ``resp``."""
    import numpy as np
    from sklearn.mixture import BayesianGaussianMixture

    alpha0, beta0, m0, w0, nu0 = prior
    bgm = BayesianGaussianMixture(
        n_components=k, covariance_type="full", weight_concentration_prior_type="dirichlet_distribution",
        weight_concentration_prior=float(alpha0), mean_precision_prior=float(beta0),
        mean_prior=m0.numpy(), degrees_of_freedom_prior=float(nu0),
        covariance_prior=np.linalg.inv(w0.numpy()), reg_covar=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bgm._check_parameters(x.numpy())
        bgm._initialize(x.numpy(), resp.numpy())  # the M-step from the given responsibilities
    return bgm


# --------------------------------------------------------------------------- vb_m_step


@points(2)
def test_m_step_values(student, reference, rng):
    """vb_m_step: every posterior parameter from random soft responsibilities (K = 3, D = 2; K = 2, D = 4)"""
    for n, k, d in [(40, 3, 2), (23, 2, 4)]:
        x = _data(rng, n, d)
        resp = _resp(rng, n, k)
        prior = _prior(rng, d)
        call = f"vb_m_step(x, resp, prior) with N={n}, K={k}, D={d}, {_text(prior)}"
        inputs = {"x": x, "resp": resp}
        got = _posterior_of(student.vb_m_step(x, resp, prior), call, inputs, k, d)
        expected, mistakes = _m_step_variants(x, resp, prior)
        expect_close(reference.vb_m_step(x, resp, prior), expected, call="the reference", **POST_TOL)
        hint = hint_for(got, mistakes, **POST_TOL)
        for name, g, e in zip(NAMES, got, expected):
            try:
                expect_close(g, e, call=f"{call}: {name}", inputs=inputs, **POST_TOL)
            except GradingFailure as f:
                raise GradingFailure(f.feedback + hint) from None


@points(2)
def test_m_step_matches_sklearn(student, rng):
    """vb_m_step: agrees with scikit-learn's BayesianGaussianMixture given the same responsibilities and prior"""
    n, k, d = 60, 4, 3
    x = _data(rng, n, d)
    resp = _resp(rng, n, k)
    prior = _prior(rng, d)
    bgm = _sklearn(prior, k, x, resp)
    prec = bgm.precisions_cholesky_ @ bgm.precisions_cholesky_.transpose(0, 2, 1)  # ν_k W_k
    expected = (torch.from_numpy(bgm.weight_concentration_), torch.from_numpy(bgm.mean_precision_),
                torch.from_numpy(bgm.means_),
                torch.from_numpy(prec / bgm.degrees_of_freedom_[:, None, None]),
                torch.from_numpy(bgm.degrees_of_freedom_))
    call = (f"vb_m_step(x, resp, prior) with N={n}, K={k}, D={d}, {_text(prior)}, compared with "
            "scikit-learn's BayesianGaussianMixture (whose covariances_ are W_k⁻¹/ν_k)")
    inputs = {"x": x, "resp": resp}
    got = _posterior_of(student.vb_m_step(x, resp, prior), call, inputs, k, d)
    mistakes = _m_step_variants(x, resp, prior)[1]
    hint = hint_for(got, mistakes, **POST_TOL)
    for name, g, e in zip(NAMES, got, expected):
        try:
            expect_close(g, e, call=f"{call}: {name}", inputs=inputs, **POST_TOL)
        except GradingFailure as f:
            raise GradingFailure(f.feedback + hint) from None


@points(2)
def test_m_step_empty_components(student, reference, rng):
    """vb_m_step: components with N_k = 0 get the prior back (finite, no NaN); the others are unchanged"""
    n, k, d = 30, 4, 3
    x = _data(rng, n, d)
    resp = _resp(rng, n, k)
    resp[:, [1, 3]] = 0.0
    resp = resp / resp.sum(1, keepdim=True)
    prior = _prior(rng, d)
    call = f"vb_m_step(x, resp, prior) with N={n}, K={k}, D={d}, columns 1 and 3 of resp all zero (N_k = 0)"
    inputs = {"x": x, "resp": resp}
    got = _posterior_of(student.vb_m_step(x, resp, prior), call, inputs, k, d)
    for name, g in zip(NAMES, got):
        if not bool(torch.isfinite(g).all()):
            fail(f"{call}\n  {name} has NaN or inf.\n  Hint: with N_k = 0 the weighted mean "
                 "x̄_k = Σ_n r_nk x_n / N_k is 0/0. Every term it enters is multiplied by N_k, so "
                 "divide only where N_k > 0.")
    alpha0, beta0, m0, w0, nu0 = prior
    for name, g, p in zip(NAMES, got, (alpha0, beta0, m0, w0, nu0)):
        expect_close(g[[1, 3]], p.expand_as(g[[1, 3]]).clone(), call=f"{call}: {name} of the empty "
                     "components (must equal the prior's)", inputs=inputs, **POST_TOL)
    expected = reference.vb_m_step(x, resp, prior)
    for name, g, e in zip(NAMES, got, expected):
        expect_close(g, e, call=f"{call}: {name}", inputs=inputs, **POST_TOL)


# --------------------------------------------------------------------------- vb_e_step


def _e_step_mistakes(x, posterior, reference):
    """Known slips of the E-step; most shift ln ρ_nk by a per-component constant."""
    alpha, beta, m, w, nu = posterior
    d = x.shape[1]
    log_r = torch.log(reference.vb_e_step(x, posterior))
    i = torch.arange(1, d + 1, dtype=F64)

    def shifted(delta):
        return lambda: torch.softmax(log_r + delta, dim=1)

    plug_in = torch.log(alpha / alpha.sum()) - (torch.special.digamma(alpha) - torch.special.digamma(alpha.sum()))
    off_by_one = 0.5 * (torch.special.digamma((nu[:, None] - i) / 2)
                        - torch.special.digamma((nu[:, None] + 1 - i) / 2)).sum(1)
    no_nu = (alpha, beta, m, w / nu[:, None, None], nu)  # (x − m)ᵀ (W/ν) … and ln|W/ν| = ln|W| − D ln ν
    return {
        "E[ln π_k] = ψ(α_k) − ψ(Σ_j α_j) with the digamma function ψ, not the plug-in ln(α_k / Σ_j α_j)":
            shifted(plug_in),
        "ln ρ_nk contains −½ D/β_k (the uncertainty of the mean μ_k); it is missing": shifted(0.5 * d / beta),
        "E[ln |Λ_k|] sums ψ((ν_k + 1 − i)/2) for i = 1..D (an index is off by one)": shifted(off_by_one),
        "the quadratic term is ν_k (x_n − m_k)ᵀ W_k (x_n − m_k): E[Λ_k] = ν_k W_k, so the factor ν_k "
        "is needed":
            lambda: torch.softmax(torch.log(reference.vb_e_step(x, no_nu)) + 0.5 * d * torch.log(nu), dim=1),
    }


@points(2)
def test_e_step_values(student, reference, rng):
    """vb_e_step: responsibilities for random posteriors (K = 3, D = 2; K = 4, D = 3)"""
    for n, k, d in [(30, 3, 2), (17, 4, 3)]:
        x = _data(rng, n, d, spread=2.0)
        posterior = _random_posterior(rng, k, d)
        call = f"vb_e_step(x, posterior) with N={n}, K={k}, D={d}"
        expect_close(student.vb_e_step(x, posterior), reference.vb_e_step(x, posterior), call=call,
                     inputs={"x": x}, **RESP_TOL, mistakes=_e_step_mistakes(x, posterior, reference))


@points(2)
def test_e_step_matches_sklearn(student, rng):
    """vb_e_step: agrees with scikit-learn's BayesianGaussianMixture for the posterior of an M-step"""
    import numpy as np

    n, k, d = 50, 3, 2
    x = _data(rng, n, d)
    prior = _prior(rng, d)
    resp = _resp(rng, n, k)
    bgm = _sklearn(prior, k, x, resp)
    _, log_resp = bgm._estimate_log_prob_resp(x.numpy())
    prec = bgm.precisions_cholesky_ @ bgm.precisions_cholesky_.transpose(0, 2, 1)
    posterior = (torch.from_numpy(bgm.weight_concentration_), torch.from_numpy(bgm.mean_precision_),
                 torch.from_numpy(bgm.means_), torch.from_numpy(prec / bgm.degrees_of_freedom_[:, None, None]),
                 torch.from_numpy(bgm.degrees_of_freedom_))
    posterior = tuple(p.contiguous() for p in posterior)
    expect_close(student.vb_e_step(x, posterior), torch.from_numpy(np.exp(log_resp)),
                 call=f"vb_e_step(x, posterior) with N={n}, K={k}, D={d}, compared with scikit-learn's "
                 "BayesianGaussianMixture", inputs={"x": x}, **RESP_TOL)


@points(2)
def test_e_step_far_points(student, reference, rng):
    """vb_e_step: rows finite and summing to 1 for points up to 1e3 standard deviations from every component"""
    k, d = 3, 2
    posterior = _random_posterior(rng, k, d)
    direction = torch.randn(9, d, generator=rng, dtype=F64)
    radius = torch.tensor([1.0, 50.0, 3e3], dtype=F64).repeat_interleave(3)[:, None]
    x = radius * direction / direction.norm(dim=1, keepdim=True)
    call = "vb_e_step(x, posterior) with points 1, 50 and 3000 units from the origin"
    got = expect_tensor(student.vb_e_step(x, posterior), call=call, inputs={"x": x}, shape=(9, k),
                        dtype=F64, finite=False)
    if not bool(torch.isfinite(got).all()):
        fail(f"{call}\n  returned NaN or inf in rows {sorted(set((~torch.isfinite(got)).nonzero()[:, 0].tolist()))}."
             "\n  Hint: for a far point every ρ_nk = exp(ln ρ_nk) underflows to 0, and 0/0 = NaN: "
             "normalise in log space (torch.softmax over the components, or subtract "
             "torch.logsumexp before exp).")
    expect_close(got.sum(1), torch.ones(9, dtype=F64), call=call + ", rows summed", inputs={"x": x},
                 rtol=1e-9, atol=1e-9)
    expect_close(got, reference.vb_e_step(x, posterior), call=call, inputs={"x": x}, **RESP_TOL)


# --------------------------------------------------------------------------- vb_elbo


def _log_evidence(x: torch.Tensor, prior) -> torch.Tensor:
    """Exact ln p(X) of the Normal–Wishart model (one component), from the conjugate update.

    ln p(X) = ln Z_N − ln Z_0 − (N D/2) ln 2π with Z(β, W, ν) = (2π/β)^{D/2} 2^{νD/2} |W|^{ν/2} Γ_D(ν/2),
    the normaliser of N(μ | m, (βΛ)⁻¹) W(Λ | W, ν); the posterior in its uncentred form
    W_N⁻¹ = W0⁻¹ + Σ x xᵀ + β0 m0 m0ᵀ − β_N m_N m_Nᵀ.
    """
    _, beta0, m0, w0, nu0 = prior
    n, d = x.shape
    beta_n, nu_n = beta0 + n, nu0 + n
    m_n = (beta0 * m0 + x.sum(0)) / beta_n
    w_n_inv = torch.linalg.inv(w0) + x.T @ x + beta0 * torch.outer(m0, m0) - beta_n * torch.outer(m_n, m_n)

    def log_z(beta, w_inv, nu):
        return (0.5 * d * torch.log(2 * math.pi / beta) + 0.5 * nu * d * math.log(2.0)
                - 0.5 * nu * torch.logdet(w_inv) + torch.mvlgamma(nu / 2, p=d))

    return log_z(beta_n, w_n_inv, nu_n) - log_z(beta0, torch.linalg.inv(w0), nu0) - 0.5 * n * d * math.log(2 * math.pi)


@points(3)
def test_elbo_one_component_is_the_log_evidence(student, reference, rng):
    """vb_elbo: for K = 1 the bound equals the exact Normal–Wishart log marginal likelihood (D = 1, 2, 3)"""
    for n, d in [(12, 1), (25, 2), (9, 3)]:
        x = _data(rng, n, d, k=2)
        prior = _prior(rng, d)
        ones = torch.ones(n, 1, dtype=F64)
        posterior = reference.vb_m_step(x, ones, prior)
        want = _log_evidence(x, prior)
        nu0, nu = prior[4], posterior[4]
        lgamma_slip = (torch.mvlgamma(nu0 / 2, p=d) - torch.lgamma(nu0 / 2)) \
            - (torch.mvlgamma(nu / 2, p=d) - torch.lgamma(nu / 2)).sum()
        call = (f"vb_elbo(x, ones(N, 1), posterior, prior) with N={n}, D={d}, {_text(prior)} and "
                "posterior = vb_m_step(x, ones(N, 1), prior): must equal ln p(X)")
        got = expect_tensor(student.vb_elbo(x, ones, posterior, prior), call=call, inputs={"x": x},
                            shape=(), dtype=F64, finite=False)
        expect_close(got, want, call=call, inputs={"x": x}, **BOUND_TOL,
                     mistakes={"the bound keeps every constant: E[ln p(X | Z, μ, Λ)] contains −(D/2) ln 2π "
                               "for each point": want + 0.5 * n * d * math.log(2 * math.pi),
                               "ln B(W, ν) contains the multivariate gamma function ln Γ_D(ν/2) "
                               "(torch.mvlgamma(ν/2, p=D)), not ln Γ(ν/2)": want + lgamma_slip})


def _elbo_mistakes(x, resp, posterior, reference, prior):
    alpha = posterior[0]
    value = reference.vb_elbo(x, resp, posterior, prior)
    log_c = torch.lgamma(alpha.sum()) - torch.lgamma(alpha).sum()
    return {
        "E[ln q(π)] includes ln C(α) = ln Γ(Σ_k α_k) − Σ_k ln Γ(α_k), the normaliser of q(π) = Dir(α)":
            value + log_c,
        "the bound keeps every constant: E[ln p(X | Z, μ, Λ)] contains −(D/2) ln 2π for each point":
            value + 0.5 * x.numel() * math.log(2 * math.pi),
        "E[ln q(Z)] = Σ r ln r with 0 · ln 0 = 0: r * log(r) is NaN where r = 0; use torch.xlogy(r, r)":
            math.nan,
    }


@points(2)
def test_elbo_values(student, reference, rng):
    """vb_elbo: random (resp, posterior) pairs, not from one M-step, resp with zeros (K = 3, 4)"""
    for n, k, d in [(30, 3, 2), (20, 4, 3)]:
        x = _data(rng, n, d)
        prior = _prior(rng, d)
        resp = _resp(rng, n, k)
        resp[torch.rand(n, k, generator=rng) < 0.3] = 0.0
        resp[:, 0] += 0.1  # no row all zero
        resp = resp / resp.sum(1, keepdim=True)
        posterior = _random_posterior(rng, k, d)
        call = f"vb_elbo(x, resp, posterior, prior) with N={n}, K={k}, D={d}, 30% of resp exactly 0"
        expect_close(student.vb_elbo(x, resp, posterior, prior), reference.vb_elbo(x, resp, posterior, prior),
                     call=call, inputs={"x": x, "resp": resp}, **BOUND_TOL,
                     mistakes=_elbo_mistakes(x, resp, posterior, reference, prior))


@points(2)
def test_elbo_empty_components(student, reference, rng):
    """vb_elbo: components with N_k = 0 are finite and add nothing to the N_k-weighted terms"""
    n, k, d = 25, 4, 2
    x = _data(rng, n, d)
    prior = _prior(rng, d)
    resp = _resp(rng, n, k)
    resp[:, 2] = 0.0
    resp = resp / resp.sum(1, keepdim=True)
    for label, posterior in (("vb_m_step(x, resp, prior)", reference.vb_m_step(x, resp, prior)),
                             ("a random posterior", _random_posterior(rng, k, d))):
        call = f"vb_elbo(x, resp, posterior, prior) with N={n}, K={k}, column 2 of resp all zero, posterior = {label}"
        got = expect_tensor(student.vb_elbo(x, resp, posterior, prior), call=call, inputs={"x": x, "resp": resp},
                            shape=(), dtype=F64, finite=False)
        want = reference.vb_elbo(x, resp, posterior, prior)
        if not bool(torch.isfinite(got)):
            fail(f"{call}\n  returned {got.item()}, expected {want.item():.10g}.\n  Hint: with N_k = 0 the "
                 "weighted mean x̄_k = Σ_n r_nk x_n / N_k is 0/0, but every term it enters is "
                 "multiplied by N_k: divide only where N_k > 0. And 0 · ln 0 = 0 in E[ln q(Z)] "
                 "(torch.xlogy(r, r)).")
        expect_close(got, want, call=call, inputs={"x": x, "resp": resp}, **BOUND_TOL)


def _monte_carlo_bound(x, resp, posterior, prior, draws: int):
    """E_q[ln p(X, Z, π, μ, Λ) − ln q(Z, π, μ, Λ)] from draws of q(π) q(μ, Λ), the sum over Z exact.

    Returns (estimate, standard error)."""
    from torch.distributions import Dirichlet, MultivariateNormal, Wishart

    alpha, beta, m, w, nu = posterior
    alpha0, beta0, m0, w0, nu0 = prior
    k = len(alpha)
    pi = Dirichlet(alpha).sample((draws,))  # (S, K)
    lam = Wishart(nu, covariance_matrix=w).sample((draws,))  # (S, K, D, D), E[Λ] = ν W
    mu = MultivariateNormal(m, precision_matrix=beta[:, None, None] * lam).sample()  # (S, K, D)
    log_px = MultivariateNormal(mu[:, None], precision_matrix=lam[:, None]).log_prob(x[None, :, None])  # (S, N, K)
    log_joint = (resp * (torch.log(pi)[:, None] + log_px)).sum((1, 2)) \
        + Dirichlet(alpha0.expand(k)).log_prob(pi) \
        + (MultivariateNormal(m0, precision_matrix=beta0 * lam).log_prob(mu)
           + Wishart(nu0, covariance_matrix=w0).log_prob(lam)).sum(1)
    log_q = torch.xlogy(resp, resp).sum() + Dirichlet(alpha).log_prob(pi) \
        + (MultivariateNormal(m, precision_matrix=beta[:, None, None] * lam).log_prob(mu)
           + Wishart(nu, covariance_matrix=w).log_prob(lam)).sum(1)
    terms = log_joint - log_q
    return terms.mean(), terms.std() / math.sqrt(draws)


@timeout(20)
@points(2)
def test_elbo_monte_carlo(student):
    """vb_elbo: agrees with a Monte Carlo estimate of E_q[ln p(X, Z, π, μ, Λ) − ln q(Z, π, μ, Λ)] (K = 2)"""
    n, k, d = 8, 2, 2
    gen = torch.Generator().manual_seed(7)  # the same problem and draws for every student
    x = _data(gen, n, d)
    prior = _prior(gen, d)
    resp = _resp(gen, n, k)
    alpha, beta, m, w, nu = _m_step_variants(x, resp, prior)[0]
    # For the posterior of the M-step every draw gives the same value (q(π, μ, Λ) is proportional
    # to exp E_Z[ln p]), so the estimate is exact; a nearby posterior has a small spread.
    cases = (("posterior = vb_m_step(x, resp, prior)", (alpha, beta, m, w, nu), 50),
             ("a posterior near vb_m_step(x, resp, prior)", (1.3 * alpha, 0.8 * beta, m + 0.1, 1.2 * w, nu + 0.7),
              4000))
    torch.manual_seed(11)
    for label, posterior, draws in cases:
        estimate, err = _monte_carlo_bound(x, resp, posterior, prior, draws)
        call = f"vb_elbo(x, resp, posterior, prior) with N={n}, K={k}, D={d}, {label}"
        got = expect_tensor(student.vb_elbo(x, resp, posterior, prior), call=call, inputs={"x": x},
                            shape=(), dtype=F64)
        if abs(float(got) - float(estimate)) > 5 * float(err) + 1e-8 * abs(float(estimate)):
            fail(f"{call}\n  returned {float(got):.8g}, but a Monte Carlo estimate from {draws} draws of q "
                 f"gives {float(estimate):.8g} ± {float(err):.2g} (5 standard errors allowed). Check each "
                 "of the seven expectations of PRML 10.70–10.77 and their constants.")


# --------------------------------------------------------------------------- fit_vbgmm


def _fit_call(**kw):
    return "fit_vbgmm(x, resp, prior" + "".join(f", {a}={v!r}" for a, v in kw.items()) + ")"


def _check_fit(got, expected, call, inputs, k, d, mistakes=None, length_hint=""):
    posterior, resp, history = expect_tuple(got, 3, call=call, inputs=inputs)
    hint = hint_for((tuple(posterior) if isinstance(posterior, (tuple, list)) else posterior, resp, history),
                    mistakes, **POST_TOL) if mistakes else ""
    hist = expect_tensor(history, call=call + ": history", inputs=inputs, dtype=F64)
    n_hist = len(expected[2])
    if hist.dim() != 1 or hist.shape[0] != n_hist:
        fail(f"{call}\n  returned a history of shape {tuple(hist.shape)}, expected ({n_hist},): "
             f"{n_hist - 1} iterations + 1. Expected {[round(v, 6) for v in expected[2].tolist()]}, got "
             f"{[round(v, 6) for v in hist.reshape(-1).tolist()][:20]}." + (hint or length_hint))
    try:
        expect_close(hist, expected[2], call=call + ": history", inputs=inputs, **BOUND_TOL)
        expect_close(resp, expected[1], call=call + ": resp", inputs=inputs, **RESP_TOL)
        got_post = _posterior_of(posterior, call + ": posterior", inputs, k, d)
        for name, g, e in zip(NAMES, got_post, expected[0]):
            expect_close(g, e, call=f"{call}: posterior {name}", inputs=inputs, **POST_TOL)
    except GradingFailure as f:
        raise GradingFailure(f.feedback + hint) from None


@points(2)
def test_fit_history_and_last_pair(student, reference, rng):
    """fit_vbgmm: history from the initial pair on, and the last (posterior, resp) pair, no E-step after it"""
    n, k, d = 60, 3, 2
    x = _data(rng, n, d, spread=2.0)
    prior = _prior(rng, d)
    resp = _resp(rng, n, k)
    expected = reference.fit_vbgmm(x, resp, prior, n_iter=5, tol=-1.0)
    extra = (expected[0], reference.vb_e_step(x, expected[0]), expected[2])
    shifted = (expected[0], expected[1], expected[2][1:])
    call = _fit_call(n_iter=5, tol=0.0)
    _check_fit(student.fit_vbgmm(x, resp, prior, n_iter=5, tol=0.0), expected, call, {"x": x, "resp": resp},
               k, d, mistakes={"return the resp the last vb_m_step was given: no E-step follows the last "
                               "M-step (scikit-learn's fit does one more)": extra,
                               "history[0] is the bound of the initial pair (resp, vb_m_step(x, resp, "
                               "prior)), before any E-step": shifted})
    history = expected[2]
    expect(bool((history[1:] > history[:-1] + 1e-6).all()), "test problem converges too early")


def _tol_between(reference, x, resp, prior):
    """A tolerance strictly between two consecutive increments of the bound (far from both)."""
    hist = reference.fit_vbgmm(x, resp, prior, n_iter=80, tol=-1.0)[2]
    inc = (hist[1:] - hist[:-1]).tolist()
    for t in range(2, len(inc) - 1):
        if 1e-5 < inc[t + 1] < 1e-2 and inc[t] > 1.3 * inc[t + 1]:
            return math.sqrt(inc[t] * inc[t + 1]), t + 2  # iteration t + 2 is the first below tol
    raise RuntimeError("no clear stopping point in this problem")


@points(2)
def test_fit_stopping_rule(student, reference):
    """fit_vbgmm: stops at the first iteration raising the bound by less than tol (absolute); n_iter caps it"""
    gen = torch.Generator().manual_seed(12)  # a fixed problem whose convergence the test relies on
    n, k, d = 60, 2, 2
    x = 3.0 * _data(gen, n, d, k=2)  # |L| ≈ 400 ≫ 1, so absolute and relative rules stop apart
    prior = _prior(gen, d)
    resp = _resp(gen, n, k)
    inputs = {"x": x, "resp": resp}
    tol, iters = _tol_between(reference, x, resp, prior)
    expected = reference.fit_vbgmm(x, resp, prior, n_iter=100, tol=tol)
    if len(expected[2]) != iters + 1:
        raise RuntimeError("the reference does not stop where expected")
    inc = expected[2][1:] - expected[2][:-1]
    _check_fit(student.fit_vbgmm(x, resp, prior, n_iter=100, tol=tol), expected, _fit_call(n_iter=100, tol=tol),
               inputs, k, d,
               length_hint=f"\n  Hint: with tol={tol:.4g} the increments are "
                           f"{[float(f'{v:.3g}') for v in inc.tolist()]}: stop after the first iteration "
                           "whose absolute increase L_t − L_{t−1} is below tol, and count it.")
    for n_iter in (3, 0):
        expected = reference.fit_vbgmm(x, resp, prior, n_iter=n_iter, tol=0.0)
        _check_fit(student.fit_vbgmm(x, resp, prior, n_iter=n_iter, tol=0.0), expected,
                   _fit_call(n_iter=n_iter, tol=0.0), inputs, k, d,
                   length_hint=f"\n  Hint: n_iter={n_iter} allows at most {n_iter} iterations, so the "
                               f"history has {n_iter + 1} entries.")


@points(1)
def test_fit_defaults(student, reference):
    """fit_vbgmm: n_iter defaults to 100 and tol to 1e-6"""
    gen = torch.Generator().manual_seed(13)
    n, k, d = 80, 4, 2
    x = _data(gen, n, d, spread=2.5)
    prior = _prior(gen, d)
    resp = _resp(gen, n, k)
    expected = reference.fit_vbgmm(x, resp, prior)
    inc = expected[2][1:] - expected[2][:-1]
    if not 2 < len(inc) < 100 or abs(float(inc[-1]) - 1e-6) < 3e-7 or abs(float(inc[-2]) - 1e-6) < 3e-7:
        raise RuntimeError("the default tolerance does not stop this problem clearly")
    _check_fit(student.fit_vbgmm(x, resp, prior), expected, "fit_vbgmm(x, resp, prior)",
               {"x": x, "resp": resp}, k, d,
               length_hint=f"\n  Hint: the defaults are n_iter=100, tol=1e-6; the reference stops after "
                           f"{len(inc)} iterations (last increments {[float(f'{v:.3g}') for v in inc[-3:].tolist()]}).")


# --------------------------------------------------------------------------- weights and components


@points(1)
def test_weights_and_effective_components(student, rng):
    """expected_weights and effective_components: random α, several thresholds, int64 count, float32 too"""
    for dtype in (F64, torch.float32):
        alpha = torch.cat([0.5 + 30 * torch.rand(4, generator=rng, dtype=F64), torch.tensor([1e-3, 0.4], dtype=F64)])
        alpha = alpha[torch.randperm(6, generator=rng)].to(dtype)
        posterior = (alpha,) + _random_posterior(rng, 6, 2)[1:]
        posterior = tuple(p.to(dtype) for p in posterior)
        name = str(dtype).replace("torch.", "")
        weights = alpha / alpha.sum()
        expect_close(student.expected_weights(posterior), weights,
                     call=f"expected_weights(posterior) in {name} with alpha = {[round(v, 4) for v in alpha.tolist()]}",
                     rtol=1e-5, atol=1e-9,
                     mistakes={"E[π_k] is the mean α_k / Σ_j α_j of the Dirichlet, not its mode "
                               "(α_k − 1)/(Σ_j α_j − K)": (alpha - 1) / (alpha.sum() - 6)})
        for threshold in (None, 0.001, 0.05, 0.2):
            kwargs = {} if threshold is None else {"threshold": threshold}
            t = 0.01 if threshold is None else threshold
            want = int((weights.double() > t).sum())
            call = (f"effective_components(posterior{'' if threshold is None else f', threshold={threshold}'}) "
                    f"in {name} with E[π] = {[round(v, 4) for v in weights.tolist()]}")
            got = expect_tensor(student.effective_components(posterior, **kwargs), call=call, shape=(),
                                dtype=torch.int64)
            if int(got) != want:
                fail(f"{call}\n  returned {int(got)}, expected {want} (the number of E[π_k] strictly above "
                     f"{t}).\n  Hint: use the threshold= you are given (0.01 only by default).")


# --------------------------------------------------------------------------- dtypes, inputs


@points(2)
def test_float32(student, reference, rng):
    """all functions: float32 inputs give float32 results (history too) close to the float64 ones"""
    n, k, d = 40, 3, 2
    x = _data(rng, n, d)
    prior = _prior(rng, d)
    resp = _resp(rng, n, k)
    posterior = _random_posterior(rng, k, d)
    f32 = lambda t: tuple(p.float() for p in t) if isinstance(t, tuple) else t.float()  # noqa: E731
    tol = dict(rtol=1e-3, atol=1e-4)
    expect_close(student.vb_m_step(f32(x), f32(resp), f32(prior)), f32(reference.vb_m_step(x, resp, prior)),
                 call="vb_m_step(x, resp, prior) in float32", **tol)
    expect_close(student.vb_e_step(f32(x), f32(posterior)), f32(reference.vb_e_step(x, posterior)),
                 call="vb_e_step(x, posterior) in float32", **tol)
    expect_close(student.vb_elbo(f32(x), f32(resp), f32(posterior), f32(prior)),
                 f32(reference.vb_elbo(x, resp, posterior, prior)),
                 call="vb_elbo(x, resp, posterior, prior) in float32", rtol=1e-4, atol=1e-3)
    got = expect_tuple(student.fit_vbgmm(f32(x), f32(resp), f32(prior), n_iter=3, tol=0.0), 3,
                       call=_fit_call(n_iter=3, tol=0.0) + " in float32")
    expected = reference.fit_vbgmm(x, resp, prior, n_iter=3, tol=0.0)
    expect_close(got[2], f32(expected[2]), call=_fit_call(n_iter=3, tol=0.0) + " in float32: history",
                 rtol=1e-4, atol=1e-3)
    expect_close(got[1], f32(expected[1]), call=_fit_call(n_iter=3, tol=0.0) + " in float32: resp", **tol)


@points(1)
def test_inputs_not_modified_random(student, rng):
    """vb_m_step, vb_e_step, vb_elbo, fit_vbgmm: x and resp are not modified in place"""
    n, k, d = 30, 3, 2
    x = _data(rng, n, d)
    prior = _prior(rng, d)
    resp = _resp(rng, n, k)
    resp[0, 1] = 0.0
    resp = resp / resp.sum(1, keepdim=True)
    posterior = _random_posterior(rng, k, d)
    # call_checking_inputs watches the tensors passed as arguments themselves: x and resp
    for fn, args, names in (("vb_m_step", (x, resp, prior), ["x", "resp"]),
                            ("vb_e_step", (x, posterior), ["x"]),
                            ("vb_elbo", (x, resp, posterior, prior), ["x", "resp"]),
                            ("fit_vbgmm", (x, resp, prior, 2), ["x", "resp"])):
        _, mutated = student.call_checking_inputs(fn, *args)
        expect(not mutated, f"{fn}() modified its input(s) "
               f"{', '.join(names[i] for i in mutated if i < len(names))} in place; never write into an "
               "argument (no resp.clamp_(…), x -= …; use out-of-place operations).")
