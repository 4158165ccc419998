"""Public tests for the flow assignment: shapes, dtypes and small examples you can check by hand.

Run them with `gmgrade check flow`. The networks here are affine maps written out below
(`flow_linear`: u ↦ u @ weight + bias). The hidden tests also use small neural networks,
several layers with permutations, the ヤコビアン by autograd, the integral of p(x), and a
short training run on two moons.
"""

from __future__ import annotations

import math

import torch

from autograder.testing import (Helper, expect, expect_close, expect_right_answer, expect_tensor, fail, points,
                                upstream_mistakes)

LOG2PI = math.log(2 * math.pi)

# D = 3, d = 1: s(u) = [0.5 u, −u + 0.2], t(u) = [u + 0.5, −0.5]
S_NET = Helper("flow_linear", weight=[[0.5, -1.0]], bias=[0.0, 0.2])
T_NET = Helper("flow_linear", weight=[[1.0, 0.0]], bias=[0.5, -0.5])
X = torch.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]], dtype=torch.float64)
PERM = torch.tensor([2, 0, 1])


def _st(u):
    return torch.cat([0.5 * u, -u + 0.2], 1), torch.cat([u + 0.5, torch.full_like(u, -0.5)], 1)


def _by_hand(x: torch.Tensor, scale=torch.exp, shift_inside=False, log_det=lambda s: s.sum(1)):
    """coupling_forward of the hand example; the keywords describe the usual slips."""
    u = x[:, :1]
    s, t = _st(u)
    z2 = (x[:, 1:] + t) * scale(s) if shift_inside else x[:, 1:] * scale(s) + t
    return torch.cat([u, z2], 1), log_det(s)


def _inverse_by_hand(z: torch.Tensor, scale_sign=-1.0, shift_first=True):
    """coupling_inverse of the hand example; the keywords describe the usual slips."""
    u = z[:, :1]
    s, t = _st(u)
    x2 = (z[:, 1:] - t) * torch.exp(scale_sign * s) if shift_first else z[:, 1:] * torch.exp(scale_sign * s) - t
    return torch.cat([u, x2], 1)


FORWARD_SLIPS = {
    "log_det has the wrong sign: log|det ∂z/∂x| = +Σ s(x₁:d) for the forward map": {"log_det": lambda s: -s.sum(1)},
    "log_det should be the sum of s over its D − d outputs, not the mean": {"log_det": lambda s: s.mean(1)},
    "z_d+1:D should be x_d+1:D ⊙ exp(s) + t (scale by exp(s), not by s)": {"scale": lambda s: s},
    "the shift t is added after scaling: z_d+1:D = x_d+1:D ⊙ exp(s) + t, not (x_d+1:D + t) ⊙ exp(s)":
        {"shift_inside": True},
}


def _normal(z, const=1.5 * LOG2PI):
    return -0.5 * (z**2).sum(1) - const


NORMAL_SLIPS = {"the normalising constant −(D/2) log(2π) is missing": {"const": 0.0},
                "the constant is −(D/2) log(2π), D = z.shape[-1]; you used −½ log(2π)": {"const": 0.5 * LOG2PI}}


@points(2)
def test_coupling_forward_example(student):
    """coupling_forward: a hand example (D = 3, d = 1, affine s and t), one log_det per row"""
    got = student.coupling_forward(X, 1, S_NET, T_NET)
    expect_close(got, _by_hand(X), call="coupling_forward(x, d=1, s_net, t_net)", inputs={"x": X}, rtol=1e-6,
                 mistakes={"log_det should be one log-determinant per row, shape (B,), not a sum over the batch":
                           (_by_hand(X)[0], _by_hand(X)[1].sum()),
                           **{hint: _by_hand(X, **slip) for hint, slip in FORWARD_SLIPS.items()}})


@points(1)
def test_coupling_inverse_example(student):
    """coupling_inverse: undoes the hand example, log_det = −(forward log_det); z is left as it was"""
    z, ld = _by_hand(X)
    got = student.coupling_inverse(z, 1, S_NET, T_NET)
    expect_close(got, (X, -ld), call="coupling_inverse(z, d=1, s_net, t_net)", inputs={"z": z}, rtol=1e-6, atol=1e-9,
                 mistakes={"the inverse log_det is −Σ s(z₁:d) (the negative of the forward one)": (X, ld),
                           "undo the shift before the scale: x_d+1:D = (z_d+1:D − t) ⊙ exp(−s)":
                               (_inverse_by_hand(z, shift_first=False), -ld),
                           "divide by exp(s) to invert, i.e. multiply by exp(−s), not by exp(s)":
                               (_inverse_by_hand(z, scale_sign=1.0), -ld)})
    for fn, arg, want in (("coupling_forward", X, _by_hand(X)), ("coupling_inverse", z, (X, -ld))):
        got, mutated = student.call_checking_inputs(fn, arg, 1, S_NET, T_NET)
        expect(0 not in mutated, f"{fn}(x, d=1, s_net, t_net) modified its input x in place (e.g. x[:, d:] *= ...). "
               "Build the result with torch.cat instead: callers still need the original x.")
        # x left alone counts only with the right answer for this call (the hand example)
        expect_right_answer(got, want, call=f"{fn}(x, d=1, s_net, t_net)", inputs={"x": arg})


@points(1)
def test_standard_normal_at_zero(student):
    """standard_normal_log_prob: at z = 0 it is −(D/2)·log(2π), at (1, 2, 2) −9/2 − (3/2)·log(2π); dtype kept"""
    z = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    got = student.standard_normal_log_prob(z)
    expect_tensor(got, call="standard_normal_log_prob(z)", inputs={"z": z}, shape=(2,), dtype=torch.float32)
    expect_close(got, _normal(z), call="standard_normal_log_prob(z)", inputs={"z": z}, rtol=1e-6,
                 mistakes={hint: _normal(z, **slip) for hint, slip in NORMAL_SLIPS.items()})


def _log_prob(x, perm=None, perm_after=False, ld_sign=1.0, normal=None, **coupling):
    """flow_log_prob of one hand-example layer; the keywords describe slips there or upstream."""
    h = x if perm is None or perm_after else x[:, perm]
    z, ld = _by_hand(h, **coupling)
    if perm is not None and perm_after:
        z = z[:, perm]
    return _normal(z, **(normal or {})) + ld_sign * ld


UPSTREAM = {**{f"coupling_forward: {hint}": slip for hint, slip in FORWARD_SLIPS.items()},
            **{f"standard_normal_log_prob: {hint}": {"normal": slip} for hint, slip in NORMAL_SLIPS.items()}}


def _log_prob_slips(x, perm):
    slips = {"the log-determinants are subtracted: log p(x) = log N(f(x)) + Σ log|det ∂f/∂x|":
             _log_prob(x, perm, ld_sign=-1.0),
             "the log-determinants are missing: log p(x) = log N(f(x)) + Σ_layers log_det":
             _log_prob(x, perm, ld_sign=0.0)}
    if perm is not None:
        slips["the permutations were ignored: each layer first permutes the features, h = h[:, perm]"] = _log_prob(x)
        slips["the permutation is applied after the coupling layer; apply it first (h = h[:, perm], then "
              "coupling_forward)"] = _log_prob(x, perm, perm_after=True)
    return {**slips, **upstream_mistakes("flow_log_prob", lambda **kw: _log_prob(x, perm, **kw), UPSTREAM)}


@points(1)
def test_flow_log_prob_one_layer(student):
    """flow_log_prob: one layer without permutation = log N(f(x)) + log_det"""
    got = student.flow_log_prob(X, [(1, S_NET, T_NET, None)])
    expect_close(got, _log_prob(X), call="flow_log_prob(x, [(1, s_net, t_net, None)])", inputs={"x": X}, rtol=1e-6,
                 mistakes=_log_prob_slips(X, None))


@points(1)
def test_flow_log_prob_permutation(student):
    """flow_log_prob: the layer permutes the features first (h = x[:, perm]), leaving x as it was"""
    got, mutated = student.call_checking_inputs("flow_log_prob", X, [(1, S_NET, T_NET, PERM)])
    expect_close(got, _log_prob(X, PERM), call="flow_log_prob(x, [(1, s_net, t_net, perm)])",
                 inputs={"x": X, "perm": PERM}, rtol=1e-6, mistakes=_log_prob_slips(X, PERM))
    expect(0 not in mutated, "flow_log_prob(x, [(1, s_net, t_net, perm)]) modified x in place (e.g. h[:] = "
           "h[:, perm] writes into x); permute and transform copies (h = x[:, perm] makes one), never write into x")


@points(1)
def test_flow_log_prob_gradient_by_hand(student):
    """flow_log_prob: differentiable in x: the score ∇ₓ log p(x) of one layer (autograd of the hand example)"""
    _, (g,) = student.grad("flow_log_prob", X, [(1, S_NET, T_NET, None)], wrt=(0,))
    if g is None:
        fail("flow_log_prob(x, layers): no gradient flows back to x. Use torch operations throughout "
             "(no .detach(), .item(), NumPy or torch.no_grad()).")
    xr = X.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(_log_prob(xr).sum(), xr)
    expect_close(g, want, call="gradient of flow_log_prob(x, [(1, s_net, t_net, None)]).sum() w.r.t. x",
                 inputs={"x": X}, rtol=1e-6, atol=1e-9)


def _sample(z, layers, reverse=True, perm_first=False, invert=True):
    """flow_sample through hand-example layers (each a perm or None); the keywords describe slips."""
    h = z
    for perm in (reversed(layers) if reverse else layers):
        undo = None if perm is None else (torch.argsort(perm) if invert else perm)
        if undo is not None and perm_first:
            h = h[:, undo]
        h = _inverse_by_hand(h)
        if undo is not None and not perm_first:
            h = h[:, undo]
    return h


@points(1)
def test_flow_sample_one_layer(student):
    """flow_sample: with one layer and a permutation it maps f(x) back to x"""
    z, _ = _by_hand(X[:, PERM])
    got = student.flow_sample([(1, S_NET, T_NET, PERM)], z)
    expect_close(got, X, call="flow_sample([(1, s_net, t_net, perm)], z)", inputs={"z": z, "perm": PERM},
                 rtol=1e-6, atol=1e-9,
                 mistakes={"the permutations were applied as h[:, perm] again; undo them with the inverse "
                           "permutation h[:, torch.argsort(perm)]": _sample(z, [PERM], invert=False),
                           "undo each layer's coupling first, then its permutation (the reverse of the "
                           "forward order)": _sample(z, [PERM], perm_first=True)})


@points(1)
def test_flow_sample_two_layers(student):
    """flow_sample: two layers (no permutation, then perm) are undone last layer first"""
    layers = [(1, S_NET, T_NET, None), (1, S_NET, T_NET, PERM)]
    z, _ = _by_hand(_by_hand(X)[0][:, PERM])
    got = student.flow_sample(layers, z)
    expect_close(got, X, call="flow_sample([(1, s_net, t_net, None), (1, s_net, t_net, perm)], z)",
                 inputs={"z": z, "perm": PERM}, rtol=1e-6, atol=1e-9,
                 mistakes={"the layers must be inverted in reverse order (last layer first)":
                           _sample(z, [None, PERM], reverse=False),
                           "the permutations were applied as h[:, perm] again; undo them with the inverse "
                           "permutation h[:, torch.argsort(perm)]": _sample(z, [None, PERM], invert=False),
                           "undo each layer's coupling first, then its permutation (the reverse of the "
                           "forward order)": _sample(z, [None, PERM], perm_first=True)})
