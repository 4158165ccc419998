"""Correct alternative: the hand-written stable form max(-z, 0) + log1p(exp(-|z|)), float64 inside."""
import torch


def _neg_log_sigmoid(z):
    z64 = z.double()
    return (torch.clamp(-z64, min=0) + torch.log1p(torch.exp(-z64.abs()))).to(z.dtype)


def reward_model_loss(r_chosen, r_rejected):
    return _neg_log_sigmoid(r_chosen - r_rejected).sum() / r_chosen.shape[0]


def kl_penalized_reward(reward, logp_policy, logp_ref, beta):
    return reward + beta * (logp_ref - logp_policy)


def dpo_loss(logp_chosen, logp_rejected, ref_logp_chosen, ref_logp_rejected, beta):
    pi_logratios = logp_chosen - logp_rejected
    ref_logratios = ref_logp_chosen - ref_logp_rejected
    return _neg_log_sigmoid(beta * (pi_logratios - ref_logratios)).mean()
