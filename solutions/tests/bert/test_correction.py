"""Hidden tests: masked_correction on the grader's fake masked LMs.

The fake models (``bert_fake_mlm`` in assignments/bert/helpers.py) copy a visible token
and predict a [MASK] from its two neighbours, from seeded tables; random sentences are
"all wrong" for them (many edits, a strong test of the loop), sentences with a planted
truth behave like text with a couple of typos. Token ids: [PAD]=0, [CLS]=1, [SEP]=2,
[MASK]=3, words from 4 on.
"""

import pytest
import torch

from autograder.testing import Helper, expect, expect_close, expect_right_answer, expect_tensor, points

PAD, CLS, SEP, MASK = 0, 1, 2, 3
SPECIAL_IDS = [PAD, CLS, SEP, MASK]
CALL = "masked_correction(model, input_ids, mask_token_id=3, special, threshold={th}{extra})"


def _model(vocab, seed, **kw):
    kw.setdefault("banned", SPECIAL_IDS)
    return Helper("bert_fake_mlm", vocab_size=vocab, mask_token_id=MASK, seed=seed, **kw)


def _sentence(gen, n_words, vocab, pad=0):
    words = torch.randint(4, vocab, (n_words,), generator=gen)
    ids = torch.cat([torch.tensor([CLS]), words, torch.tensor([SEP]),
                     torch.full((pad,), PAD, dtype=torch.int64)])
    return ids, (ids == PAD) | (ids == CLS) | (ids == SEP)


def _variant(lm, ids, special, threshold, max_edits, mode):
    """What a known mistake returns (the loop written with that one mistake)."""
    ids = ids.clone()
    pos = (~special).nonzero().reshape(-1)
    rows = torch.arange(len(pos))
    budget = len(pos) if max_edits is None else max_edits
    edits = 0
    while edits < budget:
        if mode == "no_mask":
            logits = getattr(lm(ids[None]), "logits", None)
            logits = (lm(ids[None]) if logits is None else logits)[0][pos]
        else:
            batch = ids.repeat(len(pos), 1)
            batch[rows, pos] = MASK
            out = lm(batch)
            logits = getattr(out, "logits", out)[rows, pos]
        probs = logits.softmax(-1)
        cur = ids[pos]
        p_cur = probs[rows, cur]
        best = probs.argmax(-1)
        if mode == "argmax_prob":
            ok = (probs.max(-1).values < threshold) & (best != cur)
        elif mode == "logits":
            ok = (logits[rows, cur] < threshold) & (best != cur)
        else:
            ok = (p_cur < threshold) & (best != cur)
        if not bool(ok.any()):
            break
        if mode == "all_at_once":
            idx = ok.nonzero().reshape(-1)[: budget - edits]
            ids[pos[idx]] = best[idx]
            break
        score = logits[rows, cur] if mode == "logits" else p_cur
        if mode == "first":
            m = int(ok.nonzero()[0])
        elif mode == "highest":
            m = int(torch.where(ok, score, torch.full_like(score, -1e9)).argmax())
        else:
            m = int(torch.where(ok, score, torch.full_like(score, 1e9)).argmin())
        ids[pos[m]] = best[m]
        edits += 1
    return ids


_HINTS = {
    "no_mask": "the probabilities must come from MASKED copies (masked_candidates): scoring the "
               "unmasked sentence lets the model see, and copy, the very token it should judge",
    "argmax_prob": "compare the probability of the CURRENT token at the masked position with "
                   "the threshold, not the probability of the arg-max",
    "logits": "compare probabilities (softmax over the vocabulary) with the threshold, not raw logits",
    "all_at_once": "edit only ONE token per round (the least probable qualifying one), then score "
                   "the edited sentence again; you seem to edit every qualifying token at once",
    "first": "among the qualifying positions edit the one with the LOWEST probability, not the "
             "first one",
    "highest": "among the qualifying positions edit the one with the lowest probability, not the "
               "highest",
}


def _mistakes(model, ids, special, threshold, max_edits=None):
    lm = model.build()

    def make(mode):
        return lambda: _variant(lm, ids, special, threshold, max_edits, mode)
    return {text: make(mode) for mode, text in _HINTS.items()}


def _assert_clear_decisions(model, ids, special, threshold, max_edits):
    """Grader self-check: no decision of the correct loop on this case is a near-tie.

    float32 and float64 (or log-space) implementations must agree, so every probability
    stays clear of the threshold, the edited position is clearly the least probable and
    every arg-max is clear (relative margins of 1e-4).
    """
    lm = model.build()
    ids = ids.clone()
    pos = (~special).nonzero().reshape(-1)
    rows = torch.arange(len(pos))
    for _ in range(len(pos) if max_edits is None else max_edits):
        batch = ids.repeat(len(pos), 1)
        batch[rows, pos] = MASK
        out = lm(batch)
        probs = getattr(out, "logits", out)[rows, pos].double().softmax(-1)
        p_cur = probs[rows, ids[pos]]
        top2 = probs.topk(2, dim=-1).values
        low = p_cur < threshold  # where the arg-max matters
        near = [bool(((p_cur - threshold).abs() < 1e-4 * threshold).any()),
                bool(((top2[:, 0] - top2[:, 1]) < 1e-4 * top2[:, 0])[low].any())]
        ok = (p_cur < threshold) & (probs.argmax(-1) != ids[pos])
        if not bool(ok.any()):
            break
        lowest = p_cur[ok].sort().values
        near.append(len(lowest) > 1 and bool(lowest[1] - lowest[0] < 1e-4 * lowest[1]))
        if any(near):
            raise RuntimeError(f"grader self-check: near-tie in the test case {ids.tolist()}")
        m = int(torch.where(ok, p_cur, torch.full_like(p_cur, 2.0)).argmin())
        ids[pos[m]] = probs[m].argmax()


def _check(student, reference, model, ids, special, threshold, max_edits=None, note=""):
    _assert_clear_decisions(model, ids, special, threshold, max_edits)
    extra = "" if max_edits is None else f", max_edits={max_edits}"
    call = CALL.format(th=threshold, extra=extra) + note
    kwargs = {} if max_edits is None else {"max_edits": max_edits}
    got = student.masked_correction(model, ids, MASK, special, threshold, **kwargs)
    want = reference.masked_correction(model, ids, MASK, special, threshold, **kwargs)
    expect_tensor(got, call=call, inputs={"input_ids": ids, "special": special},
                  shape=tuple(ids.shape), dtype=torch.int64, shape_note="(L,)")
    expect_close(got, want, call=call, inputs={"input_ids": ids, "special": special},
                 rtol=0, atol=0, mistakes=_mistakes(model, ids, special, threshold, max_edits))


# Random sentences: the fake model wants to rewrite most of them, over several rounds in
# which each edit changes its neighbours' probabilities.
@points(3)
@pytest.mark.parametrize("vocab,seed,n_words,threshold", [
    (10, 1, 7, 0.05), (10, 2, 7, 0.15), (14, 0, 6, 0.05), (14, 4, 9, 0.3)])
def test_masked_correction_random_sentences(student, reference, rng, vocab, seed, n_words, threshold):
    """masked_correction: values on random sentences (many rounds)"""
    model = _model(vocab, seed)
    ids, special = _sentence(rng, n_words, vocab)
    _check(student, reference, model, ids, special, threshold)


@points(2)
@pytest.mark.parametrize("vocab,seed,strength", [(16, 1, 6.0), (16, 3, 6.0), (12, 4, 4.0)])
def test_masked_correction_repairs_planted_errors(student, reference, rng, vocab, seed, strength):
    """masked_correction: a sentence with two wrong tokens"""
    truth, special = _sentence(rng, 8, vocab)
    bad = truth.clone()
    where = torch.randperm(8, generator=rng)[:2] + 1
    bad[where] = torch.randint(4, vocab, (2,), generator=rng)
    model = _model(vocab, seed, planted=truth.tolist(), planted_strength=strength, scale=1.0)
    _check(student, reference, model, bad, special, 0.05)


@points(2)
def test_masked_correction_one_batched_call_per_round(student, reference, rng):
    """masked_correction: one batched model call per round, over all masked copies"""
    vocab, n_words = 12, 6
    ids, special = _sentence(rng, n_words, vocab)
    lm = _model(vocab, 5).build()
    want = reference.masked_correction(lm, ids, MASK, special, 0.1)
    rounds = lm.calls
    if rounds < 3:  # grader self-check: the case must need several rounds
        raise RuntimeError(f"test case needs only {rounds} rounds")
    # one spare call for loops that look once more before stopping
    _assert_clear_decisions(_model(vocab, 5), ids, special, 0.1, None)
    model = _model(vocab, 5, max_calls=rounds + 1, batch_size=n_words)
    call = CALL.format(th=0.1, extra="") + (f"  [one model call per round: {rounds} calls "
                                            f"of {n_words} masked copies each for this input]")
    got = student.masked_correction(model, ids, MASK, special, 0.1)
    expect_close(got, want, call=call, inputs={"input_ids": ids, "special": special},
                 rtol=0, atol=0, dtype=torch.int64,
                 mistakes=_mistakes(_model(vocab, 5), ids, special, 0.1))


@points(1)
def test_masked_correction_hugging_face_output(student, reference, rng):
    """masked_correction: works with a model that returns an object with .logits"""
    vocab = 11
    model = _model(vocab, 6, hf_output=True)
    ids, special = _sentence(rng, 6, vocab)
    _assert_clear_decisions(model, ids, special, 0.1, None)
    got = student.masked_correction(model, ids, MASK, special, 0.1)
    want = reference.masked_correction(model, ids, MASK, special, 0.1)
    expect_close(got, want, call=CALL.format(th=0.1, extra="") + "  [model returns an object "
                 "with .logits, like Hugging Face models; use logits_of(model(batch))]",
                 inputs={"input_ids": ids, "special": special}, rtol=0, atol=0,
                 mistakes=_mistakes(model, ids, special, 0.1))


@points(1)
def test_masked_correction_float64_model(student, reference, rng):
    """masked_correction: a model with float64 logits"""
    vocab = 13
    model = _model(vocab, 7, dtype="float64")
    ids, special = _sentence(rng, 7, vocab)
    _check(student, reference, model, ids, special, 0.1, note="  [float64 logits]")


@points(2)
def test_masked_correction_special_tokens_never_change(student, reference, rng):
    """masked_correction: special positions (also in the middle, and padding) never change"""
    vocab = 12
    model = _model(vocab, 8, banned=None)  # this model may even prefer specials elsewhere
    first, _ = _sentence(rng, 4, vocab)
    second, _ = _sentence(rng, 3, vocab, pad=2)
    ids = torch.cat([first, second[1:]])  # [CLS] a b c d [SEP] e f g [SEP] [PAD] [PAD]
    special = (ids == PAD) | (ids == CLS) | (ids == SEP)
    special[3] = True  # a word the caller wants kept: special is the only rule
    _assert_clear_decisions(model, ids, special, 0.2, None)
    got = student.masked_correction(model, ids, MASK, special, 0.2)
    call = CALL.format(th=0.2, extra="")
    expect_tensor(got, call=call, inputs={"input_ids": ids, "special": special},
                  shape=tuple(ids.shape), dtype=torch.int64, shape_note="(L,)")
    kept = bool(torch.equal(got[special], ids[special]))
    expect(kept, f"{call}\n  on input:\n    input_ids = {ids.tolist()}\n    special = "
           f"{special.int().tolist()}\n  changed a special position: got {got.tolist()}. Positions "
           "where special is True are never masked or edited (use the special mask, not the "
           "first/last positions).")
    want = reference.masked_correction(model, ids, MASK, special, 0.2)
    expect_close(got, want, call=call, inputs={"input_ids": ids, "special": special}, rtol=0, atol=0,
                 mistakes=_mistakes(model, ids, special, 0.2))


@points(1)
def test_masked_correction_ties_go_to_the_first_position(student, reference):
    """masked_correction: equal lowest probabilities — the first position is edited"""
    # Without a position term, positions 2 and 4 (same token, same neighbours) get
    # bit-identical probabilities, the lowest of the sentence.
    model = _model(12, 2, positional=False)
    ids = torch.tensor([CLS, 9, 8, 9, 8, 9, SEP])
    special = (ids == CLS) | (ids == SEP)
    lm = model.build()
    first = _variant(lm, ids, special, 0.05, 1, "lowest")
    if first[2] == ids[2] or first[4] != ids[4]:  # grader self-check of the tie
        raise RuntimeError("tie case no longer edits position 2")
    got = student.masked_correction(model, ids, MASK, special, 0.05, max_edits=1)
    want = reference.masked_correction(model, ids, MASK, special, 0.05, max_edits=1)
    expect_close(got, want, call=CALL.format(th=0.05, extra=", max_edits=1"),
                 inputs={"input_ids": ids, "special": special}, rtol=0, atol=0,
                 mistakes={"positions 2 and 4 tie for the lowest probability: edit the FIRST "
                           "(torch.argmin returns the first of equal minima)":
                           ids.clone().index_put_((torch.tensor([4]),), first[2:3])})


@points(2)
def test_masked_correction_max_edits(student, reference, rng):
    """masked_correction: max_edits=0, 1 and 2 stop after that many edits"""
    vocab = 10
    model = _model(vocab, 1)
    ids, special = _sentence(rng, 7, vocab)
    got0 = student.masked_correction(model, ids, MASK, special, 0.15, max_edits=0)
    expect_close(got0, ids, call=CALL.format(th=0.15, extra=", max_edits=0"),
                 inputs={"input_ids": ids, "special": special}, rtol=0, atol=0)
    for k in (1, 2):
        _check(student, reference, model, ids, special, 0.15, max_edits=k)


@points(1)
def test_masked_correction_nothing_to_fix(student, rng):
    """masked_correction: a sentence the model fully believes is returned unchanged"""
    vocab = 12
    truth, special = _sentence(rng, 6, vocab)
    model = _model(vocab, 9, planted=truth.tolist(), planted_strength=12.0)
    got = student.masked_correction(model, truth, MASK, special, 0.05)
    expect_close(got, truth, call=CALL.format(th=0.05, extra=""),
                 inputs={"input_ids": truth, "special": special}, rtol=0, atol=0)


@points(1)
def test_masked_correction_does_not_modify_inputs(student, reference, rng):
    """masked_correction: input_ids and special are not modified in place"""
    vocab = 10
    model = _model(vocab, 2)
    ids, special = _sentence(rng, 6, vocab)
    got, mutated = student.call_checking_inputs("masked_correction", model, ids, MASK, special, 0.2)
    names = {1: "input_ids", 3: "special"}
    expect(not mutated, "masked_correction(model, input_ids, 3, special, 0.2) modified "
           f"{', '.join(names.get(i, str(i)) for i in mutated)} in place; edit a clone "
           "(ids = input_ids.clone())")
    # inputs left alone count only with the right answer for the same call
    expect_right_answer(got, reference.masked_correction(model, ids, MASK, special, 0.2),
                        call="masked_correction(model, input_ids, 3, special, 0.2)",
                        inputs={"input_ids": ids, "special": special})
