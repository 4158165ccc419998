"""Hidden tests for `diffusion`: the posterior q(x_{t−1} | x_t, x_0), one reverse step and the
whole sampler (judged by the exact law of its output for Gaussian data)."""

import math

import pytest
import torch

from autograder.testing import Helper, expect, expect_close, expect_tensor, fail, points, timeout

F64, F32 = torch.float64, torch.float32
# Coefficients such as β_t / (1 − ᾱ_t) cancel badly for β ≈ 1e-4, so a correct solution that
# computes in float32 inside (even for float64 inputs) is off by a few 1e-4 relative; every
# known mistake is off by far more.
TOL = dict(rtol=1e-3, atol=1e-5)


def bview(v, x):
    return v.reshape((-1,) + (1,) * (x.dim() - 1))


def seed_from_test():
    """A generator seed drawn from the test's own (seeded) global RNG."""
    return int(torch.randint(0, 2**31 - 1, ()).item())


# --------------------------------------------------------------------------- q_posterior


def posterior(x0, xt, t, betas, *, var_beta=False, wrap=False, sqrt_alpha=True):
    """The closed form, with switches for known mistakes (all in float64)."""
    b = betas.double()
    ab = torch.cumprod(1 - b, 0)
    ab_prev = ab[t - 1] if wrap else torch.cat([ab.new_ones(1), ab[:-1]])[t]
    bt, at, ap = bview(b[t], xt), bview(ab[t], xt), bview(ab_prev, xt)
    alpha = (1 - bt).sqrt() if sqrt_alpha else (1 - bt)
    mean = ap.sqrt() * bt / (1 - at) * x0.double() + alpha * (1 - ap) / (1 - at) * xt.double()
    var = bt if var_beta else (1 - ap) / (1 - at) * bt
    return mean, var


def check_posterior(student, reference, x0, xt, t, betas, *, rtol, atol):
    call = "q_posterior(x0, x_t, t, betas)"
    inputs = {"x0": x0, "x_t": xt, "t": t, "betas": betas}
    got = student.q_posterior(x0, xt, t, betas)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"{call}\n  returned {type(got).__name__}; expected a tuple (mean, var).")
    mean, var = got
    want_m, want_v = reference.q_posterior(x0.double(), xt.double(), t, betas.double())
    dtype = xt.dtype
    wrap_m, wrap_v = posterior(x0, xt, t, betas, wrap=True)
    expect_close(mean, want_m.to(dtype), call=call, inputs=inputs, rtol=rtol, atol=atol, part="[0] (mean)",
                 mistakes={"at t = 0, alpha_bars[t − 1] wraps around to the LAST entry; use "
                           "ᾱ_{t−1} = 1 before the first step": wrap_m.to(dtype),
                           "the x_t coefficient uses sqrt(α_t) = sqrt(1 − β_t), not α_t":
                           posterior(x0, xt, t, betas, sqrt_alpha=False)[0].to(dtype)})
    var = expect_tensor(var, call=call, inputs=inputs, dtype=dtype)
    try:
        ok = torch.broadcast_shapes(var.shape, xt.shape) == xt.shape
    except RuntimeError:
        ok = False
    expect(ok, f"{call}\n  (output [1] (var)) has shape {tuple(var.shape)}, which does not broadcast "
           f"against x_t of shape {tuple(xt.shape)}. Return β̃_t shaped (B, 1, …, 1) (or like x_t).")
    full = var.expand(xt.shape)
    expect_close(full, want_v.to(dtype).expand(xt.shape), call=call, inputs=inputs, rtol=rtol, atol=atol,
                 part="[1] (var, broadcast to the shape of x_t)",
                 mistakes={"the posterior variance is β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t, not β_t":
                           posterior(x0, xt, t, betas, var_beta=True)[1].to(dtype).expand(xt.shape),
                           "at t = 0, alpha_bars[t − 1] wraps around to the LAST entry; use "
                           "ᾱ_{t−1} = 1 before the first step": wrap_v.to(dtype).expand(xt.shape)})


def _q_posterior_values(student, reference, shape, dtype):
    T = 40
    betas = torch.linspace(1e-3, 0.2, T, dtype=F64).to(dtype)
    x0 = torch.randn(shape, dtype=F64).to(dtype)
    xt = torch.randn(shape, dtype=F64).to(dtype)
    t = torch.randint(0, T, (shape[0],))
    t[0], t[1], t[-1] = 0, 1, T - 1
    check_posterior(student, reference, x0, xt, t, betas, **TOL)


@points(1.5)
@pytest.mark.parametrize("case", [((7, 3), F64), ((5, 2, 3, 2), F64)],
                         ids=["(7,3)-float64", "(5,2,3,2)-float64"])
def test_q_posterior_values(student, reference, case):
    """q_posterior: closed-form mean and variance β̃_t (vectors and images)"""
    _q_posterior_values(student, reference, *case)


@points(1)
def test_q_posterior_float32(student, reference):
    """q_posterior: closed-form mean and variance β̃_t (float32)"""
    _q_posterior_values(student, reference, (6, 5), F32)


@points(1)
def test_q_posterior_first_step(student, reference):
    """q_posterior: at t = 0 the mean is x0 and the variance is exactly 0"""
    T = 1000
    betas = torch.linspace(1e-4, 0.02, T, dtype=F64)
    x0 = torch.randn(4, 2, 3, dtype=F64)
    xt = torch.randn(4, 2, 3, dtype=F64)
    t = torch.zeros(4, dtype=torch.int64)
    got = student.q_posterior(x0, xt, t, betas)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"q_posterior(x0, x_t, t, betas)\n  returned {type(got).__name__}; expected a tuple (mean, var).")
    var = expect_tensor(got[1], call="q_posterior(x0, x_t, t = 0, betas)", dtype=F64)
    expect(var.numel() > 0 and bool((var.abs() <= 1e-12).all()),
           f"q_posterior(x0, x_t, t = 0, betas): the variance at t = 0 must be 0 (x_{{t−1}} is x0 "
           f"itself); got values up to {var.abs().max().item() if var.numel() else float('nan'):.4g}. "
           "Use ᾱ_{t−1} = 1 for t = 0: alpha_bars[t − 1] wraps around to the last entry.")
    expect_close(got[0], x0, call="q_posterior(x0, x_t, t = 0, betas)", inputs={"x0": x0, "x_t": xt},
                 **TOL, part="[0] (mean, should equal x0 at t = 0)")
    # pair the property with the values of the same function on other steps
    t = torch.tensor([0, 999, 3, 250])
    check_posterior(student, reference, x0, xt, t, betas, **TOL)


# --------------------------------------------------------------------------- p_sample_step


def step(net, xt, t, betas, noise, *, noise_at_0=False, sigma="sqrt_beta", root="alpha", sqrt_denom=True):
    b = betas.double()
    ab = torch.cumprod(1 - b, 0)
    ab_prev = torch.cat([ab.new_ones(1), ab[:-1]])
    bt, at, ap = bview(b[t], xt), bview(ab[t], xt), bview(ab_prev[t], xt)
    with torch.no_grad():
        eps = net(xt.double(), t)
    denom = (1 - at).sqrt() if sqrt_denom else (1 - at)
    r = (1 - bt).sqrt() if root == "alpha" else at.sqrt()
    mean = (xt.double() - bt / denom * eps) / r
    s = {"sqrt_beta": bt.sqrt(), "beta": bt, "tilde": ((1 - ap) / (1 - at) * bt).sqrt()}[sigma]
    keep = torch.ones_like(bt) if noise_at_0 else bview((t > 0).double(), xt)
    return (mean + keep * s * noise.double()).to(xt.dtype)


def step_mistakes(net, xt, t, betas, noise):
    return {
        "noise was added at t = 0; the last step (t = 0) returns the mean without σ·z":
            step(net, xt, t, betas, noise, noise_at_0=True),
        "the noise must be scaled by σ_t = sqrt(β_t), not β_t": step(net, xt, t, betas, noise, sigma="beta"),
        "σ_t² looks like the posterior variance β̃_t; this assignment uses σ_t² = β_t":
            step(net, xt, t, betas, noise, sigma="tilde"),
        "divide by sqrt(α_t) = sqrt(1 − β_t), not by sqrt(ᾱ_t)": step(net, xt, t, betas, noise, root="alpha_bar"),
        "the ε̂ coefficient is β_t / sqrt(1 − ᾱ_t) (with the square root)":
            step(net, xt, t, betas, noise, sqrt_denom=False),
    }


def _p_sample_step_values(student, reference, shape, dtype):
    T = 40
    betas = torch.linspace(1e-3, 0.2, T, dtype=F64).to(dtype)
    model = Helper("diffusion_toy_eps", shape=list(shape[1:]), T=T, seed=11)
    xt = torch.randn(shape, dtype=F64).to(dtype)
    noise = torch.randn(shape, dtype=F64).to(dtype)
    t = torch.randint(0, T, (shape[0],))
    t[0], t[1], t[-1] = 0, 1, T - 1
    got = student.p_sample_step(model, xt, t, betas, noise)
    want = reference.p_sample_step(model, xt.double(), t, betas.double(), noise.double()).to(dtype)
    expect_close(got, want, call="p_sample_step(eps_model, x_t, t, betas, noise)",
                 inputs={"x_t": xt, "t": t, "betas": betas, "noise": noise}, **TOL,
                 mistakes=step_mistakes(model.build(), xt, t, betas, noise))


@points(1.5)
@pytest.mark.parametrize("case", [((7, 3), F64), ((5, 2, 3, 2), F64)],
                         ids=["(7,3)-float64", "(5,2,3,2)-float64"])
def test_p_sample_step_values(student, reference, case):
    """p_sample_step: one reverse step with σ_t² = β_t, samples at different t (vectors and images)"""
    _p_sample_step_values(student, reference, *case)


@points(1)
def test_p_sample_step_float32(student, reference):
    """p_sample_step: one reverse step with σ_t² = β_t, samples at different t (float32)"""
    _p_sample_step_values(student, reference, (6, 4), F32)


@points(1)
def test_p_sample_step_no_noise_at_t0(student, reference):
    """p_sample_step: where t = 0 the noise is not used"""
    T = 25
    betas = torch.linspace(0.02, 0.3, T, dtype=F64)
    model = Helper("diffusion_toy_eps", shape=[3, 2], T=T, seed=2)
    xt = torch.randn(4, 3, 2, dtype=F64)
    t = torch.tensor([0, 6, 0, 24])
    n1, n2 = torch.randn(4, 3, 2, dtype=F64), torch.randn(4, 3, 2, dtype=F64)
    call = "p_sample_step(eps_model, x_t, t, betas, noise)"
    a = expect_tensor(student.p_sample_step(model, xt, t, betas, n1), call=call, shape=(4, 3, 2), dtype=F64)
    b = expect_tensor(student.p_sample_step(model, xt, t, betas, n2), call=call, shape=(4, 3, 2), dtype=F64)
    zero = t == 0
    diff = (a[zero] - b[zero]).abs().max().item()
    expect(diff <= 1e-12, f"{call} with t = {t.tolist()}: the samples with t = 0 changed by up to "
           f"{diff:.3g} when only `noise` changed. No noise is added at the last step (t = 0): "
           "multiply σ_t·noise by (t > 0).")
    expect((a[~zero] - b[~zero]).abs().max().item() > 1e-3,
           f"{call} with t = {t.tolist()}: the samples with t > 0 did not change when `noise` "
           "changed; add σ_t·noise (σ_t = sqrt(β_t)) for every t > 0.")
    expect_close(a, reference.p_sample_step(model, xt, t, betas, n1), call=call,
                 inputs={"x_t": xt, "t": t, "noise": n1}, **TOL,
                 mistakes=step_mistakes(model.build(), xt, t, betas, n1))


# --------------------------------------------------------------------------- sample


def sampler_law(mean, var, betas, *, order=None, sigma2=None, noise_at_0=False, root="alpha"):
    """Exact mean and variance of the sampler's output for data N(mean, var) when ε_θ is the
    exact E[ε | x_t] (Helper "diffusion_gaussian_eps"): each reverse step is affine in x_t
    plus Gaussian noise, so from x_T ~ N(0, 1): M ← A·M + B, V ← A²·V + σ_t².
    The keyword options give the law under known mistakes, to name them in hints."""
    b_all = betas.double()
    ab = torch.cumprod(1 - b_all, 0)
    ab_prev = torch.cat([ab.new_ones(1), ab[:-1]])
    T = b_all.shape[0]
    M = torch.zeros_like(mean)
    V = torch.ones_like(mean)
    for t in (reversed(range(T)) if order is None else order):
        b, a = b_all[t], ab[t]
        k = (1 - a).sqrt() / (a * var + 1 - a)        # ε̂ = k·(x − sqrt(ᾱ)·mean)
        c = b / (1 - a).sqrt()
        r = (1 - b).sqrt() if root == "alpha" else a.sqrt()
        A, B = (1 - c * k) / r, c * k * a.sqrt() * mean / r
        s2 = b if sigma2 is None else sigma2(b, a, ab_prev[t])
        M = A * M + B
        V = A * A * V + (s2 if (t > 0 or noise_at_0) else 0.0)
    return M, V


def sampler_mistakes(mean, var, betas):
    T = betas.shape[0]
    return {
        "noise is added at the last step too; at t = 0 return the mean (no σ·z)":
            sampler_law(mean, var, betas, noise_at_0=True),
        "σ_t² looks like the posterior variance β̃_t; this assignment uses σ_t² = β_t":
            sampler_law(mean, var, betas, sigma2=lambda b, a, ap: b * (1 - ap) / (1 - a)),
        "the noise looks scaled by β_t instead of σ_t = sqrt(β_t)":
            sampler_law(mean, var, betas, sigma2=lambda b, a, ap: b * b),
        "the chain seems to stop before the last step: run t = T−1, …, 1, 0":
            sampler_law(mean, var, betas, order=range(T - 1, 0, -1)),
        "the chain seems to run forwards (t = 0 … T−1); the reverse process goes from T−1 down to 0":
            sampler_law(mean, var, betas, order=range(T)),
        "the step seems to divide by sqrt(ᾱ_t) instead of sqrt(α_t) = sqrt(1 − β_t)":
            sampler_law(mean, var, betas, root="alpha_bar"),
    }


def check_moments(x, M, V, *, call, law, mistakes, z=5.5):
    """Per-element and pooled sample mean/variance of x (N, ...) against N(M, V).

    The sample mean has standard error sqrt(V/N) and the variance ratio sqrt(2/(N−1)); the
    band is ``z`` standard errors, so a correct sampler passes whatever order it draws its
    noise in (failure probability about 1e-7 per check)."""
    n = x.shape[0]
    xd = x.double()
    m_hat, v_hat = xd.mean(0), xd.var(0)
    sd_m = (V / n).sqrt()
    tol_v = z * math.sqrt(2.0 / (n - 1))
    zm = ((m_hat - M) / sd_m).abs()
    rv = v_hat / V
    zs = (xd - M) / V.sqrt()
    n_all = zs.numel()
    pm, pv = zs.mean().item(), zs.var().item()
    band_m, band_v = z / math.sqrt(n_all), z * math.sqrt(2.0 / n_all)
    if (bool((zm <= z).all()) and bool(((rv - 1).abs() <= tol_v).all())
            and abs(pm) <= band_m and abs(pv - 1) <= band_v):
        return
    worst = int(torch.argmax(torch.maximum(zm / z, (rv - 1).abs() / tol_v).reshape(-1)))
    idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), M.shape))
    text = (f"{call}\n  the samples do not follow the expected distribution ({law}).\n"
            f"  Over {n} samples, element {idx}: sample mean {m_hat[idx].item():.4g} (expected "
            f"{M[idx].item():.4g} ± {z * sd_m[idx].item():.2g}), sample variance {v_hat[idx].item():.4g} "
            f"(expected {V[idx].item():.4g} ± {tol_v * V[idx].item():.2g}).\n"
            f"  Standardised and pooled over all elements: mean {pm:.4f} (expected 0 ± {band_m:.3f}), "
            f"variance {pv:.4f} (expected 1 ± {band_v:.3f}).")
    for hint, (Mm, Vm) in mistakes.items():
        if not (torch.isfinite(Mm).all() and torch.isfinite(Vm).all() and (Vm > 0).all()):
            continue
        if (bool(((m_hat - Mm).abs() <= z * (Vm / n).sqrt()).all())
                and bool(((v_hat / Vm - 1).abs() <= tol_v).all())):
            text += f"\n  Hint: {hint}"
            break
    fail(text)


def gaussian_case(betas, mean, var):
    ab = torch.cumprod(1 - betas.double(), 0)
    return Helper("diffusion_gaussian_eps", mean=mean.tolist(), var=var.tolist(), alpha_bars=ab.tolist())


@points(3)
@timeout(30)
def test_sample_distribution_gaussian_data(student):
    """sample: with the exact ε for Gaussian data, the samples have the chain's exact law"""
    betas = torch.linspace(0.05, 0.4, 12, dtype=F64)
    mean = torch.tensor([[-1.0, 0.5, 2.0], [0.0, 1.0, -0.3]], dtype=F64)
    var = torch.tensor([[0.25, 1.0, 0.05], [2.0, 0.5, 0.1]], dtype=F64)
    n = 4000
    call = "sample(eps_model, (4000, 2, 3), betas, generator)"
    x = student.sample(gaussian_case(betas, mean, var), (n, 2, 3), betas,
                       generator=Helper("generator", seed=seed_from_test()))
    x = expect_tensor(x, call=call, shape=(n, 2, 3), dtype=F64, shape_note="the requested shape")
    M, V = sampler_law(mean, var, betas)
    check_moments(x, M, V, call=call,
                  law=f"betas = linspace(0.05, 0.4, 12); data N(mean, var) with mean {mean.tolist()} "
                      f"and var {var.tolist()}; eps_model is the exact E[ε | x_t], so x_0 ~ N(M, V) "
                      "exactly, with M, V computed step by step",
                  mistakes=sampler_mistakes(mean, var, betas))


@points(1)
@timeout(30)
def test_sample_standard_schedule_float32(student):
    """sample: T = 1000 linear schedule in float32 reproduces the data mean and variance"""
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=F64).float()
    mean = torch.tensor([1.0, -0.5, 0.2], dtype=F64)
    var = torch.tensor([0.3, 1.5, 0.05], dtype=F64)
    n = 3000
    call = "sample(eps_model, (3000, 3), betas, generator) with float32 betas"
    x = student.sample(gaussian_case(betas, mean, var), (n, 3), betas,
                       generator=Helper("generator", seed=seed_from_test()))
    x = expect_tensor(x, call=call, shape=(n, 3), dtype=F32, shape_note="the requested shape")
    M, V = sampler_law(mean, var, betas)
    check_moments(x, M, V, call=call,
                  law=f"data mean {mean.tolist()}, variance {var.tolist()}; with the exact "
                      f"ε-predictor the samples should have mean {[round(v, 4) for v in M.tolist()]} "
                      f"and variance {[round(v, 4) for v in V.tolist()]}",
                  mistakes=sampler_mistakes(mean, var, betas))


@points(1)
def test_sample_same_generator_same_result(student):
    """sample: the same seeded generator gives the same samples, another seed other samples"""
    betas = torch.linspace(0.02, 0.3, 8, dtype=F64)
    eps = gaussian_case(betas, torch.tensor(0.5, dtype=F64), torch.tensor(0.2, dtype=F64))
    seed = seed_from_test()
    call = "sample(eps_model, (16, 3), betas, generator)"
    a = expect_tensor(student.sample(eps, (16, 3), betas, generator=Helper("generator", seed=seed)),
                      call=call, shape=(16, 3), dtype=F64)
    b = expect_tensor(student.sample(eps, (16, 3), betas, generator=Helper("generator", seed=seed)),
                      call=call, shape=(16, 3), dtype=F64)
    c = expect_tensor(student.sample(eps, (16, 3), betas, generator=Helper("generator", seed=seed + 1)),
                      call=call, shape=(16, 3), dtype=F64)
    expect(torch.equal(a, b), f"{call}: two calls with generators seeded with the same seed ({seed}) "
           "gave different samples. Draw every random number (x_T and each step's noise) with "
           "`generator=generator`, e.g. torch.randn(shape, generator=generator, dtype=..., device=...).")
    expect(not torch.equal(a, c), f"{call}: generators with different seeds gave identical samples; "
           "use the generator you are given instead of a fixed seed.")
