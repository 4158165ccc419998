"""Hidden tests for `diffusion`: the schedule, ᾱ, the forward jump q(x_t | x_0) and the loss."""

import math

import pytest
import torch

from autograder.testing import Helper, expect, expect_close, expect_tensor, fail, points

F64, F32 = torch.float64, torch.float32


def cumprod(betas):
    return torch.cumprod(1 - betas, 0)


def shifted(ab):
    """ᾱ with the 1-based confusion: the product up to t − 1 (1 before the first step)."""
    return torch.cat([ab.new_ones(1), ab[:-1]])


def bview(v, x):
    return v.reshape((-1,) + (1,) * (x.dim() - 1))


# --------------------------------------------------------------------------- schedule


def _linear_beta_schedule_values(student, reference, T, start, end):
    got = student.linear_beta_schedule(T, start, end)
    want = reference.linear_beta_schedule(T, start, end)
    expect_close(got, want, call=f"linear_beta_schedule({T}, beta_start={start:g}, beta_end={end:g})",
                 rtol=1e-5, atol=1e-9,
                 mistakes={"the last value is missing: the schedule includes beta_end itself "
                           "(torch.linspace(beta_start, beta_end, T))":
                           torch.linspace(start, end, T + 1, dtype=F64)[:-1],
                           "the first value is missing: betas[0] must be beta_start":
                           torch.linspace(start, end, T + 1, dtype=F64)[1:]})


@points(0.25)
@pytest.mark.parametrize("case", [(2, 1e-4, 0.02), (7, 1e-4, 0.02), (1000, 1e-4, 0.02), (13, 0.003, 0.25)],
                         ids=["2-0.0001-0.02", "7-0.0001-0.02", "1000-0.0001-0.02", "13-0.003-0.25"])
def test_linear_beta_schedule_values(student, reference, case):
    """linear_beta_schedule: T values from beta_start to beta_end, both included, float64"""
    _linear_beta_schedule_values(student, reference, *case)


def _alpha_bars_values(student, reference, dtype):
    betas = (torch.rand(9, dtype=F64) * 0.3 + 0.01).to(dtype)
    got = student.alpha_bars(betas)
    want = reference.alpha_bars(betas.double()).to(dtype)
    expect_close(got, want, call="alpha_bars(betas)", inputs={"betas": betas}, rtol=1e-5, atol=1e-7,
                 mistakes={"ᾱ_t must include step t itself (0-based): alpha_bars[0] = 1 − betas[0], "
                           "not 1": shifted(want),
                           "that is the product of the β; ᾱ is the product of α = 1 − β":
                           torch.cumprod(betas.double(), 0).to(dtype)})


@points(0.5)
@pytest.mark.parametrize("case", [(F64,), (F32,)], ids=["float64", "float32"])
def test_alpha_bars_values(student, reference, case):
    """alpha_bars: cumulative products of 1 − β, including the current step"""
    _alpha_bars_values(student, reference, *case)


# --------------------------------------------------------------------------- q_sample


def q_sample_mistakes(x0, t, noise, ab):
    a = bview(ab.to(x0.dtype)[t], x0)
    ap = bview(ab.to(x0.dtype)[t - 1], x0)   # t − 1 wraps to the last entry at t = 0, as Python does
    return {
        "the coefficients must be square roots: x_t = sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·noise":
            a * x0 + (1 - a) * noise,
        "the noise coefficient must be sqrt(1 − ᾱ_t) (the standard deviation, not the variance)":
            a.sqrt() * x0 + (1 - a) * noise,
        "x0 and noise are swapped: the signal keeps sqrt(ᾱ_t), the noise gets sqrt(1 − ᾱ_t)":
            (1 - a).sqrt() * x0 + a.sqrt() * noise,
        "looks like alpha_bars[t − 1] was used; t is 0-based, so step t uses alpha_bars[t]":
            ap.sqrt() * x0 + (1 - ap).sqrt() * noise,
    }


def _q_sample_values(student, reference, shape):
    T = 50
    ab = cumprod(torch.linspace(1e-3, 0.2, T, dtype=F64))
    B = shape[0]
    x0 = torch.randn(shape, dtype=F64)
    noise = torch.randn(shape, dtype=F64)
    t = torch.randint(0, T, (B,))
    t[0], t[-1] = 0, T - 1
    got = student.q_sample(x0, t, noise, ab)
    want = reference.q_sample(x0, t, noise, ab)
    expect_close(got, want, call="q_sample(x0, t, noise, alpha_bars)",
                 inputs={"x0": x0, "t": t, "noise": noise, "alpha_bars": ab}, rtol=1e-4, atol=1e-6,
                 mistakes=q_sample_mistakes(x0, t, noise, ab))


@points(1)
@pytest.mark.parametrize("case", [((6, 3),), ((5, 2, 3, 4),), ((4,),)], ids=["(6,3)", "(5,2,3,4)", "(4,)"])
def test_q_sample_values(student, reference, case):
    """q_sample: values for vectors, image-shaped x0 and one value per sample"""
    _q_sample_values(student, reference, *case)


@points(1)
def test_q_sample_float32_data_float64_schedule(student, reference):
    """q_sample: float32 x0 with a float64 alpha_bars returns float32"""
    ab = cumprod(torch.linspace(1e-4, 0.02, 1000, dtype=F64))
    x0 = torch.randn(4, 3, 5, dtype=F32)
    noise = torch.randn(4, 3, 5, dtype=F32)
    t = torch.tensor([0, 999, 17, 500])
    got = student.q_sample(x0, t, noise, ab)
    want = reference.q_sample(x0.double(), t, noise.double(), ab).float()
    expect_close(got, want, call="q_sample(x0, t, noise, alpha_bars)",
                 inputs={"x0": x0, "t": t, "alpha_bars": ab}, rtol=1e-4, atol=1e-5)


@points(1)
def test_q_sample_marginal_moments(student, reference):
    """q_sample: x_t has mean sqrt(ᾱ_t)·x0 and variance 1 − ᾱ_t"""
    T = 20
    ab = cumprod(torch.linspace(0.01, 0.3, T, dtype=F64))
    n, steps = 4000, [0, 7, 19]
    c = torch.tensor([[1.5, -2.0], [0.3, 4.0]], dtype=F64)       # the same x0 for every sample
    for s in steps:
        x0 = c.expand(n, 2, 2).clone()
        noise = torch.randn(n, 2, 2, dtype=F64)
        t = torch.full((n,), s, dtype=torch.int64)
        got = expect_tensor(student.q_sample(x0, t, noise, ab), call="q_sample(x0, t, noise, alpha_bars)",
                            inputs={"x0": x0, "t": t}, shape=(n, 2, 2), dtype=F64)
        m_want, v_want = ab[s].sqrt() * c, (1 - ab[s]).expand(2, 2)
        m_got, v_got = got.mean(0), got.var(0)
        # the band: 6 standard errors of the mean and of the variance for n samples
        ok_m = ((m_got - m_want).abs() <= 6 * (v_want / n).sqrt()).all()
        ok_v = ((v_got / v_want - 1).abs() <= 6 * math.sqrt(2 / n)).all()
        expect(ok_m and ok_v,
               f"q_sample(x0, t, noise, alpha_bars) with the same x0 = {c.tolist()} for {n} samples, "
               f"t = {s} (ᾱ_t = {ab[s].item():.4f}) and noise ~ N(0, 1):\n"
               f"  sample mean {m_got.tolist()}, expected sqrt(ᾱ_t)·x0 = {m_want.tolist()};\n"
               f"  sample variance {v_got.tolist()}, expected 1 − ᾱ_t = {(1 - ab[s]).item():.4f}.\n"
               "  x_t ~ N(sqrt(ᾱ_t) x0, (1 − ᾱ_t) I): check both coefficients and which entry of "
               "alpha_bars you use (t is 0-based).")
    # pair the property with the values at the same inputs
    x0 = torch.randn(5, 2, 2, dtype=F64)
    noise = torch.randn(5, 2, 2, dtype=F64)
    t = torch.tensor([0, 3, 19, 7, 1])
    expect_close(student.q_sample(x0, t, noise, ab), reference.q_sample(x0, t, noise, ab),
                 call="q_sample(x0, t, noise, alpha_bars)", inputs={"x0": x0, "t": t, "noise": noise},
                 rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- the loss


def loss_case(shape, dtype, T=30, seed=3):
    ab = cumprod(torch.linspace(1e-3, 0.25, T, dtype=F64))
    model = Helper("diffusion_toy_eps", shape=list(shape[1:]), T=T, seed=seed)
    x0 = torch.randn(shape, dtype=F64).to(dtype)
    noise = torch.randn(shape, dtype=F64).to(dtype)
    t = torch.randint(0, T, (shape[0],))
    t[0] = 0
    return model, x0, t, noise, ab


def loss_mistakes(model, x0, t, noise, ab):
    net = model.build()
    a = bview(ab[t], x0).to(x0.dtype)
    xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
    with torch.no_grad():
        eps = net(xt, t)
        eps_x0 = net(x0, t)
    err = (noise - eps) ** 2
    B = x0.shape[0]
    return {
        "that is the sum of the squared errors; the loss is the mean over all elements":
            err.sum(),
        "that is a per-sample sum averaged over the batch; the loss is the mean over ALL "
        "elements (like F.mse_loss)": err.reshape(B, -1).sum(1).mean(),
        "the target must be the noise that was added (ε), not x0": ((x0 - eps) ** 2).mean(),
        "the model must see x_t = q_sample(x0, t, noise, alpha_bars), not x0": ((noise - eps_x0) ** 2).mean(),
        "that is the mean absolute error; DDPM's simple loss squares the error": (noise - eps).abs().mean(),
    }


def _ddpm_loss_values(student, reference, shape, dtype):
    model, x0, t, noise, ab = loss_case(shape, dtype)
    got = student.ddpm_loss(model, x0, t, noise, ab)
    want = reference.ddpm_loss(model, x0.double(), t, noise.double(), ab).to(dtype)
    tol = dict(rtol=1e-4, atol=1e-7) if dtype == F64 else dict(rtol=1e-4, atol=1e-6)
    expect_close(got, want, call="ddpm_loss(eps_model, x0, t, noise, alpha_bars)",
                 inputs={"x0": x0, "t": t, "noise": noise, "alpha_bars": ab}, **tol,
                 mistakes=loss_mistakes(model, x0, t, noise, ab))


@points(1.5)
@pytest.mark.parametrize("case", [((7, 3), F64), ((5, 2, 3, 3), F64)],
                         ids=["(7,3)-float64", "(5,2,3,3)-float64"])
def test_ddpm_loss_values(student, reference, case):
    """ddpm_loss: the mean over all elements of (noise − ε_θ(x_t, t))² (vectors and images)"""
    _ddpm_loss_values(student, reference, *case)


@points(1)
def test_ddpm_loss_float32(student, reference):
    """ddpm_loss: the mean over all elements of (noise − ε_θ(x_t, t))² (float32)"""
    _ddpm_loss_values(student, reference, (6, 4), F32)


@points(1)
def test_ddpm_loss_gradient(student):
    """ddpm_loss: differentiable, with the gradient of the squared error"""
    model, x0, t, noise, ab = loss_case((6, 2, 3), F64, seed=5)
    value, (g_x0, g_noise) = student.grad("ddpm_loss", model, x0, t, noise, ab, wrt=(1, 3))
    expect_tensor(value, call="ddpm_loss(eps_model, x0, t, noise, alpha_bars)", shape=())
    if g_noise is None:
        fail("ddpm_loss(eps_model, x0, t, noise, alpha_bars): no gradient flows back through the "
             "loss. Training needs it: keep every step a torch operation on tensors (no .item(), "
             ".detach(), .numpy(), torch.no_grad() or torch.tensor(...) around the result).")
    # For L = mean((noise − f(x_t))²) with x_t = a·x0 + s·noise, the input gradients give the
    # error back: dL/dnoise − (s/a)·dL/dx0 = 2/n · (noise − f(x_t)) — whether or not the
    # student detaches x_t. It is what the model's parameters are trained with.
    a = bview(ab[t], x0)
    g_x0 = torch.zeros_like(x0) if g_x0 is None else g_x0
    got = g_noise - ((1 - a) / a).sqrt() * g_x0
    net = model.build()
    with torch.no_grad():
        eps = net(a.sqrt() * x0 + (1 - a).sqrt() * noise, t)
    want = 2.0 / x0.numel() * (noise - eps)
    expect_close(got, want, call="the gradient of ddpm_loss(eps_model, x0, t, noise, alpha_bars) with "
                 "respect to the model's output", inputs={"x0": x0, "t": t}, rtol=1e-4, atol=1e-7,
                 mistakes={"the gradient has the scale of a SUM of squared errors; use the mean":
                           want * x0.numel()})
