"""Correct alternative: binary_cross_entropy_with_logits, masks instead of xlogy, V from JS."""
import math

import torch
import torch.nn.functional as F


def discriminator_loss(real_logits, fake_logits):
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def generator_loss(fake_logits, kind="non_saturating"):
    if kind == "minimax":
        return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    elif kind == "non_saturating":
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    raise ValueError("kind must be 'minimax' or 'non_saturating'")


def optimal_discriminator(p_data, p_model):
    # D* = sigmoid(log p - log q); handle the zeros explicitly
    lp, lq = torch.log(p_data), torch.log(p_model)
    d = torch.sigmoid(lp - lq)
    d = torch.where((p_data == 0) & (p_model == 0), torch.full_like(d, 0.5), d)
    d = torch.where((p_data > 0) & (p_model == 0), torch.ones_like(d), d)
    d = torch.where((p_data == 0) & (p_model > 0), torch.zeros_like(d), d)
    return d


def _kl_terms(a, m):
    safe_a = torch.where(a > 0, a, torch.ones_like(a))
    safe_m = torch.where(a > 0, m, torch.ones_like(m))
    return torch.where(a > 0, a * (torch.log(safe_a) - torch.log(safe_m)), torch.zeros_like(a)).sum(dim=-1)


def js_divergence(p, q):
    p, q = torch.broadcast_tensors(p, q)
    m = (p + q) / 2
    return (_kl_terms(p, m) + _kl_terms(q, m)) / 2


def value_at_optimum(p_data, p_model):
    return 2 * js_divergence(p_data, p_model) - math.log(4)
