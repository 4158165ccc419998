"""Hidden tests: argmax_correction (the lecture's one-pass correction)."""

import torch

from autograder.testing import expect_close, expect_tensor, points

CALL = "argmax_correction(logits, input_ids, special)"
PAD, CLS, SEP = 0, 1, 2


def _batch(gen, B, L, V):
    """Sentences [CLS] w … w [SEP] [PAD]… of different lengths, and their special mask."""
    ids = torch.randint(4, V, (B, L), generator=gen)
    for b in range(B):
        n = L - b  # sentence b has b padding tokens
        ids[b, 0], ids[b, n - 1] = CLS, SEP
        ids[b, n:] = PAD
    return ids, (ids == PAD) | (ids == CLS) | (ids == SEP)


def _mistakes(logits, ids, special):
    return {"keep the input id at every special position ([CLS]/[SEP]/[PAD] never change); "
            "you replaced them by the arg-max too": logits.argmax(-1),
            "the arg-max must run over the vocabulary (the last dimension)":
            lambda: torch.where(special, ids, logits.argmax(1)[:, None].expand_as(ids))}


@points(2)
def test_argmax_correction_values_batch_special(student, reference, rng):
    """argmax_correction: values with a (B, L) special mask (padded sentences)"""
    B, L, V = 3, 8, 11
    ids, special = _batch(rng, B, L, V)
    logits = torch.randn(B, L, V, generator=rng)
    got = student.argmax_correction(logits, ids, special)
    inputs = {"logits": logits, "input_ids": ids, "special": special}
    expect_tensor(got, call=CALL, inputs=inputs, shape=(B, L), dtype=torch.int64, shape_note="(B, L)")
    expect_close(got, reference.argmax_correction(logits, ids, special), call=CALL, inputs=inputs,
                 rtol=0, atol=0, mistakes=_mistakes(logits, ids, special))


@points(1)
def test_argmax_correction_values_shared_special(student, reference, rng):
    """argmax_correction: an (L,) special mask applies to every sentence, also mid-sentence"""
    B, L, V = 4, 7, 9
    ids = torch.randint(4, V, (B, L), generator=rng)
    ids[:, 0], ids[:, 3], ids[:, -1] = CLS, SEP, SEP  # two segments
    special = (ids[0] == CLS) | (ids[0] == SEP)  # (L,)
    logits = torch.randn(B, L, V, generator=rng, dtype=torch.float64)
    got = student.argmax_correction(logits, ids, special)
    expect_close(got, reference.argmax_correction(logits, ids, special), call=CALL,
                 inputs={"logits": logits, "input_ids": ids, "special": special}, rtol=0, atol=0,
                 mistakes=_mistakes(logits, ids, special))
