# %% [markdown]
# # Assignment 2 — Gaussian mixtures and the EM algorithm (ガウス混合モデル と EMアルゴリズム)
#
# A **Gaussian mixture model** (ガウス混合モデル, GMM) with K components explains each point
# x ∈ R^D as drawn from one of K Gaussians: first a hidden (latent, 潜在変数) component
# z ∈ {1, …, K} is chosen with probability π_k (the **mixture weights**, 混合係数), then
# x ~ N(μ_k, Σ_k). Marginalising z gives the density
#
#     p(x) = Σ_k π_k N(x; μ_k, Σ_k),
#     log N(x; μ, Σ) = −½ [ D log 2π + log det Σ + (x − μ)ᵀ Σ⁻¹ (x − μ) ].
#
# The log-likelihood of data x_1 … x_N, Σ_n log Σ_k π_k N(x_n; μ_k, Σ_k), has a sum inside
# the log, so there is no closed-form maximum. The **EM algorithm** (EMアルゴリズム) maximises
# it by alternating two steps:
#
# - **E-step**: with the current parameters, compute the **responsibilities** (負担率)
#   γ_nk = p(z_n = k | x_n) = π_k N(x_n; μ_k, Σ_k) / Σ_j π_j N(x_n; μ_j, Σ_j);
# - **M-step**: maximise the expected complete-data log-likelihood
#   Q(θ) = Σ_n Σ_k γ_nk [ log π_k + log N(x_n; μ_k, Σ_k) ], which gives, with N_k = Σ_n γ_nk,
#   π_k = N_k / N,   μ_k = (1/N_k) Σ_n γ_nk x_n,   Σ_k = (1/N_k) Σ_n γ_nk (x_n − μ_k)(x_n − μ_k)ᵀ.
#
# Each EM iteration never decreases the log-likelihood.
#
# **Numerical stability.** For a point far from every component each N(x; μ_k, Σ_k)
# underflows to 0 in floating point (a point 40 standard deviations away already has
# density e^{−800}), and log Σ_k π_k N(…) becomes log 0 = −∞, responsibilities 0/0 = NaN.
# Work with logarithms throughout: compute a_nk = log π_k + log N(x_n; μ_k, Σ_k) and use
# **log-sum-exp**, log Σ_k exp(a_nk) = m + log Σ_k exp(a_nk − m) with m = max_k a_nk
# (`torch.logsumexp`). The tests use points 1000 standard deviations from every component.
# For log N use a Cholesky factor Σ = L Lᵀ: log det Σ = 2 Σ_i log L_ii, and
# (x − μ)ᵀ Σ⁻¹ (x − μ) = ‖L⁻¹ (x − μ)‖² with a triangular solve.
#
# Parameters are always: `weights` (K,) summing to 1, `means` (K, D), `covs` (K, D, D)
# symmetric positive definite.
#
# Conventions (they hold for every function below):
# - inputs are `torch.Tensor`s; results have the dtype and device of the inputs
#   (float32 or float64);
# - never modify an input in place;
# - `log` is the natural logarithm.
#
# Where it comes from: the mixture model, the E-step, the M-step and the EM loop are the
# lecture's Gaussian-mixture part (混合ガウス分布 and the EM algorithm). The tests demand the
# log-space (log-sum-exp) evaluation below; `reg_covar` is scikit-learn's `GaussianMixture`
# convention, not the lecture's.

# %%
import math

import torch

# %% [markdown]
# ## 0. A helper: the weighted component log-densities
#
# Both the log-likelihood and the E-step need the matrix a_nk = log π_k + log N(x_n; μ_k, Σ_k).
# This helper is not graded on its own; use it in the functions below.

# %%
def weighted_log_densities(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor,
                           covs: torch.Tensor) -> torch.Tensor:
    """a_nk = log π_k + log N(x_n; μ_k, Σ_k) for every point and component.

    Args:
        x: (N, D) data points.
        weights: (K,) mixture weights π_k > 0 summing to 1.
        means: (K, D) component means μ_k.
        covs: (K, D, D) symmetric positive definite covariances Σ_k.

    Returns:
        (N, K) tensor, finite even for points far from every component (work in log space:
        log N(x; μ, Σ) = −½ [D log 2π + log det Σ + (x − μ)ᵀ Σ⁻¹ (x − μ)]).
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 1. The log-likelihood of a mixture
#
#     log p(x_n) = log Σ_k π_k N(x_n; μ_k, Σ_k) = logsumexp_k a_nk.

# %%
def gmm_log_likelihood(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor,
                       covs: torch.Tensor) -> torch.Tensor:
    """Per-point log-likelihood log p(x_n) = log Σ_k π_k N(x_n; μ_k, Σ_k).

    Args:
        x: (N, D) data points.
        weights: (K,) mixture weights summing to 1.
        means: (K, D) component means.
        covs: (K, D, D) symmetric positive definite covariances.

    Returns:
        (N,) one log-likelihood per point (not summed, not averaged). Stable: use
        log-sum-exp over the components, so that a point 1000 standard deviations away
        from every component gets a finite (very negative) value, never −inf.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 2. E-step: responsibilities (負担率)
#
#     γ_nk = exp( a_nk − logsumexp_j a_nj ).
#
# Normalising in log space first keeps every row finite, and each row sums to 1.

# %%
def e_step(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor,
           covs: torch.Tensor) -> torch.Tensor:
    """Responsibilities γ_nk = π_k N(x_n; μ_k, Σ_k) / Σ_j π_j N(x_n; μ_j, Σ_j).

    Args:
        x: (N, D) data points.
        weights: (K,) mixture weights summing to 1.
        means: (K, D) component means.
        covs: (K, D, D) symmetric positive definite covariances.

    Returns:
        (N, K) responsibilities: column k belongs to component k, every entry in [0, 1],
        every row sums to 1. Stable: normalise in log space (log-sum-exp), so a point far
        from every component still gets a valid row (no NaN).
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 3. M-step
#
# Setting the derivatives of Q(θ) to zero (with a Lagrange multiplier for Σ_k π_k = 1) gives
#
#     N_k = Σ_n γ_nk,   π_k = N_k / N,   μ_k = (1/N_k) Σ_n γ_nk x_n,
#     Σ_k = (1/N_k) Σ_n γ_nk (x_n − μ_k)(x_n − μ_k)ᵀ + reg_covar · I.
#
# The covariance uses the *new* mean μ_k and divides by N_k (the weighted maximum-likelihood
# estimate, not an "unbiased" N_k − 1 version). A component that owns only a few points can
# get a (nearly) singular covariance; like scikit-learn's `GaussianMixture`, we add a small
# `reg_covar` to every diagonal entry (and only to the diagonal).

# %%
def m_step(x: torch.Tensor, resp: torch.Tensor, reg_covar: float = 1e-6):
    """Parameters maximising the expected complete-data log-likelihood.

    Q(θ) = Σ_n Σ_k γ_nk [log π_k + log N(x_n; μ_k, Σ_k)] is maximised by
    π_k = N_k / N, μ_k = Σ_n γ_nk x_n / N_k, Σ_k = Σ_n γ_nk (x_n − μ_k)(x_n − μ_k)ᵀ / N_k
    with N_k = Σ_n γ_nk.

    Args:
        x: (N, D) data points.
        resp: (N, K) responsibilities (rows sum to 1, every column sum N_k > 0).
        reg_covar: a float ≥ 0 added to every *diagonal* entry of every covariance
            (as scikit-learn does); off-diagonal entries are unchanged.

    Returns:
        ``(weights (K,), means (K, D), covs (K, D, D))``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 4. The EM loop
#
# Starting from the given parameters θ⁰, repeat: E-step, M-step. Keep a history of the
# **mean** log-likelihood (1/N) Σ_n log p(x_n | θ):
#
#     history = [ ℓ(θ⁰), ℓ(θ¹), …, ℓ(θᵗ) ],
#
# i.e. the value under the parameters *before* each E-step, plus the value under the final
# parameters, so `len(history) == iterations + 1`. Stop after `n_iter` iterations, or as
# soon as an iteration improves the mean log-likelihood by less than `tol`:
# ℓ(θᵗ) − ℓ(θᵗ⁻¹) < tol (that iteration counts and its parameters are returned).
# EM never decreases ℓ, so `history` is non-decreasing.

# %%
def fit_gmm(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor, covs: torch.Tensor,
            n_iter: int = 100, tol: float = 1e-6, reg_covar: float = 1e-6):
    """Run EM from the given initial parameters.

    Args:
        x: (N, D) data points.
        weights, means, covs: initial parameters, shapes (K,), (K, D), (K, D, D).
        n_iter: the maximum number of iterations (E-step + M-step); 0 returns the initial
            parameters and a history of length 1.
        tol: stop after the first iteration whose improvement of the mean log-likelihood,
            ℓ(θᵗ) − ℓ(θᵗ⁻¹), is less than ``tol``.
        reg_covar: passed to every M-step.

    Returns:
        ``(weights, means, covs, history)``: the final parameters and a 1-D tensor (dtype of
        ``x``) of mean log-likelihoods, history[0] under the initial parameters and
        history[t] after iteration t, so ``len(history) == iterations + 1``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 5. Try it
#
# Three well-separated clusters in 2-D; EM from a rough initial guess. The history should
# rise and level off, and the fitted means should sit at the cluster centres.

# %%
if __name__ == "__main__":
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]], dtype=torch.float64)
    x = torch.cat([c + torch.randn(200, 2, generator=gen, dtype=torch.float64) for c in centres])
    w0 = torch.full((3,), 1 / 3, dtype=torch.float64)
    m0 = centres + 2 * torch.randn(3, 2, generator=gen, dtype=torch.float64)
    c0 = torch.eye(2, dtype=torch.float64).repeat(3, 1, 1)
    w, m, c, history = fit_gmm(x, w0, m0, c0)
    print("iterations:", len(history) - 1)
    print("mean log-likelihood:", history[0].item(), "->", history[-1].item())
    print("weights:", w)
    print("means:", m)


# %% [markdown]
# ## Check your work
#
# Run the cell below: `check("gmm")` runs the public tests on the cells you have executed
# (`check("gmm", "FUNCTION")`: only the tests of one function); your grade also counts hidden
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

    check("gmm")
