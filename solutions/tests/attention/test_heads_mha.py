"""Hidden tests for `attention`: splitting and merging heads, and multi-head attention
(checked against torch.nn.functional.multi_head_attention_forward)."""

import math

import torch
import torch.nn.functional as F

from autograder.testing import expect, expect_close, expect_tensor, fail, points

F64, F32 = torch.float64, torch.float32
TOL = dict(rtol=1e-4, atol=1e-6)
MHA = "multi_head_attention(x_q, x_kv, w_q, w_k, w_v, w_o, n_heads, mask)"


# --------------------------------------------------------------------------- heads


def split_mistakes(x, H):
    B, L, D = x.shape
    return {
        "looks like x.view(B, H, L, D/H): that mixes positions into heads; reshape to "
        "(B, L, H, D/H) first, then move the head dim forward (transpose(1, 2))": x.reshape(B, H, L, D // H),
        "head h must take the contiguous features h·D/H … (h+1)·D/H − 1, not every H-th feature":
            x.reshape(B, L, D // H, H).permute(0, 3, 1, 2),
    }


def _split_heads_values(student, B, L, D, H):
    x = torch.randn(B, L, D, dtype=F64)
    want = x.reshape(B, L, H, D // H).permute(0, 2, 1, 3)
    expect_close(student.split_heads(x, H), want, call=f"split_heads(x, {H})", inputs={"x": x},
                 rtol=0, atol=0, mistakes=split_mistakes(x, H))


@points(1)
def test_split_heads_values(student):
    """split_heads: (B, L, D) → (B, H, L, D/H), head h on features h·D/H … (h+1)·D/H − 1"""
    for case in [(2, 3, 12, 3), (3, 5, 12, 4), (2, 4, 6, 1), (1, 7, 15, 5), (2, 3, 6, 6)]:
        _split_heads_values(student, *case)


def _merge_heads_values(student, B, H, L, Dh):
    x = torch.randn(B, H, L, Dh, dtype=F64)
    want = x.permute(0, 2, 1, 3).reshape(B, L, H * Dh)
    expect_close(student.merge_heads(x), want, call="merge_heads(x)", inputs={"x": x}, rtol=0, atol=0,
                 mistakes={"looks like x.reshape(B, L, H·Dh) without moving the head dim back first "
                           "(transpose(1, 2) before the reshape)": x.reshape(B, L, H * Dh),
                           "head h must go back to the contiguous features h·Dh … (h+1)·Dh − 1":
                           x.permute(0, 2, 3, 1).reshape(B, L, H * Dh)})


@points(1)
def test_merge_heads_values(student):
    """merge_heads: (B, H, L, Dh) → (B, L, H·Dh), head h back on features h·Dh … (h+1)·Dh − 1"""
    for case in [(2, 3, 4, 2), (3, 1, 5, 4), (1, 5, 3, 3), (2, 4, 2, 1)]:
        _merge_heads_values(student, *case)


@points(1)
def test_split_merge_round_trip(student):
    """split_heads / merge_heads: merge_heads(split_heads(x, H)) == x"""
    for b, l, h, dh in [(1, 1, 1, 1), (2, 3, 4, 1), (3, 5, 1, 4), (2, 1, 3, 3), (1, 4, 2, 5)]:
        x = torch.arange(b * l * h * dh, dtype=F64).reshape(b, l, h * dh)
        s = expect_tensor(student.split_heads(x, h), call=f"split_heads(x, {h})", inputs={"x": x},
                          shape=(b, h, l, dh), dtype=F64, shape_note="(B, H, L, D/H)")
        expect_close(s, x.reshape(b, l, h, dh).transpose(1, 2), call=f"split_heads(x, {h})",
                     inputs={"x": x}, rtol=0, atol=0, mistakes=split_mistakes(x, h))
        back = student.merge_heads(s)
        expect_close(back, x, call=f"merge_heads(split_heads(x, {h}))", inputs={"x": x}, rtol=0, atol=0)


# --------------------------------------------------------------------------- multi-head attention


def torch_mha(x_q, x_kv, w, H, mask=None):
    """torch's multi-head attention with our weights (torch computes x @ Wᵀ, so pass Wᵀ)."""
    B, lq, D = x_q.shape
    lk = x_kv.shape[1]
    am = None
    if mask is not None:
        m = torch.broadcast_to(mask, (B, H, lq, lk)).reshape(B * H, lq, lk)
        am = torch.zeros(m.shape, dtype=x_q.dtype).masked_fill(~m, float("-inf"))
    out, _ = F.multi_head_attention_forward(
        x_q.transpose(0, 1), x_kv.transpose(0, 1), x_kv.transpose(0, 1), D, H, None, None, None, None,
        False, 0.0, w[3].T, None, training=False, need_weights=False, attn_mask=am,
        use_separate_proj_weight=True, q_proj_weight=w[0].T, k_proj_weight=w[1].T, v_proj_weight=w[2].T)
    return out.transpose(0, 1)


def mha(x_q, x_kv, w, H, mask=None, *, scale_dim=None, transpose=False, no_out=False, strided=False):
    """Multi-head attention in float64 with switches for known mistakes."""
    x_q, x_kv = x_q.double(), x_kv.double()
    w = [wi.double().T if transpose else wi.double() for wi in w]
    B, lq, D = x_q.shape
    Dh = D // H

    def split(x):
        if strided:
            return x.reshape(B, x.shape[1], Dh, H).permute(0, 3, 1, 2)
        return x.reshape(B, x.shape[1], H, Dh).transpose(1, 2)

    q, k, v = split(x_q @ w[0]), split(x_kv @ w[1]), split(x_kv @ w[2])
    s = q @ k.transpose(-2, -1) / math.sqrt(Dh if scale_dim is None else scale_dim)
    if mask is not None:
        s = s.masked_fill(~mask, -math.inf)
    a = torch.nan_to_num(torch.softmax(s, -1), nan=0.0)
    o = a @ v
    o = o.permute(0, 2, 3, 1).reshape(B, lq, D) if strided else o.transpose(1, 2).reshape(B, lq, D)
    return o if no_out else o @ w[3]


def mha_mistakes(x_q, x_kv, w, H, mask=None):
    D = x_q.shape[-1]
    table = {
        "the scores look scaled by 1/sqrt(D); inside a head the key dimension is D/H, so the scale "
        "is 1/sqrt(D/H)": mha(x_q, x_kv, w, H, mask, scale_dim=D),
        "the weights look transposed: the contract applies them as x @ w (not x @ w.T as nn.Linear does)":
            mha(x_q, x_kv, w, H, mask, transpose=True),
        "the output projection w_o is missing: merge the heads, then multiply by w_o":
            mha(x_q, x_kv, w, H, mask, no_out=True),
        "the heads look like strided slices; head h takes the contiguous features h·D/H … (h+1)·D/H − 1":
            mha(x_q, x_kv, w, H, mask, strided=True),
    }
    if mask is None or x_q.shape[1] == x_kv.shape[1]:  # else a mask over Lk keys cannot apply to Lq
        table["the keys and values look computed from x_q; they come from x_kv (x_q gives only the "
              "queries)"] = mha(x_q, x_q, w, H, mask)
    return table


def weights(D, dtype=F64):
    return [(torch.randn(D, D, dtype=F64) / math.sqrt(D)).to(dtype) for _ in range(4)]


def call_mha(student, x_q, x_kv, w, H, mask=None):
    return student.multi_head_attention(x_q, x_kv, *w, H, mask) if mask is not None else \
        student.multi_head_attention(x_q, x_kv, *w, H)


def check_mha(student, x_q, x_kv, w, H, mask=None, *, want=None):
    dtype = x_q.dtype
    if want is None:
        want = torch_mha(x_q.double(), x_kv.double(), [wi.double() for wi in w], H, mask).to(dtype)
    got = call_mha(student, x_q, x_kv, w, H, mask)
    inputs = {"x_q": x_q, "x_kv": x_kv, "w_q": w[0], "n_heads": H}
    if mask is not None:
        inputs["mask"] = mask
    expect_close(got, want, call=MHA, inputs=inputs, **TOL,
                 mistakes={h: m.to(dtype) for h, m in mha_mistakes(x_q, x_kv, w, H, mask).items()})
    return got


def _mha_self_attention_matches_torch(student, B, L, D, H):
    x = torch.randn(B, L, D, dtype=F64)
    check_mha(student, x, x, weights(D), H)


@points(3)
def test_mha_self_attention_matches_torch(student):
    """multi_head_attention: self-attention matches torch's multi_head_attention_forward"""
    for case in [(2, 5, 12, 3), (3, 4, 8, 2), (2, 6, 16, 4)]:
        _mha_self_attention_matches_torch(student, *case)


@points(2)
def test_mha_cross_attention(student):
    """multi_head_attention: cross-attention with Lq ≠ Lk"""
    B, lq, lk, D, H = 3, 4, 7, 12, 3
    x_q, x_kv = torch.randn(B, lq, D, dtype=F64), torch.randn(B, lk, D, dtype=F64)
    check_mha(student, x_q, x_kv, weights(D), H)
    x_q, x_kv = torch.randn(2, 6, 8, dtype=F64), torch.randn(2, 1, 8, dtype=F64)
    check_mha(student, x_q, x_kv, weights(8), 2)


@points(2)
def test_mha_masks(student):
    """multi_head_attention: causal, padding and per-head masks broadcast to (B, H, Lq, Lk)"""
    B, L, D, H = 2, 5, 12, 3
    x = torch.randn(B, L, D, dtype=F64)
    w = weights(D)
    causal = torch.ones(L, L, dtype=torch.bool).tril()
    check_mha(student, x, x, w, H, causal)
    x_kv = torch.randn(B, 6, D, dtype=F64)
    padding = torch.ones(B, 1, 1, 6, dtype=torch.bool)
    padding[1, ..., 3:] = False
    check_mha(student, x, x_kv, w, H, padding)
    per_head = torch.rand(B, H, L, 6) < 0.5
    per_head[..., 0] = True
    check_mha(student, x, x_kv, w, H, per_head)


@points(1)
def test_mha_fully_masked_query(student, reference):
    """multi_head_attention: a query that may attend to nothing gives a zero output, not NaN"""
    B, lq, lk, D, H = 2, 3, 4, 8, 2
    x_q, x_kv = torch.randn(B, lq, D, dtype=F64), torch.randn(B, lk, D, dtype=F64)
    w = weights(D)
    mask = torch.ones(B, 1, lq, lk, dtype=torch.bool)
    mask[0, :, 1] = False
    want = reference.multi_head_attention(x_q, x_kv, *w, H, mask)
    check_mha(student, x_q, x_kv, w, H, mask, want=want)


def _mha_single_head_and_odd_sizes(student, B, lq, lk, D, H):
    x_q, x_kv = torch.randn(B, lq, D, dtype=F64), torch.randn(B, lk, D, dtype=F64)
    check_mha(student, x_q, x_kv, weights(D), H)


@points(2)
def test_mha_single_head_and_odd_sizes(student):
    """multi_head_attention: one head, odd sizes, head size 1, length 1"""
    for case in [(2, 3, 3, 5, 1), (1, 4, 2, 21, 7), (3, 2, 5, 6, 6), (1, 1, 1, 4, 2)]:
        _mha_single_head_and_odd_sizes(student, *case)


@points(1)
def test_mha_float32(student):
    """multi_head_attention: float32 in, float32 out"""
    x_q, x_kv = torch.randn(2, 5, 12, dtype=F32), torch.randn(2, 3, 12, dtype=F32)
    check_mha(student, x_q, x_kv, weights(12, F32), 4)


@points(1)
def test_mha_self_attention_is_permutation_equivariant(student):
    """multi_head_attention: without a mask, permuting the positions permutes the output"""
    B, L, D, H = 2, 6, 12, 3
    x = torch.randn(B, L, D, dtype=F64)
    w = weights(D)
    base = check_mha(student, x, x, w, H)
    for _ in range(3):
        perm = torch.randperm(L)
        xp = x[:, perm]
        got = expect_tensor(call_mha(student, xp, xp, w, H), call=MHA, inputs={"x_q": xp, "x_kv": xp},
                            shape=(B, L, D), dtype=F64)
        err = (got - base[:, perm]).abs().max().item()
        expect(err <= 1e-5 * (1 + base.abs().max().item()), f"{MHA} on self-attention with the positions of x permuted by "
               f"{perm.tolist()}: the output should be the original output permuted the same way "
               f"(attention without a mask has no notion of order), but it differs by up to {err:.3g}. "
               "Check that you attend over the sequence dimension and don't mix positions when "
               "splitting heads.")


@points(1)
def test_mha_gradients(student, reference):
    """multi_head_attention: differentiable in the weights and the inputs"""
    B, L, D, H = 2, 4, 8, 2
    x_q, x_kv = torch.randn(B, L, D, dtype=F64), torch.randn(B, 5, D, dtype=F64)
    w = weights(D)
    g_out = torch.randn(B, L, D, dtype=F64)
    _, grads = student.grad("multi_head_attention", x_q, x_kv, *w, H, wrt=(0, 1, 2, 3, 4, 5), grad_output=g_out)
    leaves = [t.clone().requires_grad_() for t in (x_q, x_kv, *w)]
    out = reference.multi_head_attention(*leaves, H)
    want = torch.autograd.grad(out, leaves, g_out)
    names = ["x_q", "x_kv", "w_q", "w_k", "w_v", "w_o"]
    for name, g, wg in zip(names, grads, want):
        if g is None:
            fail(f"{MHA}: no gradient reaches `{name}`. The grader trains through this function: keep "
                 "it in torch operations (no .item(), .numpy(), .detach() or torch.no_grad()).")
        expect_close(g, wg, call=f"the gradient of {MHA} with respect to {name}", **TOL)


@points(0.5)
def test_mha_keeps_inputs(student):
    """multi_head_attention: does not modify its inputs in place"""
    x = torch.randn(2, 4, 8, dtype=F64)
    w = weights(8)
    _, mutated = student.call_checking_inputs("multi_head_attention", x, x.clone(), *w, 2)
    names = ["x_q", "x_kv", "w_q", "w_k", "w_v", "w_o"]
    expect(not mutated, f"{MHA} modified {', '.join(names[i] for i in mutated)} in place; use "
           "out-of-place operations.")
