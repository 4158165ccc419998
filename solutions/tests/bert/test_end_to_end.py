"""Hidden tests: end to end with the course's small Japanese BERT (models/bert_ja).

The model memorises its small template corpus. The errors below are single-word slips
(空き for 好き, a wrong particle) in sentences it has never seen written wrongly, two of
them in sentences it has never seen at all. (The public test checks that correct
training sentences come back unchanged.)
"""

import functools

import pytest
import torch

from autograder.helpers.bert import ASSETS
from autograder.testing import Helper, expect, expect_close, expect_tensor, points, timeout

MODEL = Helper("bert_ja_model")
TOKENIZER = Helper("bert_ja_tokenizer")
LECTURE, LECTURE_FIXED = "私は野菜が空きだ", "私は野菜が好きだ"
HELD_OUT_ERRORS = [  # (with an error, corrected)
    ("彼女は果物が空きだ", "彼女は果物が好きだ"),  # never seen, even written correctly
    ("姉は果物がとても空きだ", "姉は果物がとても好きだ"),  # never seen, even written correctly
    ("姉はご飯が空きだ", "姉はご飯が嫌いだ"),  # the model knows nobody likes ご飯
    ("私の空きな食べ物は野菜だ", "私の好きな食べ物は野菜だ"),
    ("私を野菜が好きだ", "私は野菜が好きだ"),
    ("兄は肉に嫌いだ", "兄は肉が嫌いだ"),
    ("母は毎朝牛乳が飲む", "母は毎朝牛乳を飲む"),
]
NEED = 6  # of the 7 held-out errors must be corrected


@functools.lru_cache(maxsize=1)
def _vocab():
    """The course tokenizer's vocabulary and MeCab, without importing transformers.

    The trusted side only needs ids of a few plain sentences: MeCab (ipadic) words looked
    up in vocab.txt are exactly what the course's BertJapaneseTokenizer produces for them,
    and importing transformers here would cost every submission a second or two.
    """
    import fugashi
    import ipadic

    words = (ASSETS / "vocab.txt").read_text(encoding="utf-8").split("\n")
    words = [w for w in words if w]
    return words, {w: i for i, w in enumerate(words)}, fugashi.GenericTagger(ipadic.MECAB_ARGS)


def _encode(text):
    words, index, tagger = _vocab()
    ids = [index["[CLS]"]] + [index[w.surface] for w in tagger(text)] + [index["[SEP]"]]
    ids = torch.tensor(ids, dtype=torch.int64)
    special = torch.zeros(len(ids), dtype=torch.bool)
    special[[0, -1]] = True
    return ids, special


def _mask_id():
    return _vocab()[1]["[MASK]"]


def _decode(ids):
    words = _vocab()[0]
    return "".join(words[i] for i in ids.tolist() if not words[i].startswith("["))


def _words(ids):
    words = _vocab()[0]
    return " ".join(words[i] for i in ids.tolist())


@points(2)
@pytest.mark.slow
@timeout(30)
def test_lecture_sentence_first_edit_is_suki(student, reference):
    """end to end: in the first round of 「私は野菜が空きだ」 空き is the token replaced, by 好き"""
    ids, special = _encode(LECTURE)
    mask = _mask_id()
    call = (f"masked_correction(course_model, input_ids, mask_token_id={mask}, special, "
            "threshold=0.05, max_edits=1)")
    want = reference.masked_correction(MODEL, ids, mask, special, 0.05, max_edits=1)
    if _decode(want) != LECTURE_FIXED:  # grader self-check of the shipped model
        raise RuntimeError(f"the course model's first edit gives {_decode(want)}")
    got = student.masked_correction(MODEL, ids, mask, special, 0.05, max_edits=1)
    inputs = {"input_ids": ids, "tokens": _words(ids), "special": special}
    expect_tensor(got, call=call, inputs=inputs, shape=tuple(ids.shape), dtype=torch.int64)
    expect_close(got, want, call=call, inputs=inputs, rtol=0, atol=0, mistakes={
        "the first edit should replace 空き (the least probable token when each word is masked in "
        "turn) by 好き; you changed nothing — compare p(current token) < threshold with the "
        "probabilities of the MASKED copies": ids})


@points(3)
@pytest.mark.slow
@timeout(60)
def test_correct_sentence_fixes_held_out_errors(student, reference):
    """end to end: correct_sentence fixes held-out slips (空き for 好き, wrong particles)"""
    call = "correct_sentence(text, course_tokenizer, course_model)"
    fixed, spaced, report = 0, 0, []
    for wrong, right in HELD_OUT_ERRORS:
        ids, special = _encode(wrong)
        if _decode(reference.masked_correction(MODEL, ids, _mask_id(), special)) != right:
            raise RuntimeError(f"grader self-check: the reference does not fix {wrong}")
        got = student.correct_sentence(wrong, TOKENIZER, MODEL)
        expect(isinstance(got, str), f"{call} with text = {wrong!r} returned "
               f"{type(got).__name__}; expected a str")
        fixed += got == right
        spaced += got != right and got.replace(" ", "") == right
        report.append(f"    {wrong} → {got!r}   (expected {right!r})")
    hint = ("\n  Hint: remove the spaces the word-level tokenizer's decode puts between words "
            "(Japanese has none)") if spaced else ""
    expect(fixed >= NEED, f"{call} with the course model corrected {fixed} of "
           f"{len(HELD_OUT_ERRORS)} sentences with one wrong word; at least {NEED} are needed:\n"
           + "\n".join(report) + hint)
