"""Hidden tests: reward_model_loss (values, stability, gradients) and an end-to-end reward model."""

import math

import pytest
import torch
import torch.nn.functional as F

from autograder.testing import expect, expect_close, expect_scalar_close, fail, points, timeout

CALL = "reward_model_loss(r_chosen, r_rejected)"


def _rewards(rng, B, dtype, scale=2.0):
    rc = torch.randn(B, generator=rng, dtype=torch.float64) * scale
    rr = torch.randn(B, generator=rng, dtype=torch.float64) * scale
    return rc.to(dtype), rr.to(dtype)


def rm_mistakes(rc, rr):
    gap = (rc - rr).double()
    return {
        "chosen and rejected are swapped: the loss is −mean log σ(r_chosen − r_rejected)":
            F.softplus(gap).mean(),
        "the sign is missing: the loss is the *negative* mean log-likelihood, −mean log σ(gap)":
            F.logsigmoid(gap).mean(),
        "this is the sum over the pairs; the loss is their mean": F.softplus(-gap).sum(),
        "log σ is missing: the loss is −mean log σ(gap), not −mean σ(gap)": -torch.sigmoid(gap).mean(),
    }


def _inputs(rc, rr):
    return {"r_chosen": rc, "r_rejected": rr}


@points(2)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_reward_model_loss_values(student, reference, rng, dtype):
    """reward_model_loss: values on random rewards"""
    for B in (1, 7):
        rc, rr = _rewards(rng, B, dtype)
        tol = 1e-6 if dtype == torch.float64 else 1e-5  # float32 internals pass
        expect_close(student.reward_model_loss(rc, rr), reference.reward_model_loss(rc, rr),
                     call=CALL, inputs=_inputs(rc, rr), rtol=tol, atol=tol,
                     mistakes=rm_mistakes(rc, rr))


@points(2)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reward_model_loss_stable(student, dtype):
    """reward_model_loss: finite and correct for reward gaps of ±100"""
    for rc, rr in [([-50.0, 60.0, 0.0, 10.0], [50.0, -40.0, 0.0, 40.0]),   # gaps −100, 100, 0, −30
                   ([-100.0], [0.0]), ([100.0], [0.0]), ([1000.0], [1100.0])]:
        rc_t, rr_t = torch.tensor(rc, dtype=dtype), torch.tensor(rr, dtype=dtype)
        expected = F.softplus(-(rc_t.double() - rr_t.double())).mean().to(dtype)
        expect_close(student.reward_model_loss(rc_t, rr_t), expected, call=CALL,
                     inputs=_inputs(rc_t, rr_t), rtol=1e-5, atol=1e-6,
                     mistakes={"log(sigmoid(gap)) underflows for a gap of −100 (sigmoid → 0, "
                               "log 0 = −inf); use F.logsigmoid(gap) or −F.softplus(−gap)":
                               torch.tensor(math.inf)} | rm_mistakes(rc_t, rr_t))


@points(1)
def test_reward_model_loss_log2_at_zero_gap(student, rng):
    """reward_model_loss: log 2 at a gap of 0, whatever the rewards"""
    r = torch.randn(6, generator=rng) * 300
    got = student.reward_model_loss(r, r.clone())
    expect_scalar_close(got, math.log(2.0), call="reward_model_loss(r, r)", inputs={"r": r},
                        rtol=1e-6, dtype=torch.float32)


@points(2)
def test_reward_model_loss_gradients(student, rng):
    """reward_model_loss: gradients push r_chosen up and r_rejected down"""
    rc, rr = _rewards(rng, 5, torch.float64, scale=4.0)
    value, (g_c, g_r) = student.grad("reward_model_loss", rc, rr, wrt=(0, 1))
    if g_c is None or g_r is None:
        fail(f"{CALL}\n  no gradient reaches {'r_chosen' if g_c is None else 'r_rejected'}; compute the "
             "loss with torch operations on the inputs (no .item(), .detach(), numpy or torch.tensor(...))")
    weight = torch.sigmoid(-(rc - rr)) / rc.numel()  # dL/d(gap) = −σ(−gap)/B
    expect_close(g_c, -weight, call=f"d {CALL} / d r_chosen", inputs=_inputs(rc, rr), rtol=1e-5,
                 atol=1e-8, mistakes={
                     "the gradient has the wrong sign: minimising the loss must raise r_chosen "
                     "(check the sign and which reward comes first)": weight,
                     "the gradient is B times too large: average over the pairs, do not sum":
                         -weight * rc.numel()})
    expect(bool((g_c < 0).all()) and bool((g_r > 0).all()), f"{CALL}\n  gradient descent must raise "
           "r_chosen (negative gradient) and lower r_rejected (positive gradient)")
    expect_close(g_r, weight, call=f"d {CALL} / d r_rejected", inputs=_inputs(rc, rr), rtol=1e-5,
                 atol=1e-8)


# --------------------------------------------------------------------------- end to end

ACCURACY_NEEDED = 0.8


def _preference_data(gen, dim, n):
    a = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    b = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    return a, b


@points(3)
@pytest.mark.slow
@timeout(45)
def test_reward_model_trains_end_to_end(student):
    """reward_model_loss: end to end, a reward model trained with your loss ranks new pairs"""
    gen = torch.Generator().manual_seed(2024)
    dim, n_train, n_test, steps = 8, 256, 1000, 20
    w_true = torch.randn(dim, generator=gen, dtype=torch.float64)
    a, b = _preference_data(gen, dim, n_train)
    # synthetic annotators: Bradley–Terry preferences under the hidden reward w_true·y
    prefer_a = torch.rand(n_train, generator=gen, dtype=torch.float64) < torch.sigmoid(2.0 * (a - b) @ w_true)
    chosen = torch.where(prefer_a[:, None], a, b)
    rejected = torch.where(prefer_a[:, None], b, a)
    test_a, test_b = _preference_data(gen, dim, n_test)

    # a tiny reward model, trained here; only the reward tensors go to your loss
    w1 = (torch.randn(dim, 16, generator=gen, dtype=torch.float64) / dim ** 0.5).requires_grad_()
    b1 = torch.zeros(16, dtype=torch.float64, requires_grad=True)
    w2 = (torch.randn(16, generator=gen, dtype=torch.float64) / 4).requires_grad_()

    def reward(y):
        return torch.tanh(y @ w1 + b1) @ w2

    opt = torch.optim.Adam([w1, b1, w2], lr=0.05)
    for step in range(steps):
        r_c, r_r = reward(chosen), reward(rejected)
        loss, (g_c, g_r) = student.grad("reward_model_loss", r_c.detach(), r_r.detach(), wrt=(0, 1))
        if g_c is None or g_r is None:
            fail(f"{CALL}\n  returned no gradient for the rewards, so the reward model cannot be "
                 "trained; compute the loss with torch operations on the inputs")
        if not (isinstance(g_c, torch.Tensor) and g_c.shape == r_c.shape and torch.isfinite(g_c).all()
                and isinstance(g_r, torch.Tensor) and g_r.shape == r_r.shape and torch.isfinite(g_r).all()):
            fail(f"{CALL}\n  gave missing or non-finite gradients at training step {step}")
        opt.zero_grad()
        torch.autograd.backward([r_c, r_r], [g_c.to(r_c.dtype), g_r.to(r_r.dtype)])
        opt.step()
    with torch.no_grad():
        agree = (reward(test_a) > reward(test_b)) == ((test_a @ w_true) > (test_b @ w_true))
    accuracy = agree.double().mean().item()
    expect(accuracy >= ACCURACY_NEEDED,
           f"a small reward model trained for {steps} Adam steps with gradients of your "
           f"reward_model_loss on {n_train} synthetic preference pairs ranks {accuracy:.0%} of "
           f"{n_test} new pairs like the hidden true reward; at least {ACCURACY_NEEDED:.0%} is "
           "expected (the reference reaches about 95%)."
           + (" Your loss trains the model the wrong way round: minimising it must raise the "
              "chosen reward above the rejected one." if accuracy < 0.5 else ""))
