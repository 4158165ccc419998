"""Public tests for the `gpt` assignment: shapes, dtypes and small worked examples.

Run them with ``gmgrade check gpt``. Passing them does not guarantee full marks: the
hidden tests check values on many more inputs, the sampling distribution and stability.
"""

import math

import torch

from autograder.student import StudentError
from autograder.testing import Helper, expect, expect_close, expect_tensor, fail, points

NEG_INF = float("-inf")


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
    expect_close(got, expected, call="top_k_filter(logits, k=2)", inputs={"logits": logits})


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
        expect_close(got, expected, call=f"top_p_filter(logits, p={p})", inputs={"logits": logits})


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
    call = "generate(model, input_ids, max_new_tokens=4, temperature=0.0)"
    expect_tensor(got, call=call, inputs={"input_ids": prompt}, shape=(2, 7), dtype=torch.int64,
                  shape_note="(B, L + max_new_tokens)")
    expect_close(got, expected, call=call, inputs={"input_ids": prompt})
