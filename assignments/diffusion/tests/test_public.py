"""Public tests for `diffusion`: shapes, dtypes and small examples worked out by hand.

Run them with `gmgrade check diffusion diffusion.ipynb` (or `diffusion.py`). The grader runs
more tests than these (other inputs, edge cases, the sampler's distribution, training).
"""

import math

import torch

from autograder.testing import Helper, expect, expect_close, expect_tensor, fail, points

F64, F32 = torch.float64, torch.float32


@points(1)
def test_linear_beta_schedule_small(student):
    """linear_beta_schedule: T = 5 from 1e-4 to 0.02"""
    got = student.linear_beta_schedule(5)
    want = torch.tensor([1e-4, 0.005075, 0.01005, 0.015025, 0.02], dtype=F64)
    expect_close(got, want, call="linear_beta_schedule(5)", rtol=1e-5, atol=1e-8)


@points(1)
def test_alpha_bars_small(student):
    """alpha_bars: [0.1, 0.2, 0.5] gives [0.9, 0.72, 0.36]"""
    betas = torch.tensor([0.1, 0.2, 0.5], dtype=F64)
    expect_close(student.alpha_bars(betas), torch.tensor([0.9, 0.72, 0.36], dtype=F64),
                 call="alpha_bars(betas)", inputs={"betas": betas}, rtol=1e-5, atol=1e-10)


@points(1)
def test_q_sample_small_images(student):
    """q_sample: two 1×2 "images" at t = 0 and t = 2"""
    alpha_bars = torch.tensor([0.64, 0.36, 0.25], dtype=F64)
    x0 = torch.tensor([[[1.0, -2.0]], [[3.0, 0.5]]], dtype=F64)      # (B=2, 1, 2)
    noise = torch.tensor([[[0.5, 1.0]], [[-1.0, 2.0]]], dtype=F64)
    t = torch.tensor([0, 2])
    # sample 0: sqrt(0.64) = 0.8, sqrt(0.36) = 0.6;  sample 1: sqrt(0.25) = 0.5, sqrt(0.75)
    r = math.sqrt(0.75)
    want = torch.tensor([[[0.8 + 0.3, -1.6 + 0.6]], [[1.5 - r, 0.25 + 2 * r]]], dtype=F64)
    flat = alpha_bars[t].reshape(-1, 1)  # (B, 1) broadcasts against the last dims, not the batch
    expect_close(student.q_sample(x0, t, noise, alpha_bars), want, call="q_sample(x0, t, noise, alpha_bars)",
                 inputs={"x0": x0, "t": t, "noise": noise, "alpha_bars": alpha_bars}, rtol=1e-5, atol=1e-8,
                 mistakes={"alpha_bars[t] must be reshaped to (B, 1, …, 1), one 1 per non-batch dim of x0; "
                           "a (B, 1) view only broadcasts over (B, D) data":
                           flat.sqrt() * x0 + (1 - flat).sqrt() * noise})


@points(1)
def test_q_sample_keeps_dtype(student):
    """q_sample: float32 x0 with float64 alpha_bars gives float32"""
    alpha_bars = torch.tensor([0.9, 0.5], dtype=F64)
    x0 = torch.ones(3, 2, dtype=F32)
    got = student.q_sample(x0, torch.tensor([0, 1, 1]), torch.zeros(3, 2, dtype=F32), alpha_bars)
    expect_tensor(got, call="q_sample(x0, t, noise, alpha_bars)", inputs={"x0": x0}, shape=(3, 2), dtype=F32)


@points(1)
def test_ddpm_loss_small(student):
    """ddpm_loss: with ε̂ = 0.5·x_t the loss is mean((noise − 0.5·x_t)²)"""
    alpha_bars = torch.tensor([0.64, 0.36], dtype=F64)
    x0 = torch.tensor([[1.0, 2.0, 0.0], [-1.0, 0.5, 1.0]], dtype=F64)
    noise = torch.tensor([[0.5, -1.0, 1.0], [2.0, 0.0, -0.5]], dtype=F64)
    t = torch.tensor([1, 0])
    coef = torch.tensor([[0.6, 0.8], [0.8, 0.6]], dtype=F64)       # (sqrt(ᾱ_t), sqrt(1 − ᾱ_t)) per sample
    x_t = coef[:, :1] * x0 + coef[:, 1:] * noise
    want = ((noise - 0.5 * x_t) ** 2).mean()
    got = student.ddpm_loss(Helper("diffusion_linear_eps", scale=0.5), x0, t, noise, alpha_bars)
    expect_close(got, want, call="ddpm_loss(eps_model, x0, t, noise, alpha_bars) with ε̂ = 0.5·x_t",
                 inputs={"x0": x0, "t": t, "noise": noise}, rtol=1e-5, atol=1e-8,
                 mistakes={"that is the sum; the loss is the mean over all elements": want * 6})


@points(1)
def test_q_posterior_small(student):
    """q_posterior: t = 0 gives (x0, 0); t = 1 by hand"""
    betas = torch.tensor([0.1, 0.2], dtype=F64)                     # ᾱ = [0.9, 0.72]
    x0 = torch.tensor([[1.0, -1.0], [2.0, 0.5]], dtype=F64)
    x_t = torch.tensor([[0.5, 0.5], [-1.0, 3.0]], dtype=F64)
    t = torch.tensor([0, 1])
    got = student.q_posterior(x0, x_t, t, betas)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail("q_posterior(x0, x_t, t, betas) should return a tuple (mean, var)")
    mean, var = got
    c0 = math.sqrt(0.9) * 0.2 / 0.28           # sqrt(ᾱ_0) β_1 / (1 − ᾱ_1)
    c1 = math.sqrt(0.8) * 0.1 / 0.28           # sqrt(α_1) (1 − ᾱ_0) / (1 − ᾱ_1)
    want_mean = torch.stack([x0[0], c0 * x0[1] + c1 * x_t[1]])
    expect_close(mean, want_mean, call="q_posterior(x0, x_t, t, betas)",
                 inputs={"x0": x0, "x_t": x_t, "t": t, "betas": betas}, rtol=1e-5, atol=1e-8, part="[0] (mean)")
    var = expect_tensor(var, call="q_posterior(x0, x_t, t, betas)", dtype=F64)
    try:
        full = var.expand(2, 2)
    except RuntimeError:
        fail(f"q_posterior: var has shape {tuple(var.shape)}; it must broadcast against x_t (2, 2), "
             "e.g. shape (B, 1)")
    want_var = torch.tensor([[0.0, 0.0], [0.1 * 0.2 / 0.28] * 2], dtype=F64)
    expect_close(full, want_var, call="q_posterior(x0, x_t, t, betas)", rtol=1e-5, atol=1e-10,
                 part="[1] (var, broadcast to x_t)")


@points(1)
def test_p_sample_step_small(student):
    """p_sample_step: ε̂ = 0.5·x_t, t = 1 and t = 0 (no noise at t = 0)"""
    betas = torch.tensor([0.1, 0.2], dtype=F64)                     # ᾱ = [0.9, 0.72]
    x_t = torch.tensor([[1.0, -2.0], [0.5, 4.0]], dtype=F64)
    noise = torch.tensor([[1.0, 1.0], [3.0, -3.0]], dtype=F64)
    t = torch.tensor([1, 0])
    rows = []
    for x, z, b, ab, keep in [(x_t[0], noise[0], 0.2, 0.72, 1.0), (x_t[1], noise[1], 0.1, 0.9, 0.0)]:
        mean = (x - b / math.sqrt(1 - ab) * 0.5 * x) / math.sqrt(1 - b)
        rows.append(mean + keep * math.sqrt(b) * z)
    want = torch.stack(rows)
    got = student.p_sample_step(Helper("diffusion_linear_eps", scale=0.5), x_t, t, betas, noise)
    expect_close(got, want, call="p_sample_step(eps_model, x_t, t, betas, noise) with ε̂ = 0.5·x_t",
                 inputs={"x_t": x_t, "t": t, "noise": noise}, rtol=1e-5, atol=1e-8)


@points(1)
def test_sample_shape_dtype_and_generator(student):
    """sample: shape, dtype of betas, and the same generator seed gives the same result"""
    betas = torch.linspace(0.01, 0.2, 10, dtype=F32)
    eps = Helper("diffusion_linear_eps", scale=0.3)
    call = "sample(eps_model, (5, 2, 3), betas, generator)"
    a = expect_tensor(student.sample(eps, (5, 2, 3), betas, generator=Helper("generator", seed=1)),
                      call=call, shape=(5, 2, 3), dtype=F32)
    b = expect_tensor(student.sample(eps, (5, 2, 3), betas, generator=Helper("generator", seed=1)),
                      call=call, shape=(5, 2, 3), dtype=F32)
    expect(torch.equal(a, b), f"{call}: the same generator seed gave different samples; draw every "
           "random number with generator=generator")
    expect_tensor(student.sample(eps, (4, 3), betas), call="sample(eps_model, (4, 3), betas)",
                  shape=(4, 3), dtype=F32)
