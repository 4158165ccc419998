# %% [markdown]
# # Assignment 7 — Transformer attention (注意機構 / 自己注意)
#
# Attention lets every position of a sequence gather information from the positions it
# finds relevant. A **query** (クエリ) is compared with every **key** (キー); the softmax of
# the similarities says how much of each **value** (バリュー) to take:
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right) V .$$
#
# In **self-attention** (自己注意, セルフアテンション) queries, keys and values all come from the
# same sequence; in **cross-attention** (交差注意 / ソース・ターゲット注意) the queries come from one
# sequence and the keys/values from another, so the two lengths $L_q$ and $L_k$ may differ.
# **Multi-head attention** (マルチヘッド注意) runs $H$ attentions side by side on slices of
# the features and concatenates the results.
#
# Conventions the grader relies on:
# - shapes: queries `q` (..., Lq, Dk), keys `k` (..., Lk, Dk), values `v` (..., Lk, Dv);
#   `...` is any number of batch dims (e.g. batch and heads);
# - boolean masks follow `torch.nn.functional.scaled_dot_product_attention`: **`True` = may
#   attend**, `False` = blocked; a mask broadcasts against (..., Lq, Lk);
# - work for `float32` and `float64`, return the input dtype and device, never modify the
#   inputs in place, and stay differentiable (the grader trains a small model through your
#   functions: use torch operations only, no `.item()`, `.numpy()` or `.detach()`).
#
# Where it comes from: scaled dot-product attention, self- and cross-attention and multi-head
# attention are the lecture's Transformer part, as in "Attention Is All You Need" (Vaswani et
# al., 2017). The handling of fully masked rows (zeros, never NaN) is this course's convention,
# which the tests check.

# %%
import math

import torch

# %% [markdown]
# ## 1. Scaled dot-product attention (スケール化内積注意)
#
# Scores $s_{ij} = q_i \cdot k_j / \sqrt{d_k}$ — scaled by the square root of the **key**
# dimension $d_k$ (`q.shape[-1]`), so that the scores keep unit variance when $d_k$ grows.
# Weights $a_{ij} = \exp(s_{ij}) / \sum_{j'} \exp(s_{ij'})$ over the keys $j$ (the last dim),
# output $o_i = \sum_j a_{ij} v_j$.
#
# - **Masking**: a blocked pair gets weight exactly 0 (set its score to $-\infty$ before
#   the softmax). A query row whose keys are **all** blocked has no distribution to
#   normalise: return all-zero weights and a zero output for it — never NaN.
# - **Stability**: subtract the row maximum before `exp` (or use `torch.softmax`, which does);
#   scores of $10^4$ or more must not overflow.

# %%
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
        Stable for large scores (the tests use scores of about 1e4). The dtype and device of
        ``q`` (float32 stays float32). Differentiable in q, k and v.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


def causal_mask(L: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The causal (autoregressive) mask: position i may attend to positions j ≤ i.

    Args:
        L: sequence length.
        device: where to create the mask (default: CPU).

    Returns:
        (L, L) bool tensor, ``True`` on and below the diagonal.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 2. Heads (ヘッド)
#
# With model width $D$ and $H$ heads, head $h$ works on the features
# $h\cdot D/H, \dots, (h+1)\cdot D/H - 1$ (contiguous slices, in order). `split_heads` turns
# (B, L, D) into (B, H, L, D/H) and `merge_heads` undoes it exactly. Careful: a plain
# `x.view(B, H, L, D // H)` mixes positions into heads — split the **last** dim first, then
# move the head dim forward.

# %%
def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(B, L, D) → (B, H, L, D/H); head h takes features h·D/H … (h+1)·D/H − 1.

    Args:
        x: (B, L, D) tensor, D divisible by ``n_heads``.
        n_heads: H.

    Returns:
        (B, H, L, D/H) tensor with ``out[b, h, l, i] == x[b, l, h * D/H + i]``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, H, L, Dh) → (B, L, H·Dh), the inverse of :func:`split_heads`.

    Args:
        x: (B, H, L, Dh) tensor.

    Returns:
        (B, L, H·Dh) tensor with ``out[b, l, h * Dh + i] == x[b, h, l, i]``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 3. Multi-head attention (マルチヘッド注意)
#
# $$Q = X_q W_Q,\quad K = X_{kv} W_K,\quad V = X_{kv} W_V,\qquad
# \mathrm{head}_h = \mathrm{Attention}(Q_h, K_h, V_h),\qquad
# \mathrm{MHA} = [\mathrm{head}_1, \dots, \mathrm{head}_H]\, W_O .$$
#
# Weights multiply from the right (`x @ w_q`, not `x @ w_q.T`). Inside each head the key
# dimension is $D/H$, so the scores are scaled by $1/\sqrt{D/H}$ — not $1/\sqrt{D}$.
# Self-attention passes the same tensor as `x_q` and `x_kv`; cross-attention passes
# different ones (with possibly different lengths).

# %%
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
        then ``@ w_o``. The dtype and device of ``x_q`` (float32 stays float32).
        Differentiable in all inputs.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## Check your work
#
# Run the cell below: `check("attention")` runs the public tests on the cells you have executed
# (`check("attention", "FUNCTION")`: only the tests of one function); your grade also counts hidden
# tests of the same functions. Each test must finish within **10 seconds** (the default limit;
# a few end-to-end tests allow more) or it fails with "… timed out after 10 s".
#
# **What runs when this notebook is graded.** Every code cell is executed, top to bottom
# (lines starting with `%` or `!` are dropped). Each cell may run for at most 10 s and all of
# them together for 60 s, and they run again whenever the grader restarts your code after a
# crash or a timeout. Code under `if __name__ == "__main__":`, like the cell below, runs when
# you run the notebook yourself but is skipped at grading: put experiments there, or keep
# them cheap.

# %%
if __name__ == "__main__":
    from autograder import check

    check("attention")
