"""Hidden tests for whole flows: base density, exact log p(x) (変数変換), sampling (全単射 inverse)."""

from __future__ import annotations

import math

import torch

from autograder.helpers.flow import layer_specs
from autograder.testing import expect, expect_close, expect_right_answer, expect_tensor, fail, points

LOG2PI = math.log(2 * math.pi)
RTOL, ATOL = 1e-5, 1e-7

# non-involutive permutations: applying one twice is not the identity, and argsort(p) != p
CYCLE4 = [1, 2, 3, 0]
MIXED4 = [2, 0, 3, 1]
CYCLE3 = [2, 0, 1]


def _build(layers):
    return [(d, s.build(), t.build(), p) for d, s, t, p in layers]


def _normal(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * (z * z).sum(-1) - 0.5 * z.shape[-1] * LOG2PI


@torch.no_grad()
def _variant_log_prob(x, layers, *, use_perm=True, perm_after=False, ld_sign=1.0, with_ld=True):
    """The flow log-likelihood with one deliberate mistake, for hints."""
    h = x
    total = torch.zeros(x.shape[0], dtype=x.dtype)
    for d, s_net, t_net, perm in _build(layers):
        if perm is not None and use_perm and not perm_after:
            h = h[:, perm]
        s, t = s_net(h[:, :d]), t_net(h[:, :d])
        h = torch.cat([h[:, :d], h[:, d:] * torch.exp(s) + t], 1)
        if perm is not None and use_perm and perm_after:
            h = h[:, perm]
        total = total + ld_sign * s.sum(1)
    return _normal(h) + (total if with_ld else 0)


def _log_prob_mistakes(x, layers) -> dict:
    return {
        "the permutations were ignored: each layer first permutes the features, h = h[:, perm]":
            lambda: _variant_log_prob(x, layers, use_perm=False),
        "the permutation is applied after the coupling layer; apply it first (h = h[:, perm], then "
        "coupling_forward)": lambda: _variant_log_prob(x, layers, perm_after=True),
        "the log-determinants are subtracted: log p(x) = log N(f(x)) + Σ log|det ∂f/∂x|":
            lambda: _variant_log_prob(x, layers, ld_sign=-1.0),
        "the log-determinants are missing: log p(x) = log N(f(x)) + Σ_layers log_det":
            lambda: _variant_log_prob(x, layers, with_ld=False),
    }


@torch.no_grad()
def _variant_sample(z, layers, *, invert_perm=True, reverse=True, perm_first=False, use_perm=True):
    h = z
    built = _build(layers)
    for d, s_net, t_net, perm in (reversed(built) if reverse else built):
        if perm is not None and use_perm and perm_first:
            h = h[:, torch.argsort(perm) if invert_perm else perm]
        s, t = s_net(h[:, :d]), t_net(h[:, :d])
        h = torch.cat([h[:, :d], (h[:, d:] - t) * torch.exp(-s)], 1)
        if perm is not None and use_perm and not perm_first:
            h = h[:, torch.argsort(perm) if invert_perm else perm]
    return h


def _sample_mistakes(z, layers) -> dict:
    return {
        "the permutations were applied as h[:, perm] again; undo them with the inverse "
        "permutation h[:, torch.argsort(perm)]": lambda: _variant_sample(z, layers, invert_perm=False),
        "the layers must be inverted in reverse order (last layer first)":
            lambda: _variant_sample(z, layers, reverse=False),
        "undo each layer's coupling first, then its permutation (the reverse of the forward order)":
            lambda: _variant_sample(z, layers, perm_first=True),
        "the permutations were ignored: each layer's permutation must be undone":
            lambda: _variant_sample(z, layers, use_perm=False),
    }


def _flow4(seed: int, dtype: str = "float64"):
    return layer_specs(4, [2, 1, 3], [None, CYCLE4, MIXED4], seed, dtype=dtype, s_scale=0.6, t_scale=1.0)


# --------------------------------------------------------------------------- base density


@points(1)
def test_standard_normal_values(student, reference, rng):
    """standard_normal_log_prob: values, summed over the last dim"""
    z = torch.randn(6, 3, generator=rng, dtype=torch.float64) * 2
    got = student.standard_normal_log_prob(z)
    expect_close(got, reference.standard_normal_log_prob(z), call="standard_normal_log_prob(z)", inputs={"z": z},
                 rtol=RTOL, atol=ATOL,
                 mistakes={"the normalising constant −(D/2) log(2π) is missing": -0.5 * (z * z).sum(-1),
                           "the constant is −(D/2) log(2π), with D the number of features; you used "
                           "−½ log(2π)": -0.5 * (z * z).sum(-1) - 0.5 * LOG2PI,
                           "sum over the D features, not the mean": _normal(z) / z.shape[-1]})


@points(1)
def test_standard_normal_batch_dims_float32(student, reference, rng):
    """standard_normal_log_prob: leading batch dims and float32"""
    z = torch.randn(2, 3, 5, generator=rng, dtype=torch.float32)
    got = student.standard_normal_log_prob(z)
    expect_close(got, reference.standard_normal_log_prob(z), call="standard_normal_log_prob(z)", inputs={"z": z},
                 rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- log p(x)


@points(3)
def test_flow_log_prob_values(student, reference, rng):
    """flow_log_prob: values for a 3-layer flow on R⁴ with permutations"""
    layers = _flow4(seed=40)
    x = torch.randn(6, 4, generator=rng, dtype=torch.float64) * 1.5
    got = student.flow_log_prob(x, layers)
    expect_close(got, reference.flow_log_prob(x, layers), call="flow_log_prob(x, layers)",
                 inputs={"x": x, "perms": [p for _, _, _, p in layers]}, rtol=RTOL, atol=ATOL,
                 mistakes=_log_prob_mistakes(x, layers))


@points(1)
def test_flow_log_prob_float32(student, reference, rng):
    """flow_log_prob: float32 inputs and networks give float32 results"""
    layers = _flow4(seed=41, dtype="float32")
    x = torch.randn(5, 4, generator=rng, dtype=torch.float32)
    got = student.flow_log_prob(x, layers)
    expect_close(got, reference.flow_log_prob(x, layers), call="flow_log_prob(x, layers)", inputs={"x": x},
                 rtol=1e-4, atol=1e-4)


@points(2)
def test_flow_log_prob_integrates_to_one(student):
    """flow_log_prob: exp(log p) integrates to 1 over a 2-D grid"""
    layers = layer_specs(2, [1, 1, 1], [None, [1, 0], [1, 0]], 50, s_scale=0.4, t_scale=0.8)
    g = torch.linspace(-9.0, 9.0, 181, dtype=torch.float64)
    grid = torch.cartesian_prod(g, g)  # (181², 2)
    got = student.flow_log_prob(grid, layers)
    got = expect_tensor(got, call="flow_log_prob(grid, layers)", inputs={"grid": grid}, shape=(grid.shape[0],),
                        dtype=torch.float64)
    mass = (got.exp().sum() * (g[1] - g[0]) ** 2).item()
    expect(abs(mass - 1) < 5e-3,
           f"flow_log_prob(grid, layers): ∫ p(x) dx over the grid [-9, 9]² (a 2-D flow of 3 coupling "
           f"layers with swaps) is {mass:.5f}, but a density integrates to 1. Check the sign of the "
           "log-determinants and the constant of the base density.")


@points(2)
def test_flow_log_prob_change_of_variables(student, reference, rng):
    """flow_log_prob: log p(x) = log N(z) − log|det ∂x/∂z| for x = f⁻¹(z) (autograd ヤコビアン)"""
    layers = layer_specs(3, [1, 2, 1], [None, CYCLE3, [1, 2, 0]], 60, s_scale=0.6)
    built = _build(layers)
    z = torch.randn(4, 3, generator=rng, dtype=torch.float64)
    x = reference.flow_sample(built, z)
    want = []
    for i in range(z.shape[0]):
        jac = torch.autograd.functional.jacobian(lambda v: reference.flow_sample(built, v[None])[0], z[i])
        want.append(_normal(z[i]) - torch.linalg.slogdet(jac)[1])
    got = student.flow_log_prob(x, layers)
    expect_close(got, torch.stack(want), call="flow_log_prob(x, layers) with x = f⁻¹(z)",
                 inputs={"z": z, "x": x}, rtol=1e-6, atol=1e-8, mistakes=_log_prob_mistakes(x, layers))


@points(1)
def test_flow_log_prob_gradient(student, reference, rng):
    """flow_log_prob: differentiable in x (the score ∇ₓ log p(x))"""
    layers = _flow4(seed=43)
    x = torch.randn(3, 4, generator=rng, dtype=torch.float64)
    _, (g,) = student.grad("flow_log_prob", x, layers, wrt=(0,))
    if g is None:
        fail("flow_log_prob(x, layers): no gradient flows back to x. Use torch operations throughout "
             "(no .detach(), .item(), NumPy or torch.no_grad()).")
    xr = x.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(reference.flow_log_prob(xr, layers).sum(), xr)
    expect_close(g, want, call="gradient of flow_log_prob(x, layers).sum() w.r.t. x", inputs={"x": x},
                 rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- sampling


@points(3)
def test_flow_sample_values(student, reference, rng):
    """flow_sample: values for a 3-layer flow on R⁴ with non-trivial permutations"""
    layers = _flow4(seed=44)
    z = torch.randn(5, 4, generator=rng, dtype=torch.float64)
    got = student.flow_sample(layers, z)
    expect_close(got, reference.flow_sample(layers, z), call="flow_sample(layers, z)",
                 inputs={"z": z, "perms": [p for _, _, _, p in layers]}, rtol=RTOL, atol=ATOL,
                 mistakes=_sample_mistakes(z, layers))


@points(2)
def test_flow_sample_inverts_flow(student, rng):
    """flow_sample: running the flow forward on your samples gives back z"""
    layers = layer_specs(4, [1, 3, 2, 2], [MIXED4, CYCLE4, None, [3, 2, 0, 1]], 70, s_scale=0.6)
    z = torch.randn(6, 4, generator=rng, dtype=torch.float64)
    x = expect_tensor(student.flow_sample(layers, z), call="flow_sample(layers, z)", inputs={"z": z},
                      shape=(6, 4), dtype=torch.float64)
    h = x.cpu()
    with torch.no_grad():
        for d, s_net, t_net, perm in _build(layers):  # the forward flow, as in flow_log_prob
            if perm is not None:
                h = h[:, perm]
            h = torch.cat([h[:, :d], h[:, d:] * torch.exp(s_net(h[:, :d])) + t_net(h[:, :d])], 1)
    expect_close(h, z, call="the forward flow applied to x = flow_sample(layers, z)",
                 inputs={"z": z, "x": x, "perms": [p for _, _, _, p in layers]}, rtol=1e-6, atol=1e-8)


@points(1)
def test_flow_sample_does_not_modify_z(student, reference, rng):
    """flow_sample: leaves z unchanged"""
    layers = _flow4(seed=45)
    z = torch.randn(3, 4, generator=rng, dtype=torch.float64)
    got, mutated = student.call_checking_inputs("flow_sample", layers, z)
    expect(1 not in mutated, "flow_sample(layers, z) modified z in place; build new tensors instead.")
    # z left alone counts only with the right answer for the same call (z is given: nothing is drawn)
    expect_right_answer(got, reference.flow_sample(layers, z), call="flow_sample(layers, z)", inputs={"z": z})
