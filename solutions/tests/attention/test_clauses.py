"""Hidden tests: clauses of the spec that no other test exercised (docs/spec-audit.md).

causal_mask's optional `device` argument (other tests call causal_mask(L) only), and
split_heads / merge_heads in float32 and leaving their input alone.
"""

from __future__ import annotations

import torch

from autograder.testing import expect, expect_close, expect_tensor, points


@points(1)
def test_causal_mask_device_argument(student, reference):
    """causal_mask: accepts device (by keyword and by position) and creates the mask there"""
    want = reference.causal_mask(5)
    for call, got in (("causal_mask(5, device='cpu')", lambda: student.causal_mask(5, device="cpu")),
                      ("causal_mask(5, 'cpu')", lambda: student.causal_mask(5, "cpu"))):
        got = expect_tensor(got(), call=call, shape=(5, 5), dtype=torch.bool, device="cpu", finite=False)
        expect_close(got, want, call=call, rtol=0, atol=0)


@points(1)
def test_split_merge_heads_float32_and_inputs(student, reference, rng):
    """split_heads / merge_heads: float32 stays float32, and the input is not modified"""
    x = torch.randn(2, 3, 8, generator=rng, dtype=torch.float32)
    heads = reference.split_heads(x, 4)
    for call, fn, args, want in (("split_heads(x, n_heads=4)", "split_heads", (x, 4), heads),
                                 ("merge_heads(x)", "merge_heads", (heads,), x)):
        got, mutated = student.call_checking_inputs(fn, *args)
        got = expect_tensor(got, call=call + " in float32", inputs={"x": args[0]}, shape=tuple(want.shape),
                            dtype=torch.float32)
        expect_close(got, want, call=call + " in float32", inputs={"x": args[0]}, rtol=0, atol=0)
        expect(not mutated, f"{call} modified x in place; return a reshaped view or copy, never write into x")
