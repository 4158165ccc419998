"""Public tests for the flow assignment: shapes, dtypes and small examples you can check by hand.

Run them with `gmgrade check flow`. The networks here are affine maps written out below
(`flow_linear`: u ↦ u @ weight + bias). The hidden tests also use small neural networks,
several layers with permutations, the ヤコビアン by autograd, the integral of p(x), and a
short training run on two moons.
"""

from __future__ import annotations

import math

import torch

from autograder.testing import Helper, expect_close, expect_tensor, points

LOG2PI = math.log(2 * math.pi)

# D = 3, d = 1: s(u) = [0.5 u, −u + 0.2], t(u) = [u + 0.5, −0.5]
S_NET = Helper("flow_linear", weight=[[0.5, -1.0]], bias=[0.0, 0.2])
T_NET = Helper("flow_linear", weight=[[1.0, 0.0]], bias=[0.5, -0.5])
X = torch.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]], dtype=torch.float64)


def _by_hand(x: torch.Tensor):
    u = x[:, :1]
    s = torch.cat([0.5 * u, -u + 0.2], 1)
    t = torch.cat([u + 0.5, torch.full_like(u, -0.5)], 1)
    z = torch.cat([u, x[:, 1:] * torch.exp(s) + t], 1)
    return z, s.sum(1)


@points(2)
def test_coupling_forward_example(student):
    """coupling_forward: a hand example (D = 3, d = 1, affine s and t)"""
    z_want, ld_want = _by_hand(X)
    got = student.coupling_forward(X, 1, S_NET, T_NET)
    expect_close(got, (z_want, ld_want), call="coupling_forward(x, d=1, s_net, t_net)", inputs={"x": X}, rtol=1e-6)


@points(1)
def test_coupling_inverse_example(student):
    """coupling_inverse: undoes the hand example, log_det = −(forward log_det)"""
    z, ld = _by_hand(X)
    got = student.coupling_inverse(z, 1, S_NET, T_NET)
    expect_close(got, (X, -ld), call="coupling_inverse(z, d=1, s_net, t_net)", inputs={"z": z}, rtol=1e-6, atol=1e-9)


@points(1)
def test_standard_normal_at_zero(student):
    """standard_normal_log_prob: at z = 0 it is −(D/2)·log(2π), one value per row, dtype kept"""
    z = torch.zeros(2, 3)
    got = student.standard_normal_log_prob(z)
    expect_tensor(got, call="standard_normal_log_prob(z)", inputs={"z": z}, shape=(2,), dtype=torch.float32)
    expect_close(got, torch.full((2,), -1.5 * LOG2PI), call="standard_normal_log_prob(z)", inputs={"z": z}, rtol=1e-6)


@points(1)
def test_flow_log_prob_one_layer(student):
    """flow_log_prob: one layer without permutation = log N(f(x)) + log_det"""
    z, ld = _by_hand(X)
    want = -0.5 * (z**2).sum(1) - 1.5 * LOG2PI + ld
    got = student.flow_log_prob(X, [(1, S_NET, T_NET, None)])
    expect_close(got, want, call="flow_log_prob(x, [(1, s_net, t_net, None)])", inputs={"x": X}, rtol=1e-6)


@points(1)
def test_flow_log_prob_permutation(student):
    """flow_log_prob: the layer permutes the features first (h = x[:, perm])"""
    perm = torch.tensor([2, 0, 1])
    z, ld = _by_hand(X[:, perm])
    want = -0.5 * (z**2).sum(1) - 1.5 * LOG2PI + ld
    got = student.flow_log_prob(X, [(1, S_NET, T_NET, perm)])
    expect_close(got, want, call="flow_log_prob(x, [(1, s_net, t_net, perm)])", inputs={"x": X, "perm": perm},
                 rtol=1e-6)


@points(1)
def test_flow_sample_one_layer(student):
    """flow_sample: with one layer and a permutation it maps f(x) back to x"""
    perm = torch.tensor([2, 0, 1])
    z, _ = _by_hand(X[:, perm])
    got = student.flow_sample([(1, S_NET, T_NET, perm)], z)
    expect_close(got, X, call="flow_sample([(1, s_net, t_net, perm)], z)", inputs={"z": z, "perm": perm},
                 rtol=1e-6, atol=1e-9)
