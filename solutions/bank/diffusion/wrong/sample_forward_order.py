"""MISTAKE: sample runs the steps in the order t = 0 … T−1."""
# expect-hint: run forwards
import torch

def linear_beta_schedule(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """The linear variance schedule β₁ … β_T.

    Args:
        T: number of diffusion steps, T ≥ 2.
        beta_start, beta_end: the first and the last β.

    Returns:
        (T,) float64 tensor, linearly spaced, ``betas[0] == beta_start`` and
        ``betas[-1] == beta_end`` (both ends included).
    """
    return torch.linspace(beta_start, beta_end, T, dtype=torch.float64)


def alpha_bars(betas: torch.Tensor) -> torch.Tensor:
    """Cumulative products ᾱ_t = Π_{s≤t} (1 − β_s) (0-based, the product includes s = t).

    Args:
        betas: (T,) tensor of β values in (0, 1).

    Returns:
        (T,) tensor, same dtype and device as ``betas``; ``alpha_bars[0] == 1 − betas[0]``.
    """
    return torch.cumprod(1.0 - betas, dim=0)


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
    ab = alpha_bars.to(x0.device)[t].to(x0.dtype)      # (B,)
    ab = ab.reshape(-1, *([1] * (x0.dim() - 1)))          # (B, 1, ..., 1)
    return ab.sqrt() * x0 + (1.0 - ab).sqrt() * noise


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
    x_t = q_sample(x0, t, noise, alpha_bars)
    eps_hat = eps_model(x_t, t)
    return ((noise - eps_hat) ** 2).mean()


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
    betas = betas.to(x_t.device)
    abar = torch.cumprod(1.0 - betas, dim=0)
    abar_prev = torch.cat([abar.new_ones(1), abar[:-1]])     # ᾱ_{t-1}, 1 before the first step
    shape = (-1,) + (1,) * (x_t.dim() - 1)
    beta_t = betas[t].reshape(shape)
    ab_t = abar[t].reshape(shape)
    ab_prev = abar_prev[t].reshape(shape)
    coef_x0 = ab_prev.sqrt() * beta_t / (1.0 - ab_t)
    coef_xt = (1.0 - beta_t).sqrt() * (1.0 - ab_prev) / (1.0 - ab_t)
    mean = coef_x0 * x0 + coef_xt * x_t
    var = (1.0 - ab_prev) / (1.0 - ab_t) * beta_t
    return mean.to(x_t.dtype), var.to(x_t.dtype)


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
    betas = betas.to(x_t.device)
    abar = torch.cumprod(1.0 - betas, dim=0)
    shape = (-1,) + (1,) * (x_t.dim() - 1)
    beta_t = betas[t].reshape(shape).to(x_t.dtype)
    ab_t = abar[t].reshape(shape).to(x_t.dtype)
    eps_hat = eps_model(x_t, t)
    mean = (x_t - beta_t / (1.0 - ab_t).sqrt() * eps_hat) / (1.0 - beta_t).sqrt()
    nonzero = (t > 0).reshape(shape).to(x_t.dtype)            # no noise at the last step
    return mean + nonzero * beta_t.sqrt() * noise


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
    shape = tuple(shape)
    opts = dict(dtype=betas.dtype, device=betas.device)
    T = betas.shape[0]
    with torch.no_grad():
        x = torch.randn(shape, generator=generator, **opts)
        for step in range(T):
            t = torch.full((shape[0],), step, dtype=torch.int64, device=betas.device)
            noise = torch.randn(shape, generator=generator, **opts) if step > 0 else torch.zeros(shape, **opts)
            x = p_sample_step(eps_model, x, t, betas, noise)
    return x
