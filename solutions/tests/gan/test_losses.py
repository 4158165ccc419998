"""Hidden tests for the GAN losses: values, stability at logits ±100, gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from autograder.testing import expect, expect_close, expect_tensor, points

DTYPES = [torch.float64, torch.float32]
EXTREME = [-100.0, -60.0, -30.0, -1.5, 0.0, 2.0, 30.0, 60.0, 100.0]
# gradients are checked away from the kink of hand-written softplus forms at exactly 0
EXTREME_GRAD = [-100.0, -60.0, -30.0, -1.5, 0.25, 2.0, 30.0, 60.0, 100.0]
NAIVE = "log(sigmoid(·)) gives −inf/inf for large logits: use log σ(ℓ) = −softplus(−ℓ) and log(1 − σ(ℓ)) = −softplus(ℓ)"


def _logits(rng: torch.Generator, n: int, dtype: torch.dtype = torch.float64, scale: float = 3.0) -> torch.Tensor:
    return (torch.randn(n, generator=rng, dtype=torch.float64) * scale).to(dtype)


def _d_mistakes(r: torch.Tensor, f: torch.Tensor) -> dict:
    sp = F.softplus
    return {
        "the two means are added, not averaged: L_D = −(mean log D(x) + mean log(1 − D(G(z)))), "
        "without a factor ½": lambda: 0.5 * (sp(-r).mean() + sp(f).mean()),
        "real and fake labels look swapped: real data should have label 1 (−log D(x)), "
        "generated samples label 0 (−log(1 − D(G(z))))": lambda: sp(r).mean() + sp(-f).mean(),
        "the sign is flipped: the discriminator *minimises* −V(D, G), a positive "
        "cross-entropy": lambda: -(sp(-r).mean() + sp(f).mean()),
        "looks like one mean over the real and fake logits together; average each batch "
        "separately (their sizes differ)": lambda: torch.cat([sp(-r), sp(f)]).mean(),
        "log(sigmoid(·)) was clamped: that is finite but wrong for large logits; use "
        "log σ(ℓ) = −softplus(−ℓ) and log(1 − σ(ℓ)) = −softplus(ℓ)": lambda: (
            -torch.log(torch.sigmoid(r).clamp_min(1e-7)).mean()
            - torch.log((1 - torch.sigmoid(f)).clamp_min(1e-7)).mean()),
        NAIVE: lambda: -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()),
    }


def _g_mistakes(f: torch.Tensor, kind: str) -> dict:
    sp = F.softplus
    other = "non_saturating" if kind == "minimax" else "minimax"
    values = {"minimax": -sp(f).mean(), "non_saturating": sp(-f).mean()}
    return {
        f"this is the {other!r} loss: kind={kind!r} should give "
        + ("mean log(1 − D(G(z)))" if kind == "minimax" else "−mean log D(G(z))"): values[other],
        "the sign is flipped: " + ("the minimax generator minimises mean log(1 − D(G(z))) (a "
                                   "negative number)" if kind == "minimax" else
                                   "the non-saturating generator minimises −mean log D(G(z)) (a "
                                   "positive number)"): -values[kind],
        "log(sigmoid(·)) was clamped: finite but wrong for large logits; use logsigmoid / "
        "softplus": lambda: (torch.log((1 - torch.sigmoid(f)).clamp_min(1e-7)).mean()
                             if kind == "minimax" else
                             -torch.log(torch.sigmoid(f).clamp_min(1e-7)).mean()),
        NAIVE: lambda: (torch.log(1 - torch.sigmoid(f)).mean() if kind == "minimax"
                        else -torch.log(torch.sigmoid(f)).mean()),
    }


# --------------------------------------------------------------------------- discriminator


@points(2)
def test_discriminator_loss_values(student, reference, rng):
    """discriminator_loss: values on random logits (real and fake batches of different sizes)"""
    for n, m in [(7, 5), (3, 11)]:
        r, f = _logits(rng, n), _logits(rng, m)
        got = student.discriminator_loss(r, f)
        expect_close(got, reference.discriminator_loss(r, f), call="discriminator_loss(real_logits, fake_logits)",
                     inputs={"real_logits": r, "fake_logits": f}, rtol=1e-5, atol=1e-7,
                     mistakes=_d_mistakes(r, f))


@points(2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_discriminator_loss_stable(student, reference, dtype):
    """discriminator_loss: finite and accurate for logits of ±100, keeps the dtype"""
    r = torch.tensor(EXTREME, dtype=dtype)
    f = torch.tensor(EXTREME[::-1][:7], dtype=dtype)
    got = student.discriminator_loss(r, f)
    expect_tensor(got, call="discriminator_loss(real_logits, fake_logits)",
                  inputs={"real_logits": r, "fake_logits": f}, shape=(), dtype=dtype, finite=False)
    expect_close(got, reference.discriminator_loss(r, f), call="discriminator_loss(real_logits, fake_logits)",
                 inputs={"real_logits": r, "fake_logits": f}, rtol=1e-5, atol=1e-5,
                 mistakes=_d_mistakes(r, f))


@points(2)
def test_discriminator_loss_gradient(student, rng):
    """discriminator_loss: gradients w.r.t. both logit batches, also at ±100"""
    r = torch.cat([_logits(rng, 4), torch.tensor([-100.0, 100.0], dtype=torch.float64)])
    f = torch.cat([_logits(rng, 3), torch.tensor([100.0, -100.0, 40.0], dtype=torch.float64)])
    _, (gr, gf) = student.grad("discriminator_loss", r, f, wrt=(0, 1))
    call = "gradient of discriminator_loss(real_logits, fake_logits)"
    inputs = {"real_logits": r, "fake_logits": f}
    # d/dr [softplus(−r)] = −(1 − σ(r)) = −σ(−r);  d/df [softplus(f)] = σ(f)
    expect(gr is not None and gf is not None,
           f"{call}: no gradient reached the logits. Build the loss from torch operations on "
           "the inputs (no .detach(), .item() or NumPy).")
    expect_close(gr, -torch.sigmoid(-r) / r.numel(), call=call + " w.r.t. real_logits", inputs=inputs,
                 rtol=1e-5, atol=1e-10,
                 mistakes={"gradients vanish where they should not: log(sigmoid(·)) was clamped or "
                           "computed unstably; use softplus / logsigmoid":
                           lambda: torch.where(r.abs() > 16, torch.zeros_like(r), -torch.sigmoid(-r) / r.numel())})
    expect_close(gf, torch.sigmoid(f) / f.numel(), call=call + " w.r.t. fake_logits", inputs=inputs,
                 rtol=1e-5, atol=1e-10)


# --------------------------------------------------------------------------- generator


@points(2)
@pytest.mark.parametrize("kind", ["minimax", "non_saturating"])
def test_generator_loss_values(student, reference, rng, kind):
    """generator_loss: values for each kind on random logits"""
    f = _logits(rng, 9)
    got = student.generator_loss(f, kind)
    expect_close(got, reference.generator_loss(f, kind), call=f"generator_loss(fake_logits, kind={kind!r})",
                 inputs={"fake_logits": f}, rtol=1e-5, atol=1e-7, mistakes=_g_mistakes(f, kind))


@points(1)
def test_generator_loss_default_kind(student, reference, rng):
    """generator_loss: the default kind is the non-saturating loss"""
    f = _logits(rng, 6)
    got = student.generator_loss(f)
    expect_close(got, reference.generator_loss(f, "non_saturating"), call="generator_loss(fake_logits)",
                 inputs={"fake_logits": f}, rtol=1e-5, atol=1e-7,
                 mistakes={"the default should be kind='non_saturating' (−mean log D(G(z))); "
                           "you returned the minimax loss": reference.generator_loss(f, "minimax")})


@points(2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("kind", ["minimax", "non_saturating"])
def test_generator_loss_stable(student, reference, kind, dtype):
    """generator_loss: finite and accurate for logits of ±100, keeps the dtype"""
    f = torch.tensor(EXTREME, dtype=dtype)
    call = f"generator_loss(fake_logits, kind={kind!r})"
    got = student.generator_loss(f, kind)
    expect_tensor(got, call=call, inputs={"fake_logits": f}, shape=(), dtype=dtype, finite=False)
    expect_close(got, reference.generator_loss(f, kind), call=call, inputs={"fake_logits": f},
                 rtol=1e-5, atol=1e-5, mistakes=_g_mistakes(f, kind))
    f = torch.tensor(EXTREME_GRAD, dtype=dtype)
    _, (g,) = student.grad("generator_loss", f, kind, wrt=(0,))
    expect(g is not None, f"{call}: no gradient reached fake_logits; use torch operations only.")
    sig = torch.sigmoid(f.double())
    want = (-sig if kind == "minimax" else -(1 - sig)) / f.numel()
    expect_close(g, want.to(dtype), call="gradient of " + call, inputs={"fake_logits": f},
                 rtol=1e-4, atol=1e-8)


@points(3)
def test_generator_saturation(student):
    """generator_loss: where D(G(z)) ≈ 0 the minimax gradient vanishes, the non-saturating one does not"""
    f = torch.tensor([-12.0, -9.0, -10.5, -8.0, -11.0], dtype=torch.float64)  # D(G(z)) < 4e-4
    sig = torch.sigmoid(f)
    n = f.numel()
    _, (g_mm,) = student.grad("generator_loss", f, "minimax", wrt=(0,))
    _, (g_ns,) = student.grad("generator_loss", f, "non_saturating", wrt=(0,))
    inputs = {"fake_logits": f}
    expect(g_mm is not None and g_ns is not None,
           "generator_loss(fake_logits, kind): no gradient reached fake_logits; build the loss from torch "
           "operations on the input (no .detach(), .item() or NumPy).")
    # d/dℓ mean log(1 − σ(ℓ)) = −σ(ℓ)/n ;  d/dℓ [−mean log σ(ℓ)] = −(1 − σ(ℓ))/n
    expect_close(g_mm, -sig / n, call="gradient of generator_loss(fake_logits, 'minimax')", inputs=inputs,
                 rtol=1e-4, atol=1e-12,
                 mistakes={"this is the non-saturating gradient: the kinds look swapped": -(1 - sig) / n,
                           "the gradient has the wrong sign: the minimax generator *minimises* "
                           "mean log(1 − D(G(z)))": sig / n})
    expect_tensor(g_ns, call="gradient of generator_loss(fake_logits, 'non_saturating')", inputs=inputs,
                  shape=tuple(f.shape), dtype=f.dtype)
    ratio = (g_ns.abs().sum() / g_mm.abs().sum()).item()
    expect(ratio > 1e3,
           f"where the discriminator rejects the fakes (D(G(z)) < 4e-4) the non-saturating gradient "
           f"should be over 1000× the minimax one (the minimax loss saturates); it is {ratio:.3g}×.")
    expect_close(g_ns, -(1 - sig) / n, call="gradient of generator_loss(fake_logits, 'non_saturating')",
                 inputs=inputs, rtol=1e-4, atol=1e-12,
                 mistakes={"this is the minimax gradient: the kinds look swapped": -sig / n,
                           "the gradient has the wrong sign: the generator *minimises* "
                           "−mean log D(G(z))": (1 - sig) / n})
