"""Hidden tests: clauses of the spec that no other test exercised (docs/spec-audit.md).

value_at_optimum's leading `...` dims and float32 (other tests pass only float64 (rows,
outcomes) tensors), and inputs left alone by every function.
"""

from __future__ import annotations

import pytest
import torch

from autograder.testing import expect_close, expect_inputs_kept, expect_tensor, points


def _dists(rng, shape):
    """Random discrete distributions along the last dim, with some exact zeros."""
    w = torch.rand(shape, generator=rng, dtype=torch.float64) + 0.05
    w = torch.where(torch.rand(shape, generator=rng) < 0.3, torch.zeros_like(w), w)
    w[..., 0] += 1.0  # never an all-zero row
    return w / w.sum(-1, keepdim=True)


@points(1)
@pytest.mark.parametrize("shape", [(6,), (2, 3, 5)], ids=["one_distribution", "two_batch_dims"])
def test_value_at_optimum_batch_dims(student, reference, rng, shape):
    """value_at_optimum: reduces only the last dim, for one distribution (0-dim result) and for two batch dims"""
    p, q = _dists(rng, shape), _dists(rng, shape)
    call = f"value_at_optimum(p_data, p_model) with inputs of shape {shape}"
    inputs = {"p_data": p, "p_model": q}
    got = expect_tensor(student.value_at_optimum(p, q), call=call, inputs=inputs, shape=shape[:-1],
                        dtype=torch.float64, shape_note="(...): one value per distribution, summed over the last dim")
    expect_close(got, reference.value_at_optimum(p, q), call=call, inputs=inputs, rtol=1e-6, atol=1e-9)


@points(1)
def test_value_at_optimum_float32(student, reference, rng):
    """value_at_optimum: float32 distributions give a float32 result"""
    p, q = _dists(rng, (3, 6)).float(), _dists(rng, (3, 6)).float()
    call = "value_at_optimum(p_data, p_model) in float32"
    got = expect_tensor(student.value_at_optimum(p, q), call=call, inputs={"p_data": p, "p_model": q},
                        shape=(3,), dtype=torch.float32)
    expect_close(got, reference.value_at_optimum(p, q), call=call, inputs={"p_data": p, "p_model": q},
                 rtol=1e-5, atol=1e-6)


@points(1)
def test_functions_keep_inputs(student, reference, rng):
    """discriminator_loss / generator_loss / optimal_discriminator / js_divergence / value_at_optimum: inputs kept"""
    real, fake = torch.randn(5, generator=rng, dtype=torch.float64), torch.randn(4, generator=rng, dtype=torch.float64)
    p, q = _dists(rng, (2, 5)), _dists(rng, (2, 5))
    calls = [("discriminator_loss", (real, fake), ["real_logits", "fake_logits"]),
             ("generator_loss", (fake, "minimax"), ["fake_logits"]),
             ("generator_loss", (fake, "non_saturating"), ["fake_logits"]),
             ("optimal_discriminator", (p, q), ["p_data", "p_model"]),
             ("js_divergence", (p, q), ["p", "q"]),
             ("value_at_optimum", (p, q), ["p_data", "p_model"])]
    for fn, args, names in calls:
        expect_inputs_kept(student, fn, args, names, "compute new tensors (e.g. F.softplus(-logits), "
                           "not logits.neg_())", reference)
