"""Grader-provided objects for the `gpt` assignment: seeded generators and a tiny causal LM.

Both sides of the trust boundary rebuild these from plain parameters, so a test can hand
the student ``Helper("gpt_generator", seed=3)`` (a ``torch.Generator``) or
``Helper("gpt_tiny_lm", vocab=13, seed=0)`` (a model ``ids (B, L) -> logits (B, L, V)``).
"""

from __future__ import annotations

import torch
from torch import nn

from autograder.helpers import register


class MovableGenerator(torch.Generator):
    """A ``torch.Generator`` that follows the device the grader tests on.

    The worker moves grader-provided objects with ``.to(device)``; a plain generator has no
    ``.to``, so this one answers with a fresh generator on ``device`` with the same seed.
    """

    def to(self, device: str | torch.device) -> torch.Generator:
        device = torch.device(device)
        if device.type == self.device.type:
            return self
        gen = MovableGenerator(device=device)
        gen.manual_seed(self.initial_seed())
        return gen


@register("gpt_generator")
def gpt_generator(seed: int) -> torch.Generator:
    """A ``torch.Generator`` seeded with ``seed`` (moved by ``.to(device)`` if needed)."""
    gen = MovableGenerator()
    gen.manual_seed(int(seed))
    return gen


class TinyCausalLM(nn.Module):
    """A causal language model whose most likely next token follows a known rule.

    For ids ``x`` (B, L) the logits at position ``i`` are

        peak · onehot(rule_i) + noise_table[x_i],   rule_i = (Σ_{j≤i} x_j + step·i + offset) mod V

    with ``noise_table`` (V, V) drawn uniformly from [−noise, noise] with a private
    generator. With ``peak > 2·noise`` the arg-max at every position is ``rule_i`` exactly,
    so greedy decoding has a known continuation; with ``peak = 0`` it is a random (but
    deterministic) causal model. Logits at position ``i`` depend only on ``x[:, :i+1]``
    and on the absolute position ``i``, so cropping the context or reading the wrong
    position changes the output.
    """

    # buffers (register_buffer below), declared for the type checker
    noise_table: torch.Tensor

    def __init__(self, vocab: int, seed: int, peak: float, noise: float, step: int,
                 offset: int, dtype: torch.dtype) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        table = (torch.rand(vocab, vocab, generator=gen, dtype=torch.float64) * 2 - 1) * noise
        self.register_buffer("noise_table", table.to(dtype))
        self.vocab = int(vocab)
        self.peak = float(peak)
        self.step = int(step)
        self.offset = int(offset)

    def rule(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, L) int64: the token the rule favours after each prefix ``ids[:, :i+1]``."""
        pos = torch.arange(ids.shape[-1], device=ids.device)
        return (ids.cumsum(-1) + self.step * pos + self.offset) % self.vocab

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if not isinstance(ids, torch.Tensor) or ids.dtype in (torch.float16, torch.bfloat16,
                                                              torch.float32, torch.float64,
                                                              torch.bool):
            raise TypeError("the grader's language model expects token ids as an int64 tensor "
                            f"of shape (B, L); got {type(ids).__name__}"
                            + (f" of dtype {ids.dtype}" if isinstance(ids, torch.Tensor) else ""))
        if ids.dim() != 2:
            raise ValueError("the grader's language model expects token ids of shape (B, L); "
                             f"got shape {tuple(ids.shape)}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.vocab):
            raise ValueError(f"token ids must lie in 0 … {self.vocab - 1}; got values from "
                             f"{int(ids.min())} to {int(ids.max())}")
        ids = ids.long()
        logits = self.noise_table[ids]  # (B, L, V)
        if self.peak:
            logits = logits + self.peak * nn.functional.one_hot(
                self.rule(ids), self.vocab).to(logits.dtype)
        return logits


@register("gpt_tiny_lm")
def gpt_tiny_lm(vocab: int = 13, seed: int = 0, peak: float = 3.0, noise: float = 1.0,
                step: int = 5, offset: int = 1, dtype: str = "float32") -> TinyCausalLM:
    """The :class:`TinyCausalLM` with these parameters (logits in ``dtype``)."""
    return TinyCausalLM(vocab, seed, peak, noise, step, offset, getattr(torch, dtype)).eval()
