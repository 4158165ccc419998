"""Public tests for the `bert` assignment: shapes, dtypes and small worked examples.

Run them with ``gmgrade check bert``. Passing them does not guarantee full marks: the
hidden tests check values on many more inputs (several rounds of editing, ties, special
tokens in the middle, models that return ``.logits``) and more sentences end to end.

The grader's fake masked LM (``bert_fake_mlm`` in assignments/bert/helpers.py) uses the
ids [PAD]=0, [CLS]=1, [SEP]=2, [MASK]=3 and words from 4 on.
"""

import math

import pytest
import torch

from autograder.testing import Helper, describe, expect, expect_close, expect_tensor, fail, points, timeout

PAD, CLS, SEP, MASK = 0, 1, 2, 3


@points(1)
def test_mlm_loss_worked_example(student):
    """mlm_loss: only the positions with a label count"""
    # V = 3, one sentence of 4 positions, two of them scored:
    # position 1 has label 2 with p = 2/4, position 3 has label 0 with p = 1/3.
    logits = torch.tensor([[[5.0, -5.0, 9.0],                 # label -100: ignored
                            [0.0, 0.0, math.log(2.0)],        # p(2) = 2/4
                            [1.0, 2.0, 3.0],                  # label -100: ignored
                            [0.0, 0.0, 0.0]]], dtype=torch.float64)  # p(0) = 1/3
    labels = torch.tensor([[-100, 2, -100, 0]])
    got = student.mlm_loss(logits, labels)
    expect_close(got, torch.tensor((math.log(2.0) + math.log(3.0)) / 2, dtype=torch.float64),
                 call="mlm_loss(logits, labels)", inputs={"logits": logits, "labels": labels},
                 mistakes={"positions labelled −100 must be left out of the mean (divide by the "
                           "number of scored positions, 2 here)":
                           torch.tensor((math.log(2.0) + math.log(3.0)) / 4, dtype=torch.float64)})


@points(1)
def test_mlm_loss_two_sentences(student):
    """mlm_loss: the mean over the 3 scored positions of the batch, not over per-sentence means"""
    # V = 2, label 0 everywhere it is scored: logits (0, 0) cost log 2, logits (log 3, 0) cost log 4/3
    l3 = math.log(3.0)
    logits = torch.tensor([[[0.0, 0.0], [9.0, 9.0]],
                           [[l3, 0.0], [l3, 0.0]]], dtype=torch.float64)
    labels = torch.tensor([[0, -100], [0, 0]])
    a, b = math.log(2.0), math.log(4 / 3)
    expect_close(student.mlm_loss(logits, labels), torch.tensor((a + 2 * b) / 3, dtype=torch.float64),
                 call="mlm_loss(logits, labels)", inputs={"logits": logits, "labels": labels},
                 mistakes={"average over all scored positions of the batch, not over per-sentence means":
                           torch.tensor((a + b) / 2, dtype=torch.float64),
                           "positions labelled −100 must be left out of the mean (divide by the "
                           "number of scored positions, 3 here)":
                           torch.tensor((a + 2 * b) / 4, dtype=torch.float64)})


@points(1)
def test_mlm_loss_shape_dtype(student):
    """mlm_loss: a 0-dim tensor in the dtype of the logits; uniform logits give log V"""
    labels = torch.tensor([[-100, 4, 1, -100, -100], [2, -100, -100, -100, 6]])
    for dtype in (torch.float32, torch.float64):
        logits = torch.zeros(2, 5, 7, dtype=dtype)
        got = student.mlm_loss(logits, labels)
        expect_tensor(got, call="mlm_loss(logits, labels)", inputs={"logits": logits, "labels": labels},
                      shape=(), dtype=dtype)
        expect_close(got, torch.tensor(math.log(7.0), dtype=dtype), call="mlm_loss(zeros, labels)",
                     inputs={"logits": logits, "labels": labels})


@points(1)
def test_argmax_correction_keeps_special_tokens(student):
    """argmax_correction: arg-max everywhere except the special positions"""
    ids = torch.tensor([[CLS, 5, 6, SEP], [CLS, 7, SEP, PAD]])
    special = (ids == CLS) | (ids == SEP) | (ids == PAD)
    logits = torch.zeros(2, 4, 9)
    logits[0, :, 8] = 1.0  # the model prefers word 8 everywhere in sentence 0 …
    logits[1, :, 4] = 1.0  # … and word 4 everywhere in sentence 1
    got = student.argmax_correction(logits, ids, special)
    want = torch.tensor([[CLS, 8, 8, SEP], [CLS, 4, SEP, PAD]])
    expect_tensor(got, call="argmax_correction(logits, input_ids, special)",
                  inputs={"input_ids": ids, "special": special}, shape=(2, 4), dtype=torch.int64)
    expect_close(got, want, call="argmax_correction(logits, input_ids, special)",
                 inputs={"input_ids": ids, "special": special}, rtol=0, atol=0,
                 mistakes={"keep the input id wherever special is True":
                           torch.tensor([[8, 8, 8, 8], [4, 4, 4, 4]])})


@points(1)
def test_masked_candidates_example(student):
    """masked_candidates: one copy per non-special position, that position masked"""
    ids = torch.tensor([CLS, 7, 8, 9, SEP, PAD])
    special = (ids == CLS) | (ids == SEP) | (ids == PAD)
    got = student.masked_candidates(ids, MASK, special)
    call = "masked_candidates(input_ids, mask_token_id=3, special)"
    expect(isinstance(got, (tuple, list)) and len(got) == 2,
           f"{call} returned {type(got).__name__}; expected a tuple (batch, positions)")
    batch, positions = got
    expect_close(positions, torch.tensor([1, 2, 3]), call=call + "  [positions]",
                 inputs={"input_ids": ids, "special": special}, rtol=0, atol=0)
    expect_close(batch, torch.tensor([[CLS, MASK, 8, 9, SEP, PAD],
                                      [CLS, 7, MASK, 9, SEP, PAD],
                                      [CLS, 7, 8, MASK, SEP, PAD]]),
                 call=call + "  [batch]", inputs={"input_ids": ids, "special": special},
                 rtol=0, atol=0)


@points(2)
def test_masked_correction_fixes_one_wrong_word(student):
    """masked_correction: one wrong word is fixed, with one batched model call per round"""
    truth = torch.tensor([CLS, 5, 9, 7, 11, 6, SEP])
    special = (truth == CLS) | (truth == SEP)
    wrong = truth.clone()
    wrong[3] = 10  # one wrong word
    # A fake masked LM that believes in `truth`. It raises an error when it is called
    # more than 3 times or with a batch that is not all 5 masked copies at once.
    model = Helper("bert_fake_mlm", vocab_size=12, mask_token_id=MASK, seed=0, banned=[0, 1, 2, 3],
                   planted=truth.tolist(), planted_strength=12.0, max_calls=3, batch_size=5)
    call = "masked_correction(model, input_ids, mask_token_id=3, special, threshold=0.05)"
    try:
        got = student.masked_correction(model, wrong, MASK, special, 0.05)
    except AssertionError as e:  # the student's exception, as the grader reports it
        if "has no attribute 'logits'" not in str(e):
            raise
        fail(f"{e}\n  Hint: this model returns the logits tensor itself, not a Hugging Face "
             "output with .logits; logits_of(model(batch)) handles both")
    expect_tensor(got, call=call, inputs={"input_ids": wrong, "special": special}, shape=(7,),
                  dtype=torch.int64, shape_note="(L,)")
    expect_close(got, truth, call=call, inputs={"input_ids": wrong, "special": special},
                 rtol=0, atol=0, mistakes={
                     "nothing was changed: score the MASKED copies (masked_candidates), where the "
                     "model cannot see the word it judges": wrong})


@points(1)
def test_masked_correction_one_edit_per_round(student):
    """masked_correction: two wrong words and padding: max_edits=1 fixes the less probable one, no limit both"""
    truth = torch.tensor([CLS, 5, 9, 7, 11, 6, SEP, PAD, PAD])
    special = (truth == CLS) | (truth == SEP) | (truth == PAD)
    wrong = truth.clone()
    wrong[2], wrong[4] = 10, 8
    # The fake masked LM believes in `truth`. At their masked positions the wrong words have
    # p(10 at 2) ≈ 3e-7 and p(8 at 4) ≈ 8e-9: both qualify, position 4 is the less probable.
    model = Helper("bert_fake_mlm", vocab_size=12, mask_token_id=MASK, seed=0, banned=[0, 1, 2, 3],
                   planted=truth.tolist(), planted_strength=12.0)
    inputs = {"input_ids": wrong, "special": special}
    only_4, only_2 = wrong.clone(), wrong.clone()
    only_4[4], only_2[2] = truth[4], truth[2]
    call = "masked_correction(model, input_ids, mask_token_id=3, special, threshold=0.05, max_edits=1)"
    expect_close(student.masked_correction(model, wrong, MASK, special, 0.05, 1), only_4, call=call,
                 inputs=inputs, rtol=0, atol=0, mistakes={
                     "edit ONE token per round (max_edits=1 allows one edit), then score the new sentence":
                         truth,
                     "edit the qualifying position with the LOWEST probability of its current token, not "
                     "the first one": only_2})
    call = "masked_correction(model, input_ids, mask_token_id=3, special, threshold=0.05)"
    got = expect_tensor(student.masked_correction(model, wrong, MASK, special, 0.05), call=call,
                        inputs=inputs, shape=(9,), dtype=torch.int64, shape_note="(L,)")
    expect(torch.equal(got[special], truth[special]),
           f"{call} returned {got.tolist()}: a special position changed ([CLS] at 0, [SEP] at 6, [PAD] "
           "at 7 and 8). Hint: use the special mask, not the first/last positions")
    expect_close(got, truth, call=call, inputs=inputs, rtol=0, atol=0,
                 mistakes={"nothing was changed: score the MASKED copies (masked_candidates), where the "
                           "model cannot see the word it judges": wrong})


def fake_mlm(vocab, seed, **options):
    """The grader's fake masked LM over ``vocab`` tokens (words from 4 on), its tables seeded by ``seed``."""
    return Helper("bert_fake_mlm", vocab_size=vocab, mask_token_id=MASK, seed=seed, banned=[0, 1, 2, 3],
                  **options)


@points(1)
def test_masked_correction_tie_example(student):
    """masked_correction: two positions tie for the lowest probability — the first one is edited"""
    # Without its position term (positional=False) the fake LM gives positions 2 and 4 (both the
    # word 8 between two 9s) bit-identical probabilities, the lowest of the sentence (p ≈ 0.003).
    model = fake_mlm(12, 2, positional=False)
    ids = torch.tensor([CLS, 9, 8, 9, 8, 9, SEP])
    special = (ids == CLS) | (ids == SEP)
    masked = ids.clone()
    masked[2] = MASK
    best = int(model.build()(masked[None])[0, 2].argmax())  # the arg-max at masked position 2 (and 4)
    first, last = ids.clone(), ids.clone()
    first[2], last[4] = best, best
    expect_close(student.masked_correction(model, ids, MASK, special, 0.05, max_edits=1), first,
                 call="masked_correction(model, input_ids, mask_token_id=3, special, threshold=0.05, max_edits=1)",
                 inputs={"input_ids": ids, "special": special}, rtol=0, atol=0, mistakes={
                     "positions 2 and 4 tie for the lowest probability: edit the FIRST "
                     "(torch.argmin returns the first of equal minima)": last})


@points(1)
def test_masked_correction_defaults(student):
    """masked_correction: threshold=0.05 and max_edits=None (as many edits as non-special positions)"""
    # Sentences on which the fake LM's answer depends on the threshold (0.02, 0.05 and 0.1 give three
    # different corrections) and on the number of edits (it still wants a 6th edit after the 5th).
    model = fake_mlm(10, 1)
    ids = torch.tensor([CLS, 4, 7, 9, 4, 6, 7, SEP])
    special = (ids == CLS) | (ids == SEP)
    default = student.masked_correction(model, ids, MASK, special)
    explicit = student.masked_correction(model, ids, MASK, special, 0.05)
    expect(torch.equal(default, explicit) if isinstance(default, torch.Tensor) else False,
           f"masked_correction(model, input_ids, mask_token_id=3, special) returned {describe(default)}, "
           f"but with threshold=0.05 it returns {describe(explicit)}, on input_ids = {ids.tolist()}; "
           "the default threshold is 0.05.")
    ids = torch.tensor([CLS, 6, 7, 9, 4, 5, SEP])  # 5 non-special positions
    special = (ids == CLS) | (ids == SEP)
    default = student.masked_correction(model, ids, MASK, special, 0.1)
    explicit = student.masked_correction(model, ids, MASK, special, 0.1, max_edits=5)
    expect(torch.equal(default, explicit) if isinstance(default, torch.Tensor) else False,
           f"masked_correction(model, input_ids, mask_token_id=3, special, threshold=0.1) returned "
           f"{describe(default)}, but with max_edits=5 it returns {describe(explicit)}, on input_ids = "
           f"{ids.tolist()}; max_edits=None means at most as many edits as there are NON-SPECIAL "
           "positions (5 here), not len(input_ids) and not 'until nothing qualifies'.")


CORRECT = ["私は野菜が好きだ", "父は肉が嫌いだ", "彼女の好きな飲み物はお茶だ", "兄は毎朝ご飯を食べる",
           "母は店で魚を買った", "友達はパンがとても好きだ"]


@points(3)
@pytest.mark.slow
@timeout(60)
def test_correct_sentence_lecture_example(student):
    """correct_sentence: 「私は野菜が空きだ」 becomes 「私は野菜が好きだ」; correct sentences stay"""
    # The course's small Japanese BERT (models/bert_ja) and its MeCab tokenizer. The
    # sentences in CORRECT are in the model's training corpus.
    tokenizer, model = Helper("bert_ja_tokenizer"), Helper("bert_ja_model")
    call = "correct_sentence(text, course_tokenizer, course_model)"
    got = student.correct_sentence("私は野菜が空きだ", tokenizer, model)
    hint = ""
    if isinstance(got, str) and got.replace(" ", "") == "私は野菜が好きだ":
        hint = ("\n  Hint: remove the spaces the word-level tokenizer's decode puts between words "
                "(Japanese has none)")
    elif isinstance(got, str) and "[CLS]" in got:
        hint = "\n  Hint: decode with skip_special_tokens=True"
    expect(got == "私は野菜が好きだ", f"{call} with text = '私は野菜が空きだ' returned {got!r}, "
           f"expected '私は野菜が好きだ'{hint}")
    changed = []
    for text in CORRECT:
        out = student.correct_sentence(text, tokenizer, model)
        if out != text:
            changed.append(f"    {text} → {out!r}")
    expect(not changed, f"{call} changed sentences that are correct (they are in the model's "
           "training corpus); they must come back unchanged:\n" + "\n".join(changed)
           + "\n  Hint: change a token only where its probability at its MASKED position is below "
           "the threshold (masked_correction); the one-pass arg-max of the unmasked sentence "
           "rewrites correct words too")


@points(1)
@pytest.mark.slow
@timeout(60)
def test_correct_sentence_threshold_example(student):
    """correct_sentence: threshold=1e-6 leaves 「母は毎朝牛乳が飲む」 alone (no token is that improbable)"""
    tokenizer, model = Helper("bert_ja_tokenizer"), Helper("bert_ja_model")
    text = "母は毎朝牛乳が飲む"
    got = student.correct_sentence(text, tokenizer, model, threshold=1e-6)
    hint = ""
    if got != text and got == student.correct_sentence(text, tokenizer, model):
        hint = "\n  Hint: this is what the default threshold 0.05 gives; pass `threshold` on to masked_correction"
    expect(got == text, f"correct_sentence('{text}', course_tokenizer, course_model, threshold=1e-6) returned "
           f"{got!r}; expected the sentence unchanged: no token of it has a probability below 1e-6 at its "
           f"masked position.{hint}")
