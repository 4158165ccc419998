"""Public tests for `diffusion`: shapes, dtypes and small examples worked out by hand.

Run them with `gmgrade check diffusion diffusion.ipynb` (or `diffusion.py`). The grader runs
more tests than these (other inputs, edge cases, the sampler's distribution, training).
"""

import math

import torch

from autograder.testing import Helper, expect, expect_close, expect_tensor, fail, points, upstream_mistakes

F64, F32 = torch.float64, torch.float32


@points(1)
def test_linear_beta_schedule_small(student):
    """linear_beta_schedule: T = 5 from 1e-4 to 0.02"""
    got = student.linear_beta_schedule(5)
    want = torch.tensor([1e-4, 0.005075, 0.01005, 0.015025, 0.02], dtype=F64)
    expect_close(got, want, call="linear_beta_schedule(5)", rtol=1e-5, atol=1e-8,
                 mistakes={"the last value is missing: the schedule includes beta_end itself "
                           "(torch.linspace(beta_start, beta_end, T))": torch.linspace(1e-4, 0.02, 6, dtype=F64)[:-1],
                           "the first value is missing: betas[0] must be beta_start":
                           torch.linspace(1e-4, 0.02, 6, dtype=F64)[1:]})


@points(1)
def test_alpha_bars_small(student):
    """alpha_bars: [0.1, 0.2, 0.5] gives [0.9, 0.72, 0.36]"""
    betas = torch.tensor([0.1, 0.2, 0.5], dtype=F64)
    expect_close(student.alpha_bars(betas), torch.tensor([0.9, 0.72, 0.36], dtype=F64),
                 call="alpha_bars(betas)", inputs={"betas": betas}, rtol=1e-5, atol=1e-10,
                 mistakes={"ᾱ_t must include step t itself (0-based): alpha_bars[0] = 1 − betas[0], not 1":
                           torch.tensor([1.0, 0.9, 0.72], dtype=F64),
                           "that is the product of the β; ᾱ is the product of α = 1 − β":
                           torch.tensor([0.1, 0.02, 0.01], dtype=F64)})


def _q_sample(x0, t, noise, alpha_bars, root=torch.sqrt, shift=0, flat=False):
    """x_t by hand; the keywords describe the usual slips (no square roots, alpha_bars[t − 1],
    a (B, 1) view of alpha_bars[t])."""
    ab = alpha_bars[t - shift].reshape(-1, 1) if flat else alpha_bars[t - shift].reshape(-1, *[1] * (x0.dim() - 1))
    return root(ab) * x0 + root(1 - ab) * noise


Q_SAMPLE_SLIPS = {
    "the coefficients must be square roots: x_t = sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·noise": {"root": lambda a: a},
    "looks like alpha_bars[t − 1] was used; t is 0-based, so step t uses alpha_bars[t]": {"shift": 1},
    "alpha_bars[t] must be reshaped to (B, 1, …, 1), one 1 per non-batch dim of x0; "
    "a (B, 1) view only broadcasts over (B, D) data": {"flat": True},
}


@points(1)
def test_q_sample_small_images(student):
    """q_sample: two 1×2 "images" at t = 1 and t = 2"""
    alpha_bars = torch.tensor([0.64, 0.36, 0.25], dtype=F64)
    x0 = torch.tensor([[[1.0, -2.0]], [[3.0, 0.5]]], dtype=F64)      # (B=2, 1, 2)
    noise = torch.tensor([[[0.5, 1.0]], [[-1.0, 2.0]]], dtype=F64)
    t = torch.tensor([1, 2])
    # sample 0: sqrt(0.36) = 0.6, sqrt(0.64) = 0.8;  sample 1: sqrt(0.25) = 0.5, sqrt(0.75)
    r = math.sqrt(0.75)
    want = torch.tensor([[[0.6 + 0.4, -1.2 + 0.8]], [[1.5 - r, 0.25 + 2 * r]]], dtype=F64)
    expect_close(student.q_sample(x0, t, noise, alpha_bars), want, call="q_sample(x0, t, noise, alpha_bars)",
                 inputs={"x0": x0, "t": t, "noise": noise, "alpha_bars": alpha_bars}, rtol=1e-5, atol=1e-8,
                 mistakes={hint: lambda slip=slip: _q_sample(x0, t, noise, alpha_bars, **slip)
                           for hint, slip in Q_SAMPLE_SLIPS.items()})


@points(1)
def test_q_sample_keeps_dtype(student):
    """q_sample: float32 x0 with float64 alpha_bars gives float32"""
    alpha_bars = torch.tensor([0.9, 0.5], dtype=F64)
    x0 = torch.ones(3, 2, dtype=F32)
    got = student.q_sample(x0, torch.tensor([0, 1, 1]), torch.zeros(3, 2, dtype=F32), alpha_bars)
    expect_tensor(got, call="q_sample(x0, t, noise, alpha_bars)", inputs={"x0": x0}, shape=(3, 2), dtype=F32)


@points(1)
def test_ddpm_loss_small(student):
    """ddpm_loss: with ε̂ = 0.5·x_t the loss is mean((noise − 0.5·x_t)²), and its gradient flows"""
    alpha_bars = torch.tensor([0.64, 0.36], dtype=F64)
    x0 = torch.tensor([[1.0, 2.0, 0.0], [-1.0, 0.5, 1.0]], dtype=F64)
    noise = torch.tensor([[0.5, -1.0, 1.0], [2.0, 0.0, -0.5]], dtype=F64)
    t = torch.tensor([1, 0])

    def loss(reduce=lambda e: e.mean(), model_input=None, **q_slip):
        # x_t: sample 0 at ᾱ = 0.36 (coefficients 0.6, 0.8), sample 1 at ᾱ = 0.64 (0.8, 0.6)
        x_t = _q_sample(x0, t, noise, alpha_bars, **q_slip) if model_input is None else model_input
        return reduce((noise - 0.5 * x_t) ** 2)

    want = loss()
    got = student.ddpm_loss(Helper("diffusion_linear_eps", scale=0.5), x0, t, noise, alpha_bars)
    expect_close(got, want, call="ddpm_loss(eps_model, x0, t, noise, alpha_bars) with ε̂ = 0.5·x_t",
                 inputs={"x0": x0, "t": t, "noise": noise}, rtol=1e-5, atol=1e-8,
                 mistakes={"that is the sum of the squared errors; the loss is the mean over all elements": want * 6,
                           "that is a per-sample sum averaged over the batch; the loss is the mean over ALL "
                           "elements (like F.mse_loss)": loss(reduce=lambda e: e.sum(1).mean()),
                           "the model must see x_t = q_sample(x0, t, noise, alpha_bars), not x0":
                               loss(model_input=x0),
                           **upstream_mistakes("ddpm_loss", loss, {f"q_sample: {hint}": slip for hint, slip
                                                                   in Q_SAMPLE_SLIPS.items() if "flat" not in slip})})
    # Training needs the gradient. With x_t = a·x0 + s·noise and e = noise − 0.5·x_t, the gradients with respect
    # to noise and x0 give the error back: ∂loss/∂noise − (s/a)·∂loss/∂x0 = 2/6 · e, whether or not x_t is
    # detached (a = 0.6, s = 0.8 for sample 0 and a = 0.8, s = 0.6 for sample 1).
    _, (g_x0, g_noise) = student.grad("ddpm_loss", Helper("diffusion_linear_eps", scale=0.5), x0, t, noise,
                                      alpha_bars, wrt=(1, 3))
    call = "the gradients of ddpm_loss(eps_model, x0, t, noise, alpha_bars) with respect to noise and x0"
    if g_noise is None:
        fail(f"{call}: no gradient flows back through the loss. Training needs it: keep every step a torch "
             "operation on tensors (no .item(), .detach(), .numpy(), torch.no_grad() or torch.tensor(...) around "
             "the result).")
    g_x0 = torch.zeros_like(x0) if g_x0 is None else g_x0
    ratio = torch.tensor([[0.8 / 0.6], [0.6 / 0.8]], dtype=F64)  # s/a per sample
    expect_close(g_noise - ratio * g_x0, 2 / 6 * (noise - 0.5 * _q_sample(x0, t, noise, alpha_bars)),
                 call=f"{call}: ∂loss/∂noise − (s/a)·∂loss/∂x0", inputs={"x0": x0, "t": t, "noise": noise},
                 rtol=1e-4, atol=1e-7)


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
    # at t = 0 a wrapped-around ᾱ_{t−1} = ᾱ_1 = 0.72 gives coefficients 0.72^½·0.1/0.1 and 0.9^½·0.28/0.1
    wrap = torch.stack([math.sqrt(0.72) * x0[0] + math.sqrt(0.9) * 2.8 * x_t[0], want_mean[1]])
    WRAP = ("at t = 0, alpha_bars[t − 1] wraps around to the LAST entry; use "
            "ᾱ_{t−1} = 1 before the first step")
    expect_close(mean, want_mean, call="q_posterior(x0, x_t, t, betas)",
                 inputs={"x0": x0, "x_t": x_t, "t": t, "betas": betas}, rtol=1e-5, atol=1e-8, part="[0] (mean)",
                 mistakes={WRAP: wrap})
    var = expect_tensor(var, call="q_posterior(x0, x_t, t, betas)", dtype=F64)
    try:
        full = var.expand(2, 2)
    except RuntimeError:
        fail(f"q_posterior: var has shape {tuple(var.shape)}; it must broadcast against x_t (2, 2), "
             "e.g. shape (B, 1)")
    want_var = torch.tensor([[0.0, 0.0], [0.1 * 0.2 / 0.28] * 2], dtype=F64)
    expect_close(full, want_var, call="q_posterior(x0, x_t, t, betas)", rtol=1e-5, atol=1e-10,
                 part="[1] (var, broadcast to x_t)",
                 mistakes={"the posterior variance is β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t, not β_t":
                           torch.tensor([[0.1, 0.1], [0.2, 0.2]], dtype=F64),
                           WRAP: torch.tensor([[0.28 / 0.1 * 0.1] * 2, [0.1 * 0.2 / 0.28] * 2], dtype=F64)})


@points(1)
def test_p_sample_step_small(student):
    """p_sample_step: ε̂ = 0.5·x_t, t = 1 and t = 0 (no noise at t = 0); x_t is left as it was"""
    betas = torch.tensor([0.1, 0.2], dtype=F64)                     # ᾱ = [0.9, 0.72]
    x_t = torch.tensor([[1.0, -2.0], [0.5, 4.0]], dtype=F64)
    noise = torch.tensor([[1.0, 1.0], [3.0, -3.0]], dtype=F64)
    t = torch.tensor([1, 0])

    def step(sigma=lambda b, ab, ab_prev: math.sqrt(b), divide=lambda b, ab: math.sqrt(1 - b), noise_at_0=False):
        rows = []
        for x, z, b, ab, ab_prev, last in [(x_t[0], noise[0], 0.2, 0.72, 0.9, False),
                                           (x_t[1], noise[1], 0.1, 0.9, 1.0, True)]:
            mean = (x - b / math.sqrt(1 - ab) * 0.5 * x) / divide(b, ab)
            rows.append(mean + (0.0 if last and not noise_at_0 else sigma(b, ab, ab_prev)) * z)
        return torch.stack(rows)

    got, mutated = student.call_checking_inputs("p_sample_step", Helper("diffusion_linear_eps", scale=0.5), x_t, t,
                                                betas, noise)
    expect_close(got, step(), call="p_sample_step(eps_model, x_t, t, betas, noise) with ε̂ = 0.5·x_t",
                 inputs={"x_t": x_t, "t": t, "noise": noise}, rtol=1e-5, atol=1e-8, mistakes={
                     "noise was added at t = 0; the last step (t = 0) returns the mean without σ·z":
                         step(noise_at_0=True),
                     "the noise must be scaled by σ_t = sqrt(β_t), not β_t": step(sigma=lambda b, ab, ap: b),
                     "σ_t² looks like the posterior variance β̃_t; this assignment uses σ_t² = β_t":
                         step(sigma=lambda b, ab, ap: math.sqrt((1 - ap) / (1 - ab) * b)),
                     "divide by sqrt(α_t) = sqrt(1 − β_t), not by sqrt(ᾱ_t)": step(divide=lambda b, ab: math.sqrt(ab))})
    names = ["eps_model", "x_t", "t", "betas", "noise"]
    expect(not mutated, f"p_sample_step(eps_model, x_t, t, betas, noise) modified its input(s) "
           f"{', '.join(names[i] for i in mutated if i < len(names))} in place; compute new tensors instead (avoid "
           "-=, /=, .sub_(), .div_() etc. on the arguments): the sampler still needs x_t.")


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
    expect_tensor(student.sample(eps, (4, 3), betas.double()), call="sample(eps_model, (4, 3), betas in float64)",
                  shape=(4, 3), dtype=F64)


def _chain_variance(betas, scale, steps):
    """Var of the sampler's result when ε̂ = scale·x_t, x_T ~ N(0, 1), the steps done in the order
    ``steps``: each step is x ← c_t·x + σ_t·z with c_t = (1 − β_t/sqrt(1 − ᾱ_t)·scale)/sqrt(1 − β_t),
    σ_t² = β_t (0 at t = 0), so the variance goes V ← c_t²·V + σ_t² (the mean stays 0)."""
    alpha_bars = [math.prod(1 - b for b in betas[:t + 1]) for t in range(len(betas))]
    v = 1.0
    for t in steps:
        c = (1 - betas[t] / math.sqrt(1 - alpha_bars[t]) * scale) / math.sqrt(1 - betas[t])
        v = c * c * v + (betas[t] if t > 0 else 0.0)
    return v


@points(1)
def test_sample_runs_the_chain_backwards(student):
    """sample: with ε̂ = x_t and betas (0.3, 0.3), the steps t = 1, 0 give samples of variance 0.228"""
    betas = [0.3, 0.3]
    n = 4000
    call = "sample(eps_model, (4000,), betas=(0.3, 0.3), generator) with ε̂ = x_t"
    x = expect_tensor(student.sample(Helper("diffusion_linear_eps", scale=1.0), (n,), torch.tensor(betas, dtype=F64),
                                     generator=Helper("generator", seed=11)), call=call, shape=(n,), dtype=F64)
    want = _chain_variance(betas, 1.0, [1, 0])
    mean, var = float(x.mean()), float(x.var())
    # 4000 draws: the sample variance is within 15 % of the chain's (7 standard errors), the mean within 0.05
    if abs(mean) <= 0.05 and abs(var / want - 1) <= 0.15:
        return
    slips = {"the steps run forwards (t = 0, 1, …, T−1); the reverse chain goes t = T−1, …, 1, 0":
             _chain_variance(betas, 1.0, [0, 1]),
             "the chain seems to stop before the last step: t = 0 must run too (its mean, without noise)":
             _chain_variance(betas, 1.0, [1])}
    hint = next((f"\n  Hint: {h}" for h, v in slips.items() if abs(var / v - 1) <= 0.15), "")
    fail(f"{call}\n  the samples have mean {mean:.3f} and variance {var:.3f}; the reverse chain from x_2 ~ N(0, 1) "
         f"through the steps t = 1, 0 gives mean 0 and variance {want:.3f} (x ← c_t·x + σ_t·z at each step, "
         f"σ_0 = 0).{hint}")
