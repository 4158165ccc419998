"""Public tests for the GAN assignment: shapes, dtypes and small examples you can check by hand.

Run them with `gmgrade check gan`. The hidden tests also check values on random inputs,
stability at logits ±100, the gradients your losses give, and a few GAN training steps.
"""

from __future__ import annotations

import math

import torch

from autograder.testing import expect_close, expect_tensor, points

LOG2 = math.log(2.0)


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
                 inputs={"real_logits": r, "fake_logits": f}, rtol=1e-5)


@points(1)
def test_discriminator_loss_small_example(student):
    """discriminator_loss: a hand example with different batch sizes"""
    r = torch.tensor([math.log(3.0), 0.0], dtype=torch.float64)  # D(x) = 3/4, 1/2
    f = torch.tensor([-math.log(3.0)], dtype=torch.float64)  # D(G(z)) = 1/4
    want = -(0.5 * (math.log(0.75) + math.log(0.5)) + math.log(0.75))
    expect_close(student.discriminator_loss(r, f), torch.tensor(want, dtype=torch.float64),
                 call="discriminator_loss(real_logits, fake_logits)", inputs={"real_logits": r, "fake_logits": f},
                 rtol=1e-6)


@points(1)
def test_generator_loss_at_zero_logits(student):
    """generator_loss: at logit 0, minimax = log ½ = −log 2 and non-saturating = log 2"""
    f = torch.zeros(4, dtype=torch.float64)
    expect_close(student.generator_loss(f, "minimax"), torch.tensor(-LOG2, dtype=torch.float64),
                 call="generator_loss(fake_logits, 'minimax')", inputs={"fake_logits": f}, rtol=1e-6)
    expect_close(student.generator_loss(f, "non_saturating"), torch.tensor(LOG2, dtype=torch.float64),
                 call="generator_loss(fake_logits, 'non_saturating')", inputs={"fake_logits": f}, rtol=1e-6)


@points(1)
def test_losses_finite_for_large_logits(student):
    """discriminator_loss / generator_loss: finite for logits of ±100 (use softplus/logsigmoid)"""
    big = torch.tensor([-100.0, 100.0])
    expect_tensor(student.discriminator_loss(big, big), call="discriminator_loss(real_logits, fake_logits)",
                  inputs={"real_logits": big, "fake_logits": big}, shape=(), dtype=torch.float32)
    for kind in ("minimax", "non_saturating"):
        expect_tensor(student.generator_loss(big, kind), call=f"generator_loss(fake_logits, {kind!r})",
                      inputs={"fake_logits": big}, shape=(), dtype=torch.float32)


@points(1)
def test_optimal_discriminator_example(student):
    """optimal_discriminator: p/(p + q), with 0/0 → 0.5"""
    p = torch.tensor([0.2, 0.0, 0.3, 0.0])
    q = torch.tensor([0.6, 0.5, 0.0, 0.0])
    want = torch.tensor([0.25, 0.0, 1.0, 0.5])
    expect_close(student.optimal_discriminator(p, q), want, call="optimal_discriminator(p_data, p_model)",
                 inputs={"p_data": p, "p_model": q}, rtol=1e-6,
                 mistakes={"0/0 gives NaN where both densities are 0: the docstring asks for D* = 0.5 "
                           "there; divide by 1 where the total is 0 and then put 0.5": p / (p + q)})


@points(1)
def test_js_divergence_examples(student):
    """js_divergence: 0 for equal distributions, log 2 for disjoint ones; one value per row"""
    p = torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]], dtype=torch.float64)
    q = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    m = 0.5 * (p + q)
    expect_close(student.js_divergence(p, q), torch.tensor([0.0, LOG2], dtype=torch.float64),
                 call="js_divergence(p, q)", inputs={"p": p, "q": q}, atol=1e-9,
                 mistakes={"0 · log 0 gave NaN: terms with p_k = 0 contribute 0; torch.xlogy(a, b) "
                           "computes a · log b with this convention":
                           lambda: 0.5 * ((p * torch.log(p / m)).sum(-1) + (q * torch.log(q / m)).sum(-1))})


@points(1)
def test_value_at_optimum_examples(student):
    """value_at_optimum: −log 4 when p_G = p_data, 0 for disjoint supports (= 2·JS − log 4)"""
    p = torch.tensor([[0.25, 0.75, 0.0], [0.5, 0.5, 0.0]], dtype=torch.float64)
    q = torch.tensor([[0.25, 0.75, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    expect_close(student.value_at_optimum(p, q), torch.tensor([-math.log(4.0), 0.0], dtype=torch.float64),
                 call="value_at_optimum(p_data, p_model)", inputs={"p_data": p, "p_model": q}, atol=1e-9)
