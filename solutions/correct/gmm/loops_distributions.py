"""Correct alternative: loops over components with torch.distributions, sklearn-style |change| < tol."""
import torch
from torch.distributions import MultivariateNormal


def _log_joint(x, weights, means, covs):
    cols = []
    for k in range(weights.shape[0]):
        dist = MultivariateNormal(means[k], covariance_matrix=covs[k])
        cols.append(torch.log(weights[k]) + dist.log_prob(x))
    return torch.stack(cols, dim=1)


def gmm_log_likelihood(x, weights, means, covs):
    return torch.logsumexp(_log_joint(x, weights, means, covs), dim=1)


def e_step(x, weights, means, covs):
    a = _log_joint(x, weights, means, covs)
    return torch.softmax(a, dim=1)


def m_step(x, resp, reg_covar=1e-6):
    n, d = x.shape
    k = resp.shape[1]
    weights = torch.empty(k, dtype=x.dtype, device=x.device)
    means = torch.empty(k, d, dtype=x.dtype, device=x.device)
    covs = torch.empty(k, d, d, dtype=x.dtype, device=x.device)
    for j in range(k):
        r = resp[:, j]
        nk = r.sum()
        weights[j] = nk / n
        means[j] = (r[:, None] * x).sum(0) / nk
        cov = torch.zeros(d, d, dtype=x.dtype, device=x.device)
        for i in range(n):
            diff = x[i] - means[j]
            cov = cov + r[i] * torch.outer(diff, diff)
        covs[j] = cov / nk
        for a in range(d):
            covs[j, a, a] += reg_covar
    return weights, means, covs


def fit_gmm(x, weights, means, covs, n_iter=100, tol=1e-6, reg_covar=1e-6):
    ll = gmm_log_likelihood(x, weights, means, covs).mean()
    history = [ll]
    it = 0
    while it < n_iter:
        resp = e_step(x, weights, means, covs)
        weights, means, covs = m_step(x, resp, reg_covar=reg_covar)
        it += 1
        new_ll = gmm_log_likelihood(x, weights, means, covs).mean()
        history.append(new_ll)
        change = new_ll - ll
        ll = new_ll
        if abs(change) < tol:
            break
    return weights, means, covs, torch.stack(history)
