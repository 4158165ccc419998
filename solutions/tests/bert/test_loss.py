"""Hidden tests: mlm_loss (values, the −100 convention, dtype)."""

import math

import pytest
import torch
import torch.nn.functional as F

from autograder.testing import expect_close, expect_scalar_close, expect_tensor, points

CALL = "mlm_loss(logits, labels)"


def _labels(gen, B, L, V, frac):
    """Labels with a different number of scored positions per sentence (≥ 1 each)."""
    ids = torch.randint(0, V, (B, L), generator=gen)
    keep = torch.rand(B, L, generator=gen) < frac
    keep[torch.arange(B), torch.randint(0, L, (B,), generator=gen)] = True
    keep[0] = False
    keep[0, 1] = True  # the first sentence has a single scored position
    return torch.where(keep, ids, torch.full_like(ids, -100))


def _mistakes(logits, labels):
    V = logits.shape[-1]
    flat_logits, flat = logits.reshape(-1, V), labels.reshape(-1)
    nll = F.cross_entropy(flat_logits, flat.clamp_min(0), reduction="none").reshape(labels.shape)
    scored = labels != -100
    per_row = (nll * scored).sum(1) / scored.sum(1)
    return {
        "positions labelled −100 must be left out of the mean: divide by the number of scored "
        "positions, not by B·L": (nll * scored).sum() / labels.numel(),
        "the mean runs over all scored positions of the batch, not over per-sentence means":
            per_row.mean(),
        "return the MEAN cross-entropy over the scored positions, not the sum": (nll * scored).sum(),
        "positions labelled −100 must be ignored (ignore_index=-100), not scored as a class":
            nll.mean(),
        "use log-probabilities (log_softmax / cross_entropy), not probabilities":
            -(flat_logits.softmax(-1).gather(1, flat.clamp_min(0)[:, None]).reshape(labels.shape)
              * scored).sum() / scored.sum(),
    }


@points(2)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mlm_loss_values(student, reference, rng, dtype):
    """mlm_loss: values on random logits with few scored positions"""
    B, L, V = 4, 9, 13
    logits = (torch.randn(B, L, V, generator=rng) * 2.0).to(dtype)
    labels = _labels(rng, B, L, V, 0.2)
    got = student.mlm_loss(logits, labels)
    expect_close(got, reference.mlm_loss(logits, labels), call=CALL,
                 inputs={"logits": logits, "labels": labels},
                 rtol=1e-5 if dtype == torch.float32 else 1e-10, atol=1e-6 if dtype == torch.float32 else 1e-12,
                 mistakes=_mistakes(logits.double(), labels))


@points(1)
def test_mlm_loss_ignores_unscored_positions(student, reference, rng):
    """mlm_loss: logits at positions labelled −100 do not matter"""
    B, L, V = 3, 6, 8
    logits = torch.randn(B, L, V, generator=rng, dtype=torch.float64)
    labels = _labels(rng, B, L, V, 0.3)
    changed = logits.clone()
    unscored = labels == -100
    changed[unscored] = torch.randn(int(unscored.sum()), V, generator=rng, dtype=torch.float64) * 10
    want = reference.mlm_loss(logits, labels)
    for name, lg in (("logits", logits), ("logits changed at the −100 positions", changed)):
        expect_close(student.mlm_loss(lg, labels), want, call=CALL,
                     inputs={name: lg, "labels": labels}, rtol=1e-10, atol=1e-12,
                     mistakes=_mistakes(lg, labels))


@points(1)
def test_mlm_loss_single_scored_position(student):
    """mlm_loss: one scored position gives −log softmax there"""
    logits = torch.zeros(2, 5, 6, dtype=torch.float64)
    logits[1, 3] = torch.tensor([0.0, math.log(3.0), 0.0, 0.0, 1.0, -2.0], dtype=torch.float64)
    labels = torch.full((2, 5), -100)
    labels[1, 3] = 1
    z = logits[1, 3]
    want = -(z[1] - torch.logsumexp(z, 0))
    got = student.mlm_loss(logits, labels)
    expect_scalar_close(got, want, call=CALL, inputs={"logits": logits, "labels": labels},
                        rtol=1e-10, dtype=torch.float64, mistakes=_mistakes(logits, labels))


@points(1)
def test_mlm_loss_returns_scalar_of_logits_dtype(student, rng):
    """mlm_loss: a 0-dim tensor in the dtype of the logits"""
    logits = torch.randn(2, 7, 5, generator=rng)
    labels = _labels(rng, 2, 7, 5, 0.5)
    for lg in (logits, logits.double()):
        expect_tensor(student.mlm_loss(lg, labels), call=CALL,
                      inputs={"logits": lg, "labels": labels}, shape=(), dtype=lg.dtype)
