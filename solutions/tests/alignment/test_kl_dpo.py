"""Hidden tests: kl_penalized_reward (sign convention) and dpo_loss (values, stability, gradients)."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, strategies as st

from autograder.testing import expect, expect_close, expect_scalar_close, fail, points, timeout

KL_CALL = "kl_penalized_reward(reward, logp_policy, logp_ref, beta={beta})"
DPO_CALL = "dpo_loss(logp_chosen, logp_rejected, ref_logp_chosen, ref_logp_rejected, beta={beta})"
DPO_NAMES = ["logp_chosen", "logp_rejected", "ref_logp_chosen", "ref_logp_rejected"]


# --------------------------------------------------------------------------- KL-penalised reward


def _kl_inputs(rng, B, dtype):
    reward = torch.randn(B, generator=rng, dtype=torch.float64) * 2
    logp_policy = -torch.rand(B, generator=rng, dtype=torch.float64) * 40 - 1
    logp_ref = logp_policy + torch.randn(B, generator=rng, dtype=torch.float64) * 3
    return reward.to(dtype), logp_policy.to(dtype), logp_ref.to(dtype)


def kl_mistakes(reward, lp, lr, beta):
    reward, lp, lr = reward.double(), lp.double(), lr.double()
    return {
        "the penalty has the wrong sign: subtract β·(logp_policy − logp_ref) from the reward "
        "(a response the policy likes more than the reference loses reward)": reward + beta * (lp - lr),
        "β is missing: the penalty is β·(logp_policy − logp_ref)": reward - (lp - lr),
        "the per-sample KL term is logp_policy − logp_ref itself and may be negative; do not take "
        "its absolute value": reward - beta * (lp - lr).abs(),
        "β multiplies the reward instead of the KL term": beta * reward - (lp - lr),
    }


@points(2)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_kl_penalized_reward_values(student, reference, rng, dtype):
    """kl_penalized_reward: values on random inputs"""
    for beta in (0.1, 1.7):
        reward, lp, lr = _kl_inputs(rng, 9, dtype)
        got = student.kl_penalized_reward(reward, lp, lr, beta)
        tol = 1e-6 if dtype == torch.float64 else 1e-5  # float32 internals pass
        expect_close(got, reference.kl_penalized_reward(reward, lp, lr, beta),
                     call=KL_CALL.format(beta=beta),
                     inputs={"reward": reward, "logp_policy": lp, "logp_ref": lr}, rtol=tol, atol=tol,
                     mistakes=kl_mistakes(reward, lp, lr, beta))


@points(1)
def test_kl_penalized_reward_sign_convention(student):
    """kl_penalized_reward: a response the policy favours more than the reference loses reward"""
    reward = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64)
    lp = torch.tensor([-2.0, -8.0, -5.0], dtype=torch.float64)
    lr = torch.tensor([-5.0, -5.0, -5.0], dtype=torch.float64)
    for beta in (0.0, 0.25):
        got = student.kl_penalized_reward(reward, lp, lr, beta)
        expect_close(got, reward - beta * (lp - lr), call=KL_CALL.format(beta=beta),
                     inputs={"reward": reward, "logp_policy": lp, "logp_ref": lr}, rtol=1e-6,
                     atol=1e-6, mistakes=kl_mistakes(reward, lp, lr, beta))
        if beta:
            expect(bool(got[0] < reward[0]) and bool(got[1] > reward[1]) and bool(got[2] == reward[2]),
                   f"{KL_CALL.format(beta=beta)}\n  returned {got.tolist()} for reward 1: the first "
                   "response (policy more likely than the reference) must lose reward, the second "
                   "gain, the third stay")


# --------------------------------------------------------------------------- DPO


def _dpo_inputs(rng, B, dtype, spread=3.0):
    ref_c = -torch.rand(B, generator=rng, dtype=torch.float64) * 50 - 5
    ref_r = -torch.rand(B, generator=rng, dtype=torch.float64) * 50 - 5
    lp_c = ref_c + torch.randn(B, generator=rng, dtype=torch.float64) * spread
    lp_r = ref_r + torch.randn(B, generator=rng, dtype=torch.float64) * spread
    return [t.to(dtype) for t in (lp_c, lp_r, ref_c, ref_r)]


def _bt(margin):
    return F.softplus(-margin.double()).mean()


def dpo_mistakes(args, beta):
    lp_c, lp_r, ref_c, ref_r = (t.double() for t in args)
    m = (lp_c - ref_c) - (lp_r - ref_r)
    return {
        "the margin has the wrong sign (chosen and rejected swapped, or log π_ref − log π): it is "
        "β[(logp_chosen − ref_logp_chosen) − (logp_rejected − ref_logp_rejected)]": _bt(-beta * m),
        "the reference log-probabilities are paired with the wrong responses: subtract "
        "ref_logp_chosen from logp_chosen and ref_logp_rejected from logp_rejected":
            _bt(beta * ((lp_c - ref_r) - (lp_r - ref_c))),
        "the reference model is missing: the implicit reward is β·(log π − log π_ref)":
            _bt(beta * (lp_c - lp_r)),
        "β multiplies the loss instead of the margin inside the log-sigmoid": beta * _bt(m),
        "β is missing from the margin": _bt(m),
        "the sign is missing: the loss is −mean log σ(margin)": -_bt(beta * m),
        "this is the sum over the pairs; the loss is their mean": _bt(beta * m) * m.numel(),
    }


def _dpo_inputs_dict(args):
    return dict(zip(DPO_NAMES, args))


@points(2)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_dpo_loss_values(student, reference, rng, dtype):
    """dpo_loss: values on random log-probabilities"""
    for beta, B in ((0.1, 6), (0.5, 1), (2.0, 5)):
        args = _dpo_inputs(rng, B, dtype)
        tol = 1e-5 if dtype == torch.float64 else 3e-5  # float32 internals pass
        expect_close(student.dpo_loss(*args, beta), reference.dpo_loss(*args, beta),
                     call=DPO_CALL.format(beta=beta), inputs=_dpo_inputs_dict(args), rtol=tol, atol=tol,
                     mistakes=dpo_mistakes(args, beta))


@points(1)
@timeout(20)  # 30 hypothesis examples, one call each
@given(seed=st.integers(0, 2**31 - 1), B=st.integers(1, 6), beta=st.floats(0.01, 3.0))
def test_dpo_loss_is_bradley_terry_on_implicit_rewards(student, seed, B, beta):
    """dpo_loss: equals the Bradley–Terry loss on the implicit rewards β·(log π − log π_ref)"""
    gen = torch.Generator().manual_seed(seed)
    args = _dpo_inputs(gen, B, torch.float64, spread=5.0)
    lp_c, lp_r, ref_c, ref_r = args
    expected = -F.logsigmoid(beta * (lp_c - ref_c) - beta * (lp_r - ref_r)).mean()
    expect_close(student.dpo_loss(*args, beta), expected, call=DPO_CALL.format(beta=repr(beta)),
                 inputs=_dpo_inputs_dict(args), rtol=1e-5, atol=1e-5,
                 mistakes=dpo_mistakes(args, beta))


@points(2)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dpo_loss_stable(student, dtype):
    """dpo_loss: finite and correct for long sequences (margins of ±100s)"""
    lp_c = torch.tensor([-350.0, -1500.0, -820.0, -95.0], dtype=dtype)
    lp_r = torch.tensor([-700.0, -1100.0, -820.0, -400.0], dtype=dtype)
    ref_c = torch.tensor([-600.0, -1300.0, -800.0, -300.0], dtype=dtype)
    ref_r = torch.tensor([-500.0, -1300.0, -800.0, -200.0], dtype=dtype)
    args = [lp_c, lp_r, ref_c, ref_r]
    for beta in (0.5, 1.0):
        margin = beta * ((lp_c.double() - ref_c.double()) - (lp_r.double() - ref_r.double()))
        expected = F.softplus(-margin).mean().to(dtype)
        expect_close(student.dpo_loss(*args, beta), expected, call=DPO_CALL.format(beta=beta),
                     inputs=_dpo_inputs_dict(args), rtol=1e-5, atol=1e-6,
                     mistakes={"log(sigmoid(margin)) underflows for a margin of −100 or less; use "
                               "F.logsigmoid(margin) or −F.softplus(−margin)": torch.tensor(math.inf)}
                     | dpo_mistakes(args, beta))


@points(1)
def test_dpo_loss_log2_at_reference(student, rng):
    """dpo_loss: log 2 whenever the policy equals the reference"""
    for beta in (0.05, 3.0):
        lp_c, lp_r, _, _ = _dpo_inputs(rng, 5, torch.float64)
        got = student.dpo_loss(lp_c, lp_r, lp_c.clone(), lp_r.clone(), beta)
        expect_scalar_close(got, math.log(2.0), call=DPO_CALL.format(beta=beta) + " with the policy "
                            "equal to the reference", inputs={"logp_chosen": lp_c, "logp_rejected": lp_r},
                            rtol=1e-6, dtype=torch.float64)


@points(2)
def test_dpo_loss_gradients(student, rng):
    """dpo_loss: gradients raise logp_chosen and lower logp_rejected"""
    beta = 0.3
    args = _dpo_inputs(rng, 4, torch.float64)
    call = DPO_CALL.format(beta=beta)
    _, (g_c, g_r) = student.grad("dpo_loss", *args, beta, wrt=(0, 1))
    if g_c is None or g_r is None:
        fail(f"{call}\n  no gradient reaches {'logp_chosen' if g_c is None else 'logp_rejected'}; "
             "compute the loss with torch operations on the inputs (no .item(), .detach() or numpy)")
    lp_c, lp_r, ref_c, ref_r = args
    m = beta * ((lp_c - ref_c) - (lp_r - ref_r))
    weight = beta * torch.sigmoid(-m) / m.numel()  # dL/d logp_chosen = −β σ(−m) / B
    expect_close(g_c, -weight, call=f"d {call} / d logp_chosen", inputs=_dpo_inputs_dict(args),
                 rtol=1e-5, atol=1e-8, mistakes={
                     "the gradient has the wrong sign: minimising the DPO loss must raise "
                     "logp_chosen": weight})
    expect_close(g_r, weight, call=f"d {call} / d logp_rejected", inputs=_dpo_inputs_dict(args),
                 rtol=1e-5, atol=1e-8)
    expect(bool((g_c < 0).all()) and bool((g_r > 0).all()), f"{call}\n  gradient descent must raise "
           "logp_chosen and lower logp_rejected")
