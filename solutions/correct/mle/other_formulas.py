"""Correct, with other stable formulas: torch.where for 0·log 0, torch.var, slogdet + solve."""
import math

import torch


def bernoulli_log_likelihood(theta, x):
    log_p1 = torch.where(x > 0, x * torch.log(theta), torch.zeros_like(x))
    log_p0 = torch.where(x < 1, (1 - x) * torch.log1p(-theta), torch.zeros_like(x))
    return torch.mean(log_p1 + log_p0)


def bernoulli_mle(x):
    return x.sum() / x.numel()


def gaussian_log_pdf(x, mu, var):
    return -0.5 * torch.log(2 * math.pi * var) - 0.5 * (x - mu).pow(2) / var


def gaussian_mle(x):
    return x.mean(), x.var(unbiased=False)


def mvn_mle(x):
    mu = x.mean(0)
    cov = torch.cov(x.T, correction=0).reshape(x.shape[1], x.shape[1])
    return mu, cov


def mvn_log_pdf(x, mu, cov):
    d = mu.shape[0]
    sign, logdet = torch.linalg.slogdet(cov)
    diff = x - mu
    sol = torch.linalg.solve(cov, diff.reshape(-1, d).T).T.reshape(diff.shape)
    maha = (diff * sol).sum(-1)
    return -0.5 * (d * math.log(2 * math.pi) + logdet + maha)
