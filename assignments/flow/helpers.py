"""Grader-provided networks for the ``flow`` assignment (RealNVP affine coupling).

Student functions receive these as ``s_net`` / ``t_net``: callables mapping (B, d) to
(B, D − d). Besides the shared seeded ``mlp`` (see :mod:`autograder.helpers.common`):

- ``flow_linear``: an affine map with weights written out in the test, for hand examples;
- ``flow_rf``: a random-feature network ``tanh(u W + c) A + a`` whose fixed features
  (W, c) are seeded and whose read-out (A, a) is given as a tensor. The read-out may hold
  K parameter sets at once: the batch is then split into K equal consecutive blocks and
  block k uses set k. The grader uses this to evaluate K versions of a flow in a single
  call (e.g. to train a flow by finite differences without sending networks across the
  sandbox boundary). With K = 1 it is an ordinary network.

``net_spec`` and ``layer_specs`` write seeded ``mlp`` networks and whole flows (lists of
``(d, s_net, t_net, perm)``) as specs for tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from autograder.helpers import register

if TYPE_CHECKING:
    from autograder.protocol import Helper

__all__ = ["LinearNet", "RandomFeatureNet", "flow_linear", "flow_rf", "net_spec", "layer_specs"]


class LinearNet(nn.Module):
    """u ↦ u @ weight + bias, with ``weight`` (d_in, d_out) and ``bias`` (d_out,)."""

    # buffers (register_buffer below), declared for the type checker
    weight: torch.Tensor
    bias: torch.Tensor

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return u @ self.weight.to(u.dtype) + self.bias.to(u.dtype)


@register("flow_linear")
def flow_linear(weight: list, bias: list, dtype: str = "float64") -> nn.Module:
    """An affine network with the given ``weight`` (d_in × d_out nested list) and ``bias``."""
    dt = getattr(torch, dtype)
    w = torch.as_tensor(weight, dtype=dt)
    b = torch.as_tensor(bias, dtype=dt)
    if w.dim() != 2 or b.shape != (w.shape[1],):
        raise ValueError("flow_linear: weight must be (d_in, d_out) and bias (d_out,)")
    return LinearNet(w, b)


class RandomFeatureNet(nn.Module):
    """u ↦ tanh(u W + c) A_k + a_k for the rows of block k (see the module docstring)."""

    # buffers (register_buffer below), declared for the type checker
    w: torch.Tensor
    c: torch.Tensor
    readout: torch.Tensor

    def __init__(self, w: torch.Tensor, c: torch.Tensor, readout: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("w", w)  # (d_in, H)
        self.register_buffer("c", c)  # (H,)
        self.register_buffer("readout", readout)  # (K, H + 1, d_out): rows 0..H-1 = A, row H = a

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        k = self.readout.shape[0]
        b = u.shape[0]
        if u.dim() != 2 or b % k:
            raise ValueError(
                f"this grader network evaluates {k} versions of the flow at once and needs the "
                f"whole batch in one call, shaped (B, d) with B a multiple of {k}; got shape "
                f"{tuple(u.shape)}. Call s_net/t_net on all rows at once.")
        feats = torch.tanh(u @ self.w.to(u.dtype) + self.c.to(u.dtype))  # (B, H)
        feats = feats.reshape(k, b // k, -1)  # (K, B/K, H)
        ro = self.readout.to(u.dtype)
        out = feats @ ro[:, :-1, :] + ro[:, -1:, :]  # (K, B/K, d_out)
        return out.reshape(b, -1)


@register("flow_rf")
def flow_rf(d_in: int, readout: torch.Tensor, seed: int = 0, feature_scale: float = 1.5,
            dtype: str = "float64") -> nn.Module:
    """A random-feature network with H = readout.shape[-2] − 1 seeded tanh features.

    ``readout``: (H + 1, d_out) for one network, or (K, H + 1, d_out) for K parameter sets
    evaluated on K consecutive blocks of the batch.
    """
    dt = getattr(torch, dtype)
    ro = torch.as_tensor(readout, dtype=dt)
    if ro.dim() == 2:
        ro = ro.unsqueeze(0)
    if ro.dim() != 3 or ro.shape[1] < 2:
        raise ValueError("flow_rf: readout must be (H + 1, d_out) or (K, H + 1, d_out)")
    hidden = ro.shape[1] - 1
    gen = torch.Generator().manual_seed(int(seed))
    w = torch.randn(int(d_in), hidden, generator=gen, dtype=torch.float64) * feature_scale
    c = torch.randn(hidden, generator=gen, dtype=torch.float64) * feature_scale
    return RandomFeatureNet(w.to(dt), c.to(dt), ro)


# --------------------------------------------------------------------------- layer specs for tests


def net_spec(d_in: int, d_out: int, seed: int, *, dtype: str = "float64", hidden: int = 8,
             out_scale: float = 0.5) -> "Helper":
    """A seeded, never-zero ``mlp`` d_in → hidden → d_out, as a spec both sides rebuild."""
    from autograder.protocol import Helper

    return Helper("mlp", sizes=[int(d_in), int(hidden), int(d_out)], seed=int(seed),
                  activation="tanh", dtype=dtype, scale=1.5, out_scale=float(out_scale))


def layer_specs(dim: int, ds: list, perms: list, seed: int, *, dtype: str = "float64",
                s_scale: float = 0.5, t_scale: float = 1.0) -> list:
    """A flow as ``[(d, s_net, t_net, perm), ...]`` with seeded ``mlp`` specs.

    ``perms`` holds index lists (or ``None``); they become int64 tensors.
    """
    layers = []
    for i, (d, perm) in enumerate(zip(ds, perms)):
        s = net_spec(d, dim - d, seed + 2 * i, dtype=dtype, out_scale=s_scale)
        t = net_spec(d, dim - d, seed + 2 * i + 1, dtype=dtype, out_scale=t_scale)
        p = None if perm is None else torch.tensor(perm, dtype=torch.int64)
        layers.append((int(d), s, t, p))
    return layers
