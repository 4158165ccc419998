"""Hidden tests for the affine coupling layer: values, inverse, ヤコビアン, no in-place edits."""

from __future__ import annotations

import pytest
import torch

from autograder.helpers.flow import net_spec
from autograder.testing import expect_close, expect_tensor, fail, points

RTOL, ATOL = 1e-5, 1e-7


def _nets(dim: int, d: int, seed: int, dtype: str = "float64"):
    """s_net, t_net specs; s scaled so that exp(s) stays moderate but far from 1."""
    return net_spec(d, dim - d, seed, dtype=dtype, out_scale=0.6), net_spec(d, dim - d, seed + 1, dtype=dtype, out_scale=1.0)


def _st(s_spec, t_spec, u: torch.Tensor):
    with torch.no_grad():
        return s_spec.build()(u), t_spec.build()(u)


def _forward_mistakes(x: torch.Tensor, d: int, s_spec, t_spec) -> dict:
    x1, x2 = x[:, :d], x[:, d:]
    s, t = _st(s_spec, t_spec, x1)
    z = torch.cat([x1, x2 * torch.exp(s) + t], 1)
    ld = s.sum(1)
    return {
        "log_det has the wrong sign: log|det ∂z/∂x| = +Σ s(x₁:d) for the forward map": (z, -ld),
        "log_det should be the sum of s over its D − d outputs, not the mean": (z, s.mean(1)),
        "log_det should be Σ s, not Σ exp(s): the diagonal of the Jacobian is exp(s), and "
        "log|det| = Σ log exp(s)": (z, torch.exp(s).sum(1)),
        "z_d+1:D should be x_d+1:D ⊙ exp(s) + t (scale by exp(s), not by s)":
            (torch.cat([x1, x2 * s + t], 1), ld),
        "the shift t is added after scaling: z_d+1:D = x_d+1:D ⊙ exp(s) + t, not (x_d+1:D + t) ⊙ exp(s)":
            (torch.cat([x1, (x2 + t) * torch.exp(s)], 1), ld),
    }


def _inverse_mistakes(z: torch.Tensor, d: int, s_spec, t_spec) -> dict:
    z1, z2 = z[:, :d], z[:, d:]
    s, t = _st(s_spec, t_spec, z1)
    x = torch.cat([z1, (z2 - t) * torch.exp(-s)], 1)
    ld = -s.sum(1)
    return {
        "the inverse log_det is −Σ s(z₁:d) (the negative of the forward one)": (x, -ld),
        "undo the shift before the scale: x_d+1:D = (z_d+1:D − t) ⊙ exp(−s)":
            (torch.cat([z1, z2 * torch.exp(-s) - t], 1), ld),
        "divide by exp(s) to invert, i.e. multiply by exp(−s), not by exp(s)":
            (torch.cat([z1, (z2 - t) * torch.exp(s)], 1), ld),
    }


def _pair(got, call: str, inputs: dict, shape: tuple, dtype: torch.dtype):
    """Check a (tensor (B, D), tensor (B,)) pair came back."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"{call}\n  returned {type(got).__name__}; expected a tuple (z, log_det) of two tensors.")
    a = expect_tensor(got[0], call=call + "  (first output)", inputs=inputs, shape=shape, dtype=dtype)
    b = expect_tensor(got[1], call=call + "  (log_det)", inputs=inputs, shape=shape[:1], dtype=dtype,
                      shape_note="(B,): one log-determinant per row")
    return a, b


# --------------------------------------------------------------------------- values


@points(3)
@pytest.mark.parametrize("dim,d", [(5, 2), (4, 3)])
def test_coupling_forward_values(student, reference, rng, dim, d):
    """coupling_forward: (z, log_det) on random inputs with non-trivial networks"""
    x = torch.randn(7, dim, generator=rng, dtype=torch.float64) * 1.5
    s_net, t_net = _nets(dim, d, seed=11 * dim + d)
    got = student.coupling_forward(x, d, s_net, t_net)
    expect_close(got, reference.coupling_forward(x, d, s_net, t_net), call=f"coupling_forward(x, d={d}, s_net, t_net)",
                 inputs={"x": x}, rtol=RTOL, atol=ATOL, mistakes=_forward_mistakes(x, d, s_net, t_net))


@points(1)
def test_coupling_forward_float32(student, reference, rng):
    """coupling_forward: float32 inputs and networks give float32 results"""
    x = torch.randn(6, 3, generator=rng, dtype=torch.float32)
    s_net, t_net = _nets(3, 1, seed=5, dtype="float32")
    got = student.coupling_forward(x, 1, s_net, t_net)
    _pair(got, "coupling_forward(x, d=1, s_net, t_net)", {"x": x}, (6, 3), torch.float32)
    expect_close(got, reference.coupling_forward(x, 1, s_net, t_net), call="coupling_forward(x, d=1, s_net, t_net)",
                 inputs={"x": x}, rtol=1e-4, atol=1e-5)


@points(2)
@pytest.mark.parametrize("dim,d", [(5, 2), (3, 1)])
def test_coupling_inverse_values(student, reference, rng, dim, d):
    """coupling_inverse: (x, log_det) on random inputs with non-trivial networks"""
    z = torch.randn(6, dim, generator=rng, dtype=torch.float64) * 1.5
    s_net, t_net = _nets(dim, d, seed=7 * dim + d)
    got = student.coupling_inverse(z, d, s_net, t_net)
    expect_close(got, reference.coupling_inverse(z, d, s_net, t_net), call=f"coupling_inverse(z, d={d}, s_net, t_net)",
                 inputs={"z": z}, rtol=RTOL, atol=ATOL, mistakes=_inverse_mistakes(z, d, s_net, t_net))


# --------------------------------------------------------------------------- properties


@points(2)
def test_coupling_round_trip(student, rng):
    """coupling_inverse(coupling_forward(x)) recovers x, and the two log-determinants cancel"""
    dim, d = 6, 2
    x = torch.randn(5, dim, generator=rng, dtype=torch.float64) * 2
    s_net, t_net = _nets(dim, d, seed=3)
    call_f = f"coupling_forward(x, d={d}, s_net, t_net)"
    z, ld_f = _pair(student.coupling_forward(x, d, s_net, t_net), call_f, {"x": x}, (5, dim), torch.float64)
    call_i = f"coupling_inverse(z, d={d}, s_net, t_net) with z = coupling_forward(x, ...)[0]"
    x_back, ld_i = _pair(student.coupling_inverse(z, d, s_net, t_net), call_i, {"x": x, "z": z}, (5, dim),
                         torch.float64)
    expect_close(x_back, x, call=call_i, inputs={"x": x, "z": z}, rtol=1e-6, atol=1e-8)
    expect_close(ld_i, -ld_f, call=call_i + "  — its log_det vs −(the forward log_det)", inputs={"x": x},
                 rtol=1e-6, atol=1e-8)


@points(2)
def test_coupling_log_det_matches_jacobian(student, reference, rng):
    """coupling_forward: log_det = log|det ∂z/∂x| (ヤコビアン by autograd) and z is differentiable"""
    dim, d, b = 4, 2, 3
    x = torch.randn(b, dim, generator=rng, dtype=torch.float64)
    s_net, t_net = _nets(dim, d, seed=21)
    call = f"coupling_forward(x, d={d}, s_net, t_net)"
    # oracle: log|det J| of the lecture's map, by autograd, trusted side
    s_mod, t_mod = s_net.build(), t_net.build()
    want = []
    for i in range(b):
        jac = torch.autograd.functional.jacobian(
            lambda v: reference.coupling_forward(v[None], d, s_mod, t_mod)[0][0], x[i])
        want.append(torch.linalg.slogdet(jac)[1])
    z, ld = _pair(student.coupling_forward(x, d, s_net, t_net), call, {"x": x}, (b, dim), torch.float64)
    expect_close(ld, torch.stack(want), call=call + "  — log_det vs log|det ∂z/∂x| computed by autograd",
                 inputs={"x": x}, rtol=1e-6, atol=1e-8)
    # the student's own map: its Jacobian rows via student.grad, one output coordinate at a time
    rows = []
    for j in range(dim):
        go = torch.zeros(b, dim, dtype=torch.float64)
        go[:, j] = 1.0
        _, (g,) = student.grad("coupling_forward", x, d, s_net, t_net, wrt=(0,), select=0, grad_output=go)
        if g is None:
            fail(f"{call}: no gradient flows from z back to x. Build z with torch operations on x "
                 "(no .detach(), NumPy or in-place writes into a tensor created with torch.no_grad()).")
        rows.append(expect_tensor(g, call=f"gradient of {call}[0][:, {j}] w.r.t. x", inputs={"x": x},
                                  shape=(b, dim), dtype=torch.float64))
    jac = torch.stack(rows, dim=1)  # (B, D_out, D_in)
    own = torch.linalg.slogdet(jac)[1]
    expect_close(ld, own, call=call + "  — log_det vs log|det| of the Jacobian of your own z (autograd)",
                 inputs={"x": x}, rtol=1e-6, atol=1e-8)
