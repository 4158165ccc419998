"""Correct: uncentred weighted moments, log_softmax, W_k by a linear solve, and the bound with the
prior and q terms grouped per factor (ln C(α0) − ln C(α) + Σ (α0 − α_k) E[ln π_k], and so on)."""

import math

import torch


def _stats(x, resp):
    nk = resp.sum(0)  # (K,)
    sx = resp.T @ x  # (K, D) = N_k x̄_k
    sxx = torch.einsum("nk,ni,nj->kij", resp, x, x)  # Σ_n r_nk x_n x_nᵀ
    return nk, sx, sxx


def vb_m_step(x, resp, prior):
    alpha0, beta0, m0, w0, nu0 = prior
    nk, sx, sxx = _stats(x, resp)
    beta = beta0 + nk
    m = (beta0 * m0 + sx) / beta[:, None]
    # W_k⁻¹ = W0⁻¹ + Σ r x xᵀ + β0 m0 m0ᵀ − β_k m_k m_kᵀ (the same matrix, completed squares)
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    w_inv = torch.linalg.solve(w0, eye) + sxx + beta0 * torch.outer(m0, m0) - beta[:, None, None] * (
        m[:, :, None] * m[:, None, :])
    w = torch.linalg.solve(w_inv, eye.expand_as(w_inv))
    return alpha0 + nk, beta, m, 0.5 * (w + w.transpose(-1, -2)), nu0 + nk


def _e_log_det(w, nu):
    d = w.shape[-1]
    half = (nu[:, None] + 1 - torch.arange(1, d + 1, dtype=w.dtype, device=w.device)) / 2
    return torch.special.digamma(half).sum(-1) + d * math.log(2.0) + torch.linalg.slogdet(w)[1]


def _log_rho(x, posterior):
    alpha, beta, m, w, nu = posterior
    d = x.shape[1]
    diff = x[:, None, :] - m[None]  # (N, K, D)
    quad = torch.einsum("nki,kij,nkj->nk", diff, w, diff)
    e_log_pi = torch.special.digamma(alpha) - torch.special.digamma(alpha.sum())
    return e_log_pi + 0.5 * _e_log_det(w, nu) - 0.5 * d * math.log(2 * math.pi) - 0.5 * (d / beta + nu * quad)


def vb_e_step(x, posterior):
    return torch.log_softmax(_log_rho(x, posterior), dim=1).exp()


def _log_b(w, nu):
    d = w.shape[-1]
    return -0.5 * nu * torch.linalg.slogdet(w)[1] - 0.5 * nu * d * math.log(2.0) - torch.mvlgamma(nu / 2, p=d)


def vb_elbo(x, resp, posterior, prior):
    alpha0, beta0, m0, w0, nu0 = prior
    alpha, beta, m, w, nu = posterior
    d = x.shape[1]
    k = alpha.shape[0]
    e_log_pi = torch.special.digamma(alpha) - torch.special.digamma(alpha.sum())
    e_log_det = _e_log_det(w, nu)
    # data and assignments: Σ_n Σ_k r_nk E[ln π_k + ln N(x_n | μ_k, Λ_k⁻¹)] − Σ r ln r
    data = (resp * _log_rho(x, posterior)).sum() - torch.xlogy(resp, resp).sum()
    # weights: E[ln p(π)] − E[ln q(π)]
    log_c = lambda a: torch.lgamma(a.sum()) - torch.lgamma(a).sum()  # noqa: E731
    weights = log_c(alpha0.expand(k)) - log_c(alpha) + ((alpha0 - alpha) * e_log_pi).sum()
    # means: E[ln N(μ_k | m0, (β0Λ_k)⁻¹)] − E[ln N(μ_k | m_k, (β_kΛ_k)⁻¹)]; the ½ E ln|Λ_k| cancel
    dm = m - m0
    means = 0.5 * (d * torch.log(beta0 / beta) - d * beta0 / beta + d
                   - beta0 * nu * torch.einsum("ki,kij,kj->k", dm, w, dm)).sum()
    # precisions: E[ln W(Λ_k | W0, ν0)] − E[ln W(Λ_k | W_k, ν_k)]
    w0_inv = torch.linalg.inv(w0)
    trace = torch.einsum("ij,kji->k", w0_inv, w)
    precisions = (_log_b(w0, nu0) - _log_b(w, nu) + 0.5 * (nu0 - nu) * e_log_det
                  - 0.5 * nu * trace + 0.5 * nu * d).sum()
    return data + weights + means + precisions


def fit_vbgmm(x, resp, prior, n_iter=100, tol=1e-6):
    posterior = vb_m_step(x, resp, prior)
    bounds = [vb_elbo(x, resp, posterior, prior)]
    for _ in range(n_iter):
        resp = vb_e_step(x, posterior)
        posterior = vb_m_step(x, resp, prior)
        bounds.append(vb_elbo(x, resp, posterior, prior))
        if not bounds[-1] - bounds[-2] >= tol:
            break
    return posterior, resp, torch.stack(bounds)


def expected_weights(posterior):
    return posterior[0] / posterior[0].sum()


def effective_components(posterior, threshold=0.01):
    return torch.sum(expected_weights(posterior) > threshold, dtype=torch.int64)
