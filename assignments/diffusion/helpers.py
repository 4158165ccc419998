"""Grader-provided objects for the `diffusion` assignment.

- ``Helper("generator", seed=3)``: a seeded ``torch.Generator`` (follows the device the
  grader runs the student on).
- ``Helper("diffusion_toy_eps", shape=[2, 3], T=10, seed=0)``: a small seeded noise
  predictor ε_θ(x_t, t) with learnable parameters, for value and gradient tests.
- ``Helper("diffusion_gaussian_eps", mean=..., var=..., alpha_bars=[...])``: the exact
  noise predictor E[ε | x_t] for Gaussian data, so a correct sampler's output law is known.
- ``Helper("diffusion_mlp", weights=[W1, b1, W2, b2], T=50)``: a tiny MLP whose weights the
  grader passes in (the end-to-end training test updates them between calls).

Every model checks that it is called as ``eps_model(x_t, t)`` with ``t`` an int64 (B,)
tensor and says what is wrong otherwise.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from autograder.helpers import register


class SeededGenerator(torch.Generator):
    """A ``torch.Generator`` that can be moved to another device (keeping its seed).

    The grader moves helper objects to the device it tests on with ``.to(device)``; a plain
    ``torch.Generator`` cannot move, so this one returns a fresh generator on ``device``
    seeded with the same seed.
    """

    def to(self, device: str | torch.device) -> torch.Generator:
        device = torch.device(device)
        if device.type == "cpu":
            return self
        return SeededGenerator(device=device).manual_seed(self.initial_seed())


@register("generator")
def generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (moved by ``.to(device)`` if needed)."""
    g = SeededGenerator()
    g.manual_seed(int(seed))
    return g


def _check_call(x_t: object, t: object) -> None:
    if not isinstance(x_t, torch.Tensor) or not x_t.is_floating_point():
        raise TypeError("eps_model(x_t, t): x_t must be a floating tensor of shape (B, ...); got "
                        f"{type(x_t).__name__}"
                        + (f" of dtype {x_t.dtype}" if isinstance(x_t, torch.Tensor) else ""))
    if not isinstance(t, torch.Tensor) or t.dtype != torch.int64:
        raise TypeError("eps_model(x_t, t): t must be an int64 tensor of shape (B,), one time "
                        f"index per sample; got {type(t).__name__}"
                        + (f" of dtype {t.dtype}" if isinstance(t, torch.Tensor) else ""))
    if x_t.dim() < 1 or t.shape != (x_t.shape[0],):
        raise ValueError("eps_model(x_t, t): t must have shape (B,) with B = x_t.shape[0]; got t "
                         f"of shape {tuple(t.shape)} and x_t of shape {tuple(x_t.shape)}. Use "
                         "torch.full((B,), step, dtype=torch.int64) for a single step.")


def _check_range(t: torch.Tensor, T: int) -> None:
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= T):
        raise IndexError(f"eps_model(x_t, t): time indices must lie in 0 … {T - 1} (0-based); "
                         f"got values from {int(t.min())} to {int(t.max())}")


class ToyEps(nn.Module):
    """ε_θ(x_t, t) = tanh(w ⊙ x_t + u ⊙ e[t]) + 0.5 · e[t]·v, elementwise over (B, *shape).

    ``w``, ``u``, ``v`` have the non-batch shape; ``e`` (T,) is a per-step embedding, so
    reading the wrong time step changes the output.
    """

    # buffers (register_buffer below), declared for the type checker
    e: torch.Tensor

    def __init__(self, shape: list, T: int, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        shape = [int(s) for s in shape]
        self.shape = tuple(shape)
        self.T = int(T)
        self.w = nn.Parameter(torch.randn(shape, generator=gen, dtype=torch.float64) * 0.8)
        self.u = nn.Parameter(torch.randn(shape, generator=gen, dtype=torch.float64))
        self.v = nn.Parameter(torch.randn(shape, generator=gen, dtype=torch.float64) * 0.5)
        self.register_buffer("e", torch.randn(self.T, generator=gen, dtype=torch.float64))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        _check_call(x_t, t)
        if tuple(x_t.shape[1:]) != self.shape:
            raise ValueError(f"eps_model(x_t, t): x_t must have shape (B, {', '.join(map(str, self.shape))}); "
                             f"got {tuple(x_t.shape)}")
        _check_range(t, self.T)
        dt = x_t.dtype
        e = self.e.to(dt)[t].reshape((-1,) + (1,) * len(self.shape))
        return torch.tanh(self.w.to(dt) * x_t + self.u.to(dt) * e) + 0.5 * e * self.v.to(dt)


@register("diffusion_toy_eps")
def diffusion_toy_eps(shape: list, T: int, seed: int = 0) -> nn.Module:
    """A seeded :class:`ToyEps` for inputs (B, *shape) and T time steps."""
    return ToyEps(shape, T, seed)


class GaussianEps(nn.Module):
    """The exact noise predictor for data x0 ~ N(mean, var) (independent elements).

    With x_t = sqrt(ᾱ) x0 + sqrt(1 − ᾱ) ε, x_t and ε are jointly Gaussian, so
    E[ε | x_t] = sqrt(1 − ᾱ) (x_t − sqrt(ᾱ) mean) / (ᾱ var + 1 − ᾱ).
    ``mean`` and ``var`` broadcast against the non-batch dims of x_t.
    """

    # buffers (register_buffer below), declared for the type checker
    mean: torch.Tensor
    var: torch.Tensor
    alpha_bars: torch.Tensor

    def __init__(self, mean: object, var: object, alpha_bars: object) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float64))
        self.register_buffer("var", torch.as_tensor(var, dtype=torch.float64))
        self.register_buffer("alpha_bars", torch.as_tensor(alpha_bars, dtype=torch.float64).reshape(-1))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        _check_call(x_t, t)
        _check_range(t, self.alpha_bars.shape[0])
        dt = x_t.dtype
        ab = self.alpha_bars[t].reshape((-1,) + (1,) * (x_t.dim() - 1))
        k = (1 - ab).sqrt() / (ab * self.var + 1 - ab)
        return (k.to(dt) * (x_t - (ab.sqrt() * self.mean).to(dt))).to(dt)


@register("diffusion_gaussian_eps")
def diffusion_gaussian_eps(mean: object, var: object, alpha_bars: object) -> nn.Module:
    """The exact E[ε | x_t] for Gaussian data N(mean, var) under the schedule ``alpha_bars``."""
    return GaussianEps(mean, var, alpha_bars)


def time_features(t: torch.Tensor, T: int, dtype: torch.dtype) -> torch.Tensor:
    """(B, 4) sinusoidal features of the 0-based step t."""
    s = (t.to(dtype) + 1) / T
    return torch.stack([torch.sin(math.pi * s), torch.cos(math.pi * s),
                        torch.sin(2 * math.pi * s), torch.cos(2 * math.pi * s)], dim=-1)


class TinyMLP(nn.Module):
    """ε_θ(x_t, t) = W2 tanh(W1 [x_t, φ(t)] + b1) + b2 for 2-D data x_t (B, 2)."""

    def __init__(self, weights: list, T: int) -> None:
        super().__init__()
        w1, b1, w2, b2 = (torch.as_tensor(w, dtype=torch.float64) for w in weights)
        self.w1, self.b1 = nn.Parameter(w1.clone()), nn.Parameter(b1.clone())
        self.w2, self.b2 = nn.Parameter(w2.clone()), nn.Parameter(b2.clone())
        self.T = int(T)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        _check_call(x_t, t)
        if x_t.dim() != 2 or x_t.shape[1] != self.w1.shape[1] - 4:
            raise ValueError(f"eps_model(x_t, t): x_t must have shape (B, {self.w1.shape[1] - 4}); "
                             f"got {tuple(x_t.shape)}")
        _check_range(t, self.T)
        dt = x_t.dtype
        h = torch.cat([x_t, time_features(t, self.T, dt)], dim=-1)
        h = torch.tanh(h @ self.w1.to(dt).T + self.b1.to(dt))
        return h @ self.w2.to(dt).T + self.b2.to(dt)


@register("diffusion_mlp")
def diffusion_mlp(weights: list, T: int) -> nn.Module:
    """:class:`TinyMLP` with the given ``[W1 (H, D+4), b1 (H,), W2 (D, H), b2 (D,)]``."""
    return TinyMLP(weights, T)


class LinearEps(nn.Module):
    """ε_θ(x_t, t) = scale · x_t + shift · (t + 1) (broadcast over the non-batch dims).

    Simple enough for hand-computed expected values in the public tests.
    """

    def __init__(self, scale: float, shift: float) -> None:
        super().__init__()
        self.scale = float(scale)
        self.shift = float(shift)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        _check_call(x_t, t)
        step = (t + 1).to(x_t.dtype).reshape((-1,) + (1,) * (x_t.dim() - 1))
        return self.scale * x_t + self.shift * step


@register("diffusion_linear_eps")
def diffusion_linear_eps(scale: float = 0.5, shift: float = 0.0) -> nn.Module:
    """:class:`LinearEps`: ε̂ = scale · x_t + shift · (t + 1)."""
    return LinearEps(scale, shift)
