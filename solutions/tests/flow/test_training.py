"""End-to-end: the grader trains a small RealNVP on two moons with the student's flow_log_prob.

Networks cannot cross the sandbox boundary and ``student.grad`` differentiates only with
respect to tensor arguments, so the flow's trainable parameters live in the grader: each
s/t network is a ``flow_rf`` random-feature network (fixed seeded tanh features, trainable
linear read-out). The read-out of all 2P perturbed parameter vectors θ ± ε·e_i is sent at
once; ``flow_rf`` evaluates block k of the batch with parameter set k, so ONE call of the
student's ``flow_log_prob`` on the training set repeated 2P times gives the central
finite-difference gradient of the mean log-likelihood. Everything is float64 and seeded:
the result is deterministic, and a few seconds of CPU.
"""

from __future__ import annotations

import math

import pytest
import torch

from autograder.protocol import Helper
from autograder.testing import expect, expect_close, expect_tensor, points, timeout

N_TRAIN, N_TEST = 128, 512
HIDDEN, LAYERS = 8, 4
STEPS, LR, EPS = 60, 0.08, 1e-3
FEATURE_SCALE = 2.0
SEED = 1
MARGIN = 0.15  # nats per point above a single Gaussian fit
SWAP = [1, 0]


def _moons(n: int, gen: torch.Generator) -> torch.Tensor:
    t = torch.rand(n, generator=gen, dtype=torch.float64) * math.pi
    upper = torch.rand(n, generator=gen, dtype=torch.float64) < 0.5
    x = torch.where(upper, torch.cos(t), 1 - torch.cos(t))
    y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
    return torch.stack([x, y], 1) + 0.1 * torch.randn(n, 2, generator=gen, dtype=torch.float64)


def _layers(theta: torch.Tensor) -> list:
    """The flow for K parameter vectors theta (K, P): 4 coupling layers on R², swaps between."""
    ro = theta.reshape(theta.shape[0], LAYERS, 2, HIDDEN + 1, 1)
    return [(1,
             Helper("flow_rf", d_in=1, readout=ro[:, i, 0].contiguous(), seed=100 + 2 * i,
                    feature_scale=FEATURE_SCALE),
             Helper("flow_rf", d_in=1, readout=ro[:, i, 1].contiguous(), seed=101 + 2 * i,
                    feature_scale=FEATURE_SCALE),
             None if i == 0 else torch.tensor(SWAP))
            for i in range(LAYERS)]


@pytest.mark.slow
@timeout(60)
@points(3)
def test_flow_trains_on_two_moons(student, reference):
    """end-to-end: a small RealNVP trained with your flow_log_prob fits two moons (held-out log-likelihood)"""
    gen = torch.Generator().manual_seed(SEED)
    train, test = _moons(N_TRAIN, gen), _moons(N_TEST, gen)
    mu, sd = train.mean(0), train.std(0)
    train, test = (train - mu) / sd, (test - mu) / sd
    n_par = LAYERS * 2 * (HIDDEN + 1)
    theta = 0.05 * torch.randn(n_par, generator=gen, dtype=torch.float64)  # small, never zero
    theta0 = theta.clone()
    shifts = torch.cat([torch.eye(n_par, dtype=torch.float64), -torch.eye(n_par, dtype=torch.float64)]) * EPS
    batch = train.repeat(2 * n_par, 1)  # block k of the batch is evaluated with parameters θ + shifts[k]
    m = torch.zeros(n_par, dtype=torch.float64)
    v = torch.zeros(n_par, dtype=torch.float64)
    for step in range(STEPS):
        got = student.flow_log_prob(batch, _layers(theta[None] + shifts))
        got = expect_tensor(got, call=f"flow_log_prob(x, layers) at training step {step} (x: the "
                                      f"{N_TRAIN} training points repeated {2 * n_par} times)",
                            shape=(batch.shape[0],), dtype=torch.float64)
        mean_ll = got.cpu().reshape(2 * n_par, N_TRAIN).mean(1)
        grad = (mean_ll[:n_par] - mean_ll[n_par:]) / (2 * EPS)  # ascent direction
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        theta = theta + LR * (m / (1 - 0.9 ** (step + 1))) / ((v / (1 - 0.999 ** (step + 1))).sqrt() + 1e-8)

    final = _layers(theta[None])
    true_ll = reference.flow_log_prob(test, final).mean().item()
    start_ll = reference.flow_log_prob(test, _layers(theta0[None])).mean().item()
    gauss_ll = torch.distributions.MultivariateNormal(train.mean(0), torch.cov(train.T)).log_prob(test).mean().item()
    expect(true_ll >= gauss_ll + MARGIN,
           f"a 4-layer RealNVP trained for {STEPS} Adam steps on two moons with your flow_log_prob as the "
           f"objective reaches a held-out log-likelihood of {true_ll:.3f} nats per point (before training: "
           f"{start_ll:.3f}); a correct flow_log_prob trains it to at least {gauss_ll + MARGIN:.3f} (a "
           f"single Gaussian fit gets {gauss_ll:.3f}). Training follows whatever your function returns, so "
           "a wrong sign of the log-determinant or a missing term leads it astray.")
    held = student.flow_log_prob(test, final)
    held = expect_tensor(held, call="flow_log_prob(x_test, trained layers)", shape=(N_TEST,), dtype=torch.float64)
    expect_close(held.mean().cpu(), torch.tensor(true_ll, dtype=torch.float64),
                 call="the mean held-out log-likelihood your flow_log_prob reports for the trained flow",
                 rtol=1e-6, atol=1e-8)
