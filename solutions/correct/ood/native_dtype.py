"""Correct, keeping the scores' own dtype: sorting and counting in float32 when the scores are
float32 (comparisons are exact), only the final ratio in float64; slogdet and triangular solves."""

import math

import torch


def bits_per_dim(log_px, num_dims, bin_width=None):
    log_p = log_px.clone()
    if bin_width is not None:
        log_p = log_p + num_dims * math.log(bin_width)
    return log_p / (-num_dims * math.log(2.0))


def gaussian_expected_log_prob(mu, cov, m, S):
    chol = torch.linalg.cholesky(cov)
    y = torch.linalg.solve_triangular(chol, (m - mu)[:, None], upper=False)
    w = torch.linalg.solve_triangular(chol, torch.linalg.cholesky(S), upper=False)  # L⁻¹ L_S
    trace = (w * w).sum()  # ‖L⁻¹ L_S‖_F² = tr(cov⁻¹ S)
    return -0.5 * (mu.shape[0] * math.log(2 * math.pi) + torch.linalg.slogdet(cov)[1] + trace + (y * y).sum())


def auroc(scores_in, scores_out):
    sorted_in, _ = torch.sort(scores_in)
    less = torch.searchsorted(sorted_in, scores_out)
    less_or_equal = torch.searchsorted(sorted_in, scores_out, side="right")
    twice_wins = (less + less_or_equal).sum()  # int64, exact
    return twice_wins.to(torch.float64) / (2.0 * scores_in.numel() * scores_out.numel())


def typicality_score(log_px, entropy):
    m = log_px.shape[-1]
    return (log_px.sum(-1) / m + entropy).abs().to(log_px.dtype)


def typicality_threshold(log_px_val, entropy, batch_idx, alpha):
    scores = typicality_score(log_px_val[batch_idx], entropy)
    r = scores.numel()
    pos = (1 - alpha) * (r - 1)
    k = int(pos)
    lower = torch.kthvalue(scores, k + 1).values
    upper = torch.kthvalue(scores, min(k + 2, r)).values
    return lower + (pos - k) * (upper - lower)


def typicality_test(log_px, entropy, threshold):
    return typicality_score(log_px, entropy).gt(threshold)
