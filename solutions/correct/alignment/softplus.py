"""Correct alternative: softplus forms; DPO reuses the Bradley–Terry loss on implicit rewards."""
import torch.nn.functional as F


def reward_model_loss(r_chosen, r_rejected):
    return F.softplus(r_rejected - r_chosen).mean()


def kl_penalized_reward(reward, logp_policy, logp_ref, beta):
    kl = logp_policy - logp_ref
    return reward - kl * beta


def dpo_loss(logp_chosen, logp_rejected, ref_logp_chosen, ref_logp_rejected, beta):
    reward_chosen = beta * (logp_chosen - ref_logp_chosen)
    reward_rejected = beta * (logp_rejected - ref_logp_rejected)
    return reward_model_loss(reward_chosen, reward_rejected)
