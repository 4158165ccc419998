"""Correct alternative: Cholesky via torch.cholesky_solve, log_softmax E-step, moment-form M-step, float history."""
import math

import torch


def _log_pdf(x, means, covs):
    """(N, K) component log-densities."""
    n, d = x.shape
    out = []
    for mu, cov in zip(means, covs):
        L = torch.linalg.cholesky(cov)
        diff = (x - mu).T  # (D, N)
        sol = torch.cholesky_solve(diff, L)  # Σ⁻¹ (x − μ)
        maha = (diff * sol).sum(0)
        logdet = 2 * torch.log(torch.diagonal(L)).sum()
        out.append(-0.5 * (maha + logdet + d * math.log(2 * math.pi)))
    return torch.stack(out, 1)


def gmm_log_likelihood(x, weights, means, covs):
    a = _log_pdf(x, means, covs) + weights.log()
    m = a.max(dim=1, keepdim=True).values
    return (m + torch.log(torch.exp(a - m).sum(1, keepdim=True))).squeeze(1)


def e_step(x, weights, means, covs):
    return torch.log_softmax(_log_pdf(x, means, covs) + weights.log(), dim=1).exp()


def m_step(x, resp, reg_covar=1e-6):
    n, d = x.shape
    nk = resp.sum(0)
    means = resp.T @ x / nk[:, None]
    second = torch.einsum("nk,ni,nj->kij", resp, x, x) / nk[:, None, None]
    covs = second - means[:, :, None] * means[:, None, :]
    covs = covs + torch.diag_embed(torch.full((resp.shape[1], d), reg_covar, dtype=x.dtype, device=x.device))
    return nk / nk.sum(), means, covs


def fit_gmm(x, weights, means, covs, n_iter=100, tol=1e-6, reg_covar=1e-6):
    history = [gmm_log_likelihood(x, weights, means, covs).mean().item()]
    for t in range(n_iter):
        resp = e_step(x, weights, means, covs)
        weights, means, covs = m_step(x, resp, reg_covar=reg_covar)
        history.append(gmm_log_likelihood(x, weights, means, covs).mean().item())
        if history[-1] - history[-2] < tol:
            break
    return weights, means, covs, torch.tensor(history, dtype=x.dtype, device=x.device)
