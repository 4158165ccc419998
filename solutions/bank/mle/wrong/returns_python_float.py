"""MISTAKE: bernoulli_mle returns a Python float (.item()) instead of a 0-dim tensor."""
# expect-hint: Return a tensor
import math

import torch

def bernoulli_log_likelihood(theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean Bernoulli log-likelihood (1/N) Σ [x log θ + (1 − x) log(1 − θ)].

    Args:
        theta: 0-dim tensor, the probability of a 1, in [0, 1].
        x: (N,) tensor of 0.0 / 1.0 values.

    Returns:
        0-dim tensor. Uses 0·log 0 = 0: θ = 1 with all-ones data gives 0 (not NaN), and
        θ = 0 with a 1 in the data gives −inf. Differentiable in ``theta`` for θ in (0, 1).
    """
    # xlogy(0, 0) = 0 implements the 0·log 0 = 0 convention
    return (torch.xlogy(x, theta) + torch.xlogy(1 - x, 1 - theta)).mean()


def bernoulli_mle(x: torch.Tensor) -> torch.Tensor:
    """Maximum-likelihood θ̂ for Bernoulli data: the fraction of ones.

    Args:
        x: (N,) tensor of 0.0 / 1.0 values.

    Returns:
        0-dim tensor θ̂ (same dtype as ``x``).
    """
    return x.mean().item()

def gaussian_log_pdf(x: torch.Tensor, mu: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(x; μ, σ²) = −½ log(2πσ²) − (x − μ)² / (2σ²).

    Args:
        x, mu, var: tensors that broadcast against each other; ``var`` > 0 is the variance
            σ² (not the standard deviation).

    Returns:
        Tensor of the broadcast shape.
    """
    return -0.5 * (math.log(2 * math.pi) + torch.log(var) + (x - mu) ** 2 / var)


def gaussian_mle(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximum-likelihood mean and variance of 1-D data.

    Args:
        x: (N,) tensor.

    Returns:
        ``(mu, var)``: two 0-dim tensors; ``var`` is the MLE (biased, divide by N) variance.
    """
    mu = x.mean()
    var = ((x - mu) ** 2).mean()
    return mu, var

def mvn_mle(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximum-likelihood mean and covariance.

    Args:
        x: (N, D) tensor, one observation per row.

    Returns:
        ``(mu, cov)`` with ``mu`` (D,) and ``cov`` (D, D), the 1/N covariance.
    """
    mu = x.mean(dim=0)
    centered = x - mu
    cov = centered.T @ centered / x.shape[0]
    return mu, cov


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
    d = x.shape[-1]
    chol = torch.linalg.cholesky(cov)
    diff = (x - mu).unsqueeze(-1)  # (..., D, 1)
    batch = torch.broadcast_shapes(diff.shape[:-2], chol.shape[:-2])
    sol = torch.linalg.solve_triangular(chol.expand(*batch, d, d), diff.expand(*batch, d, 1), upper=False)
    maha = (sol.squeeze(-1) ** 2).sum(-1)
    logdet = 2 * torch.log(torch.diagonal(chol)).sum()
    return -0.5 * (d * math.log(2 * math.pi) + logdet + maha)
