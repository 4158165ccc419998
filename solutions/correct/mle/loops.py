"""Correct, written with explicit Python loops and scalar arithmetic."""
import math

import torch


def bernoulli_log_likelihood(theta, x):
    total = torch.zeros((), dtype=x.dtype)
    for xi in x:
        if xi == 1:
            total = total + torch.log(theta)
        else:
            total = total + torch.log(1 - theta)
    return total / len(x)


def bernoulli_mle(x):
    count = torch.zeros((), dtype=x.dtype)
    for xi in x:
        count = count + xi
    return count / len(x)


def gaussian_log_pdf(x, mu, var):
    x, mu, var = torch.broadcast_tensors(x, mu, var)
    out = torch.empty_like(x)
    flat_out, fx, fm, fv = out.view(-1), x.reshape(-1), mu.reshape(-1), var.reshape(-1)
    for i in range(fx.numel()):
        flat_out[i] = -0.5 * torch.log(2 * math.pi * fv[i]) - (fx[i] - fm[i]) ** 2 / (2 * fv[i])
    return out


def gaussian_mle(x):
    n = len(x)
    mu = sum(x) / n
    var = sum((xi - mu) ** 2 for xi in x) / n
    return torch.as_tensor(mu, dtype=x.dtype), torch.as_tensor(var, dtype=x.dtype)


def mvn_mle(x):
    n, d = x.shape
    mu = torch.zeros(d, dtype=x.dtype)
    for row in x:
        mu = mu + row
    mu = mu / n
    cov = torch.zeros(d, d, dtype=x.dtype)
    for row in x:
        c = (row - mu).unsqueeze(1)
        cov = cov + c @ c.T
    return mu, cov / n


def mvn_log_pdf(x, mu, cov):
    d = x.shape[-1]
    L = torch.linalg.cholesky(cov)
    flat = x.reshape(-1, d)
    out = torch.empty(flat.shape[0], dtype=x.dtype)
    half_logdet = torch.log(torch.diagonal(L)).sum()
    for i in range(flat.shape[0]):
        y = torch.linalg.solve_triangular(L, (flat[i] - mu).unsqueeze(1), upper=False)
        out[i] = -0.5 * d * math.log(2 * math.pi) - half_logdet - 0.5 * (y**2).sum()
    return out.reshape(x.shape[:-1])
