"""CORRECT: ᾱ in log space, gather/F.pad indexing, a variance shaped like x_t, F.mse_loss,
and all the sampler's noise drawn up front in one tensor."""
import torch
import torch.nn.functional as F


def linear_beta_schedule(T, beta_start=1e-4, beta_end=0.02):
    return torch.linspace(beta_start, beta_end, steps=T).to(torch.float64) * 0 + \
        torch.linspace(beta_start, beta_end, steps=T, dtype=torch.float64)


def alpha_bars(betas):
    return torch.exp(torch.cumsum(torch.log1p(-betas), dim=0))


def _take(v, t, like):
    out = torch.gather(v.to(like.device), 0, t.to(like.device))
    return out.view(like.shape[0], *([1] * (like.dim() - 1))).to(like.dtype)


def q_sample(x0, t, noise, alpha_bars):
    a = _take(alpha_bars.double(), t, x0.double())
    return (torch.sqrt(a) * x0.double() + torch.sqrt(1 - a) * noise.double()).to(x0.dtype)


def ddpm_loss(eps_model, x0, t, noise, alpha_bars):
    x_t = q_sample(x0, t, noise, alpha_bars)
    return F.mse_loss(eps_model(x_t, t), noise)


def q_posterior(x0, x_t, t, betas):
    b = betas.double()
    ab = alpha_bars(b)
    ab_prev = F.pad(ab[:-1], (1, 0), value=1.0)
    x0d, xtd = x0.double(), x_t.double()
    bt, at, ap = _take(b, t, xtd), _take(ab, t, xtd), _take(ab_prev, t, xtd)
    mean = (ap.sqrt() * bt * x0d + (1 - bt).sqrt() * (1 - ap) * xtd) / (1 - at)
    var = ((1 - ap) * bt / (1 - at)).expand_as(xtd)
    return mean.to(x_t.dtype), var.to(x_t.dtype).clone()


def p_sample_step(eps_model, x_t, t, betas, noise):
    b = betas.to(x_t.device, torch.float64)
    ab = alpha_bars(b)
    bt, at = _take(b, t, x_t.double()), _take(ab, t, x_t.double())
    eps = eps_model(x_t, t).double()
    mean = torch.rsqrt(1 - bt) * (x_t.double() - bt * torch.rsqrt(1 - at) * eps)
    sigma = torch.where(_take((t > 0).double(), torch.arange(t.shape[0], device=t.device), x_t.double()) > 0,
                        bt.sqrt(), torch.zeros_like(bt))
    return (mean + sigma * noise.double()).to(x_t.dtype)


def sample(eps_model, shape, betas, generator=None):
    shape = tuple(shape)
    T = betas.shape[0]
    zs = torch.randn((T + 1,) + shape, generator=generator, dtype=betas.dtype, device=betas.device)
    x = zs[T]
    for i in range(T - 1, -1, -1):
        t = torch.full(shape[:1], i, dtype=torch.int64, device=betas.device)
        x = p_sample_step(eps_model, x, t, betas, zs[i]).detach()
    return x
