"""CORRECT: every computation in float32 whatever the input dtype (cast back at the end), the
model sees a detached x_t, and a one-step-at-a-time sampler that draws x_T last."""
import torch


def linear_beta_schedule(T, beta_start=1e-4, beta_end=0.02):
    step = (beta_end - beta_start) / (T - 1)
    return torch.tensor([beta_start + i * step for i in range(T)], dtype=torch.float64)


def alpha_bars(betas):
    return torch.cumprod(1 - betas.float(), 0).to(betas.dtype)


def _coef(v, t, x):
    return v.to(x.device).float()[t].view(-1, *([1] * (x.dim() - 1)))


def q_sample(x0, t, noise, alpha_bars):
    a = _coef(alpha_bars, t, x0)
    return (a.sqrt() * x0.float() + (1 - a).sqrt() * noise.float()).to(x0.dtype)


def ddpm_loss(eps_model, x0, t, noise, alpha_bars):
    x_t = q_sample(x0, t, noise, alpha_bars).detach()
    diff = noise - eps_model(x_t, t)
    return (diff * diff).sum() / diff.numel()


def q_posterior(x0, x_t, t, betas):
    b = betas.float()
    ab = torch.cumprod(1 - b, 0)
    ab_prev = torch.ones_like(ab)
    ab_prev[1:] = ab[:-1]
    bt, at, ap = _coef(b, t, x_t), _coef(ab, t, x_t), _coef(ab_prev, t, x_t)
    mean = (ap.sqrt() * bt / (1 - at)) * x0.float() + ((1 - bt).sqrt() * (1 - ap) / (1 - at)) * x_t.float()
    var = bt * (1 - ap) / (1 - at)
    return mean.to(x_t.dtype), var.to(x_t.dtype)


def p_sample_step(eps_model, x_t, t, betas, noise):
    b = betas.float()
    ab = torch.cumprod(1 - b, 0)
    bt, at = _coef(b, t, x_t), _coef(ab, t, x_t)
    eps = eps_model(x_t, t).float()
    out = (x_t.float() - bt / (1 - at).sqrt() * eps) / (1 - bt).sqrt()
    out = out + (t > 0).float().view_as(bt) * bt.sqrt() * noise.float()
    return out.to(x_t.dtype)


@torch.no_grad()
def sample(eps_model, shape, betas, generator=None):
    T = len(betas)
    noises = [torch.randn(*shape, generator=generator, dtype=betas.dtype, device=betas.device)
              for _ in range(T - 1)]
    x = torch.randn(*shape, generator=generator, dtype=betas.dtype, device=betas.device)
    for s in reversed(range(T)):
        t = torch.full((shape[0],), s, dtype=torch.int64, device=betas.device)
        z = noises[s - 1] if s > 0 else torch.zeros_like(x)
        x = p_sample_step(eps_model, x, t, betas, z)
    return x
