"""Correct, written with Python loops: log2 for bits, an LU solve and slogdet for the Gaussian,
a two-pointer merge over the sorted scores for the AUROC, hand-made linear interpolation."""

import math

import torch


def bits_per_dim(log_px, num_dims, bin_width=None):
    bits_of_bin = 0.0 if bin_width is None else num_dims * math.log2(bin_width)
    return -(log_px / math.log(2) + bits_of_bin) / num_dims


def gaussian_expected_log_prob(mu, cov, m, S):
    d = mu.shape[0]
    diff = m - mu
    total = d * math.log(2 * math.pi) + torch.linalg.slogdet(cov)[1]
    total = total + torch.trace(torch.linalg.solve(cov, S)) + diff @ torch.linalg.solve(cov, diff)
    return -0.5 * total


def auroc(scores_in, scores_out):
    ins = sorted(scores_in.tolist())
    wins, below, equal_end = 0.0, 0, 0
    for s in sorted(scores_out.tolist()):
        while below < len(ins) and ins[below] < s:
            below += 1
        equal_end = max(equal_end, below)
        while equal_end < len(ins) and ins[equal_end] == s:
            equal_end += 1
        wins += below + 0.5 * (equal_end - below)
    return torch.tensor(wins / (len(ins) * scores_out.numel()), dtype=torch.float64, device=scores_in.device)


def typicality_score(log_px, entropy):
    h = torch.as_tensor(entropy, dtype=log_px.dtype, device=log_px.device)
    return torch.stack([(-row.mean() - h).abs() for row in log_px])


def typicality_threshold(log_px_val, entropy, batch_idx, alpha):
    scores = torch.sort(typicality_score(log_px_val[batch_idx], entropy)).values
    pos = (1 - alpha) * (len(scores) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(scores) - 1)
    return scores[lo] + (pos - lo) * (scores[hi] - scores[lo])


def typicality_test(log_px, entropy, threshold):
    scores = typicality_score(log_px, entropy)
    return torch.tensor([bool(s > threshold) for s in scores], dtype=torch.bool, device=log_px.device)
