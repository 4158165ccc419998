"""MISTAKE: V(D*, G) as a mean over the support instead of the probability-weighted sum."""
# expect-hint: looks like a mean over the support
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
    total = p_data + p_model
    safe = torch.where(total == 0, torch.ones_like(total), total)
    return torch.where(total == 0, torch.full_like(total, 0.5), p_data / safe)


def js_divergence(p, q):
    m = 0.5 * (p + q)
    kl_pm = (torch.xlogy(p, p) - torch.xlogy(p, m)).sum(-1)
    kl_qm = (torch.xlogy(q, q) - torch.xlogy(q, m)).sum(-1)
    return 0.5 * (kl_pm + kl_qm)


def value_at_optimum(p_data, p_model):
    total = p_data + p_model
    safe = torch.where(total == 0, torch.ones_like(total), total)
    return (torch.xlogy(p_data, p_data / safe) + torch.xlogy(p_model, p_model / safe)).mean(-1)
