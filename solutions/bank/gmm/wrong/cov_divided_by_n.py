"""MISTAKE: m_step divides the covariance by N instead of N_k."""
# expect-hint: the covariances divide by N;

import math

import torch

def weighted_log_densities(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor,
                           covs: torch.Tensor) -> torch.Tensor:
    d = x.shape[-1]
    chol = torch.linalg.cholesky(covs)  # (K, D, D), Σ_k = L_k L_kᵀ
    diff = x.unsqueeze(0) - means.unsqueeze(1)  # (K, N, D)
    # Solve L_k y = (x_n − μ_k) for every n at once: right-hand sides as columns (K, D, N).
    y = torch.linalg.solve_triangular(chol, diff.transpose(1, 2), upper=False)  # (K, D, N)
    maha = (y * y).sum(dim=1)  # (K, N)  (x − μ_k)ᵀ Σ_k⁻¹ (x − μ_k)
    log_det = 2.0 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)  # (K,)
    log_pdf = -0.5 * (d * math.log(2 * math.pi) + log_det.unsqueeze(1) + maha)  # (K, N)
    return (torch.log(weights).unsqueeze(1) + log_pdf).T  # (N, K)


def gmm_log_likelihood(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor,
                       covs: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(weighted_log_densities(x, weights, means, covs), dim=1)


def e_step(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor,
           covs: torch.Tensor) -> torch.Tensor:
    a = weighted_log_densities(x, weights, means, covs)  # (N, K)
    return torch.exp(a - torch.logsumexp(a, dim=1, keepdim=True))


def m_step(x: torch.Tensor, resp: torch.Tensor, reg_covar: float = 1e-6):
    n, d = x.shape
    nk = resp.sum(dim=0)  # (K,)
    weights = nk / n
    means = (resp.T @ x) / nk.unsqueeze(1)  # (K, D)
    diff = x.unsqueeze(0) - means.unsqueeze(1)  # (K, N, D)
    covs = torch.einsum("nk,kni,knj->kij", resp, diff, diff) / n  # (K, D, D)
    covs = covs + reg_covar * torch.eye(d, dtype=x.dtype, device=x.device)
    return weights, means, covs


def fit_gmm(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor, covs: torch.Tensor,
            n_iter: int = 100, tol: float = 1e-6, reg_covar: float = 1e-6):
    history = [gmm_log_likelihood(x, weights, means, covs).mean()]
    for _ in range(n_iter):
        resp = e_step(x, weights, means, covs)
        weights, means, covs = m_step(x, resp, reg_covar)
        history.append(gmm_log_likelihood(x, weights, means, covs).mean())
        if history[-1] - history[-2] < tol:
            break
    return weights, means, covs, torch.stack(history)
