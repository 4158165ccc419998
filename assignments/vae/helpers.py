"""Decoders for the ``vae`` assignment.

Each builder returns an ``nn.Module`` whose ``forward(z)`` accepts z of shape (..., Dz) with
any leading dims (so students may decode all L samples at once or one at a time):

- ``vae_gaussian_decoder``: a seeded MLP returning ``(mean, log_var)`` for the Gaussian
  likelihood;
- ``linear_gaussian_decoder``: p(x | z) = N(W z + b, diag(exp(log_var))), the model in which
  log p(x) and the true posterior are known exactly;
- ``vae_training_decoder``: the decoder the grader trains end to end. Its weights arrive as
  tensors; z is split into ``latent`` coordinates fed to a one-hidden-layer MLP and Dx more
  coordinates added to its logits (the grader keeps them at 0 and reads the gradient of
  the ELBO with respect to the logits from them).

(Bernoulli decoders use the shared ``mlp`` helper: it already maps (..., Dz) to (..., Dx).)
"""

from __future__ import annotations

import torch
from torch import nn

from autograder.helpers import register
from autograder.helpers.common import mlp


def _tensor(value, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().to(dtype).clone()
    return torch.tensor(value, dtype=dtype)


class GaussianDecoder(nn.Module):
    def __init__(self, net: nn.Module, dx: int, log_var_scale: float) -> None:
        super().__init__()
        self.net = net
        self.dx = dx
        self.log_var_scale = log_var_scale

    def forward(self, z: torch.Tensor):
        out = self.net(z)
        mean, raw = out[..., : self.dx], out[..., self.dx :]
        return mean, self.log_var_scale * torch.tanh(raw)  # log-variances in ±log_var_scale


@register("vae_gaussian_decoder")
def vae_gaussian_decoder(dz: int, dx: int, hidden: int = 16, seed: int = 0,
                         dtype: str = "float64", log_var_scale: float = 2.0) -> nn.Module:
    """z (..., dz) -> (mean (..., dx), log_var (..., dx)) with log_var in ±log_var_scale."""
    net = mlp([dz, hidden, 2 * dx], seed=seed, activation="tanh", dtype=dtype)
    return GaussianDecoder(net, int(dx), float(log_var_scale)).to(getattr(torch, dtype))


class LinearGaussianDecoder(nn.Module):
    # buffers (register_buffer below), declared for the type checker
    w: torch.Tensor
    b: torch.Tensor
    log_var: torch.Tensor

    def __init__(self, w: torch.Tensor, b: torch.Tensor, log_var: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("w", w)  # (Dx, Dz)
        self.register_buffer("b", b)  # (Dx,)
        self.register_buffer("log_var", log_var)  # (Dx,)

    def forward(self, z: torch.Tensor):
        mean = z @ self.w.T + self.b
        return mean, self.log_var.expand_as(mean)


@register("linear_gaussian_decoder")
def linear_gaussian_decoder(w, b, log_var, dtype: str = "float64") -> nn.Module:
    """p(x | z) = N(x; w z + b, diag(exp(log_var))); w (Dx, Dz), b (Dx,), log_var (Dx,)."""
    dt = getattr(torch, dtype)
    return LinearGaussianDecoder(_tensor(w, dt), _tensor(b, dt), _tensor(log_var, dt))


class TrainingDecoder(nn.Module):
    # buffers (register_buffer below), declared for the type checker
    w1: torch.Tensor
    b1: torch.Tensor
    w2: torch.Tensor
    b2: torch.Tensor

    def __init__(self, w1, b1, w2, b2, latent: int) -> None:
        super().__init__()
        self.register_buffer("w1", w1)  # (latent, H)
        self.register_buffer("b1", b1)  # (H,)
        self.register_buffer("w2", w2)  # (H, Dx)
        self.register_buffer("b2", b2)  # (Dx,)
        self.latent = latent

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(z[..., : self.latent] @ self.w1 + self.b1)
        return h @ self.w2 + self.b2 + z[..., self.latent :]


@register("vae_training_decoder")
def vae_training_decoder(w1, b1, w2, b2, latent: int, dtype: str = "float64") -> nn.Module:
    """logits = tanh(z[..., :latent] w1 + b1) w2 + b2 + z[..., latent:]."""
    dt = getattr(torch, dtype)
    return TrainingDecoder(_tensor(w1, dt), _tensor(b1, dt), _tensor(w2, dt), _tensor(b2, dt),
                           int(latent))
