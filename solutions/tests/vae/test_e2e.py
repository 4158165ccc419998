"""Hidden end-to-end test: a small VAE trained with the student's elbo learns 8×8 digits.

Student code runs in the sandbox and returns only data, so the grader (trusted side) owns
the encoder and decoder and trains them with gradients that come from the student's
``elbo`` alone. Each step makes one call,

    student.grad("elbo", x, mu', log_var', decode, eps', wrt=(mu', log_var')),

with an augmented latent z' = (z, u) of Dz + Dx coordinates: ``decode`` (the helper
``vae_training_decoder``, built from the current weights) computes
logits = MLP(z) + u, and the grader sets mu_u = 0, log_var_u = 0, eps_u = 0 so that u = 0.
The extra coordinates change nothing in the ELBO (their KL is 0 and u = 0), but
∂ELBO/∂mu_u = ∂ELBO/∂logits: the gradient with respect to the decoder's output, which the
grader backpropagates through its own copy of the decoder. ∂ELBO/∂mu and ∂ELBO/∂log_var of
the first Dz coordinates go back through the encoder. The held-out ELBO is then measured
with the reference solution.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from autograder.testing import Helper, expect_tensor, fail, points, timeout

F32 = torch.float32  # float32 halves what crosses the sandbox boundary at each step
DZ, HIDDEN, DX = 4, 64, 64
STEPS, BATCH, LR = 150, 150, 3e-2  # each step is one call into the sandbox
PASS_ELBO = -21.5  # nats per digit; a correct elbo reaches about −19.9, the pixel marginals −24


def _digits():
    """scikit-learn's 8×8 digits (1797 × 64, grey levels 0…16), binarised at 8.

    Read straight from the file scikit-learn ships (importing sklearn.datasets costs a second).
    """
    import gzip
    import importlib.util
    from pathlib import Path

    import numpy as np

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scikit-learn is not installed: pip install scikit-learn")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    data = torch.from_numpy(table[:, :-1] / 16.0 > 0.5).to(F32)  # last column: the label
    return data[:1500], data[1500:]


class _Adam:
    """Adam (Kingma & Ba) on a list of leaf tensors; torch.optim would import torch._dynamo (~1 s)."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.betas, self.eps, self.t = list(params), lr, betas, eps, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        self.t += 1
        b1, b2 = self.betas
        for p, m, v in zip(self.params, self.m, self.v):
            m.mul_(b1).add_(p.grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            m_hat = m / (1 - b1**self.t)
            v_hat = v / (1 - b2**self.t)
            p.sub_(self.lr * m_hat / (v_hat.sqrt() + self.eps))


@pytest.fixture
def one_thread():
    """Run the grader's side of the training on one thread: these tensors are small, and
    intra-op threads only contend with the sandboxed worker (and other graders) for cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
@timeout(60)
@points(3)
def test_vae_trained_with_student_elbo_learns_digits(student, reference, one_thread):
    """elbo: a small VAE trained with your elbo as the loss reaches a good held-out ELBO on 8×8 digits"""
    train, test = _digits()
    gen = torch.Generator().manual_seed(0)
    encoder = nn.Sequential(nn.Linear(DX, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 2 * DZ))
    with torch.no_grad():
        for p in encoder.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[-1]))
    w1 = (torch.randn(DZ, HIDDEN, generator=gen) / math.sqrt(DZ)).requires_grad_()
    b1 = torch.zeros(HIDDEN, requires_grad=True)
    w2 = (torch.randn(HIDDEN, DX, generator=gen) / math.sqrt(HIDDEN)).requires_grad_()
    b2 = torch.zeros(DX, requires_grad=True)
    opt = _Adam([*encoder.parameters(), w1, b1, w2, b2], lr=LR)
    zeros = torch.zeros(BATCH, DX, dtype=F32)
    call = "elbo(x, mu, log_var, decode, eps) used as the training loss"
    for step in range(STEPS):
        xb = train[torch.randint(0, len(train), (BATCH,), generator=gen)]
        mu, log_var = encoder(xb).chunk(2, dim=-1)
        eps = torch.randn(1, BATCH, DZ, generator=gen)
        decode = Helper("vae_training_decoder", w1=w1.detach(), b1=b1.detach(), w2=w2.detach(),
                        b2=b2.detach(), latent=DZ, dtype="float32")
        value, grads = student.grad(
            "elbo", xb, torch.cat([mu.detach(), zeros], 1), torch.cat([log_var.detach(), zeros], 1),
            decode, torch.cat([eps, zeros[None]], 2), wrt=(1, 2))
        where = f"{call}, training step {step}"
        expect_tensor(value, call=where, shape=(BATCH,))  # dtypes are judged elsewhere
        if grads[0] is None or grads[1] is None:
            fail(f"{where}: no gradient reached mu or log_var, so the VAE cannot be trained. Don't "
                 "use .detach(), .item(), torch.no_grad() or NumPy inside elbo.")
        g_mu = expect_tensor(grads[0], call=where + " (its gradient with respect to mu)",
                             shape=(BATCH, DZ + DX)).to(F32)
        g_lv = expect_tensor(grads[1], call=where + " (its gradient with respect to log_var)",
                             shape=(BATCH, DZ + DX)).to(F32)
        # loss = −mean ELBO; the decoder sees ∂ELBO/∂logits = g_mu[:, DZ:]
        opt.zero_grad()
        z = (mu.detach() + torch.exp(0.5 * log_var.detach()) * eps[0])
        logits = torch.tanh(z @ w1 + b1) @ w2 + b2
        torch.autograd.backward([mu, log_var, logits],
                                [-g_mu[:, :DZ] / BATCH, -g_lv[:, :DZ] / BATCH, -g_mu[:, DZ:] / BATCH])
        opt.step()
    with torch.no_grad():
        mu, log_var = encoder(test).chunk(2, dim=-1)
        eps = torch.randn(16, len(test), DZ, generator=torch.Generator().manual_seed(1))

        def decoder(z):
            return torch.tanh(z @ w1 + b1) @ w2 + b2

        held_out = reference.elbo(test, mu, log_var, decoder, eps).mean().item()
    if not held_out >= PASS_ELBO:
        fail(f"{call}: the grader trained a small VAE (encoder and decoder MLPs, Dz = {DZ}) on "
             f"binarised 8×8 digits for {STEPS} Adam steps, with the gradients of your elbo. Its "
             f"held-out ELBO (measured with the correct formula) is {held_out:.2f} nats per digit; "
             f"with a correct elbo it reaches about −19.9 (pass: ≥ {PASS_ELBO:g}; an untrained "
             "model has about −44). Check that elbo returns the ELBO itself (not the loss), "
             "averages the reconstruction term over the samples, subtracts the KL once, and lets "
             "gradients flow to mu and log_var.")
