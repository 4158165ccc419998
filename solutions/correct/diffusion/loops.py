"""CORRECT: explicit Python loops over samples and steps, arange-based schedule, the sampler
written inline (not via p_sample_step) with its noise drawn per step in float32."""
import math

import torch


def linear_beta_schedule(T, beta_start=1e-4, beta_end=0.02):
    i = torch.arange(T, dtype=torch.float64)
    return beta_start + (beta_end - beta_start) * i / (T - 1)


def alpha_bars(betas):
    out = torch.empty_like(betas)
    prod = torch.ones((), dtype=betas.dtype, device=betas.device)
    for s in range(betas.shape[0]):
        prod = prod * (1 - betas[s])
        out[s] = prod
    return out


def q_sample(x0, t, noise, alpha_bars):
    rows = []
    for b in range(x0.shape[0]):
        a = float(alpha_bars[int(t[b])])
        rows.append(math.sqrt(a) * x0[b] + math.sqrt(1 - a) * noise[b])
    return torch.stack(rows)


def ddpm_loss(eps_model, x0, t, noise, alpha_bars):
    x_t = q_sample(x0, t, noise, alpha_bars)
    pred = eps_model(x_t, t)
    total = 0.0
    for b in range(x0.shape[0]):
        total = total + ((noise[b] - pred[b]) ** 2).sum()
    return total / x0.numel()


def _abar_list(betas):
    out, prod = [], 1.0
    for b in betas.tolist():
        prod *= 1 - b
        out.append(prod)
    return out


def q_posterior(x0, x_t, t, betas):
    ab = _abar_list(betas)
    bl = betas.tolist()
    means, vars_ = [], []
    for b in range(x_t.shape[0]):
        s = int(t[b])
        a_t = ab[s]
        a_prev = ab[s - 1] if s > 0 else 1.0
        beta = bl[s]
        means.append(math.sqrt(a_prev) * beta / (1 - a_t) * x0[b]
                     + math.sqrt(1 - beta) * (1 - a_prev) / (1 - a_t) * x_t[b])
        vars_.append((1 - a_prev) / (1 - a_t) * beta)
    var = torch.tensor(vars_, dtype=x_t.dtype, device=x_t.device).reshape((-1,) + (1,) * (x_t.dim() - 1))
    return torch.stack(means), var


def p_sample_step(eps_model, x_t, t, betas, noise):
    ab = _abar_list(betas)
    bl = betas.tolist()
    eps = eps_model(x_t, t)
    rows = []
    for b in range(x_t.shape[0]):
        s = int(t[b])
        beta = bl[s]
        row = (x_t[b] - beta / math.sqrt(1 - ab[s]) * eps[b]) / math.sqrt(1 - beta)
        if s > 0:
            row = row + math.sqrt(beta) * noise[b]
        rows.append(row)
    return torch.stack(rows)


def sample(eps_model, shape, betas, generator=None):
    ab = _abar_list(betas)
    bl = betas.tolist()
    T = len(bl)
    dev = betas.device
    x = torch.randn(tuple(shape), generator=generator, device=dev, dtype=torch.float32).to(betas.dtype)
    for s in range(T - 1, -1, -1):
        t = torch.full((shape[0],), s, dtype=torch.long, device=dev)
        with torch.no_grad():
            eps = eps_model(x, t)
        x = (x - bl[s] / math.sqrt(1 - ab[s]) * eps) / math.sqrt(1 - bl[s])
        if s > 0:
            z = torch.randn(tuple(shape), generator=generator, device=dev, dtype=torch.float32)
            x = x + math.sqrt(bl[s]) * z.to(betas.dtype)
    return x
