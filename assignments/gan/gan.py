# %% [markdown]
# # Assignment 4 — Generative adversarial networks (敵対的生成ネットワーク, GAN)
#
# A GAN trains two networks against each other:
#
# - the **generator** (生成器) G maps noise z ~ p(z) to a sample G(z);
# - the **discriminator** (識別器) D(x) ∈ (0, 1) estimates the probability that x is real data.
#
# They play the minimax game of the lecture's GAN part
#
#     min_G max_D V(D, G),   V(D, G) = E_{x~p_data}[log D(x)] + E_{z~p(z)}[log(1 − D(G(z)))].
#
# Throughout this assignment the discriminator's outputs are **logits** ℓ: D(x) = σ(ℓ) with
# σ(ℓ) = 1 / (1 + exp(−ℓ)). Working with logits lets you write every loss in a numerically
# stable form: never compute `torch.log(torch.sigmoid(l))` — for ℓ = −100 the sigmoid
# underflows and the log becomes −∞. Use the identities
#
#     log σ(ℓ)     = −softplus(−ℓ)      (torch.nn.functional.logsigmoid(ℓ))
#     log(1 − σ(ℓ)) = −softplus(ℓ)      (= logsigmoid(−ℓ))
#
# instead. The tests use logits of ±100 in float32 and float64.
#
# Conventions (they hold for every function below):
# - inputs are `torch.Tensor`s; results have the dtype and device of the inputs;
# - a "scalar" is a 0-dim tensor; never modify an input in place;
# - `log` is the natural logarithm, and 0 · log 0 = 0.
#
# Where it comes from: the game V(D, G), the optimal discriminator, the Jensen–Shannon
# divergence and V(D*, G) = 2·JS − log 4 are the lecture's GAN part; the non-saturating
# generator loss (section 2) is beyond the slides. Writing every loss with logits, stable for
# logits of ±100, is this course's requirement (the tests check it).

# %%
import math

import torch
import torch.nn.functional as F

# %% [markdown]
# ## 1. The discriminator loss
#
# The discriminator maximises V(D, G), i.e. it minimises the binary cross-entropy
#
#     L_D = −( mean_i log D(x_i) + mean_j log(1 − D(G(z_j))) ),
#
# "real is label 1, fake is label 0". The two means are taken separately: the batch of real
# logits and the batch of fake logits may have different sizes.

# %%
def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss  L_D = −( mean log D(x) + mean log(1 − D(G(z))) ).

    Args:
        real_logits: (N,) (any shape) discriminator logits ℓ on real data; D(x) = σ(ℓ).
        fake_logits: (M,) (any shape) discriminator logits on generated samples G(z);
            M may differ from N.

    Returns:
        Scalar (0-dim tensor): the mean over ``real_logits`` of −log σ(ℓ) plus the mean over
        ``fake_logits`` of −log(1 − σ(ℓ)) — each batch averaged separately, the two averages
        added (not halved). Must be stable (finite, accurate) for logits of ±100: use
        log σ(ℓ) = −softplus(−ℓ) and log(1 − σ(ℓ)) = −softplus(ℓ). Differentiable.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 2. The generator loss: minimax vs non-saturating
#
# In the minimax game the generator minimises E[log(1 − D(G(z)))]. Early in training the
# discriminator easily rejects the fakes, D(G(z)) ≈ 0, and this loss is flat there: its
# gradient with respect to the logit is −σ(ℓ) ≈ 0 (the gradient *saturates*). The usual fix,
# beyond the lecture slides (it comes from the original GAN paper, Goodfellow et al. 2014), is
# the **non-saturating** loss −E[log D(G(z))], which has the same fixed point but the
# gradient −(1 − σ(ℓ)) ≈ −1 where the generator is doing badly.

# %%
def generator_loss(fake_logits: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    """Generator loss on the discriminator logits of generated samples.

    Args:
        fake_logits: (M,) (any shape) discriminator logits ℓ on G(z); D(G(z)) = σ(ℓ).
        kind: ``"minimax"``  → mean log(1 − D(G(z)))  (the original game; minimise it);
              ``"non_saturating"`` (default) → −mean log D(G(z)).

    Returns:
        Scalar (0-dim tensor), the mean over all elements. Stable for logits of ±100
        (softplus / logsigmoid, never log(sigmoid(·))). Differentiable in ``fake_logits``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 3. The optimal discriminator
#
# For a fixed generator with density p_G, V(D, G) = ∫ p_data(x) log D(x) + p_G(x) log(1 − D(x)) dx
# is maximised pointwise: a log a' + b log(1 − a') is maximal at a' = a / (a + b), so
#
#     D*(x) = p_data(x) / (p_data(x) + p_G(x)).
#
# Where both densities vanish the value of D does not matter; we use D* = 1/2 there (0/0 → 0.5).

# %%
def optimal_discriminator(p_data: torch.Tensor, p_model: torch.Tensor) -> torch.Tensor:
    """Elementwise D*(x) = p_data(x) / (p_data(x) + p_model(x)).

    Args:
        p_data: (...) density values p_data(x) ≥ 0 (may be tiny, e.g. 1e-30 in a Gaussian
            tail, or exactly 0).
        p_model: (...) density values p_G(x) ≥ 0, broadcastable against ``p_data``.

    Returns:
        (...) the broadcast shape, values in [0, 1]; exactly 0.5 where both densities are 0.
        Use the exact ratio: no "+ eps" in the denominator (it changes D* for tiny densities).
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 4. ジェンセン・シャノン情報量 (Jensen–Shannon divergence)
#
# With the mixture M = (p + q) / 2,
#
#     JS(p ‖ q) = ½ KL(p ‖ M) + ½ KL(q ‖ M),   KL(p ‖ M) = Σ_k p_k log(p_k / M_k).
#
# Unlike KL it is symmetric, always finite, 0 if and only if p = q, and at most log 2
# (reached when p and q have disjoint supports). Terms with p_k = 0 contribute 0 (0 · log 0 = 0);
# `torch.xlogy(a, b)` computes a · log b with exactly this convention.

# %%
def js_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Jensen–Shannon divergence JS(p‖q) = ½ KL(p‖M) + ½ KL(q‖M), M = (p + q)/2.

    Args:
        p: (..., K) discrete distributions along the last dim (entries ≥ 0, summing to 1;
            entries may be exactly 0).
        q: (..., K) the same, broadcastable against ``p``.

    Returns:
        (...) one value per distribution (the last dim reduced), natural log, with
        0 · log 0 = 0 (never NaN). The result lies in [0, log 2].
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 5. The value of the game at the optimal discriminator
#
# Plugging D* into V gives the lecture's result
#
#     V(D*, G) = Σ_k p_data,k log D*_k + Σ_k p_G,k log(1 − D*_k) = 2 · JS(p_data ‖ p_G) − log 4,
#
# so training G against an optimal discriminator minimises the ジェンセン・シャノン情報量, and the
# global optimum p_G = p_data has V = −log 4.

# %%
def value_at_optimum(p_data: torch.Tensor, p_model: torch.Tensor) -> torch.Tensor:
    """V(D*, G) for discrete distributions: Σ p_data log D* + Σ p_model log(1 − D*).

    Args:
        p_data: (..., K) discrete distributions along the last dim (may contain zeros).
        p_model: (..., K) the same, broadcastable against ``p_data``.

    Returns:
        (...) the value (a sum over the last dim — the expectations are sums weighted by the
        probabilities, not plain means), with 0 · log 0 = 0. It equals 2·JS − log 4.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## Try it
#
# A confident discriminator (logit −10 on a fake) gives the minimax generator almost no
# gradient, the non-saturating one a useful one:

# %%
if __name__ == "__main__":
    logit = torch.tensor([-10.0], requires_grad=True)
    for kind in ("minimax", "non_saturating"):
        (g,) = torch.autograd.grad(generator_loss(logit, kind), logit)
        print(f"{kind:>15}: d loss / d logit = {g.item():.2e}")
    p = torch.tensor([0.5, 0.5, 0.0])
    q = torch.tensor([0.0, 0.5, 0.5])
    print("JS =", js_divergence(p, q).item(), " 2·JS − log 4 =", 2 * js_divergence(p, q).item() - math.log(4),
          " V(D*, G) =", value_at_optimum(p, q).item())


# %% [markdown]
# ## Check your work
#
# Run the cell below: `check("gan")` runs the public tests on the cells you have executed
# (`check("gan", "FUNCTION")`: only the tests of one function); your grade also counts hidden
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

    check("gan")
