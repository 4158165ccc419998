"""Hidden tests: masked_candidates (one masked copy per non-special position)."""

import torch

from autograder.testing import expect, expect_close, expect_tensor, fail, points

CALL = "masked_candidates(input_ids, mask_token_id=3, special)"
PAD, CLS, SEP, MASK = 0, 1, 2, 3


def _in_position_order(got, call, inputs, L):
    """The student's (batch, positions), checked for types and sorted by position."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"{call}\n  returned {type(got).__name__}; expected a tuple (batch, positions)")
    batch, positions = got
    positions = expect_tensor(positions, call=call + "  [positions]", inputs=inputs,
                              dtype=torch.int64)
    expect(positions.dim() == 1, f"{call}\n  positions has shape {tuple(positions.shape)}; "
           "expected (M,), one position per masked copy")
    M = positions.shape[0]
    batch = expect_tensor(batch, call=call + "  [batch]", inputs=inputs, shape=(M, L),
                          dtype=torch.int64, shape_note="(M, L): one row per position")
    order = torch.argsort(positions)
    return batch[order], positions[order]


def _check(student, reference, ids, special):
    inputs = {"input_ids": ids, "special": special}
    got = student.masked_candidates(ids, MASK, special)
    batch, positions = _in_position_order(got, CALL, inputs, ids.shape[0])
    want_batch, want_pos = reference.masked_candidates(ids, MASK, special)
    expect_close(positions, want_pos, call=CALL + "  [positions, sorted]", inputs=inputs,
                 rtol=0, atol=0, mistakes={
                     "every non-special position gets a copy; [CLS]/[SEP]/[PAD] (special == True) "
                     "never": torch.arange(ids.shape[0])})
    expect_close(batch, want_batch, call=CALL + "  [batch rows, in position order]", inputs=inputs,
                 rtol=0, atol=0)


@points(2)
def test_masked_candidates_values(student, reference, rng):
    """masked_candidates: one masked copy per non-special position (padding, mid-sentence [SEP])"""
    words = torch.randint(4, 20, (7,), generator=rng)
    ids = torch.cat([torch.tensor([CLS]), words[:3], torch.tensor([SEP]), words[3:],
                     torch.tensor([SEP, PAD, PAD])])
    special = (ids == PAD) | (ids == CLS) | (ids == SEP)
    _check(student, reference, ids, special)


@points(1)
def test_masked_candidates_special_is_the_rule(student, reference, rng):
    """masked_candidates: only the special mask decides (a marked word is not masked)"""
    ids = torch.randint(4, 20, (8,), generator=rng)
    ids[0], ids[-1] = CLS, SEP
    special = torch.zeros(8, dtype=torch.bool)
    special[[0, 4, 7]] = True
    _check(student, reference, ids, special)


@points(1)
def test_masked_candidates_nothing_to_mask(student, reference):
    """masked_candidates: only special tokens gives an empty batch (0, L)"""
    ids = torch.tensor([CLS, SEP, PAD])
    special = torch.ones(3, dtype=torch.bool)
    _check(student, reference, ids, special)
