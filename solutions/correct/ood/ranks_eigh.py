"""Correct, with other formulas: the Gaussian through an eigendecomposition, the AUROC from the
average ranks of the pooled scores (the Mann–Whitney U statistic)."""

import math

import torch


def bits_per_dim(log_px, num_dims, bin_width=None):
    nats = -log_px / num_dims - (0.0 if bin_width is None else math.log(bin_width))
    return nats / math.log(2)


def gaussian_expected_log_prob(mu, cov, m, S):
    eig, v = torch.linalg.eigh(cov)  # cov = V diag(eig) Vᵀ
    rotated = v.T @ (m - mu)
    trace = (torch.diagonal(v.T @ S @ v) / eig).sum()
    maha = (rotated * rotated / eig).sum()
    return -0.5 * (mu.numel() * math.log(2 * math.pi) + torch.log(eig).sum() + trace + maha)


def auroc(scores_in, scores_out):
    n_in, n_out = scores_in.numel(), scores_out.numel()
    pooled = torch.cat([scores_in, scores_out]).to(torch.float64)
    _, group, counts = torch.unique(pooled, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).to(torch.float64)
    average_rank = ends - (counts.to(torch.float64) - 1) / 2  # ranks from 1; ties share their mean rank
    rank_sum_out = average_rank[group[n_in:]].sum()
    return (rank_sum_out - n_out * (n_out + 1) / 2) / (n_in * n_out)


def typicality_score(log_px, entropy):
    return torch.abs(log_px.mean(-1) + entropy).to(log_px.dtype)


def typicality_threshold(log_px_val, entropy, batch_idx, alpha):
    scores = typicality_score(log_px_val[batch_idx], entropy)
    return torch.quantile(scores, torch.tensor(1 - alpha, dtype=scores.dtype))


def typicality_test(log_px, entropy, threshold):
    return torch.gt(typicality_score(log_px, entropy), threshold)
