# %% [markdown]
# # Assignment 12 — Likelihoods and out-of-distribution data (尤度 と 分布外データ)
#
# A density model p(x) trained on one data set gives every input a **likelihood** (尤度)
# p(x). It is tempting to use it as an **out-of-distribution detector** (分布外データの検出):
# an input the model has never seen the like of should get a low likelihood. The lecture
# (slide 91) shows that this fails: a model trained on CIFAR10 gives the digits of SVHN a
# *higher* likelihood than CIFAR10's own test images (Nalisnick et al., "Do deep generative
# models know what they don't know?", ICLR 2019). In this assignment you measure the effect,
# see why a Gaussian already shows it, and implement a fix.
#
# **Why it happens, in two lines.** For a Gaussian model N(μ, Σ) and data x ~ N(m, S), the
# expected log-likelihood is, in closed form,
#
#     E_{x ~ N(m, S)}[ ln N(x; μ, Σ) ] = −½ ( D ln 2π + ln |Σ| + tr(Σ⁻¹ S) + (m − μ)ᵀ Σ⁻¹ (m − μ) ).
#
# Data *shrunk towards the mean* (m = μ, S ≺ Σ: less varied, "simpler" images like SVHN's)
# get a larger value than the training distribution itself (S = Σ), by ½ tr(I − Σ⁻¹ S) > 0.
# The density is highest at the mode, but typical samples of a high-dimensional Gaussian lie
# far from the mode, on a thin shell (the **typical set**, 典型集合).
#
# **The fix (beyond the slides).** Nalisnick, Matsukawa, Teh & Lakshminarayanan, "Detecting
# out-of-distribution inputs to deep generative models using typicality" (2019), test whether
# a *batch* of M inputs is typical: its mean negative log-likelihood should be close to the
# model's **entropy** (エントロピー) H = −E_{p}[ln p(x)], in either direction:
#
#     score(x_1 … x_M) = | −(1/M) Σ_m ln p(x_m) − H |,   flag the batch when score > threshold,
#
# with the threshold chosen on in-distribution validation data so that a fraction α of
# in-distribution batches is flagged (the false-positive rate, 偽陽性率). To compare
# detectors we use the area under the ROC curve (AUROC), also beyond the slides.
#
# Conventions (they hold for every function below):
# - inputs are `torch.Tensor`s; results have the dtype and device of `log_px` (float32 or
#   float64) unless a function says otherwise; `num_dims` is a Python int, `bin_width` and
#   `alpha` Python floats, `entropy` and `threshold` Python floats or 0-dim tensors;
# - never modify an input in place; `ln` and `log` are the natural logarithm;
# - log-likelihoods `log_px` are in nats, one per example, from any density model.
#
# Each test has a time limit of 10 s unless it says otherwise; the test of `auroc` on 10⁵ +
# 10⁵ scores allows 5 s.
#
# Where this sits in the lecture: its last part takes three topics beyond the basic models —
# 変分ベイズ (variational Bayes for mixtures, assignment 11), 分布外データ (this assignment) and
# 忘却 (making a model forget a concept, assignment 13). The slide shows the paradox (the
# histograms of log-likelihoods, CIFAR10 vs SVHN); the Gaussian explanation, the typicality
# test and the AUROC below are beyond the slides, and the 8×8 digits stand in for the
# lecture's images so that everything runs in seconds on a CPU.

# %%
import math

import torch

# %% [markdown]
# ## 1. Bits per dimension (ビット毎次元)
#
# Papers report log-likelihoods of images in **bits per dimension**: −log₂ p(x) / D. For
# images the data are discrete (integers 0 … 255) and the model a density on a rescaled
# scale (x/256, say); the probability of the bin of width `bin_width` around x on that scale
# is P(bin) ≈ p(x) · bin_width^D, so
#
#     bits/dim = −( ln p(x) + D ln bin_width ) / ( D ln 2 ).
#
# Without `bin_width` (a continuous density, or a model that already returns ln P(bin)) the
# ln term is dropped. The CIFAR10 model of the lecture's figure scores about 3.4 bits/dim on
# CIFAR10 and about 2.4 on SVHN: lower bits/dim = higher likelihood.

# %%
def bits_per_dim(log_px: torch.Tensor, num_dims: int, bin_width: float | None = None) -> torch.Tensor:
    """Bits per dimension −(ln p(x) + D ln bin_width) / (D ln 2).

    Args:
        log_px: (...) log-densities ln p(x) in nats on the scale the model sees, any shape.
        num_dims: D, the number of dimensions of one example (a Python int).
        bin_width: the grid spacing of the discrete data on that scale (1/256 for x/256,
            1/255 for torchvision's x/255), so that P(bin) ≈ p(x)·bin_width^D; ``None``
            (the default) drops the ln term: −ln p(x) / (D ln 2).

    Returns:
        (...) bits per dimension, the shape and dtype of ``log_px``.
    """
    # BEGIN SOLUTION
    log_p_bin = log_px if bin_width is None else log_px + num_dims * math.log(bin_width)
    return -log_p_bin / (num_dims * math.log(2))
    # END SOLUTION


# %% [markdown]
# ## 2. The expected log-likelihood of a Gaussian in closed form
#
#     E_{x ~ N(m, S)}[ ln N(x; μ, Σ) ] = −½ ( D ln 2π + ln |Σ| + tr(Σ⁻¹ S) + (m − μ)ᵀ Σ⁻¹ (m − μ) ).
#
# (Write x − μ = (x − m) + (m − μ) in ln N(x; μ, Σ) and take the expectation: the cross term
# vanishes and E[(x − m)ᵀ Σ⁻¹ (x − m)] = tr(Σ⁻¹ S).) The same formula gives the *mean*
# log-likelihood of any data set under N(μ, Σ), with m and S the data's mean and 1/N
# covariance: ln N is quadratic in x.
#
# **Stability.** The tests use D = 100 and condition numbers up to 1e8 in float64. Then
# det Σ is a product of 100 eigenvalues between 1 and 1e8 and overflows (≈ 1e400 > 1.8e308):
# compute ln |Σ| from a Cholesky factor Σ = L Lᵀ, ln |Σ| = 2 Σ_i ln L_ii (or
# `torch.linalg.slogdet`), never `log(det(Σ))`. And solve with the factor rather than forming
# Σ⁻¹: (m − μ)ᵀ Σ⁻¹ (m − μ) = ‖L⁻¹ (m − μ)‖² (`torch.linalg.solve_triangular`) and
# tr(Σ⁻¹ S) = tr(`torch.cholesky_solve(S, L)`). Solving is cheaper and never less accurate than
# inverting; to be honest, on the tests' matrices an explicit inverse happens to be accurate
# enough too — it is the determinant that breaks.

# %%
def gaussian_expected_log_prob(mu: torch.Tensor, cov: torch.Tensor, m: torch.Tensor,
                               S: torch.Tensor) -> torch.Tensor:
    """E_{x ~ N(m, S)}[ln N(x; mu, cov)] in closed form.

    −½ (D ln 2π + ln |cov| + tr(cov⁻¹ S) + (m − mu)ᵀ cov⁻¹ (m − mu)).

    Args:
        mu: (D,) mean of the model.
        cov: (D, D) symmetric positive definite covariance of the model.
        m: (D,) mean of the data distribution.
        S: (D, D) symmetric positive definite covariance of the data distribution.

    Returns:
        a 0-dim tensor (dtype of ``mu``). Stable in float64 for D up to 100 and condition
        numbers up to 1e8: ln |cov| from a factorisation (Cholesky or ``slogdet``), never
        ``log(det(cov))``; solve rather than invert. Differentiable in all four inputs.
    """
    # BEGIN SOLUTION
    d = mu.shape[-1]
    chol = torch.linalg.cholesky(cov)  # cov = L Lᵀ
    log_det = 2.0 * torch.log(torch.diagonal(chol)).sum()
    y = torch.linalg.solve_triangular(chol, (m - mu).unsqueeze(-1), upper=False)  # L⁻¹ (m − μ), (D, 1)
    maha = (y * y).sum()
    trace = torch.trace(torch.cholesky_solve(S, chol))  # tr(cov⁻¹ S)
    return -0.5 * (d * math.log(2 * math.pi) + log_det + trace + maha)
    # END SOLUTION


# %% [markdown]
# ## 3. AUROC: how well does a score separate two data sets?
#
# A detector gives each input a score, larger = more out-of-distribution (for a likelihood
# model, the score is −ln p(x)). The **AUROC** is the area under the ROC curve, which equals
# the probability that a random out-of-distribution score beats a random in-distribution one,
# ties counting ½ (the Mann–Whitney U statistic):
#
#     AUROC = 1/(N_in N_out) Σ_i Σ_j ( [s_out_j > s_in_i] + ½ [s_out_j = s_in_i] ).
#
# 1 is a perfect detector, 0.5 a coin toss, and below 0.5 the score points the wrong way —
# which is what the likelihood does on the lecture's CIFAR10 → SVHN example.
#
# **Size.** The tests use 10⁵ scores per side, under a memory cap and a time limit of a few
# seconds: the double sum has 10¹⁰ terms, so neither an (N_out, N_in) comparison matrix
# (10 GB of booleans) nor a loop over pairs will do. Sort the in-distribution scores once;
# then, for every out-of-distribution score, how many in-scores lie below it and how many
# equal it are two binary searches (`torch.searchsorted` with `right=False` and
# `right=True`): O((N_in + N_out) log N_in) in all. (Ranks of the pooled scores, with ties
# given their average rank, work too.) The result is float64 whatever the input dtype.

# %%
def auroc(scores_in: torch.Tensor, scores_out: torch.Tensor) -> torch.Tensor:
    """Area under the ROC curve, out-of-distribution = positive, larger score = more OOD.

    P(s_out > s_in) + ½ P(s_out = s_in) for independent random s_in from ``scores_in`` and
    s_out from ``scores_out``; equals ``sklearn.metrics.roc_auc_score`` with the
    out-of-distribution scores labelled 1.

    Args:
        scores_in: (N_in,) scores of in-distribution inputs, N_in ≥ 1.
        scores_out: (N_out,) scores of out-of-distribution inputs, N_out ≥ 1.

    Returns:
        a float64 0-dim tensor (on the device of the inputs), whatever their dtype. Tests use
        10⁵ scores per side: no N_in × N_out matrix, no loop over pairs (sort, then count).
    """
    # BEGIN SOLUTION
    sorted_in = torch.sort(scores_in.to(torch.float64)).values
    out = scores_out.to(torch.float64)
    below = torch.searchsorted(sorted_in, out, right=False)  # in-scores < each out-score
    at_or_below = torch.searchsorted(sorted_in, out, right=True)  # in-scores ≤ each out-score
    wins = (below + at_or_below).to(torch.float64) / 2  # ties count ½
    return wins.sum() / (scores_in.numel() * scores_out.numel())
    # END SOLUTION


# %% [markdown]
# ## 4. The typicality test (Nalisnick et al. 2019, beyond the slides)
#
# A batch of M inputs x_1 … x_M is scored by how far its mean negative log-likelihood lies
# from the model's entropy H = −E_p[ln p(x)], estimated beforehand, e.g. as −mean ln p over
# the training set:
#
#     score = | −(1/M) Σ_m ln p(x_m) − H |.
#
# The absolute value matters: a batch whose likelihood is *too high* is as atypical as one
# whose likelihood is too low — that is exactly the lecture's SVHN case.

# %%
def typicality_score(log_px: torch.Tensor, entropy) -> torch.Tensor:
    """| −mean_m log_px[b, m] − entropy | for each batch b.

    Args:
        log_px: (B, M) log-likelihoods in nats, one row per batch of M inputs.
        entropy: the model's entropy H in nats (a Python float or 0-dim tensor), used as given.

    Returns:
        (B,) scores ≥ 0, dtype of ``log_px``.
    """
    # BEGIN SOLUTION
    return (-log_px.mean(dim=-1) - entropy).abs()
    # END SOLUTION


# %% [markdown]
# ## 5. Choosing the threshold on validation data
#
# Draw R bootstrap batches of M indices into N in-distribution validation log-likelihoods
# (`batch_idx`, (R, M), given to you so the test is exact), score every batch with the
# *training* entropy, and take the (1 − α) quantile of the R scores with linear
# interpolation (as `torch.quantile` does): then about a fraction α of in-distribution
# batches scores above the threshold (the false-positive rate). Do not re-estimate H from
# the validation data.

# %%
def typicality_threshold(log_px_val: torch.Tensor, entropy, batch_idx: torch.Tensor,
                         alpha: float) -> torch.Tensor:
    """The (1 − alpha) quantile of the typicality scores of bootstrap batches.

    Args:
        log_px_val: (N,) log-likelihoods of in-distribution validation inputs.
        entropy: the model's entropy (Python float or 0-dim tensor), used as given, not
            re-estimated from ``log_px_val``.
        batch_idx: (R, M) int64 indices into ``log_px_val``: R batches of M inputs.
        alpha: the in-distribution false-positive rate, a Python float in (0, 1).

    Returns:
        a 0-dim tensor (dtype of ``log_px_val``): the (1 − alpha) quantile, linear
        interpolation as ``torch.quantile``, of ``typicality_score(log_px_val[batch_idx], entropy)``.
    """
    # BEGIN SOLUTION
    scores = typicality_score(log_px_val[batch_idx], entropy)  # (R,)
    return torch.quantile(scores, 1 - alpha)
    # END SOLUTION


# %% [markdown]
# ## 6. The test

# %%
def typicality_test(log_px: torch.Tensor, entropy, threshold) -> torch.Tensor:
    """Flag atypical batches: ``typicality_score(log_px, entropy) > threshold``.

    Args:
        log_px: (B, M) log-likelihoods, one row per batch of M inputs.
        entropy: the model's entropy (Python float or 0-dim tensor).
        threshold: from :func:`typicality_threshold` (Python float or 0-dim tensor).

    Returns:
        (B,) bool tensor, ``True`` = out of distribution (strictly above the threshold).
    """
    # BEGIN SOLUTION
    return typicality_score(log_px, entropy) > threshold
    # END SOLUTION


# %% [markdown]
# ## 7. Try it: the lecture's picture with a Gaussian on 8×8 digits
#
# We fit a Gaussian to scikit-learn's 8×8 digits (pixel values 0 … 16, so the grid spacing is 1;
# we keep the 48 pixels that vary, the border ones are almost always 0) and compare held-out digits with the same digits *shrunk towards the
# mean*, x ↦ μ + 0.7 (x − μ): blurred, low-contrast, "simpler" images, our stand-in for SVHN.
# The histograms of bits/dim (one `#` or `o` per 3 examples) show the shrunk digits with
# the *lower* bits/dim, i.e. the higher likelihood, AUROC of −ln p below 0.5; the typicality
# test on batches of M = 10, with a threshold for α = 5 % false positives, still flags them. (Needs scikit-learn for the data.)

# %%
if __name__ == "__main__":
    from sklearn.datasets import load_digits

    gen = torch.Generator().manual_seed(0)
    digits = torch.tensor(load_digits().data, dtype=torch.float64)[torch.randperm(1797, generator=gen)]
    digits = digits[:, digits.std(0) > 1.0]
    d = digits.shape[1]
    train, val, test = digits[:1000], digits[1000:1400], digits[1400:]
    mu = train.mean(0)
    cov = torch.cov(train.T, correction=0) + torch.eye(d, dtype=torch.float64)  # + I: a little smoothing
    model = torch.distributions.MultivariateNormal(mu, cov)
    shrunk = mu + 0.7 * (test - mu)
    lp_train, lp_val, lp_in, lp_out = (model.log_prob(x) for x in (train, val, test, shrunk))

    print("closed form, training distribution:",
          gaussian_expected_log_prob(mu, cov, mu, torch.cov(train.T, correction=0)).item())
    print("mean log-likelihood of the training data:", lp_train.mean().item())
    bpd_in, bpd_out = bits_per_dim(lp_in, d, 1.0), bits_per_dim(lp_out, d, 1.0)
    both = torch.cat([bpd_in, bpd_out])
    lo, hi = both.min().item(), torch.quantile(both, 0.99).item()  # the last 1 % is a long tail
    hist_in = torch.histc(bpd_in, bins=15, min=lo, max=hi)
    hist_out = torch.histc(bpd_out, bins=15, min=lo, max=hi)
    print("bits/dim   # held-out digits   o shrunk digits")
    for i in range(15):
        print(f"{lo + i * (hi - lo) / 15:8.3f}  {'#' * int(hist_in[i] / 3):<35}{'o' * int(hist_out[i] / 3)}")
    print("AUROC of −ln p (out = shrunk):", auroc(-lp_in, -lp_out).item())

    entropy = -lp_train.mean()
    m = 10
    threshold = typicality_threshold(lp_val, entropy, torch.randint(0, 400, (1000, m), generator=gen), 0.05)
    flagged_in = typicality_test(lp_in[:390].reshape(-1, m), entropy, threshold).double().mean()
    flagged_out = typicality_test(lp_out[:390].reshape(-1, m), entropy, threshold).double().mean()
    print(f"typicality test, batches of {m}: flags {flagged_in:.0%} of held-out batches, "
          f"{flagged_out:.0%} of shrunk batches")


# %% [markdown]
# ## Check your work
#
# Run this cell: it runs the public tests on the cells you have executed (the first cell of
# the notebook explains how). The hidden tests add larger inputs (D = 100 with condition
# number 1e8, 10⁵ scores per side), gradients, float32, and the digits experiment above.

# %%
from autograder import check  # noqa: E402 - as in the notebook's first cell, so that this file also runs as a script

check("ood") if __name__ == "__main__" else None  # the table of results; nothing when the grader imports this file
