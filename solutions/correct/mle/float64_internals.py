"""Correct, computing in float64 internally and casting back; uses torch.distributions."""
import torch


def bernoulli_log_likelihood(theta, x):
    t = theta.double()
    xd = x.double()
    ll = torch.special.xlogy(xd, t) + torch.special.xlogy(1 - xd, 1 - t)
    return ll.mean().to(x.dtype)


def bernoulli_mle(x):
    return x.double().mean().to(x.dtype)


def gaussian_log_pdf(x, mu, var):
    out = torch.distributions.Normal(mu.double(), var.double().sqrt()).log_prob(x.double())
    return out.to(torch.promote_types(x.dtype, mu.dtype))


def gaussian_mle(x):
    xd = x.double()
    mu = xd.mean()
    return mu.to(x.dtype), ((xd - mu) ** 2).mean().to(x.dtype)


def mvn_mle(x):
    xd = x.double()
    mu = xd.mean(0)
    c = xd - mu
    return mu.to(x.dtype), (c.T @ c / xd.shape[0]).to(x.dtype)


def mvn_log_pdf(x, mu, cov):
    dist = torch.distributions.MultivariateNormal(mu.double(), covariance_matrix=cov.double())
    return dist.log_prob(x.double()).to(x.dtype)
