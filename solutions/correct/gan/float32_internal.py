"""Correct alternative: computes in float32 internally (hand-written stable softplus), casts back."""
import math

import torch


def _softplus(x):
    # log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}), stable for any x
    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))


def discriminator_loss(real_logits, fake_logits):
    r, f = real_logits.float(), fake_logits.float()
    out = _softplus(-r).mean() + _softplus(f).mean()
    return out.to(real_logits.dtype)


def generator_loss(fake_logits, kind="non_saturating"):
    f = fake_logits.float()
    if kind == "minimax":
        out = -_softplus(f).mean()
    else:
        out = _softplus(-f).mean()
    return out.to(fake_logits.dtype)


def optimal_discriminator(p_data, p_model):
    # ratio in float64 would be safer for denormals; float32 still covers the tested range
    p, q = p_data.float(), p_model.float()
    # scale to avoid underflow of tiny densities in float32
    s = torch.maximum(p, q)
    s = torch.where(s > 0, s, torch.ones_like(s))
    p_s, q_s = p / s, q / s
    tot = p_s + q_s
    d = torch.where(tot > 0, p_s / torch.where(tot > 0, tot, torch.ones_like(tot)), torch.full_like(tot, 0.5))
    return d.to(p_data.dtype)


def js_divergence(p, q):
    p32, q32 = p.float(), q.float()
    m = 0.5 * (p32 + q32)

    def entropy(a):
        return -torch.xlogy(a, a).sum(-1)

    # JS = H(M) - (H(p) + H(q)) / 2
    js = entropy(m) - 0.5 * (entropy(p32) + entropy(q32))
    return js.clamp_min(0).to(torch.promote_types(p.dtype, q.dtype))


def value_at_optimum(p_data, p_model):
    p, q = p_data.float(), p_model.float()
    t = p + q
    t = torch.where(t > 0, t, torch.ones_like(t))
    v = (torch.xlogy(p, p / t) + torch.xlogy(q, q / t)).sum(-1)
    return v.to(torch.promote_types(p_data.dtype, p_model.dtype))
