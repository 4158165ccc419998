"""Hidden tests for `attention`: scaled dot-product attention and the causal mask."""

import math

import pytest
import torch
import torch.nn.functional as F

from autograder.testing import describe, expect, expect_close, expect_tensor, expect_tuple, fail, points

F64, F32 = torch.float64, torch.float32
# A correct solution may compute in float32 inside even for float64 inputs.
TOL = dict(rtol=1e-4, atol=1e-6)
CALL = "scaled_dot_product_attention(q, k, v, mask)"


def attn(q, k, v, mask=None, *, scale=None, dim=-1, fill=-math.inf):
    """Attention in float64 with switches for known mistakes; rows with no allowed key → 0."""
    q, k, v = q.double(), k.double(), v.double()
    s = q @ k.transpose(-2, -1) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if mask is not None:
        s = s.masked_fill(~mask, fill)
    w = torch.softmax(s, dim=dim)
    w = torch.nan_to_num(w, nan=0.0)
    return w @ v, w


def sdpa_mistakes(q, k, v, mask=None):
    dk, dv = q.shape[-1], v.shape[-1]
    out = {
        "the scores look divided by Dk; the scale is 1/sqrt(Dk)": attn(q, k, v, mask, scale=1 / dk),
        "the scores are not scaled; divide q kᵀ by sqrt(Dk)": attn(q, k, v, mask, scale=1.0),
        "the scale looks like 1/sqrt(Dv) (the value dimension); use Dk = q.shape[-1]":
            attn(q, k, v, mask, scale=1 / math.sqrt(dv)),
        "the softmax runs over the queries (dim −2); each query's weights are a distribution over "
        "the keys (dim −1)": attn(q, k, v, mask, dim=-2),
    }
    if mask is not None:
        out["the mask looks inverted: True means 'may attend' (as in "
            "torch.nn.functional.scaled_dot_product_attention)"] = attn(q, k, v, ~mask)
        out["blocked keys got a large negative score but rows with no allowed key must give zero "
            "weights, not uniform ones"] = attn(q, k, v, mask, fill=-1e9)
    return out


def cast(pair, dtype):
    return tuple(p.to(dtype) for p in pair)


def inputs_of(q, k, v, mask=None):
    d = {"q": q, "k": k, "v": v}
    if mask is not None:
        d["mask"] = mask
    return d


CASES = {
    # name: (batch dims, Lq, Lk, Dk, Dv, dtype)
    "batched": ((2, 3), 5, 7, 4, 6, F64),
    "no-batch": ((), 6, 3, 9, 2, F64),
    "float32": ((4,), 3, 8, 16, 5, F32),
    "one-key": ((2,), 4, 1, 4, 3, F64),
}


def _sdpa_values(student, reference, case):
    batch, lq, lk, dk, dv, dtype = CASES[case]
    q = torch.randn(*batch, lq, dk, dtype=F64).to(dtype)
    k = torch.randn(*batch, lk, dk, dtype=F64).to(dtype)
    v = torch.randn(*batch, lk, dv, dtype=F64).to(dtype)
    got = student.scaled_dot_product_attention(q, k, v)
    want = cast(reference.scaled_dot_product_attention(q.double(), k.double(), v.double()), dtype)
    expect_close(got, want, call="scaled_dot_product_attention(q, k, v)", inputs=inputs_of(q, k, v), **TOL,
                 mistakes={h: cast(m, dtype) for h, m in sdpa_mistakes(q, k, v).items()})


@points(1)
@pytest.mark.parametrize("case", [("batched",), ("no-batch",), ("one-key",)],
                         ids=["batched", "no-batch", "one-key"])
def test_sdpa_values(student, reference, case):
    """scaled_dot_product_attention: output and weights without a mask (batched, no batch dims, one key)"""
    _sdpa_values(student, reference, *case)


@points(1)
def test_sdpa_float32(student, reference):
    """scaled_dot_product_attention: output and weights without a mask (float32)"""
    _sdpa_values(student, reference, "float32")


@points(2)
def test_sdpa_matches_torch_with_masks(student):
    """scaled_dot_product_attention: matches torch's scaled_dot_product_attention with boolean masks"""
    B, H, lq, lk, dk, dv = 2, 3, 5, 6, 4, 7
    q, k = torch.randn(B, H, lq, dk, dtype=F64), torch.randn(B, H, lk, dk, dtype=F64)
    v = torch.randn(B, H, lk, dv, dtype=F64)
    shared = torch.rand(lq, lk) < 0.6                     # (Lq, Lk), broadcast over B and H
    shared[:, 0] = True                                   # every query may attend somewhere
    padding = torch.ones(B, 1, 1, lk, dtype=torch.bool)   # (B, 1, 1, Lk): padded keys
    padding[0, ..., 4:] = False
    padding[1, ..., 2:] = False
    for mask in (shared, padding, shared & padding):
        want_out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        got = student.scaled_dot_product_attention(q, k, v, mask)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(f"{CALL}\n  returned {describe(got)}; expected a tuple (out, weights).")
        full = torch.broadcast_to(mask, (B, H, lq, lk))
        expect_close(got[0], want_out, call=CALL, inputs=inputs_of(q, k, v, mask), **TOL, part="[0] (out)",
                     mistakes={h: m[0] for h, m in sdpa_mistakes(q, k, v, mask).items()})
        w = expect_tensor(got[1], call=CALL, inputs=inputs_of(q, k, v, mask), shape=(B, H, lq, lk), dtype=F64)
        expect(bool((w[~full] == 0).all()),
               f"{CALL}: blocked pairs (mask False) must get weight exactly 0; got weights up to "
               f"{w[~full].abs().max().item():.3g} there. Set their scores to −inf before the softmax.")


# (Lq, Lk, Dk, Dv, masked): odd and equal sizes, one key, one query, with and without a mask
SHAPES = [(1, 1, 1, 1, False), (3, 5, 2, 4, True), (6, 2, 5, 1, True), (4, 4, 3, 3, False),
          (2, 6, 1, 5, True), (5, 3, 4, 2, True)]


def _sdpa_weights_are_distributions(student, reference, lq, lk, dk, dv, masked):
    q, k = torch.randn(2, lq, dk, dtype=F64) * 2, torch.randn(2, lk, dk, dtype=F64) * 2
    v = torch.randn(2, lk, dv, dtype=F64)
    mask = None
    if masked:
        mask = torch.rand(2, lq, lk) < 0.5
        mask[..., int(torch.randint(0, lk, ()))] = True   # at least one allowed key per row
    got = student.scaled_dot_product_attention(q, k, v, mask)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"{CALL}\n  returned {describe(got)}; expected a tuple (out, weights).")
    w = expect_tensor(got[1], call=CALL, inputs=inputs_of(q, k, v, mask), shape=(2, lq, lk), dtype=F64)
    sums = w.sum(-1)
    expect(bool(((sums - 1).abs() <= 1e-6).all()) and bool((w >= 0).all()),
           f"{CALL} with q {tuple(q.shape)}, k {tuple(k.shape)}: each row of the weights must be "
           f"non-negative and sum to 1 over the keys; row sums are {describe(sums)}. Take the "
           "softmax over the last dim (the keys).")
    if mask is not None:
        expect(bool((w[~mask] == 0).all()), f"{CALL}: blocked pairs (mask False) must get weight "
               f"exactly 0; got weights up to {w[~mask].abs().max().item():.3g} there.")
    expect_close(got, reference.scaled_dot_product_attention(q, k, v, mask), call=CALL,
                 inputs=inputs_of(q, k, v, mask), **TOL, mistakes=sdpa_mistakes(q, k, v, mask))


@points(2 / len(SHAPES))
@pytest.mark.parametrize("case", SHAPES, ids=lambda c: "-".join(map(str, c)))
def test_sdpa_weights_are_distributions(student, reference, case):
    """scaled_dot_product_attention: every weight row is a distribution over the allowed keys"""
    _sdpa_weights_are_distributions(student, reference, *case)


def _sdpa_fully_masked_rows(student, reference, dtype):
    B, lq, lk, dk, dv = 3, 4, 5, 6, 3
    q, k = torch.randn(B, lq, dk, dtype=F64).to(dtype), torch.randn(B, lk, dk, dtype=F64).to(dtype)
    v = torch.randn(B, lk, dv, dtype=F64).to(dtype)
    mask = torch.rand(B, lq, lk) < 0.6
    mask[..., 1] = True
    mask[0, 2] = False          # one query of the first sequence sees nothing
    mask[2] = False             # the whole third sequence is blocked
    got = student.scaled_dot_product_attention(q, k, v, mask)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"{CALL}\n  returned {describe(got)}; expected a tuple (out, weights).")
    dead = ~mask.any(-1)        # (B, Lq)
    for i, name in enumerate(("out", "weights")):
        part = got[i]
        if isinstance(part, torch.Tensor) and part.is_floating_point() and part.shape[:2] == dead.shape \
                and not torch.isfinite(part).all():
            fail(f"{CALL}\n  {name} contains NaN/inf for the query rows with no allowed key "
                 f"(mask[0, 2] and mask[2] are all False). softmax of a row of −inf is 0/0 = NaN: "
                 "give such rows zero weights (e.g. torch.where(row has an allowed key, weights, 0)) "
                 "— and the zero output follows.")
    want = cast(reference.scaled_dot_product_attention(q.double(), k.double(), v.double(), mask), dtype)
    expect_close(got, want, call=CALL, inputs=inputs_of(q, k, v, mask), **TOL,
                 mistakes={h: cast(m, dtype) for h, m in sdpa_mistakes(q, k, v, mask).items()})


@points(1.5)
@pytest.mark.parametrize("case", [(F64,), (F32,)], ids=["float64", "float32"])
def test_sdpa_fully_masked_rows(student, reference, case):
    """scaled_dot_product_attention: a query with no allowed key gets zero weights and output"""
    _sdpa_fully_masked_rows(student, reference, *case)


def _sdpa_large_scores(student, reference, dtype):
    q = (torch.randn(2, 4, 8, dtype=F64) * 100).to(dtype)
    k = (torch.randn(2, 6, 8, dtype=F64) * 100).to(dtype)
    v = torch.randn(2, 6, 3, dtype=F64).to(dtype)
    mask = torch.ones(4, 6, dtype=torch.bool)
    mask[1, 3:] = False
    got = student.scaled_dot_product_attention(q, k, v, mask)
    want = cast(reference.scaled_dot_product_attention(q.double(), k.double(), v.double(), mask), dtype)
    if isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(g, torch.Tensor) for g in got) \
            and not all(bool(torch.isfinite(g).all()) for g in got if g.is_floating_point()):
        fail(f"{CALL} with scores of about ±1e4\n  returned NaN/inf values. exp(1e4) overflows: "
             "subtract each row's maximum score before exp (softmax(s) = softmax(s − max s)), or use "
             "torch.softmax, which does.")
    expect_close(got, want, call=CALL, inputs=inputs_of(q, k, v, mask), rtol=1e-4, atol=1e-5)


@points(0.5)
@pytest.mark.parametrize("case", [(F64,), (F32,)], ids=["float64", "float32"])
def test_sdpa_large_scores(student, reference, case):
    """scaled_dot_product_attention: stable for scores of about 1e4"""
    _sdpa_large_scores(student, reference, *case)


@points(1)
def test_sdpa_gradients(student, reference):
    """scaled_dot_product_attention: differentiable in q, k and v (also with a fully masked row)"""
    q, k, v = torch.randn(2, 3, 4, dtype=F64), torch.randn(2, 5, 4, dtype=F64), torch.randn(2, 5, 3, dtype=F64)
    mask = torch.rand(2, 3, 5) < 0.6
    mask[..., 0] = True
    mask[1, 1] = False
    g_out = torch.randn(2, 3, 3, dtype=F64)
    _, grads = student.grad("scaled_dot_product_attention", q, k, v, mask, wrt=(0, 1, 2), select=0,
                            grad_output=g_out)
    qq, kk, vv = (x.clone().requires_grad_() for x in (q, k, v))
    out, _ = reference.scaled_dot_product_attention(qq, kk, vv, mask)
    want = torch.autograd.grad(out, (qq, kk, vv), g_out)
    for name, g, w in zip("qkv", grads, want):
        if g is None:
            fail(f"{CALL}: no gradient reaches `{name}` from the output. Keep the computation in "
                 "torch operations (no .item(), .numpy(), .detach() or torch.no_grad()).")
        expect_close(g, w, call=f"the gradient of the output of {CALL} with respect to {name}",
                     inputs=inputs_of(q, k, v, mask), **TOL)


# --------------------------------------------------------------------------- causal mask


def _causal_mask_values(student, L):
    want = torch.ones(L, L, dtype=torch.bool).tril()
    got = student.causal_mask(L)
    expect_tensor(got, call=f"causal_mask({L})", shape=(L, L), dtype=torch.bool, finite=False)
    expect_close(got, want, call=f"causal_mask({L})",
                 mistakes={"that is the upper triangle; position i may attend to j ≤ i (on and BELOW "
                           "the diagonal, torch.tril)": want.T,
                           "the diagonal must be True too: a position may attend to itself":
                           torch.ones(L, L, dtype=torch.bool).tril(-1),
                           "the mask is inverted: True marks the allowed positions j ≤ i": ~want})


@points(1 / 3)
@pytest.mark.parametrize("case", [(1,), (4,), (7,)], ids=["1", "4", "7"])
def test_causal_mask_values(student, case):
    """causal_mask: True on and below the diagonal, bool (L, L)"""
    _causal_mask_values(student, *case)


@points(1)
def test_causal_attention_ignores_the_future(student, reference):
    """scaled_dot_product_attention with a causal mask: output i does not depend on positions after i"""
    L = 6
    q, k, v = torch.randn(2, L, 4, dtype=F64), torch.randn(2, L, 4, dtype=F64), torch.randn(2, L, 5, dtype=F64)
    mask = torch.ones(L, L, dtype=torch.bool).tril()
    base = student.scaled_dot_product_attention(q, k, v, mask)
    expect_close(base, reference.scaled_dot_product_attention(q, k, v, mask), call=CALL,
                 inputs=inputs_of(q, k, v, mask), **TOL, mistakes=sdpa_mistakes(q, k, v, mask))
    for i in range(L - 1):
        k2, v2, q2 = k.clone(), v.clone(), q.clone()
        k2[:, i + 1:] += 3 * torch.randn(2, L - i - 1, 4, dtype=F64)
        v2[:, i + 1:] += 3 * torch.randn(2, L - i - 1, 5, dtype=F64)
        q2[:, i + 1:] += 3 * torch.randn(2, L - i - 1, 4, dtype=F64)
        got = expect_tuple(student.scaled_dot_product_attention(q2, k2, v2, mask), 2, call=CALL)
        out = expect_tensor(got[0], call=CALL, shape=(2, L, 5), dtype=F64)
        change = (out[:, : i + 1] - base[0][:, : i + 1]).abs().max().item()
        expect(change <= 1e-7 * (1 + base[0].abs().max().item()), f"{CALL} with the causal mask: changing q, k, v only at positions "
               f"> {i} changed the outputs at positions ≤ {i} by up to {change:.3g}. With a causal "
               "mask, output i may only use keys and values j ≤ i.")
