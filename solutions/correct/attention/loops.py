"""CORRECT: torch.softmax + explicit zeroing of empty rows, unflatten/permute heads, and
multi-head attention as a Python loop over heads on column slices of the weights."""
import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    scores = torch.matmul(q, k.transpose(-1, -2)) * (q.size(-1) ** -0.5)
    if mask is None:
        weights = torch.softmax(scores, dim=-1)
    else:
        mask = mask.expand(scores.shape)
        scores = scores.masked_fill(mask.logical_not(), -math.inf)
        weights = torch.softmax(scores, dim=-1)
        has_key = mask.any(dim=-1, keepdim=True)
        weights = torch.where(has_key, weights, torch.zeros_like(weights))
    return torch.matmul(weights, v), weights


def causal_mask(L, device=None):
    i = torch.arange(L, device=device)
    return i[:, None] >= i[None, :]


def split_heads(x, n_heads):
    return x.unflatten(-1, (n_heads, -1)).permute(0, 2, 1, 3)


def merge_heads(x):
    return x.permute(0, 2, 1, 3).flatten(2)


def multi_head_attention(x_q, x_kv, w_q, w_k, w_v, w_o, n_heads, mask=None):
    D = x_q.shape[-1]
    dh = D // n_heads
    heads = []
    for h in range(n_heads):
        cols = slice(h * dh, (h + 1) * dh)
        q = x_q @ w_q[:, cols]
        k = x_kv @ w_k[:, cols]
        v = x_kv @ w_v[:, cols]
        m = None
        if mask is not None:
            m = torch.broadcast_to(mask, (x_q.shape[0], n_heads, x_q.shape[1], x_kv.shape[1]))[:, h]
        out, _ = scaled_dot_product_attention(q, k, v, m)
        heads.append(out)
    return torch.cat(heads, dim=-1) @ w_o
