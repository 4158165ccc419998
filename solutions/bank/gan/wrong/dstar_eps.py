"""MISTAKE: D* = (p + eps) / (p + q + 2 eps): handles 0/0 but distorts tiny densities."""
# expect-hint: an eps in numerator and denominator
import torch
import torch.nn.functional as F


def discriminator_loss(real_logits, fake_logits):
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits, kind="non_saturating"):
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    if kind == "non_saturating":
        return F.softplus(-fake_logits).mean()
    raise ValueError(kind)


def optimal_discriminator(p_data, p_model):
    eps = 1e-8
    return (p_data + eps) / (p_data + p_model + 2 * eps)


def js_divergence(p, q):
    m = 0.5 * (p + q)
    kl_pm = (torch.xlogy(p, p) - torch.xlogy(p, m)).sum(-1)
    kl_qm = (torch.xlogy(q, q) - torch.xlogy(q, m)).sum(-1)
    return 0.5 * (kl_pm + kl_qm)


def value_at_optimum(p_data, p_model):
    total = p_data + p_model
    safe = torch.where(total == 0, torch.ones_like(total), total)
    return (torch.xlogy(p_data, p_data / safe) + torch.xlogy(p_model, p_model / safe)).sum(-1)
