"""Hidden tests: clauses of the spec that no other test exercised (docs/spec-audit.md).

sample_next's defaults (temperature=1.0, top_k=None, top_p=None): every other test passes a
temperature.
"""

from __future__ import annotations

import torch

from autograder.testing import Helper, expect, expect_tensor, points


@points(1)
def test_sample_next_defaults(student, rng):
    """sample_next: without options it samples as temperature=1.0 with no filter (same generator, same draws)"""
    logits = torch.randn(64, 6, generator=rng, dtype=torch.float64)
    call = "sample_next(logits, generator=torch.Generator().manual_seed(5))"
    plain = expect_tensor(student.sample_next(logits, generator=Helper("gpt_generator", seed=5)), call=call,
                          inputs={"logits": logits}, shape=(64,), dtype=torch.int64)
    explicit = student.sample_next(logits, temperature=1.0, top_k=None, top_p=None,
                                   generator=Helper("gpt_generator", seed=5))
    differ = int((plain != explicit).sum()) if isinstance(explicit, torch.Tensor) else 64
    expect(differ == 0,
           f"{call} and the same call with temperature=1.0, top_k=None, top_p=None gave different tokens "
           f"in {differ} of 64 rows; with the same seed they must be the same draws. Check the defaults in "
           "your signature: temperature=1.0, top_k=None, top_p=None.")
