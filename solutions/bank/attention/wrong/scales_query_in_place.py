"""MISTAKE: scales q in place (q.div_), modifying the caller's tensor."""
# expect-hint: modified its input
import math

import torch

def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q kᵀ / sqrt(Dk)) v, with an optional boolean mask.

    Args:
        q: (..., Lq, Dk) queries.
        k: (..., Lk, Dk) keys.
        v: (..., Lk, Dv) values (Dv may differ from Dk).
        mask: optional bool tensor broadcastable to (..., Lq, Lk); ``True`` = may attend.

    Returns:
        ``(out, weights)``: ``out`` (..., Lq, Dv) and ``weights`` (..., Lq, Lk), each row of
        ``weights`` summing to 1 over the keys — except rows with no allowed key, whose weights
        and output are all zeros (never NaN). The scale is 1/sqrt(Dk) with Dk = q.shape[-1].
        Stable for large scores. Differentiable in q, k and v.
    """
    q = q.div_(math.sqrt(q.shape[-1]))
    scores = q @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    # stable softmax that also survives rows with every key blocked
    row_max = scores.amax(dim=-1, keepdim=True)
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    e = torch.exp(scores - row_max)                                 # exp(-inf) = 0 for blocked keys
    total = e.sum(dim=-1, keepdim=True)
    weights = e / torch.where(total > 0, total, torch.ones_like(total))
    return weights @ v, weights


def causal_mask(L: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The causal (autoregressive) mask: position i may attend to positions j ≤ i.

    Args:
        L: sequence length.
        device: where to create the mask (default: CPU).

    Returns:
        (L, L) bool tensor, ``True`` on and below the diagonal.
    """
    return torch.ones(L, L, dtype=torch.bool, device=device).tril()


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(B, L, D) → (B, H, L, D/H); head h takes features h·D/H … (h+1)·D/H − 1.

    Args:
        x: (B, L, D) tensor, D divisible by ``n_heads``.
        n_heads: H.

    Returns:
        (B, H, L, D/H) tensor with ``out[b, h, l, i] == x[b, l, h * D/H + i]``.
    """
    B, L, D = x.shape
    return x.reshape(B, L, n_heads, D // n_heads).transpose(1, 2)    # (B, H, L, Dh)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, H, L, Dh) → (B, L, H·Dh), the inverse of :func:`split_heads`.

    Args:
        x: (B, H, L, Dh) tensor.

    Returns:
        (B, L, H·Dh) tensor with ``out[b, l, h * Dh + i] == x[b, h, l, i]``.
    """
    B, H, L, Dh = x.shape
    return x.transpose(1, 2).reshape(B, L, H * Dh)                   # (B, L, D)


def multi_head_attention(x_q: torch.Tensor, x_kv: torch.Tensor, w_q: torch.Tensor, w_k: torch.Tensor,
                         w_v: torch.Tensor, w_o: torch.Tensor, n_heads: int,
                         mask: torch.Tensor | None = None) -> torch.Tensor:
    """Multi-head attention without biases.

    Args:
        x_q: (B, Lq, D) the sequence that asks (queries).
        x_kv: (B, Lk, D) the sequence attended to (keys and values); ``x_q`` itself for
            self-attention.
        w_q, w_k, w_v, w_o: (D, D) projection weights, applied as ``x @ w``.
        n_heads: H, dividing D; each head has key dimension D/H.
        mask: optional bool tensor broadcastable to (B, H, Lq, Lk); ``True`` = may attend.

    Returns:
        (B, Lq, D): per-head scaled dot-product attention (scale 1/sqrt(D/H)) on
        q = x_q @ w_q, k = x_kv @ w_k, v = x_kv @ w_v split into heads, the heads merged,
        then ``@ w_o``. Differentiable in all inputs.
    """
    q = split_heads(x_q @ w_q, n_heads)                              # (B, H, Lq, Dh)
    k = split_heads(x_kv @ w_k, n_heads)                             # (B, H, Lk, Dh)
    v = split_heads(x_kv @ w_v, n_heads)                             # (B, H, Lk, Dh)
    out, _ = scaled_dot_product_attention(q, k, v, mask)             # (B, H, Lq, Dh)
    return merge_heads(out) @ w_o                                    # (B, Lq, D)
