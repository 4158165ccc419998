"""Public tests for the `alignment` assignment: shapes, dtypes and small worked examples.

Run them with ``gmgrade check alignment``. The hidden tests also check values on random
inputs, numerical stability, gradients and a small reward model trained with your loss.
"""

import math

import torch
import torch.nn.functional as F

from autograder.testing import expect_close, expect_scalar_close, expect_tensor, fail, points

RM_CALL = "reward_model_loss(r_chosen, r_rejected)"
DPO_NAMES = ["logp_chosen", "logp_rejected", "ref_logp_chosen", "ref_logp_rejected"]


def rm_slips(rc, rr):
    """What the usual slips in reward_model_loss give on (rc, rr)."""
    gap = (rc - rr).double()
    return {
        "chosen and rejected are swapped: the loss is −log σ(r_chosen − r_rejected)": F.softplus(gap).mean(),
        "the sign is missing: the loss is the *negative* mean log-likelihood, −mean log σ(gap)":
            F.logsigmoid(gap).mean(),
        "this is the sum over the pairs; the loss is their mean": F.softplus(-gap).sum(),
        "log σ is missing: the loss is −mean log σ(gap), not −mean σ(gap)": -torch.sigmoid(gap).mean(),
    }


def kl_slips(reward, lp, lr, beta):
    """What the usual slips in kl_penalized_reward give."""
    return {
        "the penalty has the wrong sign: subtract β·(logp_policy − logp_ref) from the reward "
        "(a response the policy likes more than the reference loses reward)": reward + beta * (lp - lr),
        "β is missing: the penalty is β·(logp_policy − logp_ref)": reward - (lp - lr),
        "the per-sample KL term is logp_policy − logp_ref itself and may be negative; do not take "
        "its absolute value": reward - beta * (lp - lr).abs(),
        "β multiplies the reward instead of the KL term": beta * reward - (lp - lr),
    }


def _bt(margin):
    return F.softplus(-margin.double()).mean()


def dpo_slips(args, beta):
    """What the usual slips in dpo_loss give on args = (logp_chosen, logp_rejected, ref_c, ref_r)."""
    lp_c, lp_r, ref_c, ref_r = (t.double() for t in args)
    m = (lp_c - ref_c) - (lp_r - ref_r)
    return {
        "the margin has the wrong sign (chosen and rejected swapped, or log π_ref − log π): it is "
        "β[(logp_chosen − ref_logp_chosen) − (logp_rejected − ref_logp_rejected)]": _bt(-beta * m),
        "the reference log-probabilities are paired with the wrong responses: subtract "
        "ref_logp_chosen from logp_chosen and ref_logp_rejected from logp_rejected":
            _bt(beta * ((lp_c - ref_r) - (lp_r - ref_c))),
        "the reference model is missing: the implicit reward is β·(log π − log π_ref)": _bt(beta * (lp_c - lp_r)),
        "β multiplies the loss instead of the margin inside the log-sigmoid": beta * _bt(m),
        "β is missing from the margin": _bt(m),
        "the sign is missing: the loss is −mean log σ(margin)": -_bt(beta * m),
        "this is the sum over the pairs; the loss is their mean": _bt(beta * m) * m.numel(),
    }


@points(1)
def test_reward_model_loss_worked_example(student):
    """reward_model_loss: -mean log σ(r_chosen − r_rejected) on a small example"""
    r_chosen = torch.tensor([1.0, 0.5], dtype=torch.float64)
    r_rejected = torch.tensor([0.0, 0.5], dtype=torch.float64)
    # gaps 1 and 0: (log(1 + e^-1) + log 2) / 2
    expected = torch.tensor((math.log1p(math.exp(-1.0)) + math.log(2.0)) / 2, dtype=torch.float64)
    got = student.reward_model_loss(r_chosen, r_rejected)
    expect_close(got, expected, call="reward_model_loss(r_chosen, r_rejected)",
                 inputs={"r_chosen": r_chosen, "r_rejected": r_rejected}, rtol=1e-6,
                 mistakes=rm_slips(r_chosen, r_rejected))


@points(1)
def test_reward_model_loss_equal_rewards(student):
    """reward_model_loss: log 2 when the rewards are equal; scalar in the input dtype"""
    r = torch.tensor([0.3, -2.0, 7.5])
    got = student.reward_model_loss(r, r.clone())
    expect_tensor(got, call="reward_model_loss(r, r)", inputs={"r": r}, shape=(), dtype=torch.float32)
    expect_scalar_close(got, math.log(2.0), call="reward_model_loss(r, r)", inputs={"r": r}, rtol=1e-6)


@points(1)
def test_kl_penalized_reward_worked_example(student):
    """kl_penalized_reward: reward − β·(logp_policy − logp_ref)"""
    reward = torch.tensor([1.0, 2.0, -0.5], dtype=torch.float64)
    logp_policy = torch.tensor([-3.0, -10.0, -4.0], dtype=torch.float64)
    logp_ref = torch.tensor([-5.0, -9.0, -4.0], dtype=torch.float64)
    got = student.kl_penalized_reward(reward, logp_policy, logp_ref, 0.5)
    # row 0: the policy likes the response more than the reference → 1 − 0.5·2 = 0
    # row 1: the policy likes it less → 2 + 0.5·1 = 2.5; row 2: equal → unchanged
    expect_close(got, torch.tensor([0.0, 2.5, -0.5], dtype=torch.float64),
                 call="kl_penalized_reward(reward, logp_policy, logp_ref, beta=0.5)",
                 inputs={"reward": reward, "logp_policy": logp_policy, "logp_ref": logp_ref},
                 rtol=1e-6, atol=1e-7, mistakes=kl_slips(reward, logp_policy, logp_ref, 0.5))


@points(1)
def test_dpo_loss_at_reference(student):
    """dpo_loss: log 2 when the policy equals the reference"""
    logp_c = torch.tensor([-12.0, -40.0])
    logp_r = torch.tensor([-15.0, -31.0])
    got = student.dpo_loss(logp_c, logp_r, logp_c.clone(), logp_r.clone(), 0.1)
    call = "dpo_loss(logp_chosen, logp_rejected, ref_logp_chosen=logp_chosen, ref_logp_rejected=logp_rejected, beta=0.1)"
    expect_tensor(got, call=call, inputs={"logp_chosen": logp_c, "logp_rejected": logp_r}, shape=(),
                  dtype=torch.float32)
    expect_scalar_close(got, math.log(2.0), call=call, inputs={"logp_chosen": logp_c,
                                                                 "logp_rejected": logp_r}, rtol=1e-6,
                        mistakes=dpo_slips([logp_c, logp_r, logp_c, logp_r], 0.1))


@points(1)
def test_dpo_loss_worked_example(student):
    """dpo_loss: a worked example"""
    args = [torch.tensor([-10.0], dtype=torch.float64), torch.tensor([-12.0], dtype=torch.float64),
            torch.tensor([-11.0], dtype=torch.float64), torch.tensor([-11.0], dtype=torch.float64)]
    # implicit rewards 0.5·(−10 + 11) = 0.5 and 0.5·(−12 + 11) = −0.5: margin 1
    got = student.dpo_loss(*args, 0.5)
    expect_scalar_close(got, math.log1p(math.exp(-1.0)),
                        call="dpo_loss(logp_chosen, logp_rejected, ref_logp_chosen, ref_logp_rejected, beta=0.5)",
                        inputs=dict(zip(DPO_NAMES, args)), rtol=1e-6, dtype=torch.float64,
                        mistakes=dpo_slips(args, 0.5))


@points(1)
def test_reward_model_loss_large_gaps(student):
    """reward_model_loss: gaps −1000 and +100 give about 1000/2 = 500 (log σ(−1000) underflows); gradients"""
    rc = torch.tensor([-500.0, 60.0], dtype=torch.float64)
    rr = torch.tensor([500.0, -40.0], dtype=torch.float64)
    inputs = {"r_chosen": rc, "r_rejected": rr}
    value, grads = student.grad("reward_model_loss", rc, rr, wrt=(0, 1))
    expect_close(value, F.softplus(-(rc - rr)).mean(), call=RM_CALL, inputs=inputs, rtol=1e-6,
                 mistakes={"log(sigmoid(gap)) underflows for a gap of −1000 (sigmoid → 0, log 0 = −inf); "
                           "use F.logsigmoid(gap) or −F.softplus(−gap)": torch.tensor(math.inf)}
                 | rm_slips(rc, rr))
    if grads[0] is None or grads[1] is None:
        fail(f"{RM_CALL}\n  no gradient reaches {'r_chosen' if grads[0] is None else 'r_rejected'}; compute "
             "the loss with torch operations on the inputs (no .item(), .detach(), numpy or torch.tensor(...))")
    weight = torch.sigmoid(-(rc - rr)) / 2  # dL/d(gap) = −σ(−gap)/B: 1/2 and about 2e-44
    expect_close(grads[0], -weight, call=f"d {RM_CALL} / d r_chosen", inputs=inputs, rtol=1e-5, atol=1e-8,
                 mistakes={"the gradient has the wrong sign: minimising the loss must raise r_chosen "
                           "(check the sign and which reward comes first)": weight})
    expect_close(grads[1], weight, call=f"d {RM_CALL} / d r_rejected", inputs=inputs, rtol=1e-5, atol=1e-8)


@points(1)
def test_dpo_loss_long_sequences(student):
    """dpo_loss: sequence log-probabilities in the thousands: margins −1200 and 405 give about 1200/2 = 600"""
    args = [torch.tensor([-2000.0, -95.0], dtype=torch.float64), torch.tensor([-700.0, -400.0], dtype=torch.float64),
            torch.tensor([-600.0, -300.0], dtype=torch.float64), torch.tensor([-500.0, -200.0], dtype=torch.float64)]
    # margins: (−2000 + 600) − (−700 + 500) = −1200 and (−95 + 300) − (−400 + 200) = 405
    margin = (args[0] - args[2]) - (args[1] - args[3])
    expect_scalar_close(student.dpo_loss(*args, 1.0), F.softplus(-margin).mean(),
                        call="dpo_loss(logp_chosen, logp_rejected, ref_logp_chosen, ref_logp_rejected, beta=1)",
                        inputs=dict(zip(DPO_NAMES, args)), rtol=1e-6, dtype=torch.float64,
                        mistakes={"log(sigmoid(margin)) underflows for a margin of −100 or less; use "
                                  "F.logsigmoid(margin) or −F.softplus(−margin)": torch.tensor(math.inf)}
                        | dpo_slips(args, 1.0))
