"""Hidden end-to-end test: EM recovers the components of a well-separated mixture."""

from __future__ import annotations

import itertools

import pytest
import torch

from autograder.testing import expect_tensor, fail, points

F64 = torch.float64


@pytest.mark.slow
@points(3)
def test_em_recovers_well_separated_mixture(student):
    """fit_gmm: EM from a rough start recovers the weights, means and covariances of 3 clusters"""
    gen = torch.Generator().manual_seed(2024)
    weights = torch.tensor([0.5, 0.3, 0.2], dtype=F64)
    means = torch.tensor([[0.0, 0.0, 0.0], [8.0, 0.0, 2.0], [0.0, 8.0, -2.0]], dtype=F64)
    a = torch.randn(3, 3, 3, generator=gen, dtype=F64)
    covs = a @ a.transpose(1, 2) / 3 + 0.5 * torch.eye(3, dtype=F64)
    n = 900
    comp = torch.multinomial(weights, n, replacement=True, generator=gen)
    noise = torch.randn(n, 3, 1, generator=gen, dtype=F64)
    x = means[comp] + (torch.linalg.cholesky(covs)[comp] @ noise).squeeze(-1)
    # a rough start: uniform weights, means 2 units off, unit covariances, components shuffled
    order = torch.tensor([2, 0, 1])
    w0 = torch.full((3,), 1 / 3, dtype=F64)
    m0 = means[order] + 2.0 * torch.randn(3, 3, generator=gen, dtype=F64).clamp(-1, 1)
    c0 = torch.eye(3, dtype=F64).repeat(3, 1, 1)
    call = "fit_gmm(x, weights, means, covs, n_iter=200, tol=1e-8)"
    got = student.fit_gmm(x, w0, m0, c0, n_iter=200, tol=1e-8)
    if not isinstance(got, (tuple, list)) or len(got) != 4:
        fail(f"{call}\n  expected a tuple (weights, means, covs, history).")
    w = expect_tensor(got[0], call=call + " weights", shape=(3,)).to(F64)
    m = expect_tensor(got[1], call=call + " means", shape=(3, 3)).to(F64)
    c = expect_tensor(got[2], call=call + " covs", shape=(3, 3, 3)).to(F64)
    # match fitted components to the true ones (the fit may order them differently)
    best = min(itertools.permutations(range(3)),
               key=lambda p: float((m[list(p)] - means).norm(dim=1).sum()))
    p = list(best)
    w, m, c = w[p], m[p], c[p]
    # The clusters barely overlap, so EM's answer is (almost exactly) the maximum-likelihood
    # estimate from the true labels: each cluster's fraction, sample mean and 1/N_k covariance.
    true_w = torch.stack([(comp == k).to(F64).mean() for k in range(3)])
    true_m = torch.stack([x[comp == k].mean(0) for k in range(3)])
    true_c = torch.stack([torch.cov(x[comp == k].T, correction=0) for k in range(3)])
    mean_err = (m - true_m).norm(dim=1)
    cov_err = torch.linalg.matrix_norm(c - true_c) / torch.linalg.matrix_norm(true_c)
    weight_err = (w - true_w).abs()
    problems = []
    if float(mean_err.max()) > 0.05:
        problems.append(f"means off by up to {float(mean_err.max()):.3g} (allowed 0.05)")
    if float(cov_err.max()) > 0.05:
        problems.append(f"covariances off by up to {100 * float(cov_err.max()):.0f}% "
                        "(relative Frobenius error, allowed 5%)")
    if float(weight_err.max()) > 0.01:
        problems.append(f"weights off by up to {float(weight_err.max()):.3g} (allowed 0.01)")
    if problems:
        found = "; ".join(problems)
        fail(f"{call}\n  on 900 points from 3 well-separated Gaussians in 3-D, starting from "
             f"means 2 units off: EM did not recover the mixture: {found}.\n  cluster fractions {[round(v, 3) for v in true_w.tolist()]}, fitted weights "
             f"{[round(v, 3) for v in w.tolist()]};\n  cluster means "
             f"{[[round(v, 2) for v in r] for r in true_m.tolist()]}, fitted "
             f"{[[round(v, 2) for v in r] for r in m.tolist()]}.")
