"""Correct alternative: everything computed in float32 (explicit inverse + slogdet), results cast back."""
import math

import torch


def _log_joint(x, weights, means, covs):
    x32, m32, c32 = x.float(), means.float(), covs.float()
    prec = torch.linalg.inv(c32)  # (K, D, D)
    _, logdet = torch.linalg.slogdet(c32)
    diff = x32[:, None, :] - m32[None, :, :]  # (N, K, D)
    maha = torch.einsum("nki,kij,nkj->nk", diff, prec, diff)
    d = x.shape[1]
    return torch.log(weights.float()) - 0.5 * (d * math.log(2 * math.pi) + logdet + maha)


def gmm_log_likelihood(x, weights, means, covs):
    return torch.logsumexp(_log_joint(x, weights, means, covs), dim=1).to(x.dtype)


def e_step(x, weights, means, covs):
    return torch.softmax(_log_joint(x, weights, means, covs), dim=1).to(x.dtype)


def m_step(x, resp, reg_covar=1e-6):
    dtype = x.dtype
    x, resp = x.float(), resp.float()
    n, d = x.shape
    nk = resp.sum(0)
    means = resp.T @ x / nk[:, None]
    diff = x[None] - means[:, None]  # (K, N, D)
    covs = (resp.T[:, :, None, None] * diff[..., :, None] * diff[..., None, :]).sum(1) / nk[:, None, None]
    covs = covs + reg_covar * torch.eye(d, device=x.device)
    return (nk / n).to(dtype), means.to(dtype), covs.to(dtype)


def fit_gmm(x, weights, means, covs, n_iter=100, tol=1e-6, reg_covar=1e-6):
    history = [gmm_log_likelihood(x, weights, means, covs).mean()]
    for _ in range(n_iter):
        resp = e_step(x, weights, means, covs)
        weights, means, covs = m_step(x, resp, reg_covar)
        history.append(gmm_log_likelihood(x, weights, means, covs).mean())
        if history[-1] - history[-2] < tol:
            break
    return weights, means, covs, torch.stack(history)
