"""Hidden tests: clauses of the spec that no other test exercised (docs/spec-audit.md).

"Functions never modify their inputs in place" for every function but q_sample (the only
one that had a test of it), and alpha_bars in float32.
"""

from __future__ import annotations

import torch

from autograder.testing import Helper, expect_close, expect_inputs_kept, expect_tensor, points

F64 = torch.float64


@points(1)
def test_loss_posterior_and_step_keep_inputs(student, reference):
    """alpha_bars, ddpm_loss, q_posterior, p_sample_step, sample: no argument is modified in place"""
    T = 10
    betas = torch.linspace(1e-3, 0.2, T, dtype=F64)
    ab = torch.cumprod(1.0 - betas, 0)
    model = Helper("diffusion_toy_eps", shape=[4], T=T, seed=5)
    x0, x_t, noise = torch.randn(3, 3, 4, dtype=F64).unbind(0)
    t = torch.tensor([1, 0, 9])
    calls = [("alpha_bars", (betas,), ["betas"]),
             ("ddpm_loss", (model, x0, t, noise, ab), ["eps_model", "x0", "t", "noise", "alpha_bars"]),
             ("q_posterior", (x0, x_t, t, betas), ["x0", "x_t", "t", "betas"]),
             ("p_sample_step", (model, x_t, t, betas, noise), ["eps_model", "x_t", "t", "betas", "noise"]),
             ("sample", (model, (2, 4), betas, Helper("generator", seed=3)),
              ["eps_model", "shape", "betas", "generator"])]
    for fn, args, names in calls:
        # sample draws its noise from the generator: no value to compare (any order of drawing is right)
        expect_inputs_kept(student, fn, args, names, "compute new tensors instead (avoid -=, /=, .sub_(), "
                           ".div_() etc. on the arguments)", None if fn == "sample" else reference)


@points(1)
def test_alpha_bars_float32(student, reference):
    """alpha_bars: float32 betas give float32 cumulative products"""
    betas = torch.linspace(1e-4, 0.02, 50, dtype=torch.float32)
    call = "alpha_bars(betas) with float32 betas"
    got = expect_tensor(student.alpha_bars(betas), call=call, inputs={"betas": betas}, shape=(50,),
                        dtype=torch.float32)
    expect_close(got, reference.alpha_bars(betas), call=call, inputs={"betas": betas}, rtol=1e-5, atol=1e-6)
