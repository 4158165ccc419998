"""Hidden tests: top_k_filter and top_p_filter (values, batch dims, properties, -inf)."""

import pytest
import torch
from hypothesis import assume, given, strategies as st

from autograder.testing import expect, expect_close, expect_right_answer, expect_tensor, points, timeout

NEG_INF = float("-inf")


def _away_from_boundaries(logits, p, margin=1e-4):
    """True when no partial sum of the sorted probabilities lies within ``margin`` of ``p``.

    The full sum (always 1) is left out: p = 1 keeps every token with nonzero probability.
    """
    probs = torch.sort(logits.double().softmax(-1), dim=-1, descending=True).values
    return bool(((probs.cumsum(-1)[..., :-1] - p).abs() > margin).all())


def _random_logits(rng, shape, dtype, p=None, scale=2.0):
    while True:
        logits = (torch.randn(*shape, generator=rng, dtype=torch.float64) * scale).to(dtype)
        if p is None or _away_from_boundaries(logits, p):
            return logits


def _top_k_mistakes(logits, k):
    def keep_k(kk, largest=True):
        idx = torch.topk(logits, kk, dim=-1, largest=largest).indices
        keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, idx, True)
        return torch.where(keep, logits, torch.full_like(logits, NEG_INF))
    m = {
        "the k smallest logits were kept; keep the k largest": lambda: keep_k(k, largest=False),
        "one token too many is kept (off by one: the k-th largest value is at index k−1 of the "
        "sorted values)": lambda: keep_k(k + 1),
        "one token too few is kept (off by one)": lambda: keep_k(k - 1) if k > 1 else None,
        "excluded entries must be exactly -inf (float('-inf')), not a large negative number":
            lambda: torch.where(torch.isinf(keep_k(k)), torch.full_like(logits, -1e9), logits),
        "the kept values are returned in sorted order; keep every token at its own index":
            lambda: torch.cat([torch.sort(logits, -1, descending=True).values[..., :k],
                               torch.full_like(logits[..., k:], NEG_INF)], -1),
    }
    return m


def _top_p_reference(logits, p):
    probs = logits.double().softmax(-1)
    sp, order = torch.sort(probs, dim=-1, descending=True)
    drop = (sp.cumsum(-1) - sp) >= p
    drop = torch.zeros_like(drop).scatter(-1, order, drop)
    return logits.masked_fill(drop, NEG_INF)


def _top_p_mistakes(logits, p):
    probs = logits.double().softmax(-1)
    sp, order = torch.sort(probs, dim=-1, descending=True)

    def from_sorted_drop(drop):
        drop = torch.zeros_like(drop).scatter(-1, order, drop)
        return logits.masked_fill(drop, NEG_INF)

    asc, aorder = torch.sort(probs, dim=-1)
    asc_drop = torch.zeros_like(asc, dtype=torch.bool).scatter(-1, aorder, (asc.cumsum(-1) - asc) >= p)
    return {
        "the token that makes the mass reach p is dropped (you keep cumsum ≤ p); keep it: a token "
        "stays when the mass *before* it is < p, so the kept mass is ≥ p":
            lambda: from_sorted_drop(sp.cumsum(-1) > p),
        "the tokens are accumulated from the least probable up; sort in descending order":
            lambda: logits.masked_fill(asc_drop, NEG_INF),
        "the result is in sorted order; put the kept logits back at their token indices "
        "(scatter with the sort indices)":
            lambda: torch.sort(logits, -1, descending=True).values.masked_fill(
                (sp.cumsum(-1) - sp) >= p, NEG_INF),
        "excluded entries must be exactly -inf (float('-inf')), not a large negative number":
            lambda: torch.where(torch.isinf(_top_p_reference(logits, p)), torch.full_like(logits, -1e9),
                                logits),
    }


# --------------------------------------------------------------------------- top-k


@points(2)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_top_k_filter_values(student, reference, rng, dtype):
    """top_k_filter: values with batch dimensions"""
    logits = _random_logits(rng, (2, 3, 10), dtype)
    for k in (1, 4, 10):
        got = student.top_k_filter(logits, k)
        expect_close(got, reference.top_k_filter(logits, k), call=f"top_k_filter(logits, k={k})",
                     inputs={"logits": logits}, rtol=1e-6, atol=0, mistakes=_top_k_mistakes(logits, k))


@points(1)
def test_top_k_filter_with_inf_inputs(student, reference, rng):
    """top_k_filter: rows that already contain -inf (k within the finite entries)"""
    logits = _random_logits(rng, (4, 9), torch.float64)
    logits[:, [1, 5]] = NEG_INF
    logits[2, 7] = NEG_INF
    got = student.top_k_filter(logits, 3)
    expect_close(got, reference.top_k_filter(logits, 3), call="top_k_filter(logits, k=3)",
                 inputs={"logits": logits}, rtol=1e-6, atol=0, mistakes=_top_k_mistakes(logits, 3))


@points(1)
@timeout(20)  # 30 hypothesis examples, one call each
@given(seed=st.integers(0, 2**31 - 1), rows=st.integers(1, 4), vocab=st.integers(2, 12),
       data=st.data())
def test_top_k_filter_properties(student, seed, rows, vocab, data):
    """top_k_filter: exactly k entries survive, unchanged, and they are the largest"""
    k = data.draw(st.integers(1, vocab), label="k")
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(rows, vocab, generator=gen, dtype=torch.float64) * 3
    call = f"top_k_filter(logits, k={k})"
    got = expect_tensor(student.top_k_filter(logits, k), call=call, inputs={"logits": logits},
                        shape=tuple(logits.shape), dtype=logits.dtype, finite=False)
    kept = torch.isfinite(got)
    expect(bool((kept.sum(-1) == k).all()), f"{call}\n  on input logits = {logits.tolist()}\n  kept "
           f"{kept.sum(-1).tolist()} entries per row; expected exactly k = {k} (the others -inf)")
    expect(bool(torch.isclose(got[kept], logits[kept], rtol=1e-6, atol=0).all()),
           f"{call}\n  changed the values of kept entries; "
           "kept logits must be returned unchanged")
    expect(bool(torch.isneginf(got[~kept]).all()), f"{call}\n  excluded entries must be -inf")
    min_kept = torch.where(kept, logits, torch.full_like(logits, float("inf"))).min(-1).values
    max_dropped = torch.where(kept, torch.full_like(logits, NEG_INF), logits).max(-1).values
    expect(bool((min_kept > max_dropped).all()), f"{call}\n  on input logits = {logits.tolist()}\n  "
           "kept a smaller logit while dropping a larger one; keep the k largest")


# --------------------------------------------------------------------------- top-p


@points(2)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_top_p_filter_values(student, reference, rng, dtype):
    """top_p_filter: values with batch dimensions for several p"""
    for p in (0.05, 0.5, 0.9, 1.0):
        logits = _random_logits(rng, (2, 3, 10), dtype, p=p)
        got = student.top_p_filter(logits, p)
        expect_close(got, reference.top_p_filter(logits, p), call=f"top_p_filter(logits, p={p})",
                     inputs={"logits": logits}, rtol=1e-6, atol=0, mistakes=_top_p_mistakes(logits, p))


@points(1)
def test_top_p_filter_always_keeps_one(student, rng):
    """top_p_filter: a tiny p keeps exactly the most probable token"""
    logits = _random_logits(rng, (5, 7), torch.float64, scale=0.3)
    p = 1e-3
    got = student.top_p_filter(logits, p)
    expected = torch.full_like(logits, NEG_INF)
    top = logits.argmax(-1, keepdim=True)
    expected.scatter_(-1, top, logits.gather(-1, top))
    expect_close(got, expected, call=f"top_p_filter(logits, p={p})", inputs={"logits": logits},
                 rtol=1e-6, atol=0, mistakes={
                     "no token is left: the most probable token must always be kept (keep a token "
                     "when the mass before it is < p)": torch.full_like(logits, NEG_INF)})


@points(1)
def test_top_p_filter_with_inf_inputs(student, reference, rng):
    """top_p_filter: rows that already contain -inf (as after top-k)"""
    p = 0.8
    while True:
        logits = _random_logits(rng, (4, 9), torch.float64)
        logits[:, [0, 4]] = NEG_INF
        logits[1, 6] = NEG_INF
        if _away_from_boundaries(logits, p):
            break
    got = student.top_p_filter(logits, p)
    expect_close(got, reference.top_p_filter(logits, p), call=f"top_p_filter(logits, p={p})",
                 inputs={"logits": logits}, rtol=1e-6, atol=0, mistakes=_top_p_mistakes(logits, p))


@points(1)
@timeout(20)  # 30 hypothesis examples, one call each
@given(seed=st.integers(0, 2**31 - 1), rows=st.integers(1, 4), vocab=st.integers(2, 12),
       p=st.floats(0.01, 0.99))
def test_top_p_filter_properties(student, seed, rows, vocab, p):
    """top_p_filter: the kept set is the smallest top set with mass ≥ p"""
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(rows, vocab, generator=gen, dtype=torch.float64) * 2
    assume(_away_from_boundaries(logits, p, margin=1e-5))
    call = f"top_p_filter(logits, p={p!r})"
    where = f"{call}\n  on input logits = {logits.tolist()}\n  "
    got = expect_tensor(student.top_p_filter(logits, p), call=call, inputs={"logits": logits},
                        shape=tuple(logits.shape), dtype=logits.dtype, finite=False)
    kept = torch.isfinite(got)
    expect(bool(kept.any(-1).all()), where + "left a row with no token; the most probable token is "
           "always kept")
    expect(bool(torch.isclose(got[kept], logits[kept], rtol=1e-6, atol=0).all())
           and bool(torch.isneginf(got[~kept]).all()),
           where + "kept entries must be unchanged and excluded ones exactly -inf")
    probs = logits.softmax(-1)
    mass = (probs * kept).sum(-1)
    expect(bool((mass >= p).all()), where + f"kept probability mass {mass.tolist()} per row; it must "
           f"reach p = {p!r} (keep the token that crosses p)")
    smallest = torch.where(kept, probs, torch.ones_like(probs)).min(-1).values
    expect(bool((mass - smallest < p).all()), where + "kept more tokens than needed: without the "
           "least probable kept token the mass would still reach p")
    max_dropped = torch.where(kept, torch.zeros_like(probs), probs).max(-1).values
    expect(bool((smallest > max_dropped).all()), where + "dropped a more probable token while keeping "
           "a less probable one; accumulate the probabilities in descending order")


@points(1)
def test_top_p_filter_leaves_input_alone(student, reference, rng):
    """top_p_filter: does not modify its input"""
    logits = _random_logits(rng, (3, 8), torch.float32, p=0.6)
    got, mutated = student.call_checking_inputs("top_p_filter", logits, 0.6)
    expect(not mutated, "top_p_filter(logits, p=0.6) modified logits in place; return a new tensor "
           "(e.g. logits.masked_fill(...))")
    # logits left alone count only with the right answer for the same call (the logits are
    # away from the boundaries of p, so one answer is right; float32)
    expect_right_answer(got, reference.top_p_filter(logits, 0.6), call="top_p_filter(logits, p=0.6)",
                        inputs={"logits": logits}, tol=1e-3)
