"""Hidden end-to-end test for `diffusion`: the grader trains a tiny ε-model on 2-D data with the
student's ddpm_loss and checks that the true loss goes down."""

import math

import pytest
import torch

from autograder.helpers.diffusion import time_features
from autograder.testing import Helper, expect, expect_tensor, fail, points, timeout

F64 = torch.float64
T = 50
HIDDEN = 32


def two_blobs(n, gen):
    """2-D data: two Gaussian blobs at ±(1.5, 0.5) with standard deviation 0.25."""
    side = torch.randint(0, 2, (n,), generator=gen).to(F64) * 2 - 1
    return torch.stack([1.5 * side, 0.5 * side], -1) + 0.25 * torch.randn(n, 2, generator=gen, dtype=F64)


def forward(params, x_t, t):
    """The same network as Helper("diffusion_mlp"), written on the grader's parameter tensors."""
    w1, b1, w2, b2 = params
    h = torch.cat([x_t, time_features(t, T, x_t.dtype)], dim=-1)
    return torch.tanh(h @ w1.T + b1) @ w2.T + b2


def true_loss(params, x0, t, noise, ab):
    a = ab[t].reshape(-1, 1)
    with torch.no_grad():
        return ((noise - forward(params, a.sqrt() * x0 + (1 - a).sqrt() * noise, t)) ** 2).mean().item()


@pytest.mark.slow
@timeout(60)
@points(2)
def test_training_with_ddpm_loss_reduces_the_loss(student, rng):
    """ddpm_loss: training a tiny ε-model with it (60 Adam steps) reduces the denoising loss"""
    ab = torch.cumprod(1 - torch.linspace(1e-3, 0.2, T, dtype=F64), 0)
    params = [torch.randn(HIDDEN, 6, generator=rng, dtype=F64) / math.sqrt(6), torch.zeros(HIDDEN, dtype=F64),
              torch.randn(2, HIDDEN, generator=rng, dtype=F64) * 0.5 / math.sqrt(HIDDEN),
              torch.zeros(2, dtype=F64)]
    params = [p.requires_grad_() for p in params]
    opt = torch.optim.Adam(params, lr=3e-2)
    ev_x0, ev_t = two_blobs(1024, rng), torch.randint(0, T, (1024,), generator=rng)
    ev_noise = torch.randn(1024, 2, generator=rng, dtype=F64)
    before = true_loss(params, ev_x0, ev_t, ev_noise, ab)
    call = "ddpm_loss(eps_model, x0, t, noise, alpha_bars)"
    B, steps = 512, 60
    for step in range(steps):
        x0, t = two_blobs(B, rng), torch.randint(0, T, (B,), generator=rng)
        noise = torch.randn(B, 2, generator=rng, dtype=F64)
        model = Helper("diffusion_mlp", weights=[p.detach().clone() for p in params], T=T)
        value, (g_x0, g_noise) = student.grad("ddpm_loss", model, x0, t, noise, ab, wrt=(1, 3))
        if step == 0:
            expect_tensor(value, call=call, shape=(), dtype=F64)
        if g_noise is None:
            fail(f"{call}: no gradient flows back through the loss, so the model cannot be trained. "
                 "Keep every step a torch operation (no .item(), .detach(), .numpy(), torch.no_grad() "
                 "or torch.tensor(...) around the result).")
        # The input gradients carry the error the model is trained on:
        # dL/dnoise − sqrt((1 − ᾱ)/ᾱ)·dL/dx0 = dL/dε̂ (whether or not x_t is detached);
        # backpropagate it through the grader's copy of the network.
        a = ab[t].reshape(-1, 1)
        g_x0 = torch.zeros_like(x0) if g_x0 is None else g_x0
        d_out = -(g_noise - ((1 - a) / a).sqrt() * g_x0)
        out = forward(params, a.sqrt() * x0 + (1 - a).sqrt() * noise, t)
        opt.zero_grad()
        out.backward(d_out)
        opt.step()
        if not all(torch.isfinite(p).all() for p in params):
            fail(f"training with {call} made the model's weights non-finite after {step + 1} steps.")
    after = true_loss(params, ev_x0, ev_t, ev_noise, ab)
    expect(after <= 0.5 * before,
           f"training a small ε-network with your {call} for {steps} Adam steps (lr 0.03, batches of {B} "
           f"2-D points, T = {T}) did not learn to predict the noise: the held-out denoising loss "
           f"mean (ε − ε_θ(x_t, t))² went from {before:.4f} to {after:.4f}; a correct loss brings "
           "it below half. Check that the loss compares the model's prediction at x_t with the "
           "noise that was added, and that gradients reach the model.")
