"""Correct alternative: torch.distributions everywhere, decoding one sample at a time."""
import math

import torch
from torch.distributions import Bernoulli, Normal, kl_divergence


def reparameterize(mu, log_var, eps=None):
    std = log_var.mul(0.5).exp()
    if eps is None:
        eps = torch.randn(mu.shape, dtype=mu.dtype, device=mu.device)
    return eps * std + mu


def gaussian_kl(mu, log_var):
    q = Normal(mu, torch.exp(0.5 * log_var))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return kl_divergence(q, p).sum(-1)


def bernoulli_log_likelihood(x, logits):
    return Bernoulli(logits=logits, validate_args=False).log_prob(x).sum(-1)


def gaussian_log_likelihood(x, mean, log_var):
    return Normal(mean, torch.exp(0.5 * log_var)).log_prob(x).sum(-1)


def _log_lik(x, out, likelihood):
    if likelihood == "bernoulli":
        return bernoulli_log_likelihood(x, out)
    mean, lv = out
    return gaussian_log_likelihood(x, mean, lv)


def elbo(x, mu, log_var, decode, eps, likelihood="bernoulli"):
    total = 0.0
    for l in range(eps.shape[0]):
        z = reparameterize(mu, log_var, eps[l])
        total = total + _log_lik(x, decode(z), likelihood)
    return total / eps.shape[0] - gaussian_kl(mu, log_var)


def iwae_bound(x, mu, log_var, decode, eps, likelihood="bernoulli"):
    std = torch.exp(0.5 * log_var)
    prior = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    q = Normal(mu, std)
    log_ws = []
    for l in range(eps.shape[0]):
        z = reparameterize(mu, log_var, eps[l])
        log_ws.append(_log_lik(x, decode(z), likelihood) + prior.log_prob(z).sum(-1) - q.log_prob(z).sum(-1))
    log_w = torch.stack(log_ws)
    return torch.logsumexp(log_w, 0) - math.log(len(log_ws))
