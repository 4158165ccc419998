"""Correct: float64 internals cast back to the input's dtype; Cholesky factors instead of inverses;
the entropies of q(π) and q(Λ_k) and the prior's normalisers from torch.distributions."""

import math

import torch
from torch.distributions import Dirichlet, Wishart


def _f64(t):
    return t.to(torch.float64)


def vb_m_step(x, resp, prior):
    dtype = x.dtype
    alpha0, beta0, m0, w0, nu0 = (_f64(p) for p in prior)
    x, resp = _f64(x), _f64(resp)
    nk = resp.sum(0)
    xbar = torch.nan_to_num((resp.T @ x) / nk[:, None])  # 0/0 → 0 for empty components
    diff = x[None] - xbar[:, None]  # (K, N, D)
    scatter = torch.einsum("kni,knj->kij", resp.T[:, :, None] * diff, diff)
    dev = xbar - m0
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    w_inv = torch.cholesky_solve(eye, torch.linalg.cholesky(w0)) + scatter \
        + (beta0 * nk / (beta0 + nk))[:, None, None] * dev[:, :, None] * dev[:, None, :]
    w = torch.cholesky_inverse(torch.linalg.cholesky(w_inv))
    m = (beta0 * m0 + nk[:, None] * xbar) / (beta0 + nk)[:, None]
    out = (alpha0 + nk, beta0 + nk, m, 0.5 * (w + w.transpose(1, 2)), nu0 + nk)
    return tuple(t.to(dtype) for t in out)


def _e_log_det(w, nu):
    d = w.shape[-1]
    chol = torch.linalg.cholesky(w)
    log_det = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
    i = torch.arange(d, dtype=w.dtype, device=w.device)  # i − 1 = 0 … D − 1
    return torch.special.digamma((nu[:, None] - i) / 2).sum(-1) + d * math.log(2.0) + log_det


def _log_rho(x, posterior):
    alpha, beta, m, w, nu = posterior
    d = x.shape[1]
    chol = torch.linalg.cholesky(w)  # W = L Lᵀ
    proj = torch.einsum("knd,kde->kne", x[None] - m[:, None], chol)
    quad = (proj ** 2).sum(-1).T  # (N, K)
    e_log_pi = torch.special.digamma(alpha) - torch.special.digamma(alpha.sum())
    return e_log_pi + 0.5 * _e_log_det(w, nu) - 0.5 * d * math.log(2 * math.pi) - 0.5 * (d / beta + nu * quad)


def vb_e_step(x, posterior):
    log_rho = _log_rho(_f64(x), tuple(_f64(p) for p in posterior))
    return torch.exp(log_rho - torch.logsumexp(log_rho, 1, keepdim=True)).to(x.dtype)


def vb_elbo(x, resp, posterior, prior):
    dtype = x.dtype
    x, resp = _f64(x), _f64(resp)
    alpha, beta, m, w, nu = (_f64(p) for p in posterior)
    alpha0, beta0, m0, w0, nu0 = (_f64(p) for p in prior)
    n, d = x.shape
    k = len(alpha)
    e_log_pi = torch.special.digamma(alpha) - torch.special.digamma(alpha.sum())
    e_log_det = _e_log_det(w, nu)
    # Σ_n Σ_k r_nk E[ln π_k N(x_n | μ_k, Λ_k⁻¹)], point by point (no x̄_k needed: empty components add 0)
    log_rho = _log_rho(x, (alpha, beta, m, w, nu))
    expected = (resp * log_rho).sum()
    # E[ln p(π)] with the prior's normaliser from Dirichlet.log_prob at a point: ln C(α0) = ln Dir(π|α0) − Σ(α0−1) ln π
    uniform = torch.full((k,), 1.0 / k, dtype=x.dtype, device=x.device)
    log_c0 = Dirichlet(alpha0.expand(k)).log_prob(uniform) - (alpha0 - 1) * torch.log(uniform).sum()
    e_log_p_pi = log_c0 + (alpha0 - 1) * e_log_pi.sum()
    # E[ln p(μ, Λ)], with ln B(W0, ν0) from Wishart.log_prob at Λ = W0⁻¹... written out via its definition
    w0_inv = torch.linalg.inv(w0)
    lam = w0_inv  # any SPD point: ln W(Λ|W0,ν0) = ln B + (ν0−D−1)/2 ln|Λ| − ½ Tr(W0⁻¹Λ)
    log_b0 = Wishart(nu0, covariance_matrix=w0).log_prob(lam) - 0.5 * (nu0 - d - 1) * torch.logdet(lam) \
        + 0.5 * torch.trace(w0_inv @ lam)
    dm = m - m0
    e_log_p_mu = (0.5 * (d * torch.log(beta0 / (2 * math.pi)) + e_log_det - d * beta0 / beta
                         - beta0 * nu * torch.einsum("ki,kij,kj->k", dm, w, dm))).sum() \
        + k * log_b0 + 0.5 * (nu0 - d - 1) * e_log_det.sum() - 0.5 * (nu * torch.einsum("ij,kji->k", w0_inv, w)).sum()
    e_log_qz = torch.xlogy(resp, resp).sum()
    e_log_q_pi = -Dirichlet(alpha).entropy()
    e_log_q_mu = (0.5 * e_log_det + 0.5 * d * torch.log(beta / (2 * math.pi)) - 0.5 * d).sum() \
        - Wishart(nu, covariance_matrix=w).entropy().sum()
    bound = expected + e_log_p_pi + e_log_p_mu - e_log_qz - e_log_q_pi - e_log_q_mu
    return bound.to(dtype)


def fit_vbgmm(x, resp, prior, n_iter=100, tol=1e-6):
    posterior = vb_m_step(x, resp, prior)
    history = torch.empty(n_iter + 1, dtype=x.dtype, device=x.device)
    history[0] = vb_elbo(x, resp, posterior, prior)
    done = 0
    for t in range(1, n_iter + 1):
        resp = vb_e_step(x, posterior)
        posterior = vb_m_step(x, resp, prior)
        history[t] = vb_elbo(x, resp, posterior, prior)
        done = t
        if history[t] - history[t - 1] < tol:
            break
    return posterior, resp, history[:done + 1].clone()


def expected_weights(posterior):
    alpha = posterior[0]
    return torch.exp(torch.log(alpha) - torch.logsumexp(torch.log(alpha), 0))


def effective_components(posterior, threshold=0.01):
    return torch.count_nonzero(expected_weights(posterior) > threshold)
