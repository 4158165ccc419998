"""A conditional model for the ``amnesia`` assignment (Selective Amnesia), and an audit of it.

``amnesia_gaussian`` is a class-conditional Gaussian with diagonal covariance,

    p(x | θ, c) = N(x; means[c] + shift, diag(exp(2 · log_std[c]))),

parameters ``[means (C, D), log_std (C, D), shift (D,)]`` in that order. ``shift`` is shared
by every class: forgetting one class without replay or EWC moves it, and so the others.
Its score is known in closed form, so the tests' Fisher oracle needs no autograd: with
z = (x − μ_c) / σ_c, ∂ ln p / ∂means[c] = ∂ ln p / ∂shift = z / σ_c and
∂ ln p / ∂log_std[c] = z² − 1. Everything in ``log_prob`` works under ``torch.func.vmap``.

Student functions receive the model inside the sandbox, so the grader cannot look at it
after a call. A test that asks whether a function left the model alone builds it with
``keep=KEY`` (the builder remembers it and its state: parameters, ``.grad``, the global RNG;
the model itself notes whether ``sample`` ran with autograd recording or in inference mode)
and passes ``Helper("amnesia_kept", key=KEY)`` to a second call in the same test: that
builder returns the same model, or raises :class:`ModelChanged`, naming what the first call
changed, before the second call starts.

``amnesia_probe`` is the same model reading a per-example offset of its parameters from
extra columns of x (see :class:`ProbeGaussian`): the gradient of a loss with respect to those
columns is its gradient with respect to the parameters, which ``student.grad`` can return.

``amnesia_generator`` is a seeded ``torch.Generator`` (CPU), for a ``generator`` argument.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from autograder.helpers import register

# torch.func's functional_call and vmap (how students get per-example gradients) import
# torch._dynamo on first use: seconds that a zygote pays once instead of every test's child
WORKER_IMPORTS = ("torch._dynamo",)

__all__ = ["ClassGaussian", "ModelChanged", "ProbeGaussian", "amnesia_gaussian", "amnesia_generator",
           "amnesia_kept", "amnesia_probe"]


class ClassGaussian(nn.Module):
    """x | c ~ N(means[c] + shift, diag(exp(log_std[c]))²)."""

    def __init__(self, means: torch.Tensor, log_std: torch.Tensor, shift: torch.Tensor) -> None:
        super().__init__()
        self.means = nn.Parameter(means)  # (C, D)
        self.log_std = nn.Parameter(log_std)  # (C, D)
        self.shift = nn.Parameter(shift)  # (D,)
        self.sampled_with_grad = False  # sample() was called with autograd recording
        self.sampled_in_inference_mode = False

    def log_prob(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """(N,) ln p(x_n | θ, c_n) for x (N, D) and int64 labels c (N,)."""
        mu = self.means[c] + self.shift  # (N, D)
        log_sd = self.log_std[c]  # (N, D)
        z = (x - mu) * torch.exp(-log_sd)
        return (-0.5 * math.log(2 * math.pi) - log_sd - 0.5 * z * z).sum(-1)

    def sample(self, c: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """(N, D) one draw per label in c (N,)."""
        self.sampled_in_inference_mode |= torch.is_inference_mode_enabled()
        self.sampled_with_grad |= torch.is_grad_enabled()
        mu = self.means[c] + self.shift
        # drawn where the generator lives (a CPU generator also serves a model on the GPU)
        where = mu.device if generator is None else generator.device
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=where).to(mu.device)
        return mu + torch.exp(self.log_std[c]) * eps


class ProbeGaussian(ClassGaussian):
    """A ClassGaussian whose x (N, D + P) carries, after the D coordinates of the point, an
    offset δ_n (P = 2·C·D + D, the flattened [means, log_std, shift]) added to the parameters
    for example n. With δ = 0 it is the ClassGaussian; ∂ ln p(x_n | c_n) / ∂δ_n is the
    example's gradient with respect to the parameters."""

    def log_prob(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        n_classes, dim = self.means.shape
        point, delta = x[:, :dim], x[:, dim:]
        d_means, d_log_std, d_shift = delta.split([n_classes * dim, n_classes * dim, dim], dim=1)
        rows = torch.arange(len(c), device=c.device)
        mu = (self.means[c] + d_means.reshape(-1, n_classes, dim)[rows, c]
              + self.shift + d_shift)  # (N, D)
        log_sd = self.log_std[c] + d_log_std.reshape(-1, n_classes, dim)[rows, c]
        z = (point - mu) * torch.exp(-log_sd)
        return (-0.5 * math.log(2 * math.pi) - log_sd - 0.5 * z * z).sum(-1)


def _tensor(value, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().to(dtype).clone()
    return torch.tensor(value, dtype=dtype)


# The models built with keep=KEY in this process, with their state at build time. A test's
# calls share one worker process; a key names one test's model.
_KEPT: dict[str, tuple[ClassGaussian, list, list, torch.Tensor]] = {}


class ModelChanged(RuntimeError):
    """The previous call changed the model it was given (see the module docstring)."""


@register("amnesia_gaussian")
def amnesia_gaussian(means, log_std, shift, dtype: str = "float64", grad: str = "none",
                     grad_seed: int = 0, keep: str | None = None) -> nn.Module:
    """A :class:`ClassGaussian` with the given parameters.

    ``grad``: "none" leaves every ``.grad`` None; "values" gives each parameter a seeded,
    never-zero ``.grad`` (as after an earlier ``backward()``). ``keep``: remember the model
    and its state under this key for ``amnesia_kept``.
    """
    dt = getattr(torch, dtype)
    model = ClassGaussian(_tensor(means, dt), _tensor(log_std, dt), _tensor(shift, dt))
    if grad == "values":
        gen = torch.Generator().manual_seed(int(grad_seed))
        for p in model.parameters():
            p.grad = (torch.rand(p.shape, generator=gen, dtype=torch.float64) + 0.5).to(dt)
    elif grad != "none":
        raise ValueError(f"amnesia_gaussian: grad must be 'none' or 'values', not {grad!r}")
    if keep is not None:
        # The worker may move the model to the GPU afterwards; the state is kept on the CPU.
        _KEPT[keep] = (model,
                       [p.detach().clone() for p in model.parameters()],
                       [None if p.grad is None else p.grad.clone() for p in model.parameters()],
                       torch.get_rng_state())
    return model


@register("amnesia_probe")
def amnesia_probe(means, log_std, shift, dtype: str = "float64") -> nn.Module:
    """A :class:`ProbeGaussian` with the given parameters."""
    dt = getattr(torch, dtype)
    return ProbeGaussian(_tensor(means, dt), _tensor(log_std, dt), _tensor(shift, dt))


def _changes(model: ClassGaussian, values: list, grads: list, rng: torch.Tensor | None) -> list[str]:
    names = [n for n, _ in model.named_parameters()]
    found = []
    for name, p, v, g in zip(names, model.parameters(), values, grads):
        if not torch.equal(p.detach().cpu(), v):
            found.append(f"the values of parameter `{name}`")
        if g is None and p.grad is not None:
            found.append(f"`{name}.grad`, which was None and is now a tensor (a backward() "
                         "accumulates into .grad)")
        elif g is not None and p.grad is None:
            found.append(f"`{name}.grad`, which held values and is now None (zero_grad() "
                         "throws away gradients the caller still needs)")
        elif g is not None and p.grad is not None and not torch.equal(p.grad.cpu(), g):  # both tensors
            found.append(f"the values of `{name}.grad`")
    if model.sampled_in_inference_mode:
        found.append("it was sampled under torch.inference_mode(), whose tensors cannot be used in "
                     "a later loss (draw under torch.no_grad())")
    elif model.sampled_with_grad:
        found.append("it was sampled with autograd recording, so the samples carry a graph back to "
                     "the parameters (draw under torch.no_grad())")
    if rng is not None and not torch.equal(torch.get_rng_state(), rng):
        found.append("the global random number generator's state (a random number was drawn)")
    return found


@register("amnesia_kept")
def amnesia_kept(key: str, rng: bool = True) -> nn.Module:
    """The model built with ``keep=key``, after checking that nothing changed it since;
    ``rng=False`` when the call in between may draw random numbers (sampling does)."""
    model, values, grads, rng_state = _KEPT.pop(key)
    found = _changes(model, values, grads, rng_state if rng else None)
    if found:
        changes = "; ".join(found)
        raise ModelChanged(f"the model you were given came back changed: {changes}.")
    return model


@register("amnesia_generator")
def amnesia_generator(seed: int) -> torch.Generator:
    """``torch.Generator().manual_seed(seed)``."""
    return torch.Generator().manual_seed(int(seed))
