"""CORRECT: blocked scores filled with the most negative finite number, then the weights
multiplied by the mask (which also zeroes rows with no allowed key); float64 internals."""
import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    qd, kd, vd = q.double(), k.double(), v.double()
    scores = qd @ kd.mT / math.sqrt(qd.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, torch.finfo(torch.float64).min)
    scores = scores - scores.max(dim=-1, keepdim=True).values
    w = scores.exp()
    w = w / w.sum(dim=-1, keepdim=True)
    if mask is not None:
        w = w * mask.to(w.dtype)
    return (w @ vd).to(q.dtype), w.to(q.dtype)


def causal_mask(L, device=None):
    m = torch.zeros(L, L, dtype=torch.bool, device=device)
    for i in range(L):
        m[i, : i + 1] = True
    return m


def split_heads(x, n_heads):
    B, L, D = x.shape
    out = x.new_empty(B, n_heads, L, D // n_heads)
    for h in range(n_heads):
        out[:, h] = x[:, :, h * (D // n_heads):(h + 1) * (D // n_heads)]
    return out


def merge_heads(x):
    B, H, L, Dh = x.shape
    return x.transpose(1, 2).contiguous().view(B, L, H * Dh)


def multi_head_attention(x_q, x_kv, w_q, w_k, w_v, w_o, n_heads, mask=None):
    q = split_heads(torch.matmul(x_q, w_q), n_heads)
    k = split_heads(torch.matmul(x_kv, w_k), n_heads)
    v = split_heads(torch.matmul(x_kv, w_v), n_heads)
    if mask is not None:
        mask = mask.expand(q.shape[0], n_heads, q.shape[2], k.shape[2])
    out, _ = scaled_dot_product_attention(q, k, v, mask)
    return torch.matmul(merge_heads(out), w_o)
