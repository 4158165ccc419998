"""End-to-end: a few alternating GAN steps on a 1-D problem, driven by the student's losses.

Data x ~ N(2, 0.5²); generator G(z) = 0.5·z + b; discriminator D(x) = σ(w·x + c). The
networks live here, in the grader; only the logits cross to the student's losses, and
``student.grad`` returns d loss / d logits, which the chain rule turns into parameter
gradients. The discriminator starts out confident (it rejects the fakes, D(G(z)) < 0.01), the
situation of early GAN training in which the minimax generator loss saturates.
"""

from __future__ import annotations

import pytest
import torch

from autograder.testing import expect, expect_close, expect_tensor, fail, points, timeout

STEPS = 12
N = 64
A = 0.5  # generator scale, fixed
LR_D, LR_G = 0.05, 0.1
START = {"w": 2.0, "c": -1.0, "b": -2.0}
DATA_MEAN, DATA_STD = 2.0, 0.5


def _draws() -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(4_2024)
    return [(DATA_MEAN + DATA_STD * torch.randn(N, generator=gen, dtype=torch.float64),
             torch.randn(N, generator=gen, dtype=torch.float64)) for _ in range(STEPS)]


def _train(kind: str, grad_d, grad_g) -> list[tuple[float, float, float]]:
    """Alternating SGD steps; returns (w, c, b) after each step."""
    w, c, b = START["w"], START["c"], START["b"]
    history = []
    for step, (x, z) in enumerate(_draws()):
        fake = A * z + b
        gr, gf = grad_d(w * x + c, w * fake + c, step)
        w -= LR_D * ((gr * x).sum() + (gf * fake).sum()).item()
        c -= LR_D * (gr.sum() + gf.sum()).item()
        gg = grad_g(w * fake + c, kind, step)
        b -= LR_G * (gg * w).sum().item()  # d logit / d b = w
        history.append((w, c, b))
    return history


def _student_grads(student):
    def grad_d(rl, fl, step):
        call = f"gradient of discriminator_loss(real_logits, fake_logits) at training step {step}"
        _, (gr, gf) = student.grad("discriminator_loss", rl, fl, wrt=(0, 1))
        for g, name, like in ((gr, "real_logits", rl), (gf, "fake_logits", fl)):
            if g is None:
                fail(f"{call}: no gradient reached {name}; build the loss from torch operations.")
            expect_tensor(g, call=f"{call} w.r.t. {name}", shape=tuple(like.shape), dtype=like.dtype)
        return gr.cpu(), gf.cpu()

    def grad_g(fl, kind, step):
        call = f"gradient of generator_loss(fake_logits, {kind!r}) at training step {step}"
        _, (gg,) = student.grad("generator_loss", fl, kind, wrt=(0,))
        if gg is None:
            fail(f"{call}: no gradient reached fake_logits; build the loss from torch operations.")
        return expect_tensor(gg, call=call, shape=tuple(fl.shape), dtype=fl.dtype).cpu()

    return grad_d, grad_g


def _reference_grads(reference):
    def grad_d(rl, fl, step):
        rl, fl = rl.clone().requires_grad_(True), fl.clone().requires_grad_(True)
        return torch.autograd.grad(reference.discriminator_loss(rl, fl), (rl, fl))

    def grad_g(fl, kind, step):
        fl = fl.clone().requires_grad_(True)
        return torch.autograd.grad(reference.generator_loss(fl, kind), fl)[0]

    return grad_d, grad_g


@pytest.mark.slow
@timeout(30)
@points(3)
def test_gan_training_steps(student, reference):
    """end-to-end: GAN steps with your losses move the generator toward the data; minimax saturates"""
    ns = _train("non_saturating", *_student_grads(student))
    mm = _train("minimax", *_student_grads(student))
    b0 = START["b"]
    moved_ns, moved_mm = ns[-1][2] - b0, mm[-1][2] - b0
    expect(moved_ns > 1.0,
           f"{STEPS} GAN steps with generator_loss(..., 'non_saturating') (generator G(z) = 0.5·z + b, "
           f"data N({DATA_MEAN}, {DATA_STD}²), a discriminator that starts out rejecting the fakes) "
           f"should move b from {b0} toward the data mean {DATA_MEAN} by more than 1; it moved "
           f"{moved_ns:+.4g}. The gradients your losses give push the generator the wrong way, or too "
           "little: check the signs and that the non-saturating loss is −mean log D(G(z)).")
    expect(abs(moved_mm) < 0.1 * abs(moved_ns),
           f"with the minimax generator loss, b should barely move while the discriminator rejects the "
           f"fakes (the loss saturates): it moved {moved_mm:+.4g}, the non-saturating loss moved it "
           f"{moved_ns:+.4g}. minimax is mean log(1 − D(G(z))), whose gradient −σ(ℓ) vanishes for "
           "D(G(z)) ≈ 0.")
    ref_ns = _train("non_saturating", *_reference_grads(reference))
    ref_mm = _train("minimax", *_reference_grads(reference))
    for kind, got, want in (("non_saturating", ns, ref_ns), ("minimax", mm, ref_mm)):
        expect_close(torch.tensor(got, dtype=torch.float64), torch.tensor(want, dtype=torch.float64),
                     call=f"the (w, c, b) trajectory of {STEPS} GAN steps (rows: steps) with "
                          f"discriminator_loss and generator_loss(..., {kind!r})",
                     rtol=1e-4, atol=1e-6)
