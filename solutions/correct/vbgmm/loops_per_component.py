"""Correct: one component at a time (loops over k), the uncentred scatter, explicit log-sum-exp."""

import math

import torch


def vb_m_step(x, resp, prior):
    alpha0, beta0, m0, w0, nu0 = prior
    w0_inv = torch.linalg.inv(w0)
    alpha, beta, m, w, nu = [], [], [], [], []
    for k in range(resp.shape[1]):
        r = resp[:, k]
        nk = r.sum()
        sx = r @ x  # N_k x̄_k
        sxx = (r[:, None] * x).T @ x  # Σ_n r_nk x_n x_nᵀ
        if nk > 0:
            xbar = sx / nk
            scatter = sxx - nk * torch.outer(xbar, xbar)
            dev = xbar - m0
            w_inv = w0_inv + scatter + (beta0 * nk / (beta0 + nk)) * torch.outer(dev, dev)
        else:
            xbar = torch.zeros_like(m0)
            w_inv = w0_inv.clone()
        w_k = torch.linalg.inv(w_inv)
        alpha.append(alpha0 + nk)
        beta.append(beta0 + nk)
        m.append((beta0 * m0 + sx) / (beta0 + nk))
        w.append(0.5 * (w_k + w_k.T))
        nu.append(nu0 + nk)
    return torch.stack(alpha), torch.stack(beta), torch.stack(m), torch.stack(w), torch.stack(nu)


def _e_log_det(w_k, nu_k):
    d = w_k.shape[-1]
    total = d * math.log(2.0) + torch.logdet(w_k)
    for i in range(1, d + 1):
        total = total + torch.special.digamma((nu_k + 1 - i) / 2)
    return total


def vb_e_step(x, posterior):
    alpha, beta, m, w, nu = posterior
    d = x.shape[1]
    cols = []
    for k in range(len(alpha)):
        diff = x - m[k]
        quad = ((diff @ w[k]) * diff).sum(1)
        e_log_pi = torch.special.digamma(alpha[k]) - torch.special.digamma(alpha.sum())
        cols.append(e_log_pi + 0.5 * _e_log_det(w[k], nu[k]) - 0.5 * d * math.log(2 * math.pi)
                    - 0.5 * (d / beta[k] + nu[k] * quad))
    log_rho = torch.stack(cols, dim=1)
    top = log_rho.max(dim=1, keepdim=True).values
    rho = torch.exp(log_rho - top)
    return rho / rho.sum(dim=1, keepdim=True)


def _log_wishart_norm(w_k, nu_k):
    d = w_k.shape[-1]
    log_gamma_d = d * (d - 1) / 4 * math.log(math.pi)
    for i in range(1, d + 1):
        log_gamma_d = log_gamma_d + torch.lgamma((nu_k + 1 - i) / 2)
    return -0.5 * nu_k * torch.logdet(w_k) - 0.5 * nu_k * d * math.log(2.0) - log_gamma_d


def vb_elbo(x, resp, posterior, prior):
    alpha0, beta0, m0, w0, nu0 = prior
    alpha, beta, m, w, nu = posterior
    n, d = x.shape
    n_comp = len(alpha)
    w0_inv = torch.linalg.inv(w0)
    log_2pi = math.log(2 * math.pi)
    total = torch.lgamma(n_comp * alpha0) - n_comp * torch.lgamma(alpha0)  # ln C(α0)
    total = total - (torch.lgamma(alpha.sum()) - torch.lgamma(alpha).sum())  # − ln C(α)
    r_log_r = torch.where(resp > 0, resp * torch.log(torch.where(resp > 0, resp, torch.ones_like(resp))),
                          torch.zeros_like(resp))
    total = total - r_log_r.sum()
    for k in range(n_comp):
        r = resp[:, k]
        nk = r.sum()
        e_log_pi = torch.special.digamma(alpha[k]) - torch.special.digamma(alpha.sum())
        e_log_det = _e_log_det(w[k], nu[k])
        # E[ln p(X | Z, μ, Λ)] and E[ln p(Z | π)], written per point: Σ_n r_nk E[ln N(x_n | μ_k, Λ_k⁻¹)]
        diff = x - m[k]
        quad = ((diff @ w[k]) * diff).sum(1)
        total = total + (r * (0.5 * e_log_det - 0.5 * d / beta[k] - 0.5 * nu[k] * quad - 0.5 * d * log_2pi)).sum()
        total = total + nk * e_log_pi
        # E[ln p(π)] and E[ln q(π)] (the α-dependent parts)
        total = total + (alpha0 - 1) * e_log_pi - (alpha[k] - 1) * e_log_pi
        # E[ln p(μ_k, Λ_k)]
        dm = m[k] - m0
        total = total + 0.5 * (d * torch.log(beta0 / (2 * math.pi)) + e_log_det - d * beta0 / beta[k]
                               - beta0 * nu[k] * (dm @ w[k] @ dm))
        total = total + _log_wishart_norm(w0, nu0) + 0.5 * (nu0 - d - 1) * e_log_det \
            - 0.5 * nu[k] * torch.trace(w0_inv @ w[k])
        # − E[ln q(μ_k, Λ_k)]
        entropy = -_log_wishart_norm(w[k], nu[k]) - 0.5 * (nu[k] - d - 1) * e_log_det + 0.5 * nu[k] * d
        total = total - (0.5 * e_log_det + 0.5 * d * torch.log(beta[k] / (2 * math.pi)) - 0.5 * d - entropy)
    return total


def fit_vbgmm(x, resp, prior, n_iter=100, tol=1e-6):
    posterior = vb_m_step(x, resp, prior)
    history = [vb_elbo(x, resp, posterior, prior)]
    it = 0
    while it < n_iter:
        new_resp = vb_e_step(x, posterior)
        new_posterior = vb_m_step(x, new_resp, prior)
        history.append(vb_elbo(x, new_resp, new_posterior, prior))
        resp, posterior = new_resp, new_posterior
        it += 1
        if history[-1] - history[-2] < tol:
            break
    return posterior, resp, torch.stack(history)


def expected_weights(posterior):
    alpha = posterior[0]
    return alpha / alpha.sum()


def effective_components(posterior, threshold=0.01):
    weights = expected_weights(posterior)
    return torch.tensor(sum(int(v > threshold) for v in weights.tolist()), dtype=torch.int64,
                        device=weights.device)
