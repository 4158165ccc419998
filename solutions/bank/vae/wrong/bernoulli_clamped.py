"""MISTAKE: bernoulli_log_likelihood adds 1e-7 inside the logs (inexact for large |logits|)."""
# expect-hint: log(sigmoid(·) + eps)

import math

import torch
import torch.nn.functional as F

def reparameterize(mu: torch.Tensor, log_var: torch.Tensor, eps=None) -> torch.Tensor:
    if eps is None:
        eps = torch.randn_like(mu)
    return mu + torch.exp(0.5 * log_var) * eps


def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mu.pow(2) + torch.exp(log_var) - 1.0 - log_var).sum(dim=-1)


def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(logits)
    return (x * torch.log(p + 1e-7) + (1 - x) * torch.log(1 - p + 1e-7)).sum(dim=-1)


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    return -0.5 * (math.log(2 * math.pi) + log_var + (x - mean).pow(2) * torch.exp(-log_var)).sum(dim=-1)


def elbo(x: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor, decode, eps: torch.Tensor,
         likelihood: str = "bernoulli") -> torch.Tensor:
    z = reparameterize(mu, log_var, eps)  # (L, B, Dz)
    out = decode(z)
    if likelihood == "bernoulli":
        rec = bernoulli_log_likelihood(x, out)  # (L, B)
    elif likelihood == "gaussian":
        mean, dec_log_var = out
        rec = gaussian_log_likelihood(x, mean, dec_log_var)  # (L, B)
    else:
        raise ValueError(f"unknown likelihood {likelihood!r}; use 'bernoulli' or 'gaussian'")
    return rec.mean(dim=0) - gaussian_kl(mu, log_var)


def iwae_bound(x: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor, decode, eps: torch.Tensor,
               likelihood: str = "bernoulli") -> torch.Tensor:
    z = reparameterize(mu, log_var, eps)  # (L, B, Dz)
    out = decode(z)
    if likelihood == "bernoulli":
        log_px_z = bernoulli_log_likelihood(x, out)  # (L, B)
    elif likelihood == "gaussian":
        mean, dec_log_var = out
        log_px_z = gaussian_log_likelihood(x, mean, dec_log_var)
    else:
        raise ValueError(f"unknown likelihood {likelihood!r}; use 'bernoulli' or 'gaussian'")
    log_2pi = math.log(2 * math.pi)
    log_pz = -0.5 * (log_2pi + z.pow(2)).sum(dim=-1)  # (L, B)
    log_qz = -0.5 * (log_2pi + log_var + eps.pow(2)).sum(dim=-1)  # (L, B)
    log_w = log_px_z + log_pz - log_qz
    return torch.logsumexp(log_w, dim=0) - math.log(eps.shape[0])
