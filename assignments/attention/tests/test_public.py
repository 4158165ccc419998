"""Public tests for `attention`: shapes, dtypes and small examples worked out by hand.

Run them with `gmgrade check attention attention.ipynb` (or `attention.py`). The grader runs
more tests than these (other shapes, masks, stability, torch's own attention, training).
"""

import math

import torch

from autograder.testing import describe, expect, expect_close, expect_tensor, fail, points

F64, F32 = torch.float64, torch.float32
CALL = "scaled_dot_product_attention(q, k, v, mask)"


def pair(got, call):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"{call}\n  returned {describe(got)}; expected a tuple (out, weights).")
    return got


@points(1)
def test_sdpa_small_example(student):
    """scaled_dot_product_attention: one query, two keys, Dk = 2"""
    q = torch.tensor([[1.0, 0.0]], dtype=F64)                  # (Lq=1, Dk=2)
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=F64)      # (Lk=2, Dk=2)
    v = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=F64)
    s = 1 / math.sqrt(2)                                        # scores [1/sqrt(2), 0]
    w0 = math.exp(s) / (math.exp(s) + 1)
    want_w = torch.tensor([[w0, 1 - w0]], dtype=F64)
    want_out = want_w @ v
    got = pair(student.scaled_dot_product_attention(q, k, v), "scaled_dot_product_attention(q, k, v)")
    expect_close(got, (want_out, want_w), call="scaled_dot_product_attention(q, k, v)",
                 inputs={"q": q, "k": k, "v": v}, rtol=1e-5, atol=1e-8,
                 mistakes={"the scores look divided by Dk = 2; the scale is 1/sqrt(Dk)":
                           (torch.tensor([[math.exp(0.5) / (math.exp(0.5) + 1), 1 / (math.exp(0.5) + 1)]],
                                         dtype=F64) @ v,
                            torch.tensor([[math.exp(0.5) / (math.exp(0.5) + 1), 1 / (math.exp(0.5) + 1)]],
                                         dtype=F64))})


@points(1)
def test_sdpa_mask_and_empty_row(student):
    """scaled_dot_product_attention: True = may attend; a row with no allowed key gives zeros"""
    q = torch.tensor([[0.3, -1.0], [2.0, 0.5]], dtype=F64)
    k = torch.tensor([[1.0, 1.0], [-1.0, 2.0], [0.5, 0.0]], dtype=F64)
    v = torch.tensor([[1.0], [10.0], [100.0]], dtype=F64)
    mask = torch.tensor([[False, True, False], [False, False, False]])
    out, w = pair(student.scaled_dot_product_attention(q, k, v, mask), CALL)
    inputs = {"q": q, "k": k, "v": v, "mask": mask}
    expect_close(w, torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype=F64), call=CALL, inputs=inputs,
                 rtol=1e-6, atol=1e-9, part="[1] (weights)")
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
    expect_close(student.causal_mask(3), want, call="causal_mask(3)")


@points(1)
def test_split_and_merge_heads_small(student):
    """split_heads / merge_heads: head h takes the features h·D/H … (h+1)·D/H − 1"""
    x = torch.arange(12, dtype=F64).reshape(1, 2, 6)            # B=1, L=2, D=6
    want = torch.tensor([[[[0.0, 1.0], [6.0, 7.0]],
                          [[2.0, 3.0], [8.0, 9.0]],
                          [[4.0, 5.0], [10.0, 11.0]]]], dtype=F64)   # (1, H=3, 2, 2)
    s = student.split_heads(x, 3)
    expect_close(s, want, call="split_heads(x, 3)", inputs={"x": x}, rtol=0, atol=0)
    expect_close(student.merge_heads(want), x, call="merge_heads(x)", inputs={"x": want}, rtol=0, atol=0)


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
