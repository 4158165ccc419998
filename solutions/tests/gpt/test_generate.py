"""Hidden tests: generate (greedy continuations, sampling with a generator, edge cases)."""

import pytest
import torch

from autograder.testing import Helper, expect, expect_close, expect_right_answer, expect_tensor, fail, points, timeout


def _rule_continuation(prompt, n, vocab, step, offset):
    """The greedy continuation of the grader's rule model, computed without any model."""
    rows = prompt.tolist()
    for row in rows:
        for _ in range(n):
            row.append((sum(row) + step * (len(row) - 1) + offset) % vocab)
    return torch.tensor(rows, dtype=torch.int64)


def _generate_mistakes(model, prompt, n):
    """Outputs of common greedy-loop mistakes on the grader's model."""
    lm = model.build()

    def loop(view):
        ids = prompt.clone()
        for _ in range(n):
            nxt = view(ids).argmax(-1)
            ids = torch.cat([ids, nxt[:, None]], 1)
        return ids
    return {
        "the next token must come from the logits of the last position (logits[:, -1]), not the first":
            lambda: loop(lambda ids: lm(ids)[:, 0]),
        "the model must see the whole sequence so far: call model(ids) on all tokens, not only "
        "on the last one": lambda: loop(lambda ids: lm(ids[:, -1:])[:, -1]),
        "each step must append to the growing sequence, not restart from the prompt":
            lambda: torch.cat([prompt, lm(prompt)[:, -1].argmax(-1, keepdim=True).expand(-1, n)], 1),
    }


@points(2)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_generate_greedy_random_model(student, reference, rng, dtype):
    """generate: greedy continuation of a random causal model"""
    model = Helper("gpt_tiny_lm", vocab=17, seed=4, peak=0.0, noise=2.0, dtype=dtype)
    prompt = torch.randint(0, 17, (3, 4), generator=rng)
    got = student.generate(model, prompt, 6, temperature=0.0)
    expect_close(got, reference.generate(model, prompt, 6, temperature=0.0),
                 call="generate(model, input_ids, max_new_tokens=6, temperature=0.0)",
                 inputs={"input_ids": prompt}, rtol=0, atol=0,
                 mistakes=_generate_mistakes(model, prompt, 6))


@points(1)
def test_generate_top_k_one_is_greedy(student, rng):
    """generate: top_k=1 with a generator gives the greedy continuation"""
    model = Helper("gpt_tiny_lm", vocab=11, seed=2, peak=3.0, noise=1.0, step=3, offset=2)
    prompt = torch.randint(0, 11, (2, 3), generator=rng)
    got = student.generate(model, prompt, 5, temperature=1.0, top_k=1,
                           generator=Helper("gpt_generator", seed=5))
    expect_close(got, _rule_continuation(prompt, 5, 11, 3, 2),
                 call="generate(model, input_ids, max_new_tokens=5, temperature=1.0, top_k=1, "
                      "generator=...)", inputs={"input_ids": prompt}, rtol=0, atol=0)


@points(2)
def test_generate_sampling_with_generator(student, rng):
    """generate: sampled tokens come from the model's top-k, deterministically per seed"""
    model = Helper("gpt_tiny_lm", vocab=12, seed=8, peak=0.0, noise=1.5)
    prompt = torch.randint(0, 12, (16, 2), generator=rng)
    n = 5
    call = "generate(model, input_ids, max_new_tokens=5, temperature=1.2, top_k=3, generator=...)"
    got = student.generate(model, prompt, n, temperature=1.2, top_k=3,
                           generator=Helper("gpt_generator", seed=21))
    expect_tensor(got, call=call, inputs={"input_ids": prompt}, shape=(16, 2 + n), dtype=torch.int64,
                  shape_note="(B, L + max_new_tokens)")
    expect(torch.equal(got[:, :2], prompt), f"{call}\n  the output must start with input_ids unchanged")
    lm = model.build()
    for i in range(2, 2 + n):
        top3 = torch.topk(lm(got[:, :i])[:, -1], 3, dim=-1).indices
        bad = (~(top3 == got[:, i:i + 1]).any(-1)).nonzero().flatten().tolist()
        if bad:
            fail(f"{call}\n  the new token at position {i} of row {bad[0]} is {int(got[bad[0], i])}, "
                 "not among the model's 3 most likely tokens after that row's prefix; sample each "
                 "step from model(ids)[:, -1] with top_k")
    again = student.generate(model, prompt, n, temperature=1.2, top_k=3,
                             generator=Helper("gpt_generator", seed=21))
    expect(isinstance(again, torch.Tensor) and torch.equal(got, again), f"{call}\n  gave different "
           "tokens for two generators with the same seed; pass the generator on to sample_next")
    other = student.generate(model, prompt, n, temperature=1.2, top_k=3,
                             generator=Helper("gpt_generator", seed=22))
    expect(isinstance(other, torch.Tensor) and not torch.equal(got, other), f"{call}\n  gave the "
           "same tokens for seeds 21 and 22; the draws must come from the given generator")


@points(1)
def test_generate_zero_new_tokens(student, rng):
    """generate: max_new_tokens=0 returns the prompt"""
    model = Helper("gpt_tiny_lm", vocab=9, seed=1)
    prompt = torch.randint(0, 9, (2, 5), generator=rng)
    got = student.generate(model, prompt, 0, temperature=0.0)
    expect_close(got, prompt, call="generate(model, input_ids, max_new_tokens=0, temperature=0.0)",
                 inputs={"input_ids": prompt}, rtol=0, atol=0)


@points(1)
def test_generate_leaves_prompt_alone(student, reference, rng):
    """generate: does not modify input_ids"""
    model = Helper("gpt_tiny_lm", vocab=9, seed=1)
    prompt = torch.randint(0, 9, (2, 3), generator=rng)
    got, mutated = student.call_checking_inputs("generate", model, prompt, 3, temperature=0.0)
    expect(not mutated, "generate(model, input_ids, 3, temperature=0.0) modified input_ids in place; "
           "build the output in a new tensor (torch.cat)")
    # input_ids left alone count only with the right answer for the same call (greedy: nothing is drawn)
    expect_right_answer(got, reference.generate(model, prompt, 3, temperature=0.0),
                        call="generate(model, input_ids, 3, temperature=0.0)", inputs={"input_ids": prompt})


@points(2)
@pytest.mark.slow
@timeout(20)
def test_generate_known_continuation_end_to_end(student):
    """generate: end to end, a long greedy continuation of the grader's rule model"""
    vocab, step, offset = 31, 7, 4
    model = Helper("gpt_tiny_lm", vocab=vocab, seed=13, peak=3.0, noise=1.0, step=step, offset=offset)
    prompt = torch.tensor([[5, 0, 17, 30, 2], [0, 0, 0, 0, 0], [29, 1, 1, 8, 3], [12, 12, 12, 12, 12]])
    n = 40
    got = student.generate(model, prompt, n, temperature=0.0)
    expected = _rule_continuation(prompt, n, vocab, step, offset)
    expect_close(got, expected, call=f"generate(model, input_ids, max_new_tokens={n}, temperature=0.0)",
                 inputs={"input_ids": prompt}, rtol=0, atol=0,
                 mistakes=_generate_mistakes(model, prompt, n))
