"""Hidden tests: causal_lm_loss (the shift by one, the mean, dtypes)."""

import pytest
import torch
import torch.nn.functional as F

from autograder.testing import expect, expect_close, points


def _inputs(rng, B, L, V, dtype):
    logits = (torch.randn(B, L, V, generator=rng, dtype=torch.float64) * 2.0).to(dtype)
    ids = torch.randint(0, V, (B, L), generator=rng)
    return logits, ids


def _mistakes(logits, ids):
    V = logits.shape[-1]
    lg = logits.double()
    return {
        "the logits at position i predict token i+1: use logits[:, :-1] against "
        "input_ids[:, 1:] (this value has no shift)":
            F.cross_entropy(lg.reshape(-1, V), ids.reshape(-1)),
        "the shift goes the wrong way: the logits at position i predict token i+1, so pair "
        "logits[:, :-1] with input_ids[:, 1:] (not logits[:, 1:] with input_ids[:, :-1])":
            F.cross_entropy(lg[:, 1:].reshape(-1, V), ids[:, :-1].reshape(-1)),
        "this is the sum over the B·(L−1) predictions; the loss is their mean":
            F.cross_entropy(lg[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1), reduction="sum"),
        "logits and targets are flattened in different orders: reshape logits[:, :-1] to "
        "(B·(L−1), V) and input_ids[:, 1:] to (B·(L−1),) the same way (no transpose)":
            F.cross_entropy(lg[:, :-1].transpose(0, 1).reshape(-1, V), ids[:, 1:].reshape(-1)),
    }


@points(2)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_causal_lm_loss_matches_shifted_cross_entropy(student, rng, dtype):
    """causal_lm_loss: equals F.cross_entropy on the shifted pairs"""
    logits, ids = _inputs(rng, 3, 6, 11, dtype)
    got = student.causal_lm_loss(logits, ids)
    V = logits.shape[-1]
    expected = F.cross_entropy(logits.double()[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1)).to(dtype)
    tol = 1e-6 if dtype == torch.float64 else 1e-5  # float32 internals pass
    expect_close(got, expected, call="causal_lm_loss(logits, input_ids)",
                 inputs={"logits": logits, "input_ids": ids}, rtol=tol, atol=tol,
                 mistakes=_mistakes(logits, ids))


@points(1)
def test_causal_lm_loss_vs_reference_shapes(student, reference, rng):
    """causal_lm_loss: values for odd shapes (B=1, L=2; B=5, L=9, V=4)"""
    for B, L, V in [(1, 2, 5), (5, 9, 4), (2, 3, 30)]:
        logits, ids = _inputs(rng, B, L, V, torch.float64)
        got = student.causal_lm_loss(logits, ids)
        expect_close(got, reference.causal_lm_loss(logits, ids),
                     call=f"causal_lm_loss(logits, input_ids) with B={B}, L={L}, V={V}",
                     inputs={"logits": logits, "input_ids": ids}, rtol=1e-6, atol=1e-6,
                     mistakes=_mistakes(logits, ids))


@points(1)
def test_causal_lm_loss_ignores_last_position_and_first_token(student, rng):
    """causal_lm_loss: the last logits and the first token never enter the loss"""
    logits, ids = _inputs(rng, 2, 5, 7, torch.float64)
    base = student.causal_lm_loss(logits, ids)
    changed_logits = logits.clone()
    changed_logits[:, -1] = torch.randn(2, 7, generator=rng, dtype=torch.float64) * 5
    changed_ids = ids.clone()
    changed_ids[:, 0] = (ids[:, 0] + 3) % 7
    other = student.causal_lm_loss(changed_logits, changed_ids)
    expect_close(other, base, call="causal_lm_loss(logits, input_ids) after changing logits[:, -1] "
                 "and input_ids[:, 0]", inputs={"logits": changed_logits, "input_ids": changed_ids},
                 rtol=1e-6, atol=1e-6)
    # paired with a value check: changing a used target must change the loss
    changed_ids[:, 2] = (ids[:, 2] + 1) % 7
    moved = student.causal_lm_loss(logits, changed_ids)
    expect(isinstance(moved, torch.Tensor) and not torch.isclose(moved.double(), base.double()),
           "causal_lm_loss(logits, input_ids): changing input_ids[:, 2] (a target) did not change "
           "the loss; every token after the first is a target")
