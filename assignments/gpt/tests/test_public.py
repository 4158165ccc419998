"""Public tests for the `gpt` assignment: shapes, dtypes and small worked examples.

Run them with ``gmgrade check gpt``. Passing them does not guarantee full marks: the
hidden tests check values on many more inputs, the sampling distribution and stability.
"""

import math

import torch

from autograder.student import StudentError
from autograder.testing import Helper, expect, expect_close, expect_tensor, fail, points

NEG_INF = float("-inf")
LARGE_NEGATIVE = "excluded entries must be exactly -inf (float('-inf')), not a large negative number"


def _keep(logits, keep):
    return torch.where(keep, logits, torch.full_like(logits, NEG_INF))


def top_k_slips(logits, k):
    """What the usual top_k_filter slips give."""
    def keep_k(kk, largest=True):
        idx = torch.topk(logits, kk, dim=-1, largest=largest).indices
        return _keep(logits, torch.zeros_like(logits, dtype=torch.bool).scatter(-1, idx, True))
    return {"the k smallest logits were kept; keep the k largest": keep_k(k, largest=False),
            "one token too many is kept (off by one: the k-th largest value is at index k−1 of the "
            "sorted values)": keep_k(k + 1),
            LARGE_NEGATIVE: torch.where(torch.isinf(keep_k(k)), torch.full_like(logits, -1e9), logits),
            "the kept values are returned in sorted order; keep every token at its own index":
            torch.cat([torch.sort(logits, -1, descending=True).values[..., :k],
                       torch.full_like(logits[..., k:], NEG_INF)], -1)}


def top_p_slips(logits, p, expected):
    """What the usual top_p_filter slips give (1-D logits)."""
    probs = logits.softmax(-1)
    sp, order = torch.sort(probs, descending=True)
    asc, aorder = torch.sort(probs)
    return {"the token that makes the mass reach p is dropped (you keep cumsum ≤ p); keep it: a token "
            "stays when the mass *before* it is < p, so the kept mass is ≥ p":
            _keep(logits, torch.zeros_like(sp, dtype=torch.bool).scatter(-1, order, sp.cumsum(-1) <= p)),
            "the tokens are accumulated from the least probable up; sort in descending order":
            _keep(logits, torch.zeros_like(asc, dtype=torch.bool).scatter(-1, aorder, (asc.cumsum(-1) - asc) < p)),
            "the result is in sorted order; put the kept logits back at their token indices "
            "(scatter with the sort indices)":
            torch.sort(logits, descending=True).values.masked_fill((sp.cumsum(-1) - sp) >= p, NEG_INF),
            LARGE_NEGATIVE: torch.where(torch.isinf(expected), torch.full_like(logits, -1e9), logits)}


@points(1)
def test_causal_lm_loss_worked_example(student):
    """causal_lm_loss: a worked example with the shift by one"""
    # V = 3, one sequence [0, 1, 2]. Position 0 predicts token 1, position 1 predicts
    # token 2, position 2 predicts nothing.
    logits = torch.tensor([[[0.0, math.log(2.0), 0.0],   # p(1) = 2/4
                            [0.0, 0.0, 0.0],             # p(2) = 1/3
                            [9.0, -9.0, 5.0]]], dtype=torch.float64)  # unused
    ids = torch.tensor([[0, 1, 2]])
    got = student.causal_lm_loss(logits, ids)
    expect_close(got, torch.tensor((math.log(2.0) + math.log(3.0)) / 2, dtype=torch.float64),
                 call="causal_lm_loss(logits, input_ids)", inputs={"logits": logits, "input_ids": ids},
                 mistakes={"the logits at position i predict token i+1: compare logits[:, :-1] "
                           "with input_ids[:, 1:] (you seem to use no shift)":
                           torch.nn.functional.cross_entropy(logits[0], ids[0])})


@points(1)
def test_causal_lm_loss_two_sequences(student):
    """causal_lm_loss: two sequences of 3 tokens: the mean over the 4 shifted predictions"""
    # V = 2; the targets 0, 1 | 0, 0 get p = 3/4, 3/4 | 3/4, 1/2; the last positions predict nothing
    l3 = math.log(3.0)
    logits = torch.tensor([[[l3, 0.0], [0.0, l3], [0.0, 0.0]],
                           [[l3, 0.0], [l3, l3], [5.0, -5.0]]], dtype=torch.float64)
    ids = torch.tensor([[1, 0, 1], [0, 0, 0]])
    ce = torch.nn.functional.cross_entropy
    want = ce(logits[:, :-1].reshape(-1, 2), ids[:, 1:].reshape(-1))
    expect_close(student.causal_lm_loss(logits, ids), want, call="causal_lm_loss(logits, input_ids)",
                 inputs={"logits": logits, "input_ids": ids}, rtol=1e-6, mistakes={
                     "the logits at position i predict token i+1: compare logits[:, :-1] "
                     "with input_ids[:, 1:] (you seem to use no shift)": ce(logits.reshape(-1, 2), ids.reshape(-1)),
                     "the shift goes the wrong way: the logits at position i predict token i+1, so pair "
                     "logits[:, :-1] with input_ids[:, 1:] (not logits[:, 1:] with input_ids[:, :-1])":
                         ce(logits[:, 1:].reshape(-1, 2), ids[:, :-1].reshape(-1)),
                     "this is the sum over the B·(L−1) predictions; the loss is their mean": want * 4,
                     "logits and targets are flattened in different orders: reshape logits[:, :-1] to "
                     "(B·(L−1), V) and input_ids[:, 1:] to (B·(L−1),) the same way (no transpose)":
                         ce(logits[:, :-1].transpose(0, 1).reshape(-1, 2), ids[:, 1:].reshape(-1))})


@points(1)
def test_causal_lm_loss_shape_dtype(student):
    """causal_lm_loss: returns a scalar in the dtype of the logits"""
    logits = torch.randn(2, 5, 7)
    ids = torch.randint(0, 7, (2, 5))
    got = student.causal_lm_loss(logits, ids)
    expect_tensor(got, call="causal_lm_loss(logits, input_ids)",
                  inputs={"logits": logits, "input_ids": ids}, shape=(), dtype=torch.float32)
    uniform = torch.zeros(2, 5, 7)
    got = student.causal_lm_loss(uniform, ids)
    expect_close(got, torch.tensor(math.log(7.0)), call="causal_lm_loss(zeros, input_ids)",
                 inputs={"logits": uniform, "input_ids": ids}, rtol=1e-5)


@points(1)
def test_top_k_filter_example(student):
    """top_k_filter: keeps the k largest logits, the rest become -inf"""
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0], [-1.0, -3.0, 4.0, 2.5]])
    got = student.top_k_filter(logits, 2)
    expected = torch.tensor([[NEG_INF, 3.0, 2.0, NEG_INF], [NEG_INF, NEG_INF, 4.0, 2.5]])
    expect_close(got, expected, call="top_k_filter(logits, k=2)", inputs={"logits": logits},
                 mistakes=top_k_slips(logits, 2))


@points(1)
def test_top_p_filter_example(student):
    """top_p_filter: keeps the smallest set of most probable tokens with mass ≥ p"""
    probs = torch.tensor([0.15, 0.5, 0.05, 0.3], dtype=torch.float64)
    logits = probs.log()
    for p, keep in [(0.7, [False, True, False, True]),   # 0.5 < 0.7, 0.5 + 0.3 ≥ 0.7
                    (0.4, [False, True, False, False]),  # the top token alone has 0.5 ≥ 0.4
                    (0.9, [True, True, False, True])]:   # 0.5 + 0.3 + 0.15 ≥ 0.9
        got = student.top_p_filter(logits, p)
        expected = torch.where(torch.tensor(keep), logits, torch.tensor(NEG_INF, dtype=torch.float64))
        expect_close(got, expected, call=f"top_p_filter(logits, p={p})", inputs={"logits": logits},
                     mistakes=top_p_slips(logits, p, expected))


@points(1)
def test_sample_next_greedy(student):
    """sample_next: temperature 0 is greedy (the arg-max), shape (B,) int64"""
    logits = torch.tensor([[0.1, 2.0, -1.0, 0.5], [3.0, 0.0, 1.0, 2.9], [0.0, 0.0, 0.2, 5.0]])
    try:
        got = student.sample_next(logits, temperature=0.0)
    except StudentError as e:  # typically torch.multinomial refusing the NaN probabilities of logits / 0
        fail(f"{e.feedback}\n  Hint: temperature 0 means greedy decoding: return logits.argmax(dim=-1) "
             "before dividing by the temperature (logits / 0 gives inf and NaN probabilities).")
    expect_close(got, torch.tensor([1, 0, 3]), call="sample_next(logits, temperature=0.0)",
                 inputs={"logits": logits})
    # No value gate on this call: at temperature 2.0 sample_next draws its tokens at random (from
    # the global generator), so no one answer is right; the greedy check above already gives
    # these points only to code that returns the right tokens.
    _, mutated = student.call_checking_inputs("sample_next", logits, 2.0)
    expect(not mutated, "sample_next(logits, temperature=2.0) modified logits in place; divide into a new "
           "tensor (logits / temperature, not logits /= temperature): the caller still needs them.")


@points(1)
def test_sample_next_shape_and_range(student):
    """sample_next: returns (B,) int64 ids inside the vocabulary"""
    logits = torch.randn(6, 9)
    gen = Helper("gpt_generator", seed=0)
    got = student.sample_next(logits, temperature=1.0, generator=gen)
    call = "sample_next(logits, temperature=1.0, generator=torch.Generator().manual_seed(0))"
    expect_tensor(got, call=call, inputs={"logits": logits}, shape=(6,), dtype=torch.int64,
                  shape_note="(B,)")
    expect(bool(((got >= 0) & (got < 9)).all()), f"{call}\n  returned ids {got.tolist()}; every id "
           "must lie in 0 … V−1 = 8")
    again = student.sample_next(logits, temperature=1.0, generator=gen)
    expect(torch.equal(got, again) if isinstance(again, torch.Tensor) else False,
           f"{call}\n  returned {got.tolist()} the first time and {describe_ids(again)} with a fresh "
           "generator of the same seed; pass generator=generator to the function that draws "
           "(e.g. torch.multinomial(probs, 1, generator=generator)).")


def describe_ids(value):
    return value.tolist() if isinstance(value, torch.Tensor) else repr(value)


# ------------------------------------------------------------ the sampling distribution
# Many identical rows drawn in one call with a seeded generator: the share of each token must be
# within FREQ_TOL of its probability (at most 5 standard errors at N_DRAWS = 4000, so a correct
# sampler, however it draws, fails about once in a million runs; the slips below are 0.1 to 0.6 away).
N_DRAWS = 4000
FREQ_TOL = 0.045


def sampling_probs(logits, temperature=1.0, top_k=None, top_p=None, steps=("temperature", "top_k", "top_p")):
    """The distribution sample_next draws from (1-D logits), its steps done in the order ``steps``."""
    x = logits.double()
    for step in steps:
        if step == "temperature":
            x = x / temperature
        elif step == "top_k" and top_k is not None:
            x = x.masked_fill(x < torch.topk(x, top_k).values[-1], NEG_INF)
        elif step == "top_p" and top_p is not None:
            probs, order = torch.sort(x.softmax(-1), descending=True)
            before = torch.empty_like(probs).scatter(0, order, probs.cumsum(0) - probs)
            x = x.masked_fill(before >= top_p, NEG_INF)
    return x.softmax(-1)


def expect_frequencies(draws, probs, *, call, logits, slips):
    """Fail unless the shares of the tokens in ``draws`` (N_DRAWS,) are close to ``probs``; the
    hint of the first slip whose distribution the shares are close to instead."""
    expect_tensor(draws, call=call, shape=(N_DRAWS,), dtype=torch.int64, shape_note="(B,)")
    V = probs.numel()
    expect(bool(((draws >= 0) & (draws < V)).all()), f"{call}\n  returned ids outside 0 … {V - 1}")
    share = torch.bincount(draws.cpu(), minlength=V).double() / N_DRAWS
    if float((share - probs).abs().max()) <= FREQ_TOL:
        return
    table = "\n".join(f"    token {v}: drawn {share[v].item():.3f} of the time, probability {probs[v].item():.3f}"
                      for v in range(V))
    hint = next((f"\n  Hint: {h}" for h, q in slips.items() if float((share - q).abs().max()) <= FREQ_TOL), "")
    fail(f"{call}\n  on {N_DRAWS} identical rows with logits {[round(v, 3) for v in logits.tolist()]}, "
         f"the tokens were drawn this often:\n{table}{hint}")


ROW = torch.tensor([1.5, 1.0, 0.5, 0.0, -0.5, -1.0], dtype=torch.float64)


@points(1)
def test_sample_next_filters_in_order(student):
    """sample_next: draws from the softmax after temperature, then top-k, then top-p"""
    # By hand: ROW / 3 = [0.5, 0.33, 0.17, 0, -0.17, -0.33]; top_k=4 drops the last two; the
    # softmax of the four left is [0.30, 0.25, 0.21, 0.18], whose mass before each token is
    # 0, 0.30, 0.55, 0.77, so top_p=0.7 keeps the first three: probabilities [0.39, 0.33, 0.28, 0, 0, 0].
    kw = dict(temperature=3.0, top_k=4, top_p=0.7)
    draws = student.sample_next(ROW.expand(N_DRAWS, -1).clone(), **kw, generator=Helper("gpt_generator", seed=7))
    expect_frequencies(draws, sampling_probs(ROW, **kw), logits=ROW,
                       call="sample_next(logits, temperature=3.0, top_k=4, top_p=0.7, generator=...)", slips={
        "the logits are multiplied by the temperature; divide them by it": sampling_probs(ROW * 9, **kw),
        "the temperature is not applied; divide the logits by it first": sampling_probs(ROW, 1.0, 4, 0.7),
        "top-p is applied before dividing by the temperature; the order is temperature, top-k, top-p":
            sampling_probs(ROW, **kw, steps=("top_k", "top_p", "temperature")),
        "top-p is applied before top-k; the order is temperature, top-k, top-p":
            sampling_probs(ROW, **kw, steps=("temperature", "top_p", "top_k")),
        "top_k was ignored": sampling_probs(ROW, 3.0, None, 0.7),
        "top_p was ignored": sampling_probs(ROW, 3.0, 4, None),
        "every draw is the arg-max: sample from the softmax probabilities (e.g. torch.multinomial) "
        "unless temperature == 0": torch.nn.functional.one_hot(ROW.argmax(), 6).double()})


@points(1)
def test_sample_next_defaults_draw_from_the_softmax(student):
    """sample_next: without options it draws from softmax(logits) (temperature=1.0, no filter)"""
    draws = student.sample_next(ROW.expand(N_DRAWS, -1).clone(), generator=Helper("gpt_generator", seed=8))
    expect_frequencies(draws, ROW.softmax(-1), logits=ROW, call="sample_next(logits, generator=...)", slips={
        f"these are the draws of temperature={t}; the defaults are temperature=1.0, top_k=None, top_p=None":
            (ROW / t).softmax(-1) for t in (0.5, 0.7, 0.8, 2.0)})


@points(1)
def test_generate_passes_sampling_options_on(student):
    """generate: draws each new token with sample_next and the sampling options it was given"""
    model = Helper("gpt_tiny_lm", vocab=8, seed=5, peak=0.0, noise=2.0, dtype="float64")
    prompt = torch.tensor([[1, 6, 2]])
    got = student.generate(model, prompt.expand(N_DRAWS, -1).clone(), 1, temperature=2.0, top_k=3,
                           generator=Helper("gpt_generator", seed=9))
    call = "generate(model, input_ids, max_new_tokens=1, temperature=2.0, top_k=3, generator=...)"
    expect_tensor(got, call=call, shape=(N_DRAWS, 4), dtype=torch.int64, shape_note="(B, L + max_new_tokens)")
    last = model.build()(prompt)[0, -1]  # the model's logits for the next token
    expect_frequencies(got[:, -1], sampling_probs(last, 2.0, 3), call=call, logits=last, slips={
        "every new token is the arg-max: generate must draw each token with "
        "sample_next(logits[:, -1], **sampling)": torch.nn.functional.one_hot(last.argmax(), 8).double(),
        "the sampling options were not passed on to sample_next (pass **sampling)": last.softmax(-1)})


@points(1)
def test_generate_greedy_known_rule(student):
    """generate: greedy decoding of a model with a known favourite next token"""
    # The grader's model favours token (sum of all tokens so far + 5·position + 1) mod 13.
    model = Helper("gpt_tiny_lm", vocab=13, seed=0, peak=3.0, noise=1.0, step=5, offset=1)
    prompt = torch.tensor([[3, 1, 4], [0, 0, 0]])
    got = student.generate(model, prompt, 4, temperature=0.0)
    ids = prompt.tolist()
    for row in ids:
        for _ in range(4):
            row.append((sum(row) + 5 * (len(row) - 1) + 1) % 13)
    expected = torch.tensor(ids)

    def continued(next_token):
        rows = prompt.tolist()
        for row in rows:
            for _ in range(4):
                row.append(next_token(row))
        return torch.tensor(rows)

    call = "generate(model, input_ids, max_new_tokens=4, temperature=0.0)"
    expect_tensor(got, call=call, inputs={"input_ids": prompt}, shape=(2, 7), dtype=torch.int64,
                  shape_note="(B, L + max_new_tokens)")
    expect_close(got, expected, call=call, inputs={"input_ids": prompt}, mistakes={
        "the next token must come from the logits of the last position (logits[:, -1]), not the first":
            continued(lambda row: (row[0] + 1) % 13),
        "the model must see the whole sequence so far: call model(ids) on all tokens, not only "
        "on the last one": continued(lambda row: (row[-1] + 1) % 13)})
