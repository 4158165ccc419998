"""Hidden tests for the theory part: D*, ジェンセン・シャノン情報量, V(D*, G) = 2·JS − log 4."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from autograder.testing import expect, expect_close, expect_tensor, points

LOG2 = math.log(2.0)
LOG4 = math.log(4.0)


def _dists(rng: torch.Generator, shape: tuple, zero_frac: float = 0.3,
           dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Random discrete distributions along the last dim, with some exact zeros."""
    w = torch.rand(shape, generator=rng, dtype=torch.float64) + 0.05
    w = torch.where(torch.rand(shape, generator=rng) < zero_frac, torch.zeros_like(w), w)
    w[..., 0] = torch.where(w.sum(-1) == 0, torch.ones_like(w[..., 0]), w[..., 0])
    return (w / w.sum(-1, keepdim=True)).to(dtype)


def _xlogy_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.xlogy(a, b).sum(-1)


def _js_mistakes(p: torch.Tensor, q: torch.Tensor) -> dict:
    m = 0.5 * (p + q)
    kl_pm = _xlogy_sum(p, p) - _xlogy_sum(p, m)
    kl_qm = _xlogy_sum(q, q) - _xlogy_sum(q, m)
    js = 0.5 * (kl_pm + kl_qm)
    return {
        "the factor ½ is missing: JS = ½ KL(p‖M) + ½ KL(q‖M)": 2 * js,
        "looks like log base 2 (bits); use the natural log (JS ≤ log 2 ≈ 0.693)": js / LOG2,
        "only one half of the divergence: add ½ KL(q‖M) as well": 0.5 * kl_pm,
        "looks like KL(p‖M) + ... with M = p + q instead of the mixture M = (p + q)/2":
            lambda: 0.5 * (kl_pm + kl_qm) - LOG2,
    }


# --------------------------------------------------------------------------- D*


@points(2)
def test_optimal_discriminator_values(student, reference, rng):
    """optimal_discriminator: values on random density values, zeros included"""
    p = torch.rand(5, 7, generator=rng, dtype=torch.float64) * 3
    q = torch.rand(5, 7, generator=rng, dtype=torch.float64) * 3
    p[0, :3] = 0.0
    q[1, 2:5] = 0.0
    p[2, 4], q[2, 4] = 0.0, 0.0
    got = student.optimal_discriminator(p, q)
    expect_close(got, reference.optimal_discriminator(p, q), call="optimal_discriminator(p_data, p_model)",
                 inputs={"p_data": p, "p_model": q}, rtol=1e-6, atol=1e-9,
                 mistakes={"the ratio is upside down: D*(x) = p_data / (p_data + p_model)":
                           reference.optimal_discriminator(q, p)})


@points(1)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_optimal_discriminator_zero_over_zero(student, dtype):
    """optimal_discriminator: 0/0 gives 0.5; one density zero gives 0 or 1; dtype kept"""
    p = torch.tensor([0.0, 0.0, 0.3, 0.0, 1.5], dtype=dtype)
    q = torch.tensor([0.0, 0.2, 0.0, 0.0, 0.5], dtype=dtype)
    want = torch.tensor([0.5, 0.0, 1.0, 0.5, 0.75], dtype=dtype)
    got = student.optimal_discriminator(p, q)
    expect_close(got, want, call="optimal_discriminator(p_data, p_model)", inputs={"p_data": p, "p_model": q},
                 rtol=1e-6, atol=1e-7,
                 mistakes={"where both densities are 0 the docstring asks for D* = 0.5 (0/0 → 0.5)":
                           torch.tensor([0.0, 0.0, 1.0, 0.0, 0.75], dtype=dtype)})


@points(2)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_optimal_discriminator_gaussian_tails(student, dtype):
    """optimal_discriminator: N(0,1) vs N(2,1) gives D*(x) = σ(2 − 2x), far into the tails"""
    x = torch.linspace(-8.0, 10.0, 37, dtype=torch.float64)
    p = torch.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    q = torch.exp(-0.5 * (x - 2) ** 2) / math.sqrt(2 * math.pi)
    p, q = p.to(dtype), q.to(dtype)
    want = torch.sigmoid(2 - 2 * x).to(dtype)  # log p − log q = 2 − 2x
    got = student.optimal_discriminator(p, q)
    expect_close(got, want, call="optimal_discriminator(p_data, p_model)",
                 inputs={"x": x, "p_data = N(x; 0, 1)": p, "p_model = N(x; 2, 1)": q},
                 rtol=1e-4, atol=1e-12,
                 mistakes={"an eps in the denominator changes D* where the densities are tiny "
                           "(Gaussian tails); use the exact ratio and treat only 0/0 specially":
                           lambda: p.double() / (p.double() + q.double() + 1e-8),
                           "an eps in numerator and denominator changes D* where the densities "
                           "are tiny; use the exact ratio and treat only 0/0 specially":
                           lambda: (p.double() + 1e-8) / (p.double() + q.double() + 2e-8)})


# --------------------------------------------------------------------------- JS


@points(2)
def test_js_values(student, reference, rng):
    """js_divergence: values on random distributions with zeros"""
    p = _dists(rng, (6, 5))
    q = _dists(rng, (6, 5))
    got = student.js_divergence(p, q)
    expect_close(got, reference.js_divergence(p, q), call="js_divergence(p, q)", inputs={"p": p, "q": q},
                 rtol=1e-5, atol=1e-7, mistakes=_js_mistakes(p, q))


@points(1)
def test_js_batch_dims(student, reference, rng):
    """js_divergence: reduces the last dim only, with leading batch dims and broadcasting"""
    p = _dists(rng, (3, 4, 6))
    q = _dists(rng, (4, 6))
    got = student.js_divergence(p, q)
    m = 0.5 * (p + q)
    expect_close(got, reference.js_divergence(p, q), call="js_divergence(p, q)", inputs={"p": p, "q": q},
                 rtol=1e-5, atol=1e-7,
                 mistakes={"the sums run over dim 1: reduce the last dim (dim=-1), which holds the K "
                           "probabilities, so leading batch dims stay":
                           lambda: 0.5 * ((torch.xlogy(p, p) - torch.xlogy(p, m)).sum(1)
                                          + (torch.xlogy(q, q) - torch.xlogy(q, m)).sum(1))})


@points(1)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_js_disjoint(student, dtype):
    """js_divergence: disjoint supports give the maximum log 2; dtype kept"""
    p = torch.tensor([[0.5, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]], dtype=dtype)
    q = torch.tensor([[0.0, 0.0, 0.25, 0.75], [0.0, 0.1, 0.2, 0.7]], dtype=dtype)
    got = student.js_divergence(p, q)
    expect_close(got, torch.full((2,), LOG2, dtype=dtype), call="js_divergence(p, q)", inputs={"p": p, "q": q},
                 rtol=1e-5, atol=1e-6, mistakes=_js_mistakes(p.double(), q.double()))


_weights = st.lists(st.one_of(st.just(0.0), st.floats(0.01, 1.0)), min_size=5, max_size=5).filter(
    lambda w: sum(w) > 0)


@points(2)
@given(a=_weights, b=_weights)
def test_js_properties(student, a, b):
    """js_divergence: symmetric, 0 iff p = q, at least ‖p − q‖₁²/8, at most log 2"""
    p = torch.tensor(a, dtype=torch.float64)
    q = torch.tensor(b, dtype=torch.float64)
    p, q = p / p.sum(), q / q.sum()
    got = student.js_divergence(torch.stack([p, q, p]), torch.stack([q, p, p]))
    inputs = {"p": p, "q": q}
    got = expect_tensor(got, call="js_divergence(stack([p, q, p]), stack([q, p, p]))", inputs=inputs, shape=(3,))
    js_pq, js_qp, js_pp = got.tolist()
    expect(abs(js_pq - js_qp) <= 1e-7 + 1e-6 * abs(js_pq),
           f"js_divergence is not symmetric: JS(p‖q) = {js_pq:.8g} but JS(q‖p) = {js_qp:.8g}\n"
           f"  for p = {p.tolist()}, q = {q.tolist()}")
    expect(abs(js_pp) <= 1e-6, f"JS(p‖p) should be 0, got {js_pp:.8g} for p = {p.tolist()}")
    tv = (p - q).abs().sum().item()
    expect(tv**2 / 8 - 1e-6 <= js_pq <= LOG2 + 1e-6,
           f"JS(p‖q) = {js_pq:.8g} is outside [‖p − q‖₁²/8, log 2] = [{tv**2 / 8:.6g}, {LOG2:.6g}]\n"
           f"  for p = {p.tolist()}, q = {q.tolist()} (natural log; JS > 0 whenever p ≠ q)")


# --------------------------------------------------------------------------- V(D*, G)


def _v_mistakes(p: torch.Tensor, q: torch.Tensor, v: torch.Tensor) -> dict:
    k = p.shape[-1]
    return {
        "looks like a mean over the support instead of the expectation Σ_k p_k log D*_k "
        "(sum over the last dim)": v / k,
        "the wrong sign of log 4: V(D*, G) = 2·JS − log 4": v + 2 * LOG4,
        "looks like JS − log 4: V(D*, G) = 2·JS − log 4": lambda: (v + LOG4) / 2 - LOG4,
        "D* and 1 − D* look swapped: the real data term uses log D*, the generated one "
        "log(1 − D*)": lambda: (torch.xlogy(p, q / (p + q).clamp_min(1e-300))
                                + torch.xlogy(q, p / (p + q).clamp_min(1e-300))).sum(-1),
        "0 · log 0 gave NaN where p_data or p_model is 0: those terms contribute 0; use "
        "torch.xlogy(a, b) = a · log b with this convention": lambda: _naive_value(p, q),
    }


def _naive_value(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """V(D*, G) with p · log(p / (p + q)) written out: NaN wherever a probability is 0."""
    safe = torch.where(p + q == 0, torch.ones_like(p), p + q)
    return (p * torch.log(p / safe) + q * torch.log(q / safe)).sum(-1)


@points(2)
def test_value_at_optimum_values(student, reference, rng):
    """value_at_optimum: values on random distributions with zeros, = 2·JS − log 4"""
    p = _dists(rng, (5, 7))
    q = _dists(rng, (5, 7))
    want = 2 * reference.js_divergence(p, q) - LOG4  # the lecture's identity as the oracle
    got = student.value_at_optimum(p, q)
    expect_close(got, want, call="value_at_optimum(p_data, p_model)", inputs={"p_data": p, "p_model": q},
                 rtol=1e-5, atol=1e-7, mistakes=_v_mistakes(p, q, want))


@points(1)
def test_value_matches_own_js(student, rng):
    """value_at_optimum: equals 2·js_divergence − log 4 of your own JS, and −log 4 at p_G = p_data"""
    p = _dists(rng, (4, 9), zero_frac=0.4)
    q = _dists(rng, (4, 9), zero_frac=0.4)
    pp = torch.cat([p, p[:1]])
    qq = torch.cat([q, p[:1]])  # the last row: the global optimum p_G = p_data
    inputs = {"p_data": pp, "p_model": qq}
    v = expect_tensor(student.value_at_optimum(pp, qq), call="value_at_optimum(p_data, p_model)",
                      inputs=inputs, shape=(5,), dtype=torch.float64)
    js = expect_tensor(student.js_divergence(pp, qq), call="js_divergence(p_data, p_model)",
                       inputs=inputs, shape=(5,), dtype=torch.float64)
    expect_close(v, 2 * js - LOG4, call="value_at_optimum(p_data, p_model) vs 2·js_divergence − log 4",
                 inputs=inputs, rtol=1e-5, atol=1e-7)
    expect(abs(v[-1].item() + LOG4) < 1e-7,
           f"at the global optimum p_G = p_data, V(D*, G) should be −log 4 = {-LOG4:.6f}; got "
           f"{v[-1].item():.6f}")
