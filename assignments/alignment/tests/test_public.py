"""Public tests for the `alignment` assignment: shapes, dtypes and small worked examples.

Run them with ``gmgrade check alignment``. The hidden tests also check values on random
inputs, numerical stability, gradients and a small reward model trained with your loss.
"""

import math

import torch

from autograder.testing import expect_close, expect_scalar_close, expect_tensor, points


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
                 mistakes={"chosen and rejected are swapped: the loss is −log σ(r_chosen − r_rejected)":
                           (math.log1p(math.exp(1.0)) + math.log(2.0)) / 2})


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
                 rtol=1e-6, atol=1e-7)


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
                                                                 "logp_rejected": logp_r}, rtol=1e-6)


@points(1)
def test_dpo_loss_worked_example(student):
    """dpo_loss: a worked example"""
    args = [torch.tensor([-10.0], dtype=torch.float64), torch.tensor([-12.0], dtype=torch.float64),
            torch.tensor([-11.0], dtype=torch.float64), torch.tensor([-11.0], dtype=torch.float64)]
    # implicit rewards 0.5·(−10 + 11) = 0.5 and 0.5·(−12 + 11) = −0.5: margin 1
    got = student.dpo_loss(*args, 0.5)
    expect_scalar_close(got, math.log1p(math.exp(-1.0)),
                        call="dpo_loss(logp_chosen, logp_rejected, ref_logp_chosen, ref_logp_rejected, beta=0.5)",
                        inputs=dict(zip(["logp_chosen", "logp_rejected", "ref_logp_chosen",
                                         "ref_logp_rejected"], args)), rtol=1e-6,
                        dtype=torch.float64)
