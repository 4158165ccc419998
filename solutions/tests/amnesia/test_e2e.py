"""Hidden end-to-end test: Selective Amnesia with the student's functions forgets class 0.

The model is a grader helper (``amnesia_gaussian``: a class-conditional Gaussian in 2-D whose
mean has a ``shift`` shared by all classes), rebuilt in the sandbox from its parameter
values at every call, so its 14 parameters θ live here in the grader. The student's code
makes the Fisher diagonal, the replay samples and every loss value; the grader takes Adam
steps on θ with the forward finite-difference gradient of the student's
``selective_amnesia_loss`` (15 calls per step). Everything is float64 and seeded.

Two runs from the same θ*: Selective Amnesia (surrogate + replay + EWC), and the surrogate
term alone (the student's loss with λ = 0 and the surrogate batch as its "replay" batch:
twice the surrogate term, which Adam, invariant to the scale of the gradient, follows
exactly as the term alone). The student's ``forgetting_report`` measures both; the
reference's ``log_prob`` — the helper's — is the judge.
"""

from __future__ import annotations

import pytest
import torch

from autograder.testing import Helper, expect, expect_tensor, fail, points, timeout

F64 = torch.float64
C, D = 3, 2
MEANS = [[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]]
LOG_STD = -0.3
SURROGATE, SURROGATE_SD = (-2.0, -2.0), 0.7  # q(x | c_f = 0): a blob next to class 0
STEPS, LR, LAM, FD = 30, 0.3, 0.3, 1e-6
N_FORGET, N_REPLAY, N_KEEP, N_TEST = 64, 32, 100, 200
DROP, STAY = 5.0, 0.5  # nats: class 0 must fall by DROP, the others stay within STAY


def _spec(theta: torch.Tensor) -> Helper:
    """The model with parameters θ = (means (C·D), log_std (C·D), shift (D)) flattened."""
    means, log_std, shift = theta.split([C * D, C * D, D])
    return Helper("amnesia_gaussian", means=means.reshape(C, D), log_std=log_std.reshape(C, D),
                  shift=shift)


def _flat(params: list) -> torch.Tensor:
    return torch.cat([p.reshape(-1) for p in params])


class _Adam:
    """Adam (Kingma & Ba) on one flat vector; torch.optim would import torch._dynamo (~1 s)."""

    def __init__(self, lr: float, betas=(0.9, 0.999), eps=1e-8) -> None:
        self.lr, self.betas, self.eps, self.t, self.m, self.v = lr, betas, eps, 0, 0.0, 0.0

    def step(self, theta: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        b1, b2 = self.betas
        self.t += 1
        self.m = b1 * self.m + (1 - b1) * grad
        self.v = b2 * self.v + (1 - b2) * grad * grad
        m_hat, v_hat = self.m / (1 - b1 ** self.t), self.v / (1 - b2 ** self.t)
        return theta - self.lr * m_hat / (v_hat.sqrt() + self.eps)


def _forget(student, theta0, old_params, fisher, lam, replay, gen) -> torch.Tensor:
    """θ after STEPS Adam steps on the student's loss (forward differences)."""
    theta, adam = theta0.clone(), _Adam(LR)
    shifts = torch.eye(theta.numel(), dtype=F64) * FD
    for step in range(STEPS):
        x_f = torch.tensor(SURROGATE, dtype=F64) + SURROGATE_SD * torch.randn(N_FORGET, D, generator=gen, dtype=F64)
        c_f = torch.zeros(N_FORGET, dtype=torch.int64)
        x_r, c_r = replay[step] if replay is not None else (x_f, c_f)
        values = []
        for t in torch.cat([theta[None], theta + shifts]):
            got = student.selective_amnesia_loss(_spec(t), old_params, fisher, lam, x_f, c_f, x_r, c_r)
            got = expect_tensor(got, call=f"selective_amnesia_loss(model, …) at forgetting step {step}",
                                shape=(), dtype=F64)
            values.append(float(got))
        loss = torch.tensor(values, dtype=F64)
        theta = adam.step(theta, (loss[1:] - loss[0]) / FD)
    return theta


@pytest.mark.slow
@timeout(60)
@points(3)
def test_selective_amnesia_forgets_class_0(student, reference):
    """end-to-end: fisher_diagonal, replay_samples, selective_amnesia_loss and forgetting_report make a model forget class 0 and keep the others"""
    gen = torch.Generator().manual_seed(13)
    theta0 = torch.cat([torch.tensor(MEANS, dtype=F64).reshape(-1),
                        torch.full((C * D,), LOG_STD, dtype=F64), torch.zeros(D, dtype=F64)])
    model0 = _spec(theta0)
    truth = model0.build()
    c_test = torch.arange(C).repeat_interleave(N_TEST)
    x_test = truth.sample(c_test, generator=gen).detach()
    before = truth.log_prob(x_test, c_test).detach()
    c_keep = torch.arange(C).repeat_interleave(N_KEEP)
    x_keep = truth.sample(c_keep, generator=gen).detach()

    fisher = student.fisher_diagonal(model0, x_keep, c_keep)
    want = [p.shape for p in truth.parameters()]
    if not isinstance(fisher, (list, tuple)) or [getattr(f, "shape", None) for f in fisher] != want:
        fail(f"fisher_diagonal(model, x, c) returned {type(fisher).__name__}; expected a list of "
             f"{len(want)} tensors shaped {[tuple(s) for s in want]} (the model's parameters).")
    fisher = [f.to(F64) for f in fisher]
    old_params = [p.detach() for p in truth.parameters()]
    x_r, c_r = student.replay_samples(model0, [1, 2], STEPS * N_REPLAY)
    expect_tensor(x_r, call="replay_samples(model, [1, 2], n)", shape=(2 * STEPS * N_REPLAY, D), dtype=F64)
    # one replay batch per step, each with both classes
    order = torch.arange(2 * STEPS * N_REPLAY).reshape(2, STEPS, N_REPLAY).transpose(0, 1).reshape(STEPS, -1)
    replay = [(x_r[i], c_r[i]) for i in order]

    forgot = _forget(student, theta0, old_params, fisher, LAM, replay, torch.Generator().manual_seed(1))
    alone = _forget(student, theta0, old_params, fisher, 0.0, None, torch.Generator().manual_seed(1))

    report = student.forgetting_report(_spec(forgot), x_test, c_test, before)
    expect_tensor(report, call="forgetting_report(model, x, c, log_px_before) after forgetting",
                  shape=(C,), dtype=F64)
    judge = [reference.forgetting_report(_spec(t).build(), x_test, c_test, before) for t in (forgot, alone)]
    sa, only = judge
    said = ", ".join(f"{v:+.2f}" for v in sa.tolist())
    expect(float(sa[0]) <= -DROP and float(sa[1:].abs().max()) <= STAY,
           f"Selective Amnesia of class 0 ({STEPS} Adam steps on your selective_amnesia_loss, with your "
           f"fisher_diagonal and replay_samples, λ = {LAM}) changed the mean log-likelihood per class "
           f"by [{said}] nats; a correct implementation drops class 0 by at least {DROP} nats "
           f"and keeps classes 1 and 2 within ±{STAY}. Check the signs of the two likelihood terms "
           "(the loss is minimised), that replay covers the classes you keep, and the EWC weights.")
    drift_sa, drift_only = float(sa[1:].abs().max()), float(only[1:].abs().max())
    expect(drift_only >= 2 * drift_sa and drift_only >= 2 * STAY,
           f"without replay and EWC (λ = 0, the surrogate term alone) classes 1 and 2 moved by up to "
           f"{drift_only:.2f} nats, with them by {drift_sa:.2f}: replay and EWC should hold the "
           "kept classes much better than the surrogate term alone.")
    expect(torch.allclose(report.cpu(), sa, rtol=1e-6, atol=1e-6),
           f"forgetting_report(model, x, c, log_px_before) after forgetting returned "
           f"{[round(v, 4) for v in report.tolist()]}; the per-class mean changes are "
           f"{[round(v, 4) for v in sa.tolist()]}.")
