"""Public tests for the GAN assignment: shapes, dtypes and small examples you can check by hand.

Run them with `gmgrade check gan`. The hidden tests also check values on random inputs,
stability at logits ±100, the gradients your losses give, and a few GAN training steps.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from autograder.testing import expect_close, expect_tensor, points

LOG2 = math.log(2.0)
LOG4 = math.log(4.0)
NAIVE = ("log(sigmoid(·)) gives −inf/inf for large logits: use log σ(ℓ) = −softplus(−ℓ) and "
         "log(1 − σ(ℓ)) = −softplus(ℓ)")


def d_slips(r, f):
    """What the usual discriminator_loss slips give on real logits r and fake logits f."""
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


def g_slips(f, kind):
    """What the usual generator_loss slips give for this kind."""
    sp = F.softplus
    other = "non_saturating" if kind == "minimax" else "minimax"
    values = {"minimax": -sp(f).mean(), "non_saturating": sp(-f).mean()}
    return {
        f"this is the {other!r} loss: the kinds look swapped; kind={kind!r} should give "
        + ("mean log(1 − D(G(z)))" if kind == "minimax" else "−mean log D(G(z))"): values[other],
        "the sign is flipped: " + ("the minimax generator minimises mean log(1 − D(G(z))) (a "
                                   "negative number)" if kind == "minimax" else
                                   "the non-saturating generator minimises −mean log D(G(z)) (a "
                                   "positive number)"): -values[kind],
        "log(sigmoid(·)) was clamped: finite but wrong for large logits; use logsigmoid / "
        "softplus": lambda: (torch.log((1 - torch.sigmoid(f)).clamp_min(1e-7)).mean()
                             if kind == "minimax" else -torch.log(torch.sigmoid(f).clamp_min(1e-7)).mean()),
        NAIVE: lambda: (torch.log(1 - torch.sigmoid(f)).mean() if kind == "minimax"
                        else -torch.log(torch.sigmoid(f)).mean()),
    }


def js_slips(p, q):
    """What the usual js_divergence slips give (p, q: distributions along the last dim)."""
    m = 0.5 * (p + q)
    kl_pm = (torch.xlogy(p, p) - torch.xlogy(p, m)).sum(-1)
    kl_qm = (torch.xlogy(q, q) - torch.xlogy(q, m)).sum(-1)
    js = 0.5 * (kl_pm + kl_qm)
    return {
        "the factor ½ is missing: JS = ½ KL(p‖M) + ½ KL(q‖M)": 2 * js,
        "looks like log base 2 (bits); use the natural log (JS ≤ log 2 ≈ 0.693)": js / LOG2,
        "only one half of the divergence: add ½ KL(q‖M) as well": 0.5 * kl_pm,
        "0 · log 0 gave NaN: terms with p_k = 0 contribute 0; torch.xlogy(a, b) "
        "computes a · log b with this convention":
            lambda: 0.5 * ((p * torch.log(p / m)).sum(-1) + (q * torch.log(q / m)).sum(-1)),
        "the sums run over dim 1: reduce the last dim (dim=-1), which holds the K "
        "probabilities, so leading batch dims stay":
            lambda: 0.5 * ((torch.xlogy(p, p) - torch.xlogy(p, m)).sum(1)
                           + (torch.xlogy(q, q) - torch.xlogy(q, m)).sum(1)),
    }


def value_slips(p, q, v):
    """What the usual value_at_optimum slips give, v being the right value."""
    safe = torch.where(p + q == 0, torch.ones_like(p), p + q)
    return {
        "looks like a mean over the support instead of the expectation Σ_k p_k log D*_k "
        "(sum over the last dim)": v / p.shape[-1],
        "the wrong sign of log 4: V(D*, G) = 2·JS − log 4": v + 2 * LOG4,
        "looks like JS − log 4: V(D*, G) = 2·JS − log 4": (v + LOG4) / 2 - LOG4,
        "D* and 1 − D* look swapped: the real data term uses log D*, the generated one "
        "log(1 − D*)": (torch.xlogy(p, q / safe) + torch.xlogy(q, p / safe)).sum(-1),
        "0 · log 0 gave NaN where p_data or p_model is 0: those terms contribute 0; use "
        "torch.xlogy(a, b) = a · log b with this convention":
            (p * torch.log(p / safe) + q * torch.log(q / safe)).sum(-1),
    }


@points(1)
def test_discriminator_loss_at_zero_logits(student):
    """discriminator_loss: logits 0 (D = ½ everywhere) give 2·log 2, a 0-dim tensor"""
    r = torch.zeros(3)
    f = torch.zeros(5)
    got = student.discriminator_loss(r, f)
    expect_tensor(got, call="discriminator_loss(real_logits, fake_logits)",
                  inputs={"real_logits": r, "fake_logits": f}, shape=(), dtype=torch.float32)
    # −(log ½ + log ½) = 2 log 2
    expect_close(got, torch.tensor(2 * LOG2), call="discriminator_loss(real_logits, fake_logits)",
                 inputs={"real_logits": r, "fake_logits": f}, rtol=1e-5, mistakes=d_slips(r, f))


@points(1)
def test_discriminator_loss_small_example(student):
    """discriminator_loss: a hand example with different batch sizes"""
    r = torch.tensor([math.log(3.0), 0.0], dtype=torch.float64)  # D(x) = 3/4, 1/2
    f = torch.tensor([-math.log(3.0)], dtype=torch.float64)  # D(G(z)) = 1/4
    want = -(0.5 * (math.log(0.75) + math.log(0.5)) + math.log(0.75))
    expect_close(student.discriminator_loss(r, f), torch.tensor(want, dtype=torch.float64),
                 call="discriminator_loss(real_logits, fake_logits)", inputs={"real_logits": r, "fake_logits": f},
                 rtol=1e-6, mistakes=d_slips(r, f))


@points(1)
def test_generator_loss_at_zero_logits(student):
    """generator_loss: at logit 0, minimax = log ½ = −log 2 and non-saturating = log 2"""
    f = torch.zeros(4, dtype=torch.float64)
    expect_close(student.generator_loss(f, "minimax"), torch.tensor(-LOG2, dtype=torch.float64),
                 call="generator_loss(fake_logits, 'minimax')", inputs={"fake_logits": f}, rtol=1e-6,
                 mistakes=g_slips(f, "minimax"))
    expect_close(student.generator_loss(f, "non_saturating"), torch.tensor(LOG2, dtype=torch.float64),
                 call="generator_loss(fake_logits, 'non_saturating')", inputs={"fake_logits": f}, rtol=1e-6,
                 mistakes=g_slips(f, "non_saturating"))


@points(1)
def test_losses_finite_for_large_logits(student):
    """discriminator_loss / generator_loss: logits ±100 give 100, −50 and 50 (use softplus/logsigmoid)"""
    big = torch.tensor([-100.0, 100.0])
    # softplus(100) = 100 and softplus(−100) ≈ 0: each mean of the two is 50
    got = student.discriminator_loss(big, big)
    expect_close(got, torch.tensor(100.0), call="discriminator_loss(real_logits, fake_logits)",
                 inputs={"real_logits": big, "fake_logits": big}, rtol=1e-5, mistakes=d_slips(big, big))
    for kind, want in (("minimax", -50.0), ("non_saturating", 50.0)):
        expect_close(student.generator_loss(big, kind), torch.tensor(want),
                     call=f"generator_loss(fake_logits, {kind!r})",
                     inputs={"fake_logits": big}, rtol=1e-5, mistakes=g_slips(big, kind))


@points(1)
def test_optimal_discriminator_example(student):
    """optimal_discriminator: p/(p + q), with 0/0 → 0.5, also for densities of 1e-9"""
    p = torch.tensor([0.2, 0.0, 0.3, 0.0, 1e-9])
    q = torch.tensor([0.6, 0.5, 0.0, 0.0, 3e-9])  # the last pair: tiny densities, as in a Gaussian's tail
    want = torch.tensor([0.25, 0.0, 1.0, 0.5, 0.25])
    expect_close(student.optimal_discriminator(p, q), want, call="optimal_discriminator(p_data, p_model)",
                 inputs={"p_data": p, "p_model": q}, rtol=1e-5,
                 mistakes={"0/0 gives NaN where both densities are 0: the docstring asks for D* = 0.5 "
                           "there; divide by 1 where the total is 0 and then put 0.5": p / (p + q),
                           "the ratio is upside down: D*(x) = p_data / (p_data + p_model)":
                           torch.tensor([0.75, 1.0, 0.0, 0.5, 0.75]),
                           "an eps in numerator and denominator changes D* where the densities "
                           "are tiny; use the exact ratio and treat only 0/0 specially":
                           torch.where(p + q == 0, 0.5, (p + 1e-8) / (p + q + 2e-8))})


@points(1)
def test_js_divergence_examples(student):
    """js_divergence: 0 for equal, log 2 for disjoint distributions, a third pair by hand; one value per row"""
    p = torch.tensor([[[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]], dtype=torch.float64)
    q = torch.tensor([[[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]]], dtype=torch.float64)
    # last row: M = (¾, ¼, 0); ½ [1·log(4/3)] + ½ [½ log(2/3) + ½ log 2]
    third = 0.5 * math.log(4 / 3) + 0.25 * (math.log(2 / 3) + LOG2)
    expect_close(student.js_divergence(p, q), torch.tensor([[0.0, LOG2, third]], dtype=torch.float64),
                 call="js_divergence(p, q)", inputs={"p": p, "q": q}, atol=1e-9, mistakes=js_slips(p, q))


@points(1)
def test_value_at_optimum_examples(student):
    """value_at_optimum: −log 4 when p_G = p_data, 0 for disjoint supports, 2·JS − log 4 in between"""
    p = torch.tensor([[0.25, 0.75, 0.0], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    q = torch.tensor([[0.25, 0.75, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]], dtype=torch.float64)
    # last row: D* = (2/3, 0) where p_data > 0: log(2/3) + ½ log(1/3) + ½ log 1
    want = torch.tensor([-LOG4, 0.0, math.log(2 / 3) + 0.5 * math.log(1 / 3)], dtype=torch.float64)
    expect_close(student.value_at_optimum(p, q), want,
                 call="value_at_optimum(p_data, p_model)", inputs={"p_data": p, "p_model": q}, atol=1e-9,
                 mistakes=value_slips(p, q, want))


@points(1)
def test_value_at_optimum_two_batch_dims(student):
    """value_at_optimum: inputs of shape (2, 2, 3) give (2, 2): only the last dim is summed"""
    p = torch.tensor([[[0.25, 0.75, 0.0], [0.5, 0.5, 0.0]], [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]], dtype=torch.float64)
    q = torch.tensor([[[0.25, 0.75, 0.0], [0.0, 0.0, 1.0]], [[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]]], dtype=torch.float64)
    # the distributions of test_value_at_optimum_examples, two by two
    want = torch.tensor([[-LOG4, 0.0], [0.0, math.log(2 / 3) + 0.5 * math.log(1 / 3)]], dtype=torch.float64)
    call = "value_at_optimum(p_data, p_model) with inputs of shape (2, 2, 3)"
    got = expect_tensor(student.value_at_optimum(p, q), call=call, inputs={"p_data": p, "p_model": q}, shape=(2, 2),
                        dtype=torch.float64, shape_note="(...): one value per distribution, summed over the last dim "
                        "(dim=-1, not dim=1)")
    expect_close(got, want, call=call, inputs={"p_data": p, "p_model": q}, atol=1e-9)
