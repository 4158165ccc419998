"""Correct alternative: hand-written stable formulas, float32 internals for the likelihoods."""
import math

import torch


def reparameterize(mu, log_var, eps=None):
    if eps is None:
        eps = torch.randn_like(mu)
    return torch.addcmul(mu, torch.exp(log_var / 2), eps)


def gaussian_kl(mu, log_var):
    return -0.5 * torch.sum(1 + log_var - mu * mu - log_var.exp(), dim=-1)


def bernoulli_log_likelihood(x, logits):
    l, xx = logits.float(), x.float()
    # x·ℓ − softplus(ℓ), softplus(ℓ) = max(ℓ, 0) + log1p(exp(−|ℓ|))
    ll = xx * l - torch.clamp(l, min=0) - torch.log1p(torch.exp(-l.abs()))
    return ll.sum(-1).to(logits.dtype)


def gaussian_log_likelihood(x, mean, log_var):
    d = (x - mean).float()
    lv = log_var.float()
    out = -0.5 * (d * d / lv.exp() + lv + math.log(2 * math.pi))
    return out.sum(-1).to(x.dtype)


def _rec(x, z, decode, likelihood):
    out = decode(z)
    if likelihood == "gaussian":
        return gaussian_log_likelihood(x.expand_as(out[0]), out[0], out[1])
    return bernoulli_log_likelihood(x.expand_as(out), out)


def elbo(x, mu, log_var, decode, eps, likelihood="bernoulli"):
    z = reparameterize(mu, log_var, eps)
    rec = _rec(x, z, decode, likelihood)
    return rec.sum(0) / eps.shape[0] - gaussian_kl(mu, log_var)


def iwae_bound(x, mu, log_var, decode, eps, likelihood="bernoulli"):
    z = reparameterize(mu, log_var, eps)
    std = torch.exp(0.5 * log_var)
    log_q = (-0.5 * ((z - mu) / std) ** 2 - torch.log(std) - 0.5 * math.log(2 * math.pi)).sum(-1)
    log_p = (-0.5 * z**2 - 0.5 * math.log(2 * math.pi)).sum(-1)
    log_w = _rec(x, z, decode, likelihood) + log_p - log_q
    m = log_w.max(dim=0, keepdim=True).values.detach()
    return (m + torch.log(torch.exp(log_w - m).mean(dim=0, keepdim=True))).squeeze(0)
