# %% [markdown]
# # Assignment 1 — Maximum likelihood estimation (最尤推定)
#
# Given data $x_1, \dots, x_N$ drawn independently from a model $p(x \mid \theta)$, the
# **maximum-likelihood estimate** (最尤推定量) is the parameter that makes the data most
# probable:
#
# $$\hat\theta = \arg\max_\theta \; \frac{1}{N} \sum_{n=1}^N \log p(x_n \mid \theta)$$
#
# (the log-likelihood, 対数尤度). You will implement it for the Bernoulli distribution
# (ベルヌーイ分布, a coin) and for the Gaussian (正規分布 / ガウス分布), in one and in D
# dimensions.
#
# Conventions the grader relies on:
# - inputs and outputs are `torch.Tensor`s; a "scalar" is a 0-dim tensor (return `x.mean()`,
#   not `x.mean().item()`);
# - work for `float32` and `float64`, return the input's dtype and device, never modify the
#   inputs in place;
# - `log` is the natural logarithm and `0 · log 0 = 0`;
# - where a docstring says "stable", the tests use extreme inputs (points thousands of
#   standard deviations from the mean, condition numbers of 1e8).
#
# Where it comes from: sections 1 and 2 are the lecture's maximum-likelihood part (最尤推定;
# the coin `[1, 0, 1, 0, 1, 1, 0]` is the lecture's example). Section 3, the multivariate
# Gaussian, is the density that the lecture's mixture part (assignment 2) builds on; its
# stable evaluation with a Cholesky factor is a requirement of this course (the tests check it).

# %%
import math

import torch

# %% [markdown]
# ## 1. Bernoulli (ベルヌーイ分布)
#
# A coin lands heads ($x=1$) with probability $\theta$:
# $p(x \mid \theta) = \theta^x (1-\theta)^{1-x}$, so
#
# $$\frac{1}{N}\log L(\theta) = \frac{1}{N}\sum_n \left[x_n \log\theta + (1-x_n)\log(1-\theta)\right].$$
#
# Setting the derivative to zero gives $\hat\theta = \frac{1}{N}\sum_n x_n$: the fraction of
# heads. The lecture's coin `[1, 0, 1, 0, 1, 1, 0]` gives $\hat\theta = 4/7$.

# %%
def bernoulli_log_likelihood(theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean Bernoulli log-likelihood (1/N) Σ [x log θ + (1 − x) log(1 − θ)].

    Args:
        theta: 0-dim tensor, the probability of a 1, in [0, 1].
        x: (N,) tensor of 0.0 / 1.0 values.

    Returns:
        0-dim tensor. Uses 0·log 0 = 0: θ = 1 with all-ones data gives 0 (not NaN), and
        θ = 0 with a 1 in the data gives −inf. Differentiable in ``theta`` for θ in (0, 1).
    """
    # BEGIN SOLUTION
    # xlogy(0, 0) = 0 implements the 0·log 0 = 0 convention
    return (torch.xlogy(x, theta) + torch.xlogy(1 - x, 1 - theta)).mean()
    # END SOLUTION


def bernoulli_mle(x: torch.Tensor) -> torch.Tensor:
    """Maximum-likelihood θ̂ for Bernoulli data: the fraction of ones.

    Args:
        x: (N,) tensor of 0.0 / 1.0 values.

    Returns:
        0-dim tensor θ̂ (same dtype as ``x``).
    """
    # BEGIN SOLUTION
    return x.mean()
    # END SOLUTION


# %% [markdown]
# ## 2. Gaussian (正規分布)
#
# $$\log \mathcal N(x;\mu,\sigma^2) = -\tfrac12\log(2\pi\sigma^2) - \frac{(x-\mu)^2}{2\sigma^2}$$
#
# The MLE is the sample mean and the **biased** variance (divide by $N$, not $N-1$):
# $\hat\mu = \frac1N\sum_n x_n$, $\hat\sigma^2 = \frac1N\sum_n (x_n-\hat\mu)^2$.

# %%
def gaussian_log_pdf(x: torch.Tensor, mu: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(x; μ, σ²) = −½ log(2πσ²) − (x − μ)² / (2σ²).

    Args:
        x, mu, var: tensors that broadcast against each other; ``var`` > 0 is the variance
            σ² (not the standard deviation).

    Returns:
        Tensor of the broadcast shape and dtype. Stable far in the tails: the tests use x and
        μ up to ±50 apart with σ² down to 1e-3 (points thousands of standard deviations from
        the mean, where the density itself underflows to 0), so compute the log-density
        directly from the formula above — never the density first and then its log.
    """
    # BEGIN SOLUTION
    return -0.5 * (math.log(2 * math.pi) + torch.log(var) + (x - mu) ** 2 / var)
    # END SOLUTION


def gaussian_mle(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximum-likelihood mean and variance of 1-D data.

    Args:
        x: (N,) tensor.

    Returns:
        ``(mu, var)``: two 0-dim tensors; ``var`` is the MLE (biased, divide by N) variance.
    """
    # BEGIN SOLUTION
    mu = x.mean()
    var = ((x - mu) ** 2).mean()
    return mu, var
    # END SOLUTION


# %% [markdown]
# ## 3. Multivariate Gaussian (多変量正規分布)
#
# $$\log \mathcal N(x;\mu,\Sigma) = -\tfrac12\left[D\log 2\pi + \log\det\Sigma + (x-\mu)^\top\Sigma^{-1}(x-\mu)\right]$$
#
# Never form $\Sigma^{-1}$ explicitly: with the Cholesky factor $\Sigma = LL^\top$,
# $\log\det\Sigma = 2\sum_i \log L_{ii}$ and the Mahalanobis term is $\lVert L^{-1}(x-\mu)\rVert^2$,
# computed with a triangular solve. This stays accurate for D = 100 and condition numbers
# of $10^8$. The MLE is $\hat\mu = \frac1N\sum_n x_n$ and
# $\hat\Sigma = \frac1N\sum_n (x_n-\hat\mu)(x_n-\hat\mu)^\top$.

# %%
def mvn_mle(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximum-likelihood mean and covariance.

    Args:
        x: (N, D) tensor, one observation per row.

    Returns:
        ``(mu, cov)`` with ``mu`` (D,) and ``cov`` (D, D), the 1/N covariance.
    """
    # BEGIN SOLUTION
    mu = x.mean(dim=0)
    centered = x - mu
    cov = centered.T @ centered / x.shape[0]
    return mu, cov
    # END SOLUTION


def mvn_log_pdf(x: torch.Tensor, mu: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    """log N(x; μ, Σ) for each row of ``x``.

    Args:
        x: (..., D) tensor.
        mu: (D,) mean.
        cov: (D, D) symmetric positive-definite covariance.

    Returns:
        Tensor of shape (...). Must stay accurate for D up to 100 and condition numbers up
        to 1e8: use a Cholesky factorisation and a triangular solve, not ``torch.inverse``.
    """
    # BEGIN SOLUTION
    d = x.shape[-1]
    chol = torch.linalg.cholesky(cov)
    diff = (x - mu).unsqueeze(-1)  # (..., D, 1)
    batch = torch.broadcast_shapes(diff.shape[:-2], chol.shape[:-2])
    sol = torch.linalg.solve_triangular(chol.expand(*batch, d, d), diff.expand(*batch, d, 1), upper=False)
    maha = (sol.squeeze(-1) ** 2).sum(-1)
    logdet = 2 * torch.log(torch.diagonal(chol)).sum()
    return -0.5 * (d * math.log(2 * math.pi) + logdet + maha)
    # END SOLUTION


# %% [markdown]
# ## Check your work
#
# Run the cell below: `check("mle")` runs the public tests on the cells you have executed
# (`check("mle", "FUNCTION")`: only the tests of one function); your grade also counts hidden
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

    check("mle")
