"""Hidden tests: clauses of the spec that no other test exercised (docs/spec-audit.md).

masked_correction's default threshold and what max_edits=None stands for, correct_sentence
passing its threshold on, and mlm_loss leaving its inputs alone. Fake models as in test_correction.py: [PAD]=0,
[CLS]=1, [SEP]=2, [MASK]=3, words from 4 on.
"""

import functools

import pytest
import torch

from autograder.helpers.bert import ASSETS
from autograder.testing import Helper, expect, expect_close, expect_right_answer, points, timeout

CLS, SEP, MASK = 1, 2, 3


def _fake(vocab, seed):
    return Helper("bert_fake_mlm", vocab_size=vocab, mask_token_id=MASK, seed=seed, banned=[0, 1, 2, 3])


def _special(ids):
    return (ids == CLS) | (ids == SEP)


@points(1)
def test_masked_correction_default_threshold(student, reference):
    """masked_correction: without a threshold argument it uses threshold=0.05"""
    model = _fake(10, 1)
    ids = torch.tensor([CLS, 4, 7, 9, 4, 6, 7, SEP])
    special = _special(ids)
    want = reference.masked_correction(model, ids, MASK, special)
    others = {th: reference.masked_correction(model, ids, MASK, special, th) for th in (0.02, 0.1)}
    if any(torch.equal(want, o) for o in others.values()):  # grader self-check of the case
        raise RuntimeError("the default threshold does not decide this case")
    call = "masked_correction(model, input_ids, mask_token_id=3, special)  [threshold left at its default]"
    got = student.masked_correction(model, ids, MASK, special)
    expect_close(got, want, call=call, inputs={"input_ids": ids, "special": special}, rtol=0, atol=0,
                 dtype=torch.int64, mistakes={
                     f"the default threshold is 0.05 (this is what threshold={th} gives)": o
                     for th, o in others.items()})


@points(1)
def test_masked_correction_max_edits_none_counts_non_special_positions(student, reference):
    """masked_correction: max_edits=None allows as many edits as there are non-special positions"""
    model = _fake(10, 1)
    ids = torch.tensor([CLS, 6, 7, 9, 4, 5, SEP])  # 5 non-special positions
    special = _special(ids)
    want = reference.masked_correction(model, ids, MASK, special, 0.1)
    n_words = int((~special).sum())
    longer = reference.masked_correction(model, ids, MASK, special, 0.1, max_edits=len(ids))
    # grader self-check: the model still wants edits after the 5th, so the limit decides
    if torch.equal(want, longer) or not torch.equal(
            want, reference.masked_correction(model, ids, MASK, special, 0.1, max_edits=n_words)):
        raise RuntimeError("max_edits=None does not decide this case")
    call = "masked_correction(model, input_ids, mask_token_id=3, special, threshold=0.1)  [max_edits=None]"
    got = student.masked_correction(model, ids, MASK, special, 0.1)
    expect_close(got, want, call=call, inputs={"input_ids": ids, "special": special}, rtol=0, atol=0,
                 dtype=torch.int64, mistakes={
                     "max_edits=None means at most as many edits as there are NON-SPECIAL positions "
                     f"({n_words} here), not len(input_ids) and not 'until nothing qualifies'": longer})


@points(1)
def test_mlm_loss_does_not_modify_inputs(student, reference, rng):
    """mlm_loss: logits and labels are not modified in place"""
    logits = torch.randn(2, 5, 7, generator=rng)
    labels = torch.full((2, 5), -100)
    labels[0, 1], labels[1, 3] = 4, 6
    got, mutated = student.call_checking_inputs("mlm_loss", logits, labels)
    names = ["logits", "labels"]
    expect(not mutated, f"mlm_loss(logits, labels) modified {', '.join(names[i] for i in mutated)} in place; "
           "select the scored positions with a mask instead of overwriting labels or logits")
    # inputs left alone count only with the right answer for the same call (float32 logits)
    expect_right_answer(got, reference.mlm_loss(logits, labels), call="mlm_loss(logits, labels)",
                        inputs={"logits": logits, "labels": labels}, tol=1e-3)


@functools.lru_cache(maxsize=1)
def _vocab():
    """The course vocabulary and MeCab (as test_end_to_end.py: no transformers import here)."""
    import fugashi
    import ipadic

    words = [w for w in (ASSETS / "vocab.txt").read_text(encoding="utf-8").split("\n") if w]
    return words, {w: i for i, w in enumerate(words)}, fugashi.GenericTagger(ipadic.MECAB_ARGS)


def _encode(text):
    _, index, tagger = _vocab()
    ids = torch.tensor([index["[CLS]"]] + [index[w.surface] for w in tagger(text)] + [index["[SEP]"]])
    special = torch.zeros(len(ids), dtype=torch.bool)
    special[[0, -1]] = True
    return ids, special


def _decode(ids):
    words = _vocab()[0]
    return "".join(words[i] for i in ids.tolist() if not words[i].startswith("["))


@points(1)
@pytest.mark.slow
@timeout(30)
def test_correct_sentence_passes_threshold_on(student, reference):
    """correct_sentence: the threshold argument reaches masked_correction (1e-6 keeps, 0.5 rewrites)"""
    text = "母は毎朝牛乳が飲む"
    ids, special = _encode(text)
    mask = _vocab()[1]["[MASK]"]
    model, tokenizer = Helper("bert_ja_model"), Helper("bert_ja_tokenizer")
    default = _decode(reference.masked_correction(model, ids, mask, special, 0.05))
    for threshold in (1e-6, 0.5):
        want = _decode(reference.masked_correction(model, ids, mask, special, threshold))
        if want == default:  # grader self-check of the case
            raise RuntimeError(f"threshold={threshold} gives the default's result")
        call = f"correct_sentence({text!r}, course_tokenizer, course_model, threshold={threshold})"
        got = student.correct_sentence(text, tokenizer, model, threshold=threshold)
        expect(isinstance(got, str), f"{call} returned {type(got).__name__}; expected a str")
        hint = ("\n  Hint: this is what the default threshold 0.05 gives; pass `threshold` on to "
                "masked_correction" if got == default else "")
        expect(got == want, f"{call} returned {got!r}; expected {want!r} (what masked_correction "
               f"with threshold={threshold} makes of it).{hint}")
