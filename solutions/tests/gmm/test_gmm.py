"""Hidden tests: gmm_log_likelihood, e_step, m_step, fit_gmm (values, stability, the EM contract).

Oracles: the reference solution, torch.distributions.MultivariateNormal, and scikit-learn's
GaussianMixture run from the same initial parameters (scikit-learn is imported here, on
the trusted side only).
"""

from __future__ import annotations

import math

import torch
from torch.distributions import MultivariateNormal

from autograder.testing import (GradingFailure, describe, expect, expect_close, expect_tensor, fail,
                                hint_for, points)

F64 = torch.float64
LL_TOL = dict(rtol=1e-5, atol=1e-6)  # log-likelihoods (float32 internals pass, O(1) slips do not)
RESP_TOL = dict(rtol=1e-5, atol=1e-6)
PARAM_TOL = dict(rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- problems


def _spd(k: int, d: int, rng: torch.Generator, scale: float = 1.0) -> torch.Tensor:
    """(k, d, d) well-conditioned SPD matrices with non-zero off-diagonals."""
    a = torch.randn(k, d, d, generator=rng, dtype=F64)
    return scale * (a @ a.transpose(1, 2) / d + 0.3 * torch.eye(d, dtype=F64))


def _params(rng: torch.Generator, k: int, d: int, spread: float = 3.0):
    weights = torch.softmax(0.7 * torch.randn(k, generator=rng, dtype=F64), 0)
    means = spread * torch.randn(k, d, generator=rng, dtype=F64)
    return weights, means, _spd(k, d, rng)


def _sample(rng: torch.Generator, n: int, weights, means, covs) -> torch.Tensor:
    comp = torch.multinomial(weights, n, replacement=True, generator=rng)
    chol = torch.linalg.cholesky(covs)
    noise = torch.randn(n, means.shape[1], generator=rng, dtype=F64)
    return means[comp] + (chol[comp] @ noise.unsqueeze(-1)).squeeze(-1)


def _fixed(seed: int) -> torch.Generator:
    """A fixed generator, for problems whose shape a test relies on (convergence speed)."""
    return torch.Generator().manual_seed(seed)


def _problem(rng, n=40, k=3, d=2):
    w, m, c = _params(rng, k, d)
    return _sample(rng, n, w, m, c), w, m, c


def _inputs(x, w, m, c):
    return {"x": x, "weights": w, "means": m, "covs": c}


def _unpack(got, n: int, call: str, names: str):
    if not isinstance(got, (tuple, list)) or len(got) != n:
        fail(f"{call}\n  returned {describe(got)}; expected a tuple of {n} values {names}.")
    return tuple(got)


# --------------------------------------------------------------------------- oracles


def _log_pdf(x, means, covs, *, logdet_factor=0.5, const=True):
    """(N, K) log N(x_n; μ_k, Σ_k) with torch.distributions (variants for known slips)."""
    cols = []
    d = x.shape[1]
    for mu, cov in zip(means, covs):
        lp = MultivariateNormal(mu, covariance_matrix=cov).log_prob(x)
        if logdet_factor != 0.5:
            lp = lp + (0.5 - logdet_factor) * torch.logdet(cov)
        if not const:
            lp = lp + 0.5 * d * math.log(2 * math.pi)
        cols.append(lp)
    return torch.stack(cols, dim=1)


def _ll_mistakes(x, w, m, c):
    lw = torch.log(w)
    return {
        "the mixture weights π_k are missing: log p(x) = logsumexp_k [log π_k + log N(x; μ_k, Σ_k)]":
            lambda: torch.logsumexp(_log_pdf(x, m, c), 1),
        "the log-determinant term is missing: log N contains −½ log det Σ_k":
            lambda: torch.logsumexp(lw + _log_pdf(x, m, c, logdet_factor=0.0), 1),
        "log det Σ_k needs the factor ½: log N = −½ [D log 2π + log det Σ + (x−μ)ᵀΣ⁻¹(x−μ)]":
            lambda: torch.logsumexp(lw + _log_pdf(x, m, c, logdet_factor=1.0), 1),
        "the constant −(D/2) log 2π of the Gaussian density is missing":
            lambda: torch.logsumexp(lw + _log_pdf(x, m, c, const=False), 1),
        "log(Σ_k π_k exp(…)) underflows to log 0 = −inf for far points: use torch.logsumexp "
        "over the components (log-sum-exp trick)":
            lambda: torch.log((w * torch.exp(_log_pdf(x, m, c))).sum(1)),
    }


def _resp_mistakes(x, w, m, c):
    a = torch.log(w) + _log_pdf(x, m, c)
    return {
        "the responsibilities ignore the mixture weights: γ_nk ∝ π_k N(x_n; μ_k, Σ_k)":
            lambda: torch.softmax(_log_pdf(x, m, c), 1),
        "normalised over the wrong dimension: each row (one point, all components) sums to 1":
            lambda: torch.softmax(a, 0),
        "exp() of the log-densities underflows to 0/0 = NaN for far points: normalise in log "
        "space (subtract torch.logsumexp over the components before exp)":
            lambda: torch.exp(a) / torch.exp(a).sum(1, keepdim=True),
    }


def _m_mistakes(x, resp, reg):
    n, d = x.shape
    nk = resp.sum(0)
    eye = torch.eye(d, dtype=x.dtype)
    means = resp.T @ x / nk[:, None]
    diff = x[None] - means[:, None]
    scatter = torch.einsum("nk,kni,knj->kij", resp, diff, diff)
    covs = scatter / nk[:, None, None] + reg * eye
    w = nk / n
    raw = torch.einsum("nk,ni,nj->kij", resp, x, x)
    return {
        "the weights must be π_k = N_k / N (they sum to 1), not N_k":
            (nk, means, covs),
        "the means divide by N; μ_k = Σ_n γ_nk x_n / N_k":
            (w, resp.T @ x / n, covs),
        "the covariances divide by N; Σ_k = Σ_n γ_nk (x_n − μ_k)(x_n − μ_k)ᵀ / N_k":
            (w, means, scatter / n + reg * eye),
        "the covariances divide by N_k − 1; the maximum-likelihood estimate divides by N_k":
            (w, means, scatter / (nk[:, None, None] - 1) + reg * eye),
        "reg_covar is missing: add reg_covar to the diagonal of every covariance":
            (w, means, scatter / nk[:, None, None]),
        "reg_covar was added to every entry; add it only to the diagonal (reg_covar · I)":
            (w, means, scatter / nk[:, None, None] + reg),
        "the covariance is not centred: use (x_n − μ_k)(x_n − μ_k)ᵀ with the new mean μ_k":
            (w, means, raw / nk[:, None, None] + reg * eye),
    }


def _dirichlet_resp(rng, n, k):
    g = -torch.log(torch.rand(n, k, generator=rng, dtype=F64))  # Exp(1) → Dirichlet(1) rows
    return g / g.sum(1, keepdim=True)


# --------------------------------------------------------------------------- log-likelihood


@points(2)
def test_log_likelihood_values(student, reference, rng):
    """gmm_log_likelihood: per-point values on random mixtures (D = 2 and 3, K = 1, 3, 4)"""
    for n, k, d in [(37, 3, 2), (25, 4, 3), (9, 1, 3)]:
        x, w, m, c = _problem(rng, n, k, d)
        x = x + 0.5 * torch.randn(x.shape, generator=rng, dtype=F64)
        got = student.gmm_log_likelihood(x, w, m, c)
        expect_close(got, reference.gmm_log_likelihood(x, w, m, c),
                     call=f"gmm_log_likelihood(x, weights, means, covs) with N={n}, K={k}, D={d}",
                     inputs=_inputs(x, w, m, c), dtype=None, **LL_TOL,
                     mistakes=_ll_mistakes(x, w, m, c))


@points(2)
def test_log_likelihood_far_points(student, reference, rng):
    """gmm_log_likelihood: finite and exact for points 1000 standard deviations from every component"""
    w, m, c = _params(rng, 3, 2, spread=1.0)
    direction = torch.randn(6, 2, generator=rng, dtype=F64)
    direction = direction / direction.norm(dim=1, keepdim=True)
    x = torch.cat([1e3 * 3.0 * direction, _sample(rng, 3, w, m, c)])  # far points and ordinary ones
    got = student.gmm_log_likelihood(x, w, m, c)
    expect_close(got, reference.gmm_log_likelihood(x, w, m, c),
                 call="gmm_log_likelihood(x, weights, means, covs)", inputs=_inputs(x, w, m, c),
                 dtype=None, **LL_TOL, mistakes=_ll_mistakes(x, w, m, c))


# --------------------------------------------------------------------------- E-step


@points(2)
def test_e_step_values(student, reference, rng):
    """e_step: responsibilities on random mixtures"""
    for n, k, d in [(30, 3, 2), (17, 4, 3)]:
        x, w, m, c = _problem(rng, n, k, d)
        got = student.e_step(x, w, m, c)
        expect_close(got, reference.e_step(x, w, m, c),
                     call=f"e_step(x, weights, means, covs) with N={n}, K={k}, D={d}",
                     inputs=_inputs(x, w, m, c), dtype=None, **RESP_TOL,
                     mistakes=_resp_mistakes(x, w, m, c))


@points(2)
def test_e_step_rows_sum_to_one_and_stable(student, reference, rng):
    """e_step: every row sums to 1 and is finite, also for far points and tiny weights"""
    for log_w_min in (0.0, -20.0, -60.0):
        w, m, c = _params(rng, 3, 2, spread=2.0)
        lw = torch.log(w)
        lw[0] = lw[0] + log_w_min  # a tiny weight (down to e^-60, still a float32 number)
        w = torch.softmax(lw, 0)
        direction = torch.randn(12, 2, generator=rng, dtype=F64)
        radius = torch.tensor([1.0, 30.0, 1e3], dtype=F64).repeat_interleave(4)[:, None]
        x = 3.0 * radius * direction / direction.norm(dim=1, keepdim=True)
        call = (f"e_step(x, weights, means, covs) with points 3, 90 and 3000 units from the origin "
                f"and a weight of {w[0].item():.3g}")
        mistakes = _resp_mistakes(x, w, m, c)
        got = expect_tensor(student.e_step(x, w, m, c), call=call, inputs=_inputs(x, w, m, c),
                            shape=(12, 3), dtype=F64, finite=False)
        expect_close(got.sum(1), torch.ones(12, dtype=F64), call=call + ", rows summed",
                     inputs=_inputs(x, w, m, c), rtol=1e-6, atol=1e-6,
                     mistakes={h: (lambda v=v: v().sum(1)) for h, v in mistakes.items()})
        expect_close(got, reference.e_step(x, w, m, c), call=call, inputs=_inputs(x, w, m, c),
                     **RESP_TOL, mistakes=mistakes)


# --------------------------------------------------------------------------- M-step


@points(2)
def test_m_step_values(student, reference, rng):
    """m_step: weights, means and covariances from random responsibilities"""
    for n, k, d in [(40, 3, 2), (23, 2, 4)]:
        x = 2.0 * torch.randn(n, d, generator=rng, dtype=F64) + 1.0
        resp = _dirichlet_resp(rng, n, k)
        reg = 1e-3
        got = student.m_step(x, resp, reg)
        call = f"m_step(x, resp, reg_covar={reg:g}) with N={n}, K={k}, D={d}"
        got = _unpack(got, 3, call, "(weights, means, covs)")
        expect_close(got, reference.m_step(x, resp, reg), call=call,
                     inputs={"x": x, "resp": resp}, dtype=None, **PARAM_TOL,
                     mistakes=_m_mistakes(x, resp, reg))


@points(1)
def test_m_step_reg_covar_default_and_keyword(student, reference, rng):
    """m_step: reg_covar defaults to 1e-6 and is added to the diagonal only"""
    n, k, d = 30, 2, 3
    x = 1e-3 * torch.randn(n, d, generator=rng, dtype=F64)  # covariances ~1e-6: the default shows
    resp = _dirichlet_resp(rng, n, k)
    for kwargs in ({}, {"reg_covar": 0.0}, {"reg_covar": 0.25}):
        reg = kwargs.get("reg_covar", 1e-6)
        call = "m_step(x, resp" + "".join(f", {a}={v!r}" for a, v in kwargs.items()) + ")"
        got = _unpack(student.m_step(x, resp, **kwargs), 3, call, "(weights, means, covs)")
        mistakes = {}
        if not kwargs:
            mistakes["reg_covar's default must be 1e-6 (as in scikit-learn)"] = \
                reference.m_step(x, resp, 0.0)[2]
        mistakes.update({h: v[2] for h, v in _m_mistakes(x, resp, reg).items()})
        expect_close(got[2], reference.m_step(x, resp, reg)[2], call=call + " covariances",
                     inputs={"x": x, "resp": resp}, dtype=None, rtol=1e-4, atol=1e-12,
                     mistakes=mistakes)


def _q(x, resp, w, m, c):
    """Expected complete-data log-likelihood Q = Σ_n Σ_k γ_nk [log π_k + log N(x_n; μ_k, Σ_k)]."""
    return (resp * (torch.log(w) + _log_pdf(x, m, c))).sum()


@points(2)
def test_m_step_maximises_expected_complete_loglik(student, rng):
    """m_step: no small change of the weights, means or covariances increases Q(θ)"""
    n, k, d = 60, 3, 2
    x, w0, m0, c0 = _problem(rng, n, k, d)
    resp = _dirichlet_resp(rng, n, k) * 0.5 + 0.5 * torch.softmax(
        torch.log(w0) + _log_pdf(x, m0, c0), 1)
    call = "m_step(x, resp, reg_covar=0.0)"
    got = _unpack(student.m_step(x, resp, 0.0), 3, call, "(weights, means, covs)")
    w = expect_tensor(got[0], call=call + " weights", shape=(k,))
    m = expect_tensor(got[1], call=call + " means", shape=(k, d))
    c = expect_tensor(got[2], call=call + " covs", shape=(k, d, d))
    w, m, c = w.to(F64), m.to(F64), c.to(F64)
    expect_close(w.sum(), torch.tensor(1.0, dtype=F64), call=call + ": the weights summed",
                 rtol=1e-8, atol=1e-8)
    expect(bool((torch.linalg.eigvalsh(0.5 * (c + c.transpose(1, 2))) > 0).all())
           and torch.allclose(c, c.transpose(1, 2), atol=1e-10),
           f"{call}: the covariances are not symmetric positive definite.")
    q_star = _q(x, resp, w, m, c)
    step = 1e-3
    for trial in range(4):
        v = torch.randn(k, generator=rng, dtype=F64)
        dm = torch.randn(k, d, generator=rng, dtype=F64)
        a = torch.randn(k, d, d, generator=rng, dtype=F64)
        for sign in (1.0, -1.0):
            e = sign * step
            pert = {
                "weights": (w + e * (v - v.mean()), m, c),
                "means": (w, m + e * dm, c),
                "covariances": (w, m, (torch.eye(d, dtype=F64) + e * a) @ c
                                @ (torch.eye(d, dtype=F64) + e * a).transpose(1, 2)),
            }
            for what, params in pert.items():
                q = _q(x, resp, *params)
                if q > q_star + 1e-9 * abs(q_star):
                    fail(f"{call}\n  on input x (shape {tuple(x.shape)}) and random "
                         f"responsibilities: moving the {what} you returned by a small step "
                         f"increases the expected complete-data log-likelihood Q(θ) = "
                         f"Σ_n Σ_k γ_nk [log π_k + log N(x_n; μ_k, Σ_k)] from {q_star.item():.10g} "
                         f"to {q.item():.10g}, so your M-step does not maximise Q. Check the "
                         f"formula for the {what} (π_k = N_k/N, μ_k = Σ γ x / N_k, "
                         f"Σ_k = Σ γ (x−μ_k)(x−μ_k)ᵀ / N_k).")


@points(2)
def test_m_step_matches_sklearn(student, reference, rng):
    """m_step: one EM iteration agrees with scikit-learn's GaussianMixture from the same start"""
    import numpy as np
    from sklearn.mixture import GaussianMixture

    n, k, d = 80, 3, 2
    x, w0, m0, c0 = _problem(rng, n, k, d)
    gm = GaussianMixture(k, covariance_type="full", weights_init=w0.numpy(), means_init=m0.numpy(),
                         precisions_init=np.linalg.inv(c0.numpy()), max_iter=1, tol=0.0,
                         reg_covar=1e-6)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gm.fit(x.numpy())
    expected = (torch.from_numpy(gm.weights_), torch.from_numpy(gm.means_),
                torch.from_numpy(gm.covariances_))
    resp = reference.e_step(x, w0, m0, c0)  # the E-step scikit-learn did
    call = "m_step(x, resp) with resp = the responsibilities under scikit-learn's initial parameters"
    got = _unpack(student.m_step(x, resp), 3, call, "(weights, means, covs)")
    expect_close(got, expected, call=call, inputs={"x": x, "resp": resp}, dtype=None,
                 **PARAM_TOL, mistakes=_m_mistakes(x, resp, 1e-6))


# --------------------------------------------------------------------------- fit_gmm


def _hard_problem(rng, n=150, k=3, d=2):
    """Overlapping clusters and a poor start: EM needs many iterations."""
    w, m, c = _params(rng, k, d, spread=1.5)
    x = _sample(rng, n, w, m, c)
    w0 = torch.full((k,), 1.0 / k, dtype=F64)
    m0 = x[torch.randperm(n, generator=rng)[:k]].clone()
    c0 = torch.eye(d, dtype=F64).repeat(k, 1, 1) * x.var(0).mean()
    return x, w0, m0, c0


def _fit_call(**kw):
    return "fit_gmm(x, weights, means, covs" + "".join(f", {a}={v!r}" for a, v in kw.items()) + ")"


def _check_fit(got, expected, call, inputs, tol=PARAM_TOL, length_hint=None, mistakes=None):
    """Compare a fit_gmm result: history length, history values, then the parameters.

    ``mistakes`` maps a hint to a known wrong result (a 4-tuple, e.g. from the reference
    with other arguments); it is matched against the whole result.
    """
    got = _unpack(got, 4, call, "(weights, means, covs, history)")
    hint = hint_for(tuple(got), mistakes, tol["rtol"], tol["atol"]) if mistakes else ""
    n_hist = len(expected[3])
    hist = expect_tensor(got[3], call=call + " history", inputs=inputs)
    if hist.dim() != 1 or hist.shape[0] != n_hist:
        fail(f"{call}\n  returned a history of shape {tuple(hist.shape)}, expected ({n_hist},): "
             f"{n_hist - 1} iterations + 1 (the mean log-likelihood under the initial "
             f"parameters, then one value after each iteration). Expected history: "
             f"{[round(v, 6) for v in expected[3].tolist()]}; got: "
             f"{[round(v, 6) for v in hist.reshape(-1).tolist()][:20]}."
             + (hint or ("\n  Hint: " + length_hint if length_hint else "")))
    try:
        expect_close(got[3], expected[3], call=call + " history", inputs=inputs, dtype=None, **tol)
        expect_close(tuple(got[:3]), tuple(expected[:3]), call=call + " parameters",
                     inputs=inputs, dtype=None, **tol)
    except GradingFailure as f:
        raise GradingFailure(f.feedback + hint) from None
    return got


@points(3)
def test_fit_gmm_matches_sklearn(student):
    """fit_gmm: parameters and history agree with scikit-learn's GaussianMixture from the same start"""
    import warnings

    import numpy as np
    from sklearn.mixture import GaussianMixture

    x, w0, m0, c0 = _hard_problem(_fixed(11))
    n_iter = 6
    gm = GaussianMixture(3, covariance_type="full", weights_init=w0.numpy(), means_init=m0.numpy(),
                         precisions_init=np.linalg.inv(c0.numpy()), max_iter=n_iter, tol=0.0,
                         reg_covar=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(x.numpy())
    bounds = torch.tensor(list(gm.lower_bounds_), dtype=F64)
    diffs = bounds[1:] - bounds[:-1]
    if len(bounds) != n_iter or not bool((diffs > 1e-4).all()):
        raise RuntimeError("test problem converges too early")
    # the final entry: the mean log-likelihood under scikit-learn's final parameters
    final = torch.tensor(gm.score(x.numpy()), dtype=F64)
    expected = (torch.from_numpy(gm.weights_), torch.from_numpy(gm.means_),
                torch.from_numpy(gm.covariances_), torch.cat([bounds, final.reshape(1)]))
    call = _fit_call(n_iter=n_iter, tol=0.0)
    _check_fit(student.fit_gmm(x, w0, m0, c0, n_iter=n_iter, tol=0.0), expected, call,
               _inputs(x, w0, m0, c0))


@points(2)
def test_fit_gmm_history(student, reference, rng):
    """fit_gmm: history starts at ℓ(θ⁰), ends at ℓ(returned θ), and never decreases"""
    for trial in range(3):
        x, w0, m0, c0 = _hard_problem(rng, n=100 + 20 * trial)
        call = _fit_call(n_iter=40, tol=1e-8)
        got = _unpack(student.fit_gmm(x, w0, m0, c0, n_iter=40, tol=1e-8), 4, call,
                      "(weights, means, covs, history)")
        hist = expect_tensor(got[3], call=call + " history", inputs=_inputs(x, w0, m0, c0))
        expect(hist.dim() == 1 and hist.shape[0] >= 2,
               f"{call}\n  returned a history of shape {tuple(hist.shape)}; expected a 1-D tensor "
               f"with one entry per iteration plus one.")
        ll0 = reference.gmm_log_likelihood(x, w0, m0, c0).mean()
        expect_close(hist[0], ll0, call=call + " history[0]", inputs=_inputs(x, w0, m0, c0),
                     dtype=None, **LL_TOL,
                     mistakes={"history[0] must be the mean log-likelihood under the *initial* "
                               "parameters (before the first E-step)":
                                   lambda: reference.fit_gmm(x, w0, m0, c0, n_iter=1, tol=-1.0)[3][1],
                               "use the mean over the points, not the sum":
                                   ll0 * x.shape[0]})
        w, m, c = (expect_tensor(t, call=call, shape=s)
                   for t, s in zip(got[:3], [w0.shape, m0.shape, c0.shape]))
        ll_end = reference.gmm_log_likelihood(x, w.to(F64), m.to(F64), c.to(F64)).mean()
        expect_close(hist[-1], ll_end, call=call + " history[-1] (must be the mean log-likelihood "
                     "under the parameters you return, i.e. after the last M-step)",
                     inputs=_inputs(x, w0, m0, c0), dtype=None, **LL_TOL)
        steps = hist[1:].double() - hist[:-1].double()
        worst = int(torch.argmin(steps))
        if steps[worst] < -1e-6 * (1 + hist[worst].abs()):
            fail(f"{call}\n  the history decreases from iteration {worst} to {worst + 1} "
                 f"({hist[worst].item():.10g} → {hist[worst + 1].item():.10g}); EM never "
                 "decreases the log-likelihood. Check that the M-step uses the responsibilities "
                 "of the current E-step and the formulas of the M-step.")


def _tol_between(reference, x, w0, m0, c0):
    """A tolerance strictly between two consecutive improvements (far from both)."""
    hist = reference.fit_gmm(x, w0, m0, c0, n_iter=60, tol=-1.0)[3]
    d = (hist[1:] - hist[:-1]).tolist()
    for t in range(2, len(d) - 1):
        if 1e-5 < d[t + 1] < 1e-2 and d[t] > 1.3 * d[t + 1]:
            return math.sqrt(d[t] * d[t + 1]), t + 2  # iteration t+2 (1-based) is the first below
    raise RuntimeError("no clear stopping point in this problem")


@points(2)
def test_fit_gmm_stopping_rule(student, reference):
    """fit_gmm: stops at the first iteration that improves the mean log-likelihood by less than tol"""
    x, w0, m0, c0 = _hard_problem(_fixed(12), n=200)
    x = 4.0 * x  # |ℓ| ≫ 1, so an absolute and a relative rule stop at different iterations
    c0 = 16.0 * c0
    m0 = 4.0 * m0
    tol, iters = _tol_between(reference, x, w0, m0, c0)
    expected = reference.fit_gmm(x, w0, m0, c0, n_iter=100, tol=tol)
    if len(expected[3]) != iters + 1:
        raise RuntimeError("the reference does not stop where expected")
    call = _fit_call(n_iter=100, tol=tol)
    hist = expected[3]
    _check_fit(student.fit_gmm(x, w0, m0, c0, n_iter=100, tol=tol), expected, call,
               _inputs(x, w0, m0, c0),
               length_hint=f"with tol={tol:.4g} the improvements ℓ(θᵗ) − ℓ(θᵗ⁻¹) are "
                        f"{[float(f'{v:.3g}') for v in (hist[1:] - hist[:-1]).tolist()]}: stop "
                        f"after the first iteration whose (absolute, not relative) improvement "
                        f"is below tol, and include that iteration in the history",
               mistakes={"all 100 iterations ran, as if tol were ignored: stop after the first "
                         "iteration whose improvement ℓ(θᵗ) − ℓ(θᵗ⁻¹) is below tol":
                         lambda: reference.fit_gmm(x, w0, m0, c0, n_iter=100, tol=-math.inf)})
    # the cap on the number of iterations
    for n_iter in (3, 0):
        expected = reference.fit_gmm(x, w0, m0, c0, n_iter=n_iter, tol=0.0)
        call = _fit_call(n_iter=n_iter, tol=0.0)
        _check_fit(student.fit_gmm(x, w0, m0, c0, n_iter=n_iter, tol=0.0), expected, call,
                   _inputs(x, w0, m0, c0),
                   length_hint=f"n_iter={n_iter} allows at most {n_iter} iterations (E-step + "
                            f"M-step), so the history has {n_iter + 1} entries")


@points(1)
def test_fit_gmm_passes_reg_covar(student, reference, rng):
    """fit_gmm: reg_covar reaches every M-step"""
    x, w0, m0, c0 = _hard_problem(rng, n=60)
    expected = reference.fit_gmm(x, w0, m0, c0, n_iter=2, tol=0.0, reg_covar=0.5)
    _check_fit(student.fit_gmm(x, w0, m0, c0, n_iter=2, tol=0.0, reg_covar=0.5), expected,
               _fit_call(n_iter=2, tol=0.0, reg_covar=0.5), _inputs(x, w0, m0, c0),
               mistakes={"fit_gmm must pass its reg_covar on to every m_step call":
                         lambda: reference.fit_gmm(x, w0, m0, c0, n_iter=2, tol=0.0)})


# --------------------------------------------------------------------------- symmetry, dtypes


@points(2)
def test_permuting_components_permutes_results(student, rng):
    """e_step, m_step, fit_gmm: permuting the components permutes the result"""
    x, w, m, c = _problem(rng, 50, 4, 2)
    perm = torch.tensor([2, 0, 3, 1])
    inputs = _inputs(x, w[perm], m[perm], c[perm])
    r = expect_tensor(student.e_step(x, w, m, c), call="e_step(x, weights, means, covs)", shape=(50, 4))
    rp = student.e_step(x, w[perm], m[perm], c[perm])
    expect_close(rp, r[:, perm], call="e_step(x, weights[perm], means[perm], covs[perm]) "
                 "compared with e_step(x, weights, means, covs)[:, perm]", inputs=inputs,
                 dtype=None, **RESP_TOL)
    r = r.to(F64)
    got = _unpack(student.m_step(x, r), 3, "m_step(x, resp)", "(weights, means, covs)")
    got_p = _unpack(student.m_step(x, r[:, perm]), 3, "m_step(x, resp[:, perm])", "(weights, means, covs)")
    expect_close(tuple(got_p), tuple(expect_tensor(g, call="m_step(x, resp)")[perm] for g in got),
                 call="m_step(x, resp[:, perm]) compared with m_step(x, resp) permuted",
                 inputs={"x": x, "resp": r}, dtype=None, **PARAM_TOL)
    # EM from a poor start (far from convergence, so tol=0.0 never stops it early)
    x, w, m, c = _hard_problem(_fixed(13), n=80, k=4)
    inputs = _inputs(x, w[perm], m[perm], c[perm])
    got = _unpack(student.fit_gmm(x, w, m, c, n_iter=5, tol=0.0), 4, _fit_call(n_iter=5, tol=0.0),
                  "(weights, means, covs, history)")
    got_p = _unpack(student.fit_gmm(x, w[perm], m[perm], c[perm], n_iter=5, tol=0.0), 4,
                    _fit_call(n_iter=5, tol=0.0), "(weights, means, covs, history)")
    expected = tuple(expect_tensor(g, call=_fit_call(n_iter=5, tol=0.0))[perm] for g in got[:3])
    expect_close(tuple(got_p), expected + (got[3],),
                 call="fit_gmm(x, weights[perm], means[perm], covs[perm], n_iter=5, tol=0.0) compared "
                 "with the unpermuted run", inputs=inputs, dtype=None, **PARAM_TOL)


@points(1)
def test_float32_inputs(student, reference, rng):
    """all functions: float32 inputs give float32 results (history too) of the right shapes"""
    x, w, m, c = (t.float() for t in _problem(rng, 30, 3, 2))
    tol = dict(rtol=1e-3, atol=1e-4)
    expect_close(student.gmm_log_likelihood(x, w, m, c), reference.gmm_log_likelihood(x, w, m, c),
                 call="gmm_log_likelihood(x, weights, means, covs) in float32", **tol)
    expect_close(student.e_step(x, w, m, c), reference.e_step(x, w, m, c),
                 call="e_step(x, weights, means, covs) in float32", **tol)
    resp = reference.e_step(x, w, m, c)
    expect_close(student.m_step(x, resp), reference.m_step(x, resp),
                 call="m_step(x, resp) in float32", **tol)
    x, w, m, c = (t.float() for t in _hard_problem(_fixed(14), n=60))
    expect_close(student.fit_gmm(x, w, m, c, n_iter=3, tol=0.0),
                 reference.fit_gmm(x, w, m, c, n_iter=3, tol=0.0),
                 call="fit_gmm(x, weights, means, covs, n_iter=3, tol=0.0) in float32", **tol)
