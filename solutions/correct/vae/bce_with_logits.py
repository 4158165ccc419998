"""Correct alternative: F.binary_cross_entropy_with_logits, GaussianNLLLoss-style formula, broadcasting by hand."""
import math

import torch
import torch.nn.functional as F


def reparameterize(mu, log_var, eps=None):
    sigma = torch.sqrt(torch.exp(log_var))
    if eps is None:
        return mu + sigma * torch.randn_like(sigma)
    return mu + sigma * eps


def gaussian_kl(mu, log_var):
    var = torch.exp(log_var)
    return 0.5 * torch.sum(var + mu**2 - 1.0, dim=-1) - 0.5 * torch.sum(log_var, dim=-1)


def bernoulli_log_likelihood(x, logits):
    x = x.expand_as(logits)
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)


def gaussian_log_likelihood(x, mean, log_var):
    x = x.expand_as(mean)
    nll = F.gaussian_nll_loss(mean, x, torch.exp(log_var), full=True, eps=0.0, reduction="none")
    return -nll.sum(dim=-1) if nll.dim() == mean.dim() else -nll * mean.shape[-1]


def elbo(x, mu, log_var, decode, eps, likelihood="bernoulli"):
    L = eps.shape[0]
    z = reparameterize(mu.unsqueeze(0), log_var.unsqueeze(0), eps)  # (L, B, Dz)
    flat = z.reshape(-1, z.shape[-1])
    out = decode(flat)
    xs = x.unsqueeze(0).expand(L, *x.shape).reshape(-1, x.shape[-1])
    if likelihood == "bernoulli":
        rec = bernoulli_log_likelihood(xs, out)
    else:
        rec = gaussian_log_likelihood(xs, out[0], out[1])
    return rec.view(L, -1).mean(0) - gaussian_kl(mu, log_var)


def iwae_bound(x, mu, log_var, decode, eps, likelihood="bernoulli"):
    L = eps.shape[0]
    z = reparameterize(mu, log_var, eps)
    out = decode(z)
    if likelihood == "bernoulli":
        rec = bernoulli_log_likelihood(x, out)
    else:
        rec = gaussian_log_likelihood(x, out[0], out[1])
    log_pz = -0.5 * (z**2).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)
    log_qz = -0.5 * (eps**2).sum(-1) - 0.5 * log_var.sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)
    return torch.logsumexp(rec + log_pz - log_qz, dim=0) - math.log(L)
