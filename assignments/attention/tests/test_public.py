"""Public tests for `attention`: shapes, dtypes and small examples worked out by hand.

Run them with `gmgrade check attention attention.ipynb` (or `attention.py`). The grader runs
more tests than these (other shapes, masks, stability, torch's own attention, training).
"""

import math

import torch

from autograder.testing import (describe, expect, expect_close, expect_right_answer, expect_tensor, fail, points,
                                upstream_mistakes)

F64, F32 = torch.float64, torch.float32
CALL = "scaled_dot_product_attention(q, k, v, mask)"


def attn(q, k, v, mask=None, scale=None, dim=-1, fill=-math.inf):
    """(out, weights) of attention by hand; rows with no allowed key give 0. The keywords
    describe the usual slips (another scale, the softmax over the queries, −1e9 for blocked keys)."""
    s = q @ k.transpose(-2, -1) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if mask is not None:
        s = s.masked_fill(~mask, fill)
    w = torch.nan_to_num(torch.softmax(s, dim=dim), nan=0.0)
    return w @ v, w


def sdpa_slips(q, k, v, mask=None):
    slips = {
        "the scores look divided by Dk; the scale is 1/sqrt(Dk)": {"scale": 1 / q.shape[-1]},
        "the scores are not scaled; divide q kᵀ by sqrt(Dk)": {"scale": 1.0},
        "the scale looks like 1/sqrt(Dv) (the value dimension); use Dk = q.shape[-1]":
            {"scale": 1 / math.sqrt(v.shape[-1])},
        "the softmax runs over the queries (dim −2); each query's weights are a distribution over "
        "the keys (dim −1)": {"dim": -2},
    }
    if mask is not None:
        slips["the mask looks inverted: True means 'may attend' (as in "
              "torch.nn.functional.scaled_dot_product_attention)"] = {"mask": ~mask}
        slips["blocked keys got a large negative score but rows with no allowed key must give zero "
              "weights, not uniform ones"] = {"fill": -1e9}
    return slips


def sdpa_table(q, k, v, mask=None):
    return {hint: attn(q, k, v, **{"mask": mask, **slip}) for hint, slip in sdpa_slips(q, k, v, mask).items()}


def pair(got, call):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"{call}\n  returned {describe(got)}; expected a tuple (out, weights).")
    return got


@points(1)
def test_sdpa_small_example(student):
    """scaled_dot_product_attention: two queries, two keys, Dk = 2, Dv = 3; the first row by hand"""
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=F64)      # (Lq=2, Dk=2)
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=F64)      # (Lk=2, Dk=2)
    v = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=F64)
    # query 0: scores [1/sqrt(2), 0], weights [e^s, 1]/(e^s + 1); query 1: scores [0, sqrt(2)]
    want = attn(q, k, v)
    got = pair(student.scaled_dot_product_attention(q, k, v), "scaled_dot_product_attention(q, k, v)")
    expect_close(got, want, call="scaled_dot_product_attention(q, k, v)", inputs={"q": q, "k": k, "v": v},
                 rtol=1e-5, atol=1e-8, mistakes=sdpa_table(q, k, v))


@points(1)
def test_sdpa_mask_and_empty_row(student):
    """scaled_dot_product_attention: True = may attend; a row with no allowed key gives zeros"""
    q = torch.tensor([[0.3, -1.0], [2.0, 0.5]], dtype=F64)
    k = torch.tensor([[1.0, 1.0], [-1.0, 2.0], [0.5, 0.0]], dtype=F64)
    v = torch.tensor([[1.0], [10.0], [100.0]], dtype=F64)
    mask = torch.tensor([[False, True, False], [False, False, False]])
    out, w = pair(student.scaled_dot_product_attention(q, k, v, mask), CALL)
    inputs = {"q": q, "k": k, "v": v, "mask": mask}
    if isinstance(w, torch.Tensor) and w.shape == mask.shape and not torch.isfinite(w).all():
        fail(f"{CALL}\n  the weights contain NaN/inf for the query row with no allowed key (mask[1] is all "
             "False). softmax of a row of −inf is 0/0 = NaN: give such rows zero weights (e.g. "
             "torch.where(row has an allowed key, weights, 0)) — and the zero output follows.")
    table = {hint: value[1] for hint, value in sdpa_table(q, k, v, mask).items()}
    expect_close(w, torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype=F64), call=CALL, inputs=inputs,
                 rtol=1e-6, atol=1e-9, part="[1] (weights)", mistakes=table)
    expect_close(out, torch.tensor([[10.0], [0.0]], dtype=F64), call=CALL, inputs=inputs,
                 rtol=1e-6, atol=1e-9, part="[0] (out)")


@points(1)
def test_sdpa_shapes_and_rows(student):
    """scaled_dot_product_attention: batch dims, Dk ≠ Dv, float32, rows sum to 1"""
    q, k, v = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 6, 5), torch.randn(2, 3, 6, 7)
    out, w = pair(student.scaled_dot_product_attention(q, k, v), "scaled_dot_product_attention(q, k, v)")
    expect_tensor(out, call="scaled_dot_product_attention(q, k, v)", shape=(2, 3, 4, 7), dtype=F32,
                  shape_note="(..., Lq, Dv)")
    w = expect_tensor(w, call="scaled_dot_product_attention(q, k, v)", shape=(2, 3, 4, 6), dtype=F32,
                      shape_note="(..., Lq, Lk)")
    expect(bool(((w.sum(-1) - 1).abs() < 1e-5).all()),
           "scaled_dot_product_attention: each row of the weights must sum to 1 over the keys (last dim)")


@points(1)
def test_causal_mask_small(student):
    """causal_mask: L = 3"""
    want = torch.tensor([[True, False, False], [True, True, False], [True, True, True]])
    expect_close(student.causal_mask(3), want, call="causal_mask(3)",
                 mistakes={"that is the upper triangle: position i may attend to j ≤ i (on and below "
                           "the diagonal, torch.tril)": want.T,
                           "the diagonal must be True too: a position may attend to itself":
                           want & ~torch.eye(3, dtype=torch.bool),
                           "the mask is inverted: True marks the allowed positions j ≤ i": ~want})


@points(1)
def test_split_and_merge_heads_small(student):
    """split_heads / merge_heads: head h takes the features h·D/H … (h+1)·D/H − 1"""
    x = torch.arange(12, dtype=F64).reshape(1, 2, 6)            # B=1, L=2, D=6
    want = torch.tensor([[[[0.0, 1.0], [6.0, 7.0]],
                          [[2.0, 3.0], [8.0, 9.0]],
                          [[4.0, 5.0], [10.0, 11.0]]]], dtype=F64)   # (1, H=3, 2, 2)
    s = student.split_heads(x, 3)
    expect_close(s, want, call="split_heads(x, 3)", inputs={"x": x}, rtol=0, atol=0,
                 mistakes={"looks like x.view(B, H, L, D/H): that mixes positions into heads; reshape to "
                           "(B, L, H, D/H) first, then move the head dim forward (transpose(1, 2))":
                           x.reshape(1, 3, 2, 2),
                           "head h must take the contiguous features h·D/H … (h+1)·D/H − 1, not every H-th "
                           "feature": x.reshape(1, 2, 2, 3).permute(0, 3, 1, 2)})
    expect_close(student.merge_heads(want), x, call="merge_heads(x)", inputs={"x": want}, rtol=0, atol=0,
                 mistakes={"looks like x.reshape(B, L, H·Dh) without moving the head dim back first "
                           "(transpose(1, 2) before the reshape)": want.reshape(1, 2, 6),
                           "head h must go back to the contiguous features h·Dh … (h+1)·Dh − 1":
                           want.permute(0, 2, 3, 1).reshape(1, 2, 6)})


@points(1)
def test_mha_identity_weights(student):
    """multi_head_attention: identity weights and one head reduce to plain attention"""
    x = torch.tensor([[[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]]], dtype=F64)     # (B=1, L=2, D=3)
    eye = torch.eye(3, dtype=F64)
    scores = x[0] @ x[0].T / math.sqrt(3)
    want = (torch.softmax(scores, -1) @ x[0]).unsqueeze(0)
    got = student.multi_head_attention(x, x, eye, eye, eye, eye, 1)
    expect_close(got, want, call="multi_head_attention(x, x, I, I, I, I, n_heads=1)", inputs={"x": x},
                 rtol=1e-5, atol=1e-8)


@points(1)
def test_mha_cross_attention_shape(student):
    """multi_head_attention: cross-attention (B, Lq, D) with Lq ≠ Lk, float32"""
    x_q, x_kv = torch.randn(2, 3, 8), torch.randn(2, 5, 8)
    w = [torch.randn(8, 8) / 3 for _ in range(4)]
    got = student.multi_head_attention(x_q, x_kv, *w, 2)
    expect_tensor(got, call="multi_head_attention(x_q, x_kv, w_q, w_k, w_v, w_o, 2)", shape=(2, 3, 8),
                  dtype=F32, shape_note="(B, Lq, D)")


@points(1)
def test_sdpa_large_scores_and_gradient(student):
    """scaled_dot_product_attention: scores of ±1e4 stay finite; gradients reach q, k and v; inputs unchanged"""
    q = torch.tensor([[100.0, 0.0], [0.0, -100.0]], dtype=F64)
    k = torch.tensor([[100.0, 0.0], [0.0, 100.0], [-100.0, 0.0]], dtype=F64)   # scores up to 1e4/sqrt(2)
    v = torch.tensor([[1.0], [2.0], [3.0]], dtype=F64)
    got = pair(student.scaled_dot_product_attention(q, k, v), "scaled_dot_product_attention(q, k, v)")
    if any(isinstance(g, torch.Tensor) and g.is_floating_point() and not torch.isfinite(g).all() for g in got):
        fail("scaled_dot_product_attention(q, k, v) with scores of about ±1e4\n  returned NaN/inf values. "
             "exp(1e4) overflows: subtract each row's maximum score before exp (softmax(s) = softmax(s − max s)), "
             "or use torch.softmax.")
    expect_close(got, attn(q, k, v), call="scaled_dot_product_attention(q, k, v) with scores of about ±1e4",
                 inputs={"q": q, "k": k, "v": v}, rtol=1e-6, atol=1e-9)
    q2, k2, v2 = torch.tensor([[1.0, 0.0]], dtype=F64), torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=F64), \
        torch.tensor([[1.0], [3.0]], dtype=F64)
    _, grads = student.grad("scaled_dot_product_attention", q2, k2, v2, wrt=(0, 1, 2), select=0)
    for g, name in zip(grads, "qkv"):
        if g is None:
            fail(f"scaled_dot_product_attention(q, k, v): no gradient reaches `{name}` from the output. Keep "
                 "the computation in torch (no NumPy, .detach() or .item()).")
    got, mutated = student.call_checking_inputs("scaled_dot_product_attention", q2, k2, v2)
    expect(not mutated, f"{CALL} modified its input(s) {', '.join('qkvm'[i] for i in mutated)} in place; "
           "compute new tensors (q / sqrt(Dk), not q /= sqrt(Dk)).")
    # inputs left alone count only with the right answer for this call (attention by hand)
    expect_right_answer(got, attn(q2, k2, v2), call="scaled_dot_product_attention(q, k, v)",
                        inputs={"q": q2, "k": k2, "v": v2})


def mha(x_q, x_kv, w, H, scale_dim=None, transpose=False, no_out=False, strided=False, **sdpa):
    """Multi-head attention by hand; the keywords describe slips in it and, through sdpa, in
    the attention it calls."""
    w = [wi.T if transpose else wi for wi in w]
    B, lq, D = x_q.shape
    Dh = D // H

    def split(x):
        if strided:
            return x.reshape(B, x.shape[1], Dh, H).permute(0, 3, 1, 2)
        return x.reshape(B, x.shape[1], H, Dh).transpose(1, 2)

    q, k, v = split(x_q @ w[0]), split(x_kv @ w[1]), split(x_kv @ w[2])
    if scale_dim is not None:
        sdpa = {"scale": 1 / math.sqrt(scale_dim), **sdpa}
    o, _ = attn(q, k, v, **sdpa)
    o = o.permute(0, 2, 3, 1).reshape(B, lq, D) if strided else o.transpose(1, 2).reshape(B, lq, D)
    return o if no_out else o @ w[3]


@points(1)
def test_mha_two_heads_cross_attention(student):
    """multi_head_attention: two heads, D = 4, cross-attention (Lq = 2, Lk = 3), small integer weights"""
    x_q = torch.tensor([[[1.0, 0.0, -1.0, 2.0], [0.0, 1.0, 1.0, 0.0]]], dtype=F64)
    x_kv = torch.tensor([[[1.0, 1.0, 0.0, 0.0], [0.0, -1.0, 2.0, 1.0], [2.0, 0.0, 1.0, -1.0]]], dtype=F64)
    w = [torch.tensor(m, dtype=F64) / 2 for m in (
        [[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 1], [0, 0, 1, 1]],
        [[0, 1, 0, 0], [1, 0, 0, 1], [0, 0, 1, 0], [1, 1, 0, 0]],
        [[1, 1, 0, 0], [0, 0, 1, 0], [0, 1, 0, 1], [1, 0, 0, 0]],
        [[0, 0, 0, 1], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 1]])]
    call = "multi_head_attention(x_q, x_kv, w_q, w_k, w_v, w_o, n_heads=2)"
    got = student.multi_head_attention(x_q, x_kv, *w, 2)
    expect_close(got, mha(x_q, x_kv, w, 2), call=call, inputs={"x_q": x_q, "x_kv": x_kv, "w_q": w[0]},
                 rtol=1e-6, atol=1e-9, mistakes={
                     "the scores look scaled by 1/sqrt(D); inside a head the key dimension is D/H, so the "
                     "scale is 1/sqrt(D/H)": mha(x_q, x_kv, w, 2, scale_dim=4),
                     "the weights look transposed: the contract applies them as x @ w (not x @ w.T as "
                     "nn.Linear does)": mha(x_q, x_kv, w, 2, transpose=True),
                     "the output projection w_o is missing: merge the heads, then multiply by w_o":
                         mha(x_q, x_kv, w, 2, no_out=True),
                     "the heads look like strided slices; head h takes the contiguous features h·D/H … "
                     "(h+1)·D/H − 1": mha(x_q, x_kv, w, 2, strided=True),
                     "the keys and values look computed from x_q; they come from x_kv (x_q gives only the "
                     "queries)": lambda: mha(x_q, x_q, w, 2),
                     **upstream_mistakes("multi_head_attention", lambda **kw: mha(x_q, x_kv, w, 2, **kw), {
                         f"scaled_dot_product_attention: {hint}": slip
                         for hint, slip in sdpa_slips(x_q[0, :, :2], x_kv[0, :, :2], x_kv[0, :, :2]).items()
                         if "scale" not in slip})})
