"""Correct alternative: per-pair loop with logaddexp, float32 internals, stacked."""
import torch


def reward_model_loss(r_chosen, r_rejected):
    terms = []
    for c, r in zip(r_chosen, r_rejected):
        gap = (c - r).float()
        terms.append(torch.logaddexp(torch.zeros_like(gap), -gap))
    return torch.stack(terms).mean().to(r_chosen.dtype)


def kl_penalized_reward(reward, logp_policy, logp_ref, beta):
    out = torch.empty_like(reward)
    for i in range(reward.shape[0]):
        out[i] = reward[i] - beta * logp_policy[i] + beta * logp_ref[i]
    return out


def dpo_loss(logp_chosen, logp_rejected, ref_logp_chosen, ref_logp_rejected, beta):
    losses = []
    for lc, lr, rc, rr in zip(logp_chosen, logp_rejected, ref_logp_chosen, ref_logp_rejected):
        margin = beta * ((lc - rc) - (lr - rr))
        losses.append(torch.logaddexp(torch.zeros_like(margin), -margin))
    return sum(losses) / len(losses)
