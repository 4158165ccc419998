# %% [markdown]
# # GPT: causal language modelling and decoding
#
# A GPT-style 大規模言語モデル (large language model, LLM) is an 自己回帰モデル
# (autoregressive model): it factorises the probability of a token sequence
# $x_1, \dots, x_L$ left to right,
#
# $$p(x_1, \dots, x_L) = \prod_{i=1}^{L} p(x_i \mid x_{<i}),$$
#
# and a Transformer decoder with a 因果マスク (causal mask) predicts every factor in one
# pass: the logits at position $i$ only see $x_{\le i}$ and score the *next* token
# $x_{i+1}$. In this assignment you write
#
# 1. the training loss of a 因果言語モデル (causal language model): 次トークン予測
#    (next-token prediction) with cross-entropy, and
# 2. the decoding side: greedy decoding, 温度 (temperature), top-k and top-p (nucleus)
#    sampling, and a `generate` loop that calls any model.
#
# Conventions used throughout: logits are floating tensors whose last dimension is the
# vocabulary size $V$; token ids are `int64`; nothing is modified in place; results keep
# the dtype and device of the inputs.
#
# Where it comes from: this whole assignment is **beyond the lecture slides**. The lecture
# presents GPT; what you write here — the training loss and the decoding methods
# (temperature, top-k, and top-p from Holtzman et al., 2020) — is the standard practice of
# GPT-style models, not material of the slides.

# %%
import torch
import torch.nn.functional as F

# %% [markdown]
# ## 1. The causal language-modelling loss
#
# The model returns logits $z_{b,i} \in \mathbb{R}^V$ for every position $i$ of every
# sequence $b$. The logits at position $i$ predict token $x_{b,i+1}$, so inputs and
# targets are the same sequence *shifted by one*: positions $0 \dots L-2$ of the logits
# against tokens $1 \dots L-1$ of the ids. The loss is the mean 交差エントロピー
# (cross-entropy, the negative log-likelihood) over all $B (L-1)$ predictions:
#
# $$\mathcal{L} = -\frac{1}{B(L-1)} \sum_{b=1}^{B} \sum_{i=0}^{L-2}
#   \log \operatorname{softmax}(z_{b,i})_{x_{b,i+1}}.$$


# %%
def causal_lm_loss(logits, input_ids):
    """Mean cross-entropy of predicting token i+1 from the logits at position i.

    L = -1/(B(L-1)) Σ_b Σ_{i=0}^{L-2} log softmax(logits[b, i])[input_ids[b, i+1]]

    Args:
        logits: (B, L, V) floating, the model's output for ``input_ids``.
        input_ids: (B, L) int64 token ids, L ≥ 2.

    Returns:
        A scalar (0-dim tensor) in the dtype of ``logits``: the mean over all B·(L−1)
        predictions (the last position's logits predict nothing and are unused).
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 2. Truncating the distribution: top-k and top-p
#
# Sampling from the full softmax lets the long tail of unlikely tokens in, and one bad
# token derails the rest of the text. Two filters cut the tail by setting logits to
# $-\infty$ (probability $e^{-\infty} = 0$ after the softmax):
#
# - **top-k**: keep the $k$ largest logits of each row.
# - **top-p** (nucleus sampling, Holtzman et al. 2020): sort the probabilities
#   $p_{(1)} \ge p_{(2)} \ge \dots$ and keep the smallest prefix whose mass reaches $p$,
#   i.e. token $(j)$ is kept iff the mass *before* it is still below $p$:
#   $\sum_{m<j} p_{(m)} < p$. The most probable token is therefore always kept.
#
# Both filters work on the last dimension and any leading batch dimensions.


# %%
def top_k_filter(logits, k):
    """Keep the k largest logits of each row; set the others to -inf.

    Args:
        logits: (..., V) floating (entries may already be -inf).
        k: int, 1 ≤ k ≤ V.

    Returns:
        (..., V) tensor, same dtype/device: the kept entries unchanged, all others
        exactly ``-inf`` (``float("-inf")``, not a large negative number). Ties at the
        k-th largest value may be kept or not (the tests avoid ties).
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %%
def top_p_filter(logits, p):
    """Nucleus filter: keep the smallest set of most probable tokens with mass ≥ p.

    With the probabilities softmax(logits) sorted in decreasing order, token (j) is kept
    iff the probability mass of the tokens before it is < p. The most probable token is
    always kept.

    Args:
        logits: (..., V) floating (entries may already be -inf).
        p: float, 0 < p ≤ 1.

    Returns:
        (..., V) tensor, same dtype/device and the original token order: the kept
        entries unchanged, all others exactly ``-inf``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 3. Sampling the next token
#
# The 温度 $T$ reshapes the distribution, $p_T(v) \propto \exp(z_v / T)$: $T < 1$
# sharpens it, $T > 1$ flattens it, and $T \to 0$ becomes greedy decoding (arg-max),
# which we use for $T = 0$. The order is fixed: divide by $T$, then top-k, then top-p,
# then draw from the softmax of what is left.
#
# Randomness comes in through the `generator` argument (a `torch.Generator`): with the
# same generator state the draws are the same. `torch.multinomial(probs, 1,
# generator=generator)` is one way to draw; any correct way is fine.


# %%
def sample_next(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    """Draw one next token per row from the filtered, temperature-scaled softmax.

    Steps: logits / temperature → top_k_filter (if ``top_k`` is not None) →
    top_p_filter (if ``top_p`` is not None) → draw from softmax. ``temperature == 0``
    means greedy decoding: the arg-max of the logits (no randomness).

    Args:
        logits: (B, V) floating, next-token logits of B sequences (not modified).
        temperature: float ≥ 0.
        top_k: int or None.
        top_p: float in (0, 1] or None.
        generator: a ``torch.Generator`` or None (then the global RNG is used). With a
            generator the result is deterministic; any correct way of drawing is fine.

    Returns:
        (B,) int64 token ids on the device of ``logits``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 4. Autoregressive generation
#
# Generation repeats: run the model on the whole sequence so far, take the logits of the
# **last** position, sample the next token with `sample_next`, append it. (Real
# implementations cache keys and values so that each step costs one position; here the
# model is small and we simply call it on the whole prefix.)


# %%
def generate(model, input_ids, max_new_tokens, **sampling):
    """Append ``max_new_tokens`` tokens to every sequence, one at a time.

    Each step calls ``model(ids)`` on the whole current sequence, takes the logits of the
    last position and draws the next token with ``sample_next(..., **sampling)``.

    Args:
        model: callable ``ids (B, L') -> logits (B, L', V)``.
        input_ids: (B, L) int64 prompt (not modified).
        max_new_tokens: int ≥ 0.
        **sampling: keyword arguments of ``sample_next`` (``temperature``, ``top_k``,
            ``top_p``, ``generator``), passed on unchanged.

    Returns:
        (B, L + max_new_tokens) int64: the prompt followed by the new tokens.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 5. Try it
#
# A model that always prefers "the sum of the tokens so far, plus a step per position,
# modulo V" shows what the knobs do: greedy decoding follows the rule exactly, a high
# temperature wanders off it, top-k = 1 is greedy again.

# %%
if __name__ == "__main__":
    class RuleLM(torch.nn.Module):
        def __init__(self, vocab=13):
            super().__init__()
            self.vocab = vocab
            self.noise = torch.rand(vocab, vocab, generator=torch.Generator().manual_seed(0)) * 2 - 1

        def forward(self, ids):
            pos = torch.arange(ids.shape[1])
            rule = (ids.cumsum(-1) + 5 * pos + 1) % self.vocab
            return self.noise[ids] + 3.0 * F.one_hot(rule, self.vocab).float()

    lm = RuleLM()
    prompt = torch.tensor([[3, 1, 4]])
    print("greedy   ", generate(lm, prompt, 8, temperature=0).tolist())
    print("T = 1    ", generate(lm, prompt, 8, generator=torch.Generator().manual_seed(1)).tolist())
    print("T = 3    ", generate(lm, prompt, 8, temperature=3.0,
                                generator=torch.Generator().manual_seed(1)).tolist())
    print("top-k = 1", generate(lm, prompt, 8, top_k=1,
                                generator=torch.Generator().manual_seed(1)).tolist())


# %% [markdown]
# ## Check your work
#
# Run the cell below: `check("gpt")` runs the public tests on the cells you have executed
# (`check("gpt", "FUNCTION")`: only the tests of one function); your grade also counts hidden
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

    check("gpt")
