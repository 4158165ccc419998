# %% [markdown]
# # Assignment 3 — Variational autoencoders (変分オートエンコーダ, VAE)
#
# A VAE is a latent-variable model p_θ(x, z) = p_θ(x | z) p(z) with prior p(z) = N(0, I) and a
# **decoder** (生成モデル) that maps z to the parameters of p_θ(x | z). The marginal likelihood
# log p_θ(x) = log ∫ p_θ(x | z) p(z) dz is intractable, so an **encoder** (推論モデル) outputs an
# approximate posterior
#
#     q_φ(z | x) = N(z; μ, diag(σ²)),   σ² = exp(log_var),
#
# and we maximise the **variational lower bound** (変分下界, ELBO)
#
#     log p(x) ≥ L(x) = E_{q(z|x)}[ log p(x | z) ] − KL( q(z|x) ‖ p(z) ).
#
# The gap is exactly KL(q(z|x) ‖ p(z|x)): the bound is tight when q is the true posterior.
#
# **Reparameterization Trick (slide 38).** The expectation is estimated with samples, and to
# differentiate through the sampling we write z as a deterministic function of (μ, log_var)
# and parameter-free noise:
#
#     z = μ + σ ⊙ ε,   ε ~ N(0, I),   σ = exp(½ log_var).
#
# Gradients then flow to μ and log_var (∂z/∂μ = 1, ∂z/∂log_var = ½ σ ⊙ ε).
#
# **A typo on slide 38:** the slide prints z = μ + ε ⊙ σ². It is the standard deviation σ
# that scales ε, not the variance σ² (μ + ε ⊙ σ² would have variance σ⁴). The tests follow
# z = μ + σ ⊙ ε.
#
# **Importance sampling (slide 36).** Slide 36 estimates the marginal likelihood with q(z|x)
# as the proposal: with L samples z_l ~ q(z|x) and weights w_l = p(x | z_l) p(z_l) / q(z_l | x),
#
#     log p(x) ≈ log (1/L) Σ_l w_l,   and   log p(x) ≥ E[ log (1/L) Σ_l w_l ] ≥ L(x).
#
# `iwae_bound` computes this estimator. The name IWAE (importance-weighted autoencoder),
# training with it as an objective, and the proof that the bound tightens as L grows come
# from Burda, Grosse and Salakhutdinov (2016).
#
# Where the rest comes from: the ELBO, the closed-form KL and the decoder likelihoods are the
# lecture's VAE part.
#
# Shapes: `x` (B, Dx) a batch of data, `mu`, `log_var` (B, Dz) the encoder outputs, `eps`
# (L, B, Dz) the noise of L samples per data point.
#
# Conventions (they hold for every function below):
# - inputs are `torch.Tensor`s; results have the dtype and device of the inputs;
# - never modify an input in place; randomness only where a function says so;
# - `log` is the natural logarithm; functions marked *differentiable* must let autograd
#   reach the named inputs (no `.detach()`, `.item()`, `torch.no_grad()`, NumPy).

# %%
import math

import torch
import torch.nn.functional as F

# %% [markdown]
# ## 1. The Reparameterization Trick

# %%
def reparameterize(mu: torch.Tensor, log_var: torch.Tensor, eps=None) -> torch.Tensor:
    """z = μ + exp(½ log_var) ⊙ ε — a differentiable sample from N(μ, diag(exp(log_var))).

    Args:
        mu: (B, Dz) means of q(z|x).
        log_var: (B, Dz) log-variances log σ² of q(z|x) (not log σ, not σ²).
        eps: standard-normal noise, (B, Dz) or with leading sample dims (L, B, Dz); the
            result broadcasts to its shape. When ``None``, draw ε ~ N(0, I) of the shape of
            ``mu`` (``torch.randn_like``).

    Returns:
        z with the broadcast shape of ``mu`` and ``eps``, in their dtype. Differentiable in
        ``mu`` and ``log_var``. Uses σ = exp(½ log_var) — not slide 38's misprinted σ².
    """
    # BEGIN SOLUTION
    if eps is None:
        eps = torch.randn_like(mu)
    return mu + torch.exp(0.5 * log_var) * eps
    # END SOLUTION


# %% [markdown]
# ## 2. The KL term in closed form
#
# For q = N(μ, diag(σ²)) and p = N(0, I), summed over the Dz latent dimensions:
#
#     KL(q ‖ p) = ½ Σ_j ( μ_j² + σ_j² − 1 − log σ_j² ).
#
# It is ≥ 0 and equals 0 only when μ = 0 and σ² = 1 (q is the prior).

# %%
def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL( N(μ, diag(exp(log_var))) ‖ N(0, I) ) in closed form, summed over Dz.

    Args:
        mu: (B, Dz) means.
        log_var: (B, Dz) log-variances.

    Returns:
        (B,) ½ Σ_j (μ_j² + exp(log_var_j) − 1 − log_var_j). Differentiable.
    """
    # BEGIN SOLUTION
    return 0.5 * (mu.pow(2) + torch.exp(log_var) - 1.0 - log_var).sum(dim=-1)
    # END SOLUTION


# %% [markdown]
# ## 3. Decoder likelihoods
#
# **Bernoulli** (binary or [0, 1]-valued x, decoder outputs logits ℓ, p = σ(ℓ)):
#
#     log p(x | z) = Σ_d [ x_d log σ(ℓ_d) + (1 − x_d) log(1 − σ(ℓ_d)) ] = Σ_d [ x_d ℓ_d − softplus(ℓ_d) ].
#
# Never compute `log(sigmoid(ℓ))`: at ℓ = −100 the sigmoid underflows to 0. The right-hand
# form (or `F.binary_cross_entropy_with_logits`) is exact for logits of ±100.
#
# **Gaussian** (real-valued x, decoder outputs a mean and a log-variance per dimension):
#
#     log p(x | z) = −½ Σ_d [ log 2π + log_var_d + (x_d − mean_d)² / exp(log_var_d) ].

# %%
def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log p(x | z) of independent Bernoulli pixels with p = sigmoid(logits), summed over Dx.

    Args:
        x: (B, Dx) data with values in [0, 1] (0/1 data, or grey levels).
        logits: (B, Dx) decoder logits ℓ.

    Returns:
        (B,) Σ_d [x_d log σ(ℓ_d) + (1 − x_d) log(1 − σ(ℓ_d))] = Σ_d [x_d ℓ_d − softplus(ℓ_d)].
        Stable: exact (finite) for logits of ±100. Differentiable.
    """
    # BEGIN SOLUTION
    return (x * logits - F.softplus(logits)).sum(dim=-1)
    # END SOLUTION


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, diag(exp(log_var))), summed over Dx.

    Args:
        x: (B, Dx) data.
        mean: (B, Dx) decoder means.
        log_var: (B, Dx) decoder log-variances (log σ², not log σ).

    Returns:
        (B,) −½ Σ_d [log 2π + log_var_d + (x_d − mean_d)² exp(−log_var_d)]. Differentiable.
    """
    # BEGIN SOLUTION
    return -0.5 * (math.log(2 * math.pi) + log_var + (x - mean).pow(2) * torch.exp(-log_var)).sum(dim=-1)
    # END SOLUTION


# %% [markdown]
# ## 4. The ELBO (変分下界)
#
# With L samples z_l = μ + σ ⊙ ε_l (the Reparameterization Trick) and the KL in closed form:
#
#     L(x) ≈ (1/L) Σ_l log p(x | z_l) − KL( q(z|x) ‖ p(z) ).
#
# `decode(z)` maps (..., Dz) to logits (..., Dx) for the Bernoulli likelihood, or to a tuple
# `(mean, log_var)` (each (..., Dx)) for the Gaussian likelihood. It accepts any leading
# dims, so you may decode all L samples at once (z of shape (L, B, Dz)) or one at a time.
# Training a VAE maximises the ELBO, i.e. minimises −L(x); this function returns L(x) itself.

# %%
def elbo(x: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor, decode, eps: torch.Tensor,
         likelihood: str = "bernoulli") -> torch.Tensor:
    """Monte-Carlo ELBO  (1/L) Σ_l log p(x | z_l) − KL(q(z|x) ‖ N(0, I)).

    Args:
        x: (B, Dx) data.
        mu, log_var: (B, Dz) parameters of q(z|x) = N(mu, diag(exp(log_var))).
        decode: callable, z (..., Dz) -> logits (..., Dx) (``"bernoulli"``) or a tuple
            ``(mean, log_var)`` of (..., Dx) tensors (``"gaussian"``); any leading dims.
        eps: (L, B, Dz) standard-normal noise; z_l = reparameterize(mu, log_var, eps[l]).
        likelihood: ``"bernoulli"`` (default) or ``"gaussian"``.

    Returns:
        (B,) the ELBO per data point (a lower bound of log p(x), not its negative): the
        reconstruction term averaged over the L samples, minus the closed-form KL (counted
        once, not once per sample). Differentiable in ``mu`` and ``log_var``.
    """
    # BEGIN SOLUTION
    z = reparameterize(mu, log_var, eps)  # (L, B, Dz)
    out = decode(z)
    if likelihood == "bernoulli":
        rec = bernoulli_log_likelihood(x, out)  # (L, B)
    elif likelihood == "gaussian":
        mean, dec_log_var = out
        rec = gaussian_log_likelihood(x, mean, dec_log_var)  # (L, B)
    else:
        raise ValueError(f"unknown likelihood {likelihood!r}; use 'bernoulli' or 'gaussian'")
    return rec.mean(dim=0) - gaussian_kl(mu, log_var)
    # END SOLUTION


# %% [markdown]
# ## 5. The importance-weighted bound (IWAE)
#
#     log w_l = log p(x | z_l) + log p(z_l) − log q(z_l | x),
#     log p(z) = −½ Σ_j (log 2π + z_j²),   log q(z | x) = −½ Σ_j (log 2π + log_var_j + ε_j²),
#     bound = log (1/L) Σ_l w_l = logsumexp_l(log w_l) − log L.
#
# The log-weights are large negative numbers (hundreds of nats for images): exponentiating
# them underflows, so use `torch.logsumexp` over the sample dimension.

# %%
def iwae_bound(x: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor, decode, eps: torch.Tensor,
               likelihood: str = "bernoulli") -> torch.Tensor:
    """Importance-weighted bound  log (1/L) Σ_l p(x | z_l) p(z_l) / q(z_l | x).

    Args:
        x, mu, log_var, decode, eps, likelihood: as in :func:`elbo`; z_l = μ + σ ⊙ eps[l].

    Returns:
        (B,) the bound per data point. Stable: log-sum-exp over the L samples (log-weights
        of −1000 and below must not underflow). With L = 1 it is a one-sample ELBO estimate
        (with a sampled, not closed-form, KL); it grows with L towards log p(x).
    """
    # BEGIN SOLUTION
    z = reparameterize(mu, log_var, eps)  # (L, B, Dz)
    out = decode(z)
    if likelihood == "bernoulli":
        log_px_z = bernoulli_log_likelihood(x, out)  # (L, B)
    elif likelihood == "gaussian":
        mean, dec_log_var = out
        log_px_z = gaussian_log_likelihood(x, mean, dec_log_var)
    else:
        raise ValueError(f"unknown likelihood {likelihood!r}; use 'bernoulli' or 'gaussian'")
    log_2pi = math.log(2 * math.pi)
    log_pz = -0.5 * (log_2pi + z.pow(2)).sum(dim=-1)  # (L, B)
    log_qz = -0.5 * (log_2pi + log_var + eps.pow(2)).sum(dim=-1)  # (L, B)
    log_w = log_px_z + log_pz - log_qz
    return torch.logsumexp(log_w, dim=0) - math.log(eps.shape[0])
    # END SOLUTION


# %% [markdown]
# ## 6. Try it: a tiny VAE on 8×8 digits
#
# The encoder and decoder are small MLPs; the loss is −mean ELBO. After a few hundred steps the
# held-out ELBO should be well above that of an untrained model (≈ −44 nats = 64 log ½).
# (Needs scikit-learn for the data.)

# %%
if __name__ == "__main__":
    from sklearn.datasets import load_digits

    torch.manual_seed(0)
    data = torch.tensor(load_digits().data / 16.0 > 0.5, dtype=torch.float32)
    train, test = data[:1500], data[1500:]
    dz = 4
    encoder = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.Tanh(), torch.nn.Linear(64, 2 * dz))
    decoder = torch.nn.Sequential(torch.nn.Linear(dz, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64))
    opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=3e-3)
    for step in range(2000):
        xb = train[torch.randint(0, len(train), (100,))]
        mu, log_var = encoder(xb).chunk(2, dim=-1)
        loss = -elbo(xb, mu, log_var, decoder, torch.randn(1, *mu.shape)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        mu, log_var = encoder(test).chunk(2, dim=-1)
        eps = torch.randn(50, *mu.shape)
        print("held-out ELBO:", elbo(test, mu, log_var, decoder, eps).mean().item())
        print("held-out IWAE (L=50):", iwae_bound(test, mu, log_var, decoder, eps).mean().item())


# %% [markdown]
# ## Check your work
#
# Run the cell below: `check("vae")` runs the public tests on the cells you have executed
# (`check("vae", "FUNCTION")`: only the tests of one function); your grade also counts hidden
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

    check("vae")
