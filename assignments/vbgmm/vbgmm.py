# %% [markdown]
# # Assignment 11 — Variational Bayes for Gaussian mixtures (変分ベイズ による混合ガウス分布)
#
# EM for a Gaussian mixture (assignment 2) needs the number of components K in advance, and
# more components always raise the likelihood (尤度), so the likelihood cannot choose K. The
# lecture's advice (slide 25): 「混合数 K の決定が難しいため、変分ベイズを用いるのがおすすめ」 —
# because choosing the number of mixture components is hard, use **variational Bayes**
# (変分ベイズ). Put prior distributions (事前分布) on all parameters, approximate their
# posterior (事後分布), and start with K larger than needed: components the data do not need
# are switched off by the prior. The slide shows K = 5 on data with fewer clusters: EM uses
# all five, VB only as many as the data need.
#
# The slides give the advice and the picture; the derivation below follows Bishop, *Pattern
# Recognition and Machine Learning* (PRML) §10.2, which goes **beyond the slides**. Equation
# numbers (10.xx, B.xx) are PRML's.
#
# **The model.** Mixture weights π, means μ_k and precision matrices (精度行列) Λ_k = Σ_k⁻¹
# get conjugate priors:
#
# $$\pi \sim \mathrm{Dir}(\alpha_0 \mathbf 1_K),\qquad
#   \mu_k, \Lambda_k \sim \mathcal N\!\big(\mu_k \mid m_0, (\beta_0\Lambda_k)^{-1}\big)\,
#   \mathcal W(\Lambda_k \mid W_0, \nu_0),$$
# $$z_n \sim \mathrm{Cat}(\pi),\qquad x_n \mid z_n = k \sim \mathcal N(\mu_k, \Lambda_k^{-1}).$$
#
# $\mathcal W(\Lambda \mid W, \nu)$ is the Wishart distribution (ウィシャート分布) with scale matrix
# W and ν degrees of freedom (PRML B.78): $E[\Lambda] = \nu W$. W is a *precision-like* matrix,
# not a covariance (scikit-learn's `covariance_prior` is $W_0^{-1}$).
#
# **Mean-field approximation (平均場近似).** The posterior p(Z, π, μ, Λ | X) has no closed form;
# we look for the best factorised q(Z) q(π) Π_k q(μ_k, Λ_k), the one that maximises the
# **variational lower bound** (変分下界, ELBO)
#
# $$\mathcal L(q) = E_q[\ln p(X, Z, \pi, \mu, \Lambda)] - E_q[\ln q(Z, \pi, \mu, \Lambda)]
#   \;\le\; \ln p(X).$$
#
# Maximising one factor while the others stay fixed gives the same families as the priors:
# q(π) = Dir(α), q(μ_k, Λ_k) = N(m_k, (β_k Λ_k)⁻¹) W(W_k, ν_k), and q(z_n = k) = r_nk, the
# responsibilities (負担率). Alternating the two updates — the **VB E-step** and the
# **VB M-step** — never decreases $\mathcal L$: that is the algorithm you will write.
#
# A `prior` is the tuple `(alpha0, beta0, m0, W0, nu0)`: three positive 0-dim tensors α0, β0,
# ν0 (ν0 > D − 1), m0 (D,) and W0 (D, D) symmetric positive definite. A `posterior` is the
# tuple `(alpha (K,), beta (K,), m (K, D), W (K, D, D), nu (K,))`.
#
# Conventions the grader relies on:
# - inputs and outputs are `torch.Tensor`s (a scalar is a 0-dim tensor); everything works for
#   `float32` and `float64` and returns the dtype and device of `x` (or of the posterior);
# - never modify an input in place;
# - `ln` is the natural logarithm, and `0 · ln 0 = 0`;
# - each test has a time limit (10 s unless the test says otherwise; the whole suite of one
#   submission should run in well under 30 s): vectorise over points and components, loops
#   over the K components are fine, loops over the N points are slow.

# %%
import math

import torch

# %% [markdown]
# ## 1. The VB M-step: q(π) and q(μ_k, Λ_k) from the responsibilities
#
# With the responsibilities r_nk fixed, collect the weighted statistics (PRML 10.51–10.53)
#
# $$N_k = \sum_n r_{nk},\quad \bar x_k = \frac1{N_k}\sum_n r_{nk} x_n,\quad
#   S_k = \frac1{N_k}\sum_n r_{nk}(x_n - \bar x_k)(x_n - \bar x_k)^\top,$$
#
# and update the prior's parameters with them (PRML 10.58, 10.60–10.63):
#
# $$\alpha_k = \alpha_0 + N_k,\quad \beta_k = \beta_0 + N_k,\quad
#   m_k = \frac{\beta_0 m_0 + N_k \bar x_k}{\beta_k},\quad \nu_k = \nu_0 + N_k,$$
# $$W_k^{-1} = W_0^{-1} + N_k S_k + \frac{\beta_0 N_k}{\beta_0 + N_k}
#   (\bar x_k - m_0)(\bar x_k - m_0)^\top.$$
#
# Compare with EM's M-step: the data enter the same way (N_k, x̄_k, S_k), but the prior adds
# pseudo-counts α0, β0, ν0 and pulls the mean towards m0. A component that owns no point
# (N_k = 0) simply keeps the prior — but x̄_k = 0/0 there: compute it so that it stays finite
# (N_k x̄_k and N_k S_k are plain sums; divide only where N_k > 0).

# %%
def vb_m_step(x: torch.Tensor, resp: torch.Tensor, prior: tuple) -> tuple:
    """The variational posterior q(π) q(μ, Λ) given the responsibilities.

    Args:
        x: (N, D) data points.
        resp: (N, K) responsibilities r_nk ≥ 0 (rows sum to 1); a column may be all zero
            (an empty component, N_k = 0).
        prior: ``(alpha0, beta0, m0, W0, nu0)``: 0-dim α0 > 0, β0 > 0, ν0 > D − 1; m0 (D,);
            W0 (D, D) symmetric positive definite (the Wishart scale matrix, not a covariance).

    Returns:
        ``(alpha (K,), beta (K,), m (K, D), W (K, D, D), nu (K,))`` with
        α_k = α0 + N_k, β_k = β0 + N_k, m_k = (β0 m0 + N_k x̄_k) / β_k, ν_k = ν0 + N_k and
        W_k⁻¹ = W0⁻¹ + N_k S_k + β0 N_k / (β0 + N_k) (x̄_k − m0)(x̄_k − m0)ᵀ, where
        N_k = Σ_n r_nk, x̄_k is the r-weighted mean and S_k the r-weighted covariance divided
        by N_k. A component with N_k = 0 gets the prior back (finite, no NaN). Each W_k is
        symmetric.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 2. The VB E-step: q(Z) from the posterior
#
# The optimal q(Z) sets r_nk ∝ ρ_nk with (PRML 10.46, 10.64–10.67)
#
# $$\ln\rho_{nk} = E[\ln\pi_k] + \tfrac12 E[\ln|\Lambda_k|] - \tfrac D2\ln 2\pi
#   - \tfrac12\Big(\frac D{\beta_k} + \nu_k (x_n - m_k)^\top W_k (x_n - m_k)\Big),$$
# $$E[\ln\pi_k] = \psi(\alpha_k) - \psi\Big(\sum_j \alpha_j\Big),\qquad
#   E[\ln|\Lambda_k|] = \sum_{i=1}^{D}\psi\Big(\frac{\nu_k + 1 - i}2\Big) + D\ln 2 + \ln|W_k|,$$
#
# where ψ is the digamma function (`torch.special.digamma`). Where EM plugs in the parameter
# values (ln π_k, ln|Λ_k|), VB uses their **expectations** under q: a component with few
# points has a small α_k, and ψ(α_k) is far below ln α_k for small α_k, so VB pushes the
# responsibilities further away from it. That is how unneeded components empty out.
#
# Normalise in log space, r_nk = exp(ln ρ_nk − logsumexp_j ln ρ_nj): a point far from every
# component has every ρ_nk = e^{−huge}, which underflows to 0/0 otherwise.

# %% [markdown]
# Two helpers the E-step and the lower bound share (not graded on their own):

# %%
def expected_log_pi(alpha: torch.Tensor) -> torch.Tensor:
    """E[ln π_k] = ψ(α_k) − ψ(Σ_j α_j) under q(π) = Dir(α); shape (K,)."""
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


def expected_log_det_lambda(w: torch.Tensor, nu: torch.Tensor) -> torch.Tensor:
    """E[ln |Λ_k|] = Σ_{i=1..D} ψ((ν_k + 1 − i)/2) + D ln 2 + ln |W_k| under W(W_k, ν_k); shape (K,)."""
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %%
def vb_e_step(x: torch.Tensor, posterior: tuple) -> torch.Tensor:
    """Responsibilities r_nk of the VB E-step.

    Args:
        x: (N, D) data points.
        posterior: ``(alpha (K,), beta (K,), m (K, D), W (K, D, D), nu (K,))``.

    Returns:
        (N, K) responsibilities r_nk = ρ_nk / Σ_j ρ_nj, every row summing to 1, with
        ln ρ_nk = E[ln π_k] + ½ E[ln |Λ_k|] − (D/2) ln 2π − ½ (D/β_k + ν_k (x_n − m_k)ᵀ W_k (x_n − m_k)),
        E[ln π_k] = ψ(α_k) − ψ(Σ_j α_j) and
        E[ln |Λ_k|] = Σ_{i=1..D} ψ((ν_k + 1 − i)/2) + D ln 2 + ln |W_k|.
        Stable: normalise in log space, so a point far from every component gets a valid
        row (no NaN).
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 3. The variational lower bound (変分下界)
#
# $\mathcal L(q)$ is the sum of seven expectations (PRML 10.70–10.77). Write ln π̃_k = E[ln π_k]
# and ln Λ̃_k = E[ln |Λ_k|] from the E-step, and N_k, x̄_k, S_k from `resp` as in the M-step:
#
# $$E[\ln p(X\mid Z,\mu,\Lambda)] = \tfrac12\sum_k N_k\Big\{\ln\tilde\Lambda_k - \frac D{\beta_k}
#   - \nu_k\,\mathrm{Tr}(S_k W_k) - \nu_k(\bar x_k - m_k)^\top W_k(\bar x_k - m_k) - D\ln 2\pi\Big\}$$
# $$E[\ln p(Z\mid\pi)] = \sum_k N_k \ln\tilde\pi_k,\qquad
#   E[\ln p(\pi)] = \ln C(\alpha_0\mathbf 1_K) + (\alpha_0 - 1)\sum_k \ln\tilde\pi_k$$
# $$E[\ln p(\mu,\Lambda)] = \tfrac12\sum_k\Big\{D\ln\frac{\beta_0}{2\pi} + \ln\tilde\Lambda_k
#   - \frac{D\beta_0}{\beta_k} - \beta_0\nu_k(m_k - m_0)^\top W_k(m_k - m_0)\Big\}
#   + K\ln B(W_0,\nu_0) + \frac{\nu_0 - D - 1}2\sum_k\ln\tilde\Lambda_k
#   - \tfrac12\sum_k \nu_k\,\mathrm{Tr}(W_0^{-1}W_k)$$
# $$E[\ln q(Z)] = \sum_n\sum_k r_{nk}\ln r_{nk},\qquad
#   E[\ln q(\pi)] = \sum_k(\alpha_k - 1)\ln\tilde\pi_k + \ln C(\alpha)$$
# $$E[\ln q(\mu,\Lambda)] = \sum_k\Big\{\tfrac12\ln\tilde\Lambda_k + \frac D2\ln\frac{\beta_k}{2\pi}
#   - \frac D2 - H[q(\Lambda_k)]\Big\}$$
#
# $$\mathcal L = E[\ln p(X\mid Z,\mu,\Lambda)] + E[\ln p(Z\mid\pi)] + E[\ln p(\pi)] + E[\ln p(\mu,\Lambda)]
#   - E[\ln q(Z)] - E[\ln q(\pi)] - E[\ln q(\mu,\Lambda)].$$
#
# The normalisers: the Dirichlet's $\ln C(\alpha) = \ln\Gamma(\sum_k\alpha_k) - \sum_k\ln\Gamma(\alpha_k)$
# (B.16, `torch.lgamma`); the Wishart's (B.79)
# $\ln B(W,\nu) = -\frac\nu2\ln|W| - \frac{\nu D}2\ln 2 - \ln\Gamma_D(\nu/2)$ with the multivariate
# gamma function $\ln\Gamma_D(a) = \frac{D(D-1)}4\ln\pi + \sum_{i=1}^D\ln\Gamma\big(a + \frac{1-i}2\big)$
# (`torch.mvlgamma(a, p=D)`); and its entropy (B.82)
# $H[q(\Lambda_k)] = -\ln B(W_k,\nu_k) - \frac{\nu_k - D - 1}2\ln\tilde\Lambda_k + \frac{\nu_k D}2$.
#
# Keep **every constant**: then the bound is a number with a meaning. For K = 1 the
# factorisation is exact (q(μ, Λ) is the true posterior of a Normal–Wishart model), and
# $\mathcal L$ equals the log marginal likelihood (周辺尤度, evidence) ln p(X) — a check the
# tests use. Two edge cases: a component with N_k = 0 contributes 0 to the N_k-weighted terms
# (finite, no NaN), and 0 · ln 0 = 0 in E[ln q(Z)] (`torch.xlogy(r, r)`).

# %%
def vb_elbo(x: torch.Tensor, resp: torch.Tensor, posterior: tuple, prior: tuple) -> torch.Tensor:
    """The variational lower bound L(q), with every constant.

    Args:
        x: (N, D) data points.
        resp: (N, K) responsibilities defining q(Z) (rows sum to 1; zeros allowed).
        posterior: ``(alpha, beta, m, W, nu)`` defining q(π) q(μ, Λ) — any posterior, not
            necessarily the one ``vb_m_step(x, resp, prior)`` returns.
        prior: ``(alpha0, beta0, m0, W0, nu0)``.

    Returns:
        0-dim tensor L(q) = E_q[ln p(X, Z, π, μ, Λ)] − E_q[ln q(Z, π, μ, Λ)] (PRML 10.70–10.77
        with B.79 and B.82), where N_k, x̄_k, S_k come from ``resp``. For K = 1 and
        ``posterior = vb_m_step(x, ones(N, 1), prior)`` it equals the exact log marginal
        likelihood ln p(X). Finite for components with N_k = 0; 0 · ln 0 = 0.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 4. Coordinate ascent (VB の反復)
#
# Start from given responsibilities (e.g. k-means labels, or random ones), then alternate:
#
#     posterior = vb_m_step(x, resp, prior);  history = [L(resp, posterior)]
#     repeat:  resp = vb_e_step(x, posterior);  posterior = vb_m_step(x, resp, prior)
#              history.append(L(resp, posterior))
#
# Each step maximises L over one factor with the other fixed, so `history` never decreases —
# a strong check of your code: a decrease means a bug in one of the updates or in the
# bound. Stop after `n_iter` iterations, or after the first iteration that raises L by less
# than `tol` (absolute). Return the last pair: the posterior and the `resp` it was computed
# from (no E-step after the last M-step; scikit-learn's `fit` does one more).

# %%
def fit_vbgmm(x: torch.Tensor, resp: torch.Tensor, prior: tuple, n_iter: int = 100,
              tol: float = 1e-6) -> tuple:
    """Variational Bayes for a Gaussian mixture by coordinate ascent.

    Args:
        x: (N, D) data points.
        resp: (N, K) initial responsibilities.
        prior: ``(alpha0, beta0, m0, W0, nu0)``.
        n_iter: the most iterations (one ``vb_e_step`` then one ``vb_m_step`` each); 0 returns
            ``vb_m_step(x, resp, prior)``, the initial ``resp`` and a history of length 1.
        tol: stop after the first iteration that raises the bound by less than ``tol``
            (absolute, L_t − L_{t−1} < tol); that iteration counts.

    Returns:
        ``(posterior, resp, history)``: ``posterior = vb_m_step(x, resp, prior)`` for the
        returned ``resp`` (the responsibilities the last M-step was given; no E-step
        follows it), and ``history`` a 1-D tensor (dtype of ``x``) of the lower bound:
        history[0] for the initial pair, then one value per iteration, so
        ``len(history) == iterations + 1``; never decreasing.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 5. How many components? (混合数)
#
# Under q(π) = Dir(α) the expected weights are E[π_k] = α_k / Σ_j α_j. A component that keeps
# no data has α_k = α0 and so E[π_k] = α0 / (N + K α0): with a small α0 (say 1e-3) and
# N = 300 points that is about 3e-6, switched off. Count the components whose expected weight
# is above a threshold.

# %%
def expected_weights(posterior: tuple) -> torch.Tensor:
    """E[π_k] = α_k / Σ_j α_j under q(π) = Dir(α).

    Args:
        posterior: ``(alpha (K,), beta, m, W, nu)``.

    Returns:
        (K,) expected mixture weights, summing to 1 (dtype and device of alpha).
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


def effective_components(posterior: tuple, threshold: float = 0.01) -> torch.Tensor:
    """How many components the data use: the number of k with E[π_k] > threshold.

    Args:
        posterior: ``(alpha (K,), beta, m, W, nu)``.
        threshold: a float; a component counts when its expected weight is strictly above it.

    Returns:
        0-dim int64 tensor (on the device of alpha).
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 6. Try it: EM uses every component, VB switches the extra ones off
#
# The lecture's picture (slide 25): data with three clusters, a mixture with K = 5
# components. EM (assignment 2) spreads the points over all five; VB, from the same start and
# with a small α0, leaves two components empty. Below, each point is coloured by its
# responsibilities (負担率) — left EM, right VB — computed by your functions. EM here is the
# K-means-style start followed by plain EM written inline (your `fit_gmm` is in the `gmm`
# assignment). Needs matplotlib (installed on Colab).

# %%
def three_clusters(n_per: int = 100, dtype=torch.float64, seed: int = 0) -> torch.Tensor:
    """(3 n_per, 2) points from three well-separated round clusters (for the picture)."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0], [5.0, 0.0], [2.5, 4.5]], dtype=dtype)
    return torch.cat([c + 0.7 * torch.randn(n_per, 2, generator=gen, dtype=dtype) for c in centres])


def random_resp(n: int, k: int, dtype=torch.float64, seed: int = 0) -> torch.Tensor:
    """(n, k) random responsibilities (rows sum to 1), a start for EM and VB alike."""
    gen = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(n, k, generator=gen, dtype=dtype), dim=1)


def em_resp(x: torch.Tensor, resp: torch.Tensor, n_iter: int = 100) -> torch.Tensor:
    """Plain maximum-likelihood EM from the given responsibilities; returns the final ones."""
    n, d = x.shape
    for _ in range(n_iter):
        nk = resp.sum(0)
        means = resp.T @ x / nk[:, None]
        diff = x[None] - means[:, None]
        covs = torch.einsum("nk,kni,knj->kij", resp, diff, diff) / nk[:, None, None]
        covs = covs + 1e-6 * torch.eye(d, dtype=x.dtype)
        log_p = torch.distributions.MultivariateNormal(means, covs).log_prob(x[:, None])  # (N, K)
        resp = torch.softmax(torch.log(nk / n) + log_p, dim=1)
    return resp


# %%
if __name__ == "__main__":
    x = three_clusters()
    k = 5
    d = x.shape[1]
    prior = (torch.tensor(1e-3, dtype=x.dtype), torch.tensor(1.0, dtype=x.dtype), x.mean(0),
             torch.eye(d, dtype=x.dtype), torch.tensor(float(d), dtype=x.dtype))
    start = random_resp(len(x), k)
    posterior, resp_vb, history = fit_vbgmm(x, start, prior, n_iter=200)
    resp_em = em_resp(x, start)
    print("VB iterations:", len(history) - 1, " lower bound:", history[0].item(), "->",
          history[-1].item())
    print("never decreased:", bool((history[1:] >= history[:-1] - 1e-9).all()))
    print("E[pi]:", [round(v, 4) for v in expected_weights(posterior).tolist()])
    print("effective components: VB", effective_components(posterior).item(),
          " EM", int((resp_em.mean(0) > 0.01).sum()))

    import matplotlib.pyplot as plt

    palette = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.5, 0.9], [0.1, 0.7, 0.2],
                            [0.9, 0.6, 0.0], [0.6, 0.2, 0.8]], dtype=x.dtype)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, r, title in ((axes[0], resp_em, "EM, K = 5: every component used"),
                         (axes[1], resp_vb, "VB, K = 5: extra components switched off")):
        ax.scatter(x[:, 0], x[:, 1], c=(r @ palette).clamp(0, 1).numpy(), s=12)  # colour = Σ_k r_nk colour_k
        ax.set_title(title + f"\nmixing weights {[round(v, 2) for v in r.mean(0).tolist()]}")
        ax.set_aspect("equal")
    plt.show()

# %% [markdown]
# ## 7. Check your work
#
# Run the public tests on the cells you have run (the hidden tests also compare with
# scikit-learn's `BayesianGaussianMixture`, check the bound against the exact marginal
# likelihood, far points, empty components, float32, and the run on three clusters with K = 6).

# %%
if __name__ == "__main__":
    from autograder import check

    check("vbgmm")
