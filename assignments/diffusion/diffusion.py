# %% [markdown]
# # Assignment 6 — Denoising diffusion probabilistic models (拡散モデル, DDPM)
#
# A diffusion model learns to undo a fixed **forward process** (拡散過程) that slowly turns
# data into Gaussian noise. Generation runs the learned **reverse process** (逆過程): start
# from pure noise and remove a little noise at a time (ノイズ除去, denoising) until a data
# sample is left.
#
# Forward process with a variance schedule $\beta_1, \dots, \beta_T$:
#
# $$q(x_t \mid x_{t-1}) = \mathcal N\!\left(x_t;\ \sqrt{1-\beta_t}\,x_{t-1},\ \beta_t I\right),
# \qquad \alpha_t = 1-\beta_t,\quad \bar\alpha_t = \prod_{s\le t}\alpha_s .$$
#
# **Time index convention (the grader relies on it).** In code the time index `t` is
# **0-based**: `t` in $\{0, \dots, T-1\}$ stands for diffusion step $t+1$ of the lecture. So
# `betas[t]` is $\beta_{t+1}$ and `alpha_bars[t]` $= \prod_{s \le t} (1 - \texttt{betas}[s])$;
# `t = 0` is the first (least noisy) step. Time steps arrive as `int64` tensors of shape
# `(B,)`, one per sample.
#
# The noise model `eps_model(x_t, t)` (ノイズ予測器) takes `x_t` of shape `(B, ...)` and `t`
# (int64, `(B,)`) and returns $\hat\varepsilon$ shaped like `x_t`.
#
# Conventions: inputs and outputs are `torch.Tensor`s, a scalar is a 0-dim tensor; functions
# work for `float32` and `float64` and never modify their inputs in place; randomness only
# enters through the `noise` / `generator` arguments.
#
# Where it comes from: the forward and reverse processes are the lecture's diffusion part; the
# formulas below, the linear schedule, the simplified loss and the sampling step, are written
# as in DDPM (Ho, Jain and Abbeel, 2020), whose Algorithm 2 is the sampler of section 4.

# %%
import torch

# %% [markdown]
# ## 1. Noise schedule (ノイズスケジュール)
#
# DDPM uses a linear schedule from $\beta_1 = 10^{-4}$ to $\beta_T = 0.02$: `T` values,
# evenly spaced, **including both ends**. The cumulative products $\bar\alpha_t$ tell how
# much of the signal is left after `t+1` steps.

# %%
def linear_beta_schedule(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """The linear variance schedule β₁ … β_T.

    Args:
        T: number of diffusion steps, T ≥ 2.
        beta_start, beta_end: the first and the last β.

    Returns:
        (T,) float64 tensor, linearly spaced, ``betas[0] == beta_start`` and
        ``betas[-1] == beta_end`` (both ends included).
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


def alpha_bars(betas: torch.Tensor) -> torch.Tensor:
    """Cumulative products ᾱ_t = Π_{s≤t} (1 − β_s) (0-based, the product includes s = t).

    Args:
        betas: (T,) tensor of β values in (0, 1).

    Returns:
        (T,) tensor, same dtype and device as ``betas``; ``alpha_bars[0] == 1 − betas[0]``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 2. Forward process in one jump and the training loss
#
# Because every step adds Gaussian noise, $x_t$ can be drawn from $x_0$ in one go:
#
# $$q(x_t \mid x_0) = \mathcal N\!\left(\sqrt{\bar\alpha_t}\,x_0,\ (1-\bar\alpha_t) I\right),
# \qquad x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon,\quad
# \varepsilon\sim\mathcal N(0, I).$$
#
# The network learns to predict the noise that was added (DDPM's simplified loss):
#
# $$L_\text{simple} = \mathbb E_{t, x_0, \varepsilon}\left[\lVert \varepsilon - \varepsilon_\theta(x_t, t)\rVert^2\right].$$
#
# Each sample in a batch has its own `t`, so $\bar\alpha_t$ is a `(B,)` vector that must be
# reshaped to `(B, 1, …, 1)` to broadcast over images `(B, C, H, W)` as well as over
# vectors `(B, D)`.

# %%
def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor,
             alpha_bars: torch.Tensor) -> torch.Tensor:
    """Draw x_t ~ q(x_t | x_0): x_t = sqrt(ᾱ_t) x0 + sqrt(1 − ᾱ_t) noise.

    Args:
        x0: (B, ...) clean data (any number of non-batch dims, e.g. (B, D) or (B, C, H, W)).
        t: (B,) int64 time indices, 0-based (``alpha_bars[t[b]]`` is used for sample b).
        noise: ε, shaped like ``x0``.
        alpha_bars: (T,) cumulative products from :func:`alpha_bars` (may be float64).

    Returns:
        x_t shaped like ``x0``, with the dtype of ``x0``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


def ddpm_loss(eps_model, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor,
              alpha_bars: torch.Tensor) -> torch.Tensor:
    """The simplified DDPM loss: mean over ALL elements of (noise − ε_θ(x_t, t))².

    Args:
        eps_model: callable ``eps_model(x_t, t)`` returning ε̂ shaped like ``x_t``.
        x0: (B, ...) clean data.
        t: (B,) int64 time indices (0-based).
        noise: ε shaped like ``x0``; x_t is built from it with :func:`q_sample`.
        alpha_bars: (T,) cumulative products.

    Returns:
        0-dim tensor: the mean over the batch AND all non-batch elements (like
        ``torch.nn.functional.mse_loss``), dtype of ``x0``. Differentiable: gradients must
        reach the model's parameters (no ``.item()``, no ``.detach()`` of the model output).
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 3. The forward-process posterior
#
# Given both $x_0$ and $x_t$, the previous step is Gaussian in closed form:
#
# $$q(x_{t-1}\mid x_t, x_0) = \mathcal N\!\left(\tilde\mu_t,\ \tilde\beta_t I\right),\quad
# \tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1-\bar\alpha_t}\,x_0
#   + \frac{\sqrt{\alpha_t}\,(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}\,x_t,\quad
# \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\,\beta_t .$$
#
# At the first step there is no earlier noise: $\bar\alpha_{\text{before first}} = 1$. In the
# 0-based code this means: for `t = 0` use $\bar\alpha_{t-1} := 1$, so the mean is exactly
# `x0` and the variance is exactly 0. (Beware `alpha_bars[t - 1]` at `t = 0`: Python's
# index −1 silently picks the LAST entry.)

# %%
def q_posterior(x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor,
                betas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of q(x_{t−1} | x_t, x_0).

    Args:
        x0, x_t: (B, ...) tensors of the same shape.
        t: (B,) int64 time indices (0-based); ᾱ_{t−1} is taken as 1 where t = 0.
        betas: (T,) schedule.

    Returns:
        ``(mean, var)``: ``mean`` shaped like ``x_t``; ``var`` = β̃_t shaped to broadcast
        against ``x_t`` (e.g. (B, 1, ..., 1)), 0 where t = 0. Both in the dtype of ``x_t``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 4. Reverse process: sampling (ノイズ除去)
#
# With the learned noise predictor, one reverse step is (Algorithm 2 of Ho et al., 2020)
#
# $$x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\left(x_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\,
# \varepsilon_\theta(x_t, t)\right) + \sigma_t z,\qquad \sigma_t^2 = \beta_t,\quad z\sim\mathcal N(0, I),$$
#
# and **no noise is added at the last step** (`t = 0` in code): it returns the mean.
# Sampling starts from $x_T \sim \mathcal N(0, I)$ and applies the step for
# `t = T−1, T−2, …, 0`.

# %%
def p_sample_step(eps_model, x_t: torch.Tensor, t: torch.Tensor, betas: torch.Tensor,
                  noise: torch.Tensor) -> torch.Tensor:
    """One reverse step x_t → x_{t−1}.

    x_{t−1} = 1/sqrt(α_t) · (x_t − β_t / sqrt(1 − ᾱ_t) · ε_θ(x_t, t)) + σ_t · noise,
    with α_t = 1 − β_t, σ_t = sqrt(β_t), and σ_t · noise left out where t = 0.

    Args:
        eps_model: callable ``eps_model(x_t, t)`` → ε̂ shaped like ``x_t``.
        x_t: (B, ...) current sample.
        t: (B,) int64 time indices (0-based); samples may be at different steps.
        betas: (T,) schedule.
        noise: z shaped like ``x_t`` (ignored for the samples where t = 0).

    Returns:
        x_{t−1} shaped like ``x_t``, in the dtype of ``x_t``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


def sample(eps_model, shape, betas: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Run the whole reverse chain: x_T ~ N(0, I), then steps t = T−1, …, 0.

    Args:
        eps_model: callable ``eps_model(x_t, t)`` → ε̂ shaped like ``x_t``.
        shape: the output shape (B, ...), a tuple or ``torch.Size``.
        betas: (T,) schedule; the chain runs in its dtype and on its device.
        generator: optional ``torch.Generator`` for every random draw (x_T and the noise of
            each step). With the same seeded generator the result is the same.

    Returns:
        (shape) tensor x_0 in the dtype and device of ``betas``. Any order of drawing the
        noise is fine: the grader checks the distribution of many samples and same-generator
        determinism.

    Call the model with one time index per sample, e.g.
    ``t = torch.full((B,), step, dtype=torch.int64, device=betas.device)``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## Check your work
#
# Run the cell below: `check("diffusion")` runs the public tests on the cells you have executed
# (`check("diffusion", "FUNCTION")`: only the tests of one function); your grade also counts hidden
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

    check("diffusion")
