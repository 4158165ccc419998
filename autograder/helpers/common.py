"""Helpers shared by several assignments: seeded small networks."""

from __future__ import annotations

import torch
from torch import nn

from autograder.helpers import register

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU, "none": nn.Identity}


@register("mlp")
def mlp(
    sizes: list,
    seed: int = 0,
    activation: str = "tanh",
    dtype: str = "float64",
    scale: float = 1.0,
    out_scale: float = 1.0,
) -> nn.Module:
    """A seeded multilayer perceptron ``sizes[0] -> ... -> sizes[-1]``.

    Weights are drawn from N(0, scale²/fan_in) with a private generator, never zero,
    so sign and scale mistakes always show. ``out_scale`` multiplies the output.
    """
    gen = torch.Generator().manual_seed(int(seed))
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(int(a), int(b))
        with torch.no_grad():
            lin.weight.copy_(torch.randn(int(b), int(a), generator=gen) * scale / float(a) ** 0.5)
            lin.bias.copy_(torch.randn(int(b), generator=gen) * 0.1)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(_ACTIVATIONS[activation]())
    net = nn.Sequential(*layers)
    net.to(getattr(torch, dtype))
    if out_scale != 1.0:
        return _Scaled(net, out_scale)
    return net


class _Scaled(nn.Module):
    def __init__(self, net: nn.Module, factor: float) -> None:
        super().__init__()
        self.net = net
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) * self.factor
