"""Hidden end-to-end test: Selective Amnesia with the student's functions forgets class 0.

The model is a grader helper (``amnesia_gaussian``: a class-conditional Gaussian in 2-D whose
mean has a ``shift`` shared by all classes), rebuilt in the sandbox from its parameter
values at every call, so its 14 parameters θ live here in the grader. The student's code
makes the Fisher diagonal, the replay samples, the loss and the final report; the grader
takes Adam steps on θ.

Each step is ONE call, ``student.grad("selective_amnesia_loss", probe, …, wrt=(x_forget,
x_replay))``, with ``amnesia_probe``: the same model, whose points carry 14 extra columns δ
(sent as 0) added to the parameters of their own example, so that the gradient of the
student's loss with respect to those columns, summed over the examples, is its gradient
with respect to θ through the two likelihood terms. The EWC term's gradient, λ F ⊙ (θ − θ*),
is added here with the student's Fisher (``ewc_penalty`` has its own tests).

Two runs from the same θ*: Selective Amnesia (surrogate + replay + EWC), and the surrogate
term alone (the student's loss with λ = 0 and the surrogate batch as its "replay" batch:
twice the surrogate term, which Adam, invariant to the scale of the gradient, follows
exactly as the term alone). The helper's ``log_prob`` judges both; the student's
``forgetting_report`` must agree. Everything is float64 and seeded.
"""

from __future__ import annotations

import pytest
import torch

from autograder.testing import (
    Helper,
    expect,
    expect_tensor,
    expect_tuple,
    fail,
    points,
    timeout,
)

F64 = torch.float64
C, D = 3, 2
MEANS = [[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]]
LOG_STD = -0.3
SURROGATE, SURROGATE_SD = (-2.0, -2.0), 0.7  # q(x | c_f = 0): a blob next to class 0
N_PARAMS = 2 * C * D + D
STEPS, LR, LAM = 30, 0.3, 0.3
N_FORGET, N_REPLAY, N_KEEP, N_TEST = 64, 32, 100, 200
DROP, STAY = 5.0, 0.5  # nats: class 0 must fall by DROP, the others stay within STAY


def _unflat(theta: torch.Tensor) -> list:
    """[means (C, D), log_std (C, D), shift (D,)] from θ, their entries flattened in a row."""
    means, log_std, shift = theta.split([C * D, C * D, D])
    return [means.reshape(C, D), log_std.reshape(C, D), shift]


def _spec(theta: torch.Tensor, helper: str = "amnesia_gaussian") -> Helper:
    means, log_std, shift = _unflat(theta)
    return Helper(helper, means=means, log_std=log_std, shift=shift)


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


def _augment(x: torch.Tensor) -> torch.Tensor:
    """Points with the probe's parameter-offset columns, all 0."""
    return torch.cat([x, torch.zeros(len(x), N_PARAMS, dtype=x.dtype)], dim=1)


def _forget(student, theta0, fisher, lam, replay, gen) -> torch.Tensor:
    """θ after STEPS Adam steps on the student's loss (see the module docstring)."""
    theta, adam = theta0.clone(), _Adam(LR)
    old_params = _unflat(theta0)
    for step in range(STEPS):
        x_f = torch.tensor(SURROGATE, dtype=F64) + SURROGATE_SD * torch.randn(N_FORGET, D, generator=gen, dtype=F64)
        c_f = torch.zeros(N_FORGET, dtype=torch.int64)
        x_r, c_r = replay[step] if replay is not None else (x_f, c_f)
        call = f"selective_amnesia_loss(model, …) at forgetting step {step}"
        value, grads = student.grad("selective_amnesia_loss", _spec(theta, "amnesia_probe"), old_params, fisher,
                                    lam, _augment(x_f), c_f, _augment(x_r), c_r, wrt=(4, 6))
        expect_tensor(value, call=call, shape=(), dtype=F64)
        if grads[0] is None or grads[1] is None:
            fail(f"{call}: no gradient reached the model's parameters through the likelihood terms; "
                 "the loss must be differentiable (no .detach(), .item(), torch.no_grad()).")
        grad = grads[0][:, D:].sum(0) + grads[1][:, D:].sum(0) + lam * _flat(fisher) * (theta - theta0)
        theta = adam.step(theta, grad)
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
    call = f"replay_samples(model, [1, 2], {STEPS * N_REPLAY})"
    x_r, c_r = expect_tuple(student.replay_samples(model0, [1, 2], STEPS * N_REPLAY), 2, call=call)
    expect_tensor(x_r, call=call + " x", shape=(2 * STEPS * N_REPLAY, D), dtype=F64)
    expect_tensor(c_r, call=call + " c", shape=(2 * STEPS * N_REPLAY,), dtype=torch.int64)
    # one replay batch per step, each with both classes
    order = torch.arange(2 * STEPS * N_REPLAY).reshape(2, STEPS, N_REPLAY).transpose(0, 1).reshape(STEPS, -1)
    replay = [(x_r[i], c_r[i]) for i in order]

    forgot = _forget(student, theta0, fisher, LAM, replay, torch.Generator().manual_seed(1))
    alone = _forget(student, theta0, fisher, 0.0, None, torch.Generator().manual_seed(1))

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
