"""Hidden tests: sample_next (greedy, determinism, the distribution of many seeded draws).

The distribution tests draw N tokens in one call, from N identical rows, with a seeded
generator, and compare the counts with the renormalised filtered probabilities by a
chi-square test at significance 1e-6 (a correct sampler fails with probability 1e-6 per
test; the mistakes below shift the statistic into the hundreds). Any correct way of
drawing passes; only greedy results are compared exactly.
"""

import math

import pytest
import torch

from autograder.testing import Helper, expect, expect_close, expect_tensor, fail, points

NEG_INF = float("-inf")
N_DRAWS = 5000
ALPHA = 1e-6
ROW = torch.tensor([2.0, 1.2, 0.9, 0.3, 0.0, -0.4, -1.0, 1.6], dtype=torch.float64)


def _top_k(x, k):
    kth = torch.topk(x, k, dim=-1).values[..., -1:]
    return x.masked_fill(x < kth, NEG_INF)


def _top_p(x, p):
    sp, order = torch.sort(x.softmax(-1), dim=-1, descending=True)
    drop = torch.zeros_like(sp, dtype=torch.bool).scatter(-1, order, (sp.cumsum(-1) - sp) >= p)
    return x.masked_fill(drop, NEG_INF)


def _probs(row, temperature=1.0, top_k=None, top_p=None, order="tkp", multiply=False):
    """The sampling distribution (float64) for ``row`` with the steps done in ``order``."""
    x = row.double()
    for step in order:
        if step == "t":
            x = x * temperature if multiply else x / temperature
        elif step == "k" and top_k is not None:
            x = _top_k(x, top_k)
        elif step == "p" and top_p is not None:
            x = _top_p(x, top_p)
    return x.softmax(-1)


def _p_value(counts, probs):
    """Chi-square goodness-of-fit p-value of ``counts`` against ``probs`` (on its support)."""
    support = probs > 0
    if int(counts[~support].sum()):
        return 0.0
    n = counts.sum()
    expected = n * probs[support]
    stat = float(((counts[support] - expected) ** 2 / expected).sum())
    df = int(support.sum()) - 1
    if df == 0:
        return 1.0
    return float(torch.special.gammaincc(torch.tensor(df / 2, dtype=torch.float64),
                                         torch.tensor(stat / 2, dtype=torch.float64)))


def _format_table(counts, probs):
    n = int(counts.sum())
    lines = ["    token | drawn (fraction) | expected probability"]
    for v in range(len(probs)):
        lines.append(f"    {v:<5} | {int(counts[v]):>5} ({counts[v].item() / n:.3f})   | {probs[v].item():.3f}")
    return "\n".join(lines)


def check_distribution(draws, probs, *, call, row, mistakes):
    """Fail unless ``draws`` (N,) look like samples of ``probs`` (V,)."""
    V = probs.numel()
    expect_tensor(draws, call=call, shape=(N_DRAWS,), dtype=torch.int64, shape_note="(B,)")
    draws = draws.cpu()
    if bool(((draws < 0) | (draws >= V)).any()):
        fail(f"{call}\n  returned ids outside 0 … {V - 1}: {sorted(set(draws.tolist()))[:10]}")
    counts = torch.bincount(draws, minlength=V).double()
    pval = _p_value(counts, probs)
    if pval >= ALPHA:
        return
    text = f"{call}\n  on {N_DRAWS} identical rows with logits {[round(v, 4) for v in row.tolist()]}\n"
    outside = int(counts[probs == 0].sum())
    if outside:
        text += (f"  drew {outside} tokens that the filters should have excluded (probability 0 "
                 "after temperature, top-k and top-p):\n")
    else:
        text += (f"  the frequencies of the draws do not match the expected probabilities "
                 f"(chi-square p-value {pval:.2g} < {ALPHA:g}):\n")
    text += _format_table(counts, probs)
    for hint, q in mistakes.items():
        if q is not None and _p_value(counts, q) > 1e-3:
            text += f"\n  Hint: {hint}"
            break
    fail(text)


CONFIGS = {
    "T=1": dict(temperature=1.0),
    "T=0.5": dict(temperature=0.5),
    "T=2,top_k=3": dict(temperature=2.0, top_k=3),
    "top_p=0.7": dict(top_p=0.7),
    "T=1.5,top_p=0.8": dict(temperature=1.5, top_p=0.8),
    "T=0.8,top_k=5,top_p=0.6": dict(temperature=0.8, top_k=5, top_p=0.6),
    "T=3,top_k=6,top_p=0.75": dict(temperature=3.0, top_k=6, top_p=0.75),
}


def _kwargs_text(kw):
    return ", ".join(f"{k}={v}" for k, v in kw.items())


@points(1)
@pytest.mark.parametrize("config", list(CONFIGS))
def test_sample_next_distribution(student, config):
    """sample_next: many seeded draws follow the filtered softmax"""
    kw = CONFIGS[config]
    T, k, p = kw.get("temperature", 1.0), kw.get("top_k"), kw.get("top_p")
    logits = ROW.expand(N_DRAWS, -1).clone()
    draws = student.sample_next(logits, **kw, generator=Helper("gpt_generator", seed=1234))
    onehot_argmax = torch.zeros_like(ROW)
    onehot_argmax[ROW.argmax()] = 1.0
    mistakes = {
        "the logits are multiplied by the temperature; divide them by it":
            _probs(ROW, T, k, p, multiply=True) if T != 1.0 else None,
        "the temperature is not applied; divide the logits by it first":
            _probs(ROW, 1.0, k, p) if T != 1.0 else None,
        "top-p is applied before dividing by the temperature; the order is temperature, top-k, top-p":
            _probs(ROW, T, k, p, order="kpt") if p is not None and T != 1.0 else None,
        "top-p is applied before top-k; the order is temperature, top-k, top-p":
            _probs(ROW, T, k, p, order="tpk") if p is not None and k is not None else None,
        "top_k was ignored": _probs(ROW, T, None, p) if k is not None else None,
        "top_p was ignored": _probs(ROW, T, k, None) if p is not None else None,
        "every draw is the arg-max: sample from the softmax probabilities (e.g. torch.multinomial) "
        "unless temperature == 0": onehot_argmax,
    }
    check_distribution(draws, _probs(ROW, T, k, p),
                       call=f"sample_next(logits, {_kwargs_text(kw)}, generator=...)", row=ROW,
                       mistakes=mistakes)


@points(1)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sample_next_greedy_exact(student, rng, dtype):
    """sample_next: temperature 0 returns the arg-max, also with filters given"""
    logits = (torch.randn(20, 50, generator=rng, dtype=torch.float64) * 2).to(dtype)
    expected = logits.argmax(-1)
    for kw in (dict(temperature=0.0), dict(temperature=0, top_k=3, top_p=0.5)):
        got = student.sample_next(logits, **kw)
        expect_close(got, expected, call=f"sample_next(logits, {_kwargs_text(kw)})",
                     inputs={"logits": logits}, rtol=0, atol=0)


@points(1)
def test_sample_next_deterministic_filters(student, rng):
    """sample_next: top_k=1 or a tiny top_p leaves only the arg-max, at any temperature"""
    logits = torch.randn(12, 30, generator=rng, dtype=torch.float64)
    expected = logits.argmax(-1)
    for kw in (dict(temperature=1.3, top_k=1), dict(temperature=0.7, top_p=1e-4)):
        got = student.sample_next(logits, **kw, generator=Helper("gpt_generator", seed=7))
        expect_close(got, expected, call=f"sample_next(logits, {_kwargs_text(kw)}, generator=...)",
                     inputs={"logits": logits}, rtol=0, atol=0)


@points(1)
def test_sample_next_per_row(student, rng):
    """sample_next: each row is filtered with its own top-k set"""
    logits = torch.randn(400, 6, generator=rng, dtype=torch.float64) * 2
    got = student.sample_next(logits, temperature=1.0, top_k=2, generator=Helper("gpt_generator", seed=3))
    call = "sample_next(logits, temperature=1.0, top_k=2, generator=...)"
    expect_tensor(got, call=call, inputs={"logits": logits}, shape=(400,), dtype=torch.int64,
                  shape_note="(B,)")
    top2 = torch.topk(logits, 2, dim=-1).indices
    inside = (top2 == got.reshape(-1, 1)).any(-1)
    bad = int((~inside).sum())
    expect(bad == 0, f"{call}\n  on random logits of shape (400, 6)\n  {bad} of 400 draws are not "
           "among the two largest logits of their own row; filter each row separately "
           "(dim=-1) and draw one token per row")
    first = (got == top2[:, 0]).double().mean().item()
    p_first = torch.softmax(torch.topk(logits, 2, dim=-1).values, -1)[:, 0]
    want = p_first.mean().item()
    band = 5 * math.sqrt((p_first * (1 - p_first)).sum().item()) / 400  # five standard deviations
    expect(abs(first - want) < band, f"{call}\n  picked the larger of the two kept logits in "
           f"{first:.0%} of rows; expected about {want:.0%} (sample from the softmax of the kept logits)")


@points(1)
def test_sample_next_generator_determinism(student, rng):
    """sample_next: the same generator seed gives the same draws, another seed others"""
    logits = torch.randn(64, 10, generator=rng, dtype=torch.float32)
    call = "sample_next(logits, temperature=1.0, generator=torch.Generator().manual_seed(s))"
    a = student.sample_next(logits, temperature=1.0, generator=Helper("gpt_generator", seed=11))
    expect_tensor(a, call=call, inputs={"logits": logits}, shape=(64,), dtype=torch.int64)
    b = student.sample_next(logits, temperature=1.0, generator=Helper("gpt_generator", seed=11))
    expect(isinstance(b, torch.Tensor) and torch.equal(a, b), f"{call}\n  gave different draws for "
           "two generators with the same seed; draw only with the given generator "
           "(torch.multinomial(probs, 1, generator=generator), torch.rand(..., generator=generator))")
    c = student.sample_next(logits, temperature=1.0, generator=Helper("gpt_generator", seed=12))
    expect(isinstance(c, torch.Tensor) and not torch.equal(a, c), f"{call}\n  gave the same 64 draws "
           "for seeds 11 and 12; the draws must come from the generator you are given")


@points(1)
def test_sample_next_without_generator(student, rng):
    """sample_next: works without a generator (the global RNG)"""
    logits = torch.randn(5, 7, generator=rng)
    got = student.sample_next(logits, temperature=0.9, top_k=4, top_p=0.9)
    call = "sample_next(logits, temperature=0.9, top_k=4, top_p=0.9)"
    expect_tensor(got, call=call, inputs={"logits": logits}, shape=(5,), dtype=torch.int64)
    top4 = torch.topk(logits, 4, dim=-1).indices
    expect(bool((top4 == got.reshape(-1, 1)).any(-1).all()), f"{call}\n  returned {got.tolist()}, "
           "which includes a token outside the top 4 of its row")


@points(2)
def test_generate_sampling_distribution(student):
    """generate: passes the sampling options on (distribution of the first new token)"""
    model = Helper("gpt_tiny_lm", vocab=8, seed=5, peak=0.0, noise=2.0, dtype="float64")
    prompt = torch.tensor([[1, 6, 2]]).expand(N_DRAWS, -1).clone()
    kw = dict(temperature=1.5, top_p=0.8)
    got = student.generate(model, prompt, 1, **kw, generator=Helper("gpt_generator", seed=99))
    call = "generate(model, input_ids, max_new_tokens=1, temperature=1.5, top_p=0.8, generator=...)"
    expect_tensor(got, call=call, shape=(N_DRAWS, 4), dtype=torch.int64, shape_note="(B, L + 1)")
    expect(torch.equal(got[:, :3], prompt), f"{call}\n  changed the prompt; the output starts with "
           "input_ids unchanged")
    logits = model.build()(prompt[:1])[0]  # (L, V): the model's logits for the prompt
    greedy = torch.nn.functional.one_hot(logits[-1].argmax(), logits.shape[-1]).double()
    check_distribution(got[:, -1], _probs(logits[-1], **kw), call=call, row=logits[-1], mistakes={
        "every new token is the arg-max: generate must draw each token with "
        "sample_next(logits[:, -1], **sampling)": greedy,
        "the sampling options were not passed on to sample_next (pass **sampling)": _probs(logits[-1]),
        "the next token must come from the logits of the last position, logits[:, -1]":
            _probs(logits[0], **kw),
    })
