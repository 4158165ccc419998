"""CORRECT: einsum everywhere, log-sum-exp weights computed in float32 whatever the input
dtype, and the weights reshaped per head instead of splitting activations."""
import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    dtype = q.dtype
    s = torch.einsum("...id,...jd->...ij", q.float(), k.float()) / math.sqrt(q.shape[-1])
    if mask is not None:
        s = torch.where(mask, s, torch.tensor(float("-inf"), device=s.device))
    lse = torch.logsumexp(s, dim=-1, keepdim=True)
    safe = torch.where(torch.isinf(lse), torch.zeros_like(lse), lse)
    w = torch.exp(s - safe)
    w = torch.where(torch.isinf(lse), torch.zeros_like(w), w)
    out = torch.einsum("...ij,...jd->...id", w, v.float())
    return out.to(dtype), w.to(dtype)


def causal_mask(L, device=None):
    return torch.tril(torch.ones((L, L), device=device)).bool()


def split_heads(x, n_heads):
    B, L, D = x.shape
    return torch.stack(torch.chunk(x, n_heads, dim=-1), dim=1)


def merge_heads(x):
    return torch.cat(torch.unbind(x, dim=1), dim=-1)


def multi_head_attention(x_q, x_kv, w_q, w_k, w_v, w_o, n_heads, mask=None):
    D = w_q.shape[0]
    dh = D // n_heads
    q = torch.einsum("bld,dhe->bhle", x_q, w_q.reshape(D, n_heads, dh))
    k = torch.einsum("bld,dhe->bhle", x_kv, w_k.reshape(D, n_heads, dh))
    v = torch.einsum("bld,dhe->bhle", x_kv, w_v.reshape(D, n_heads, dh))
    out, _ = scaled_dot_product_attention(q, k, v, mask)
    return torch.einsum("bhle,hef->blf", out, w_o.reshape(n_heads, dh, D))
