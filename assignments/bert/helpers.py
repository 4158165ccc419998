"""Grader-provided objects for assignment ``bert``: masked language models and a tokenizer.

* ``bert_fake_mlm`` — a deterministic stand-in for a masked LM (マスク言語モデル) whose
  logits come from fixed, seeded tables, so tests know exactly what every call returns.
  Like a real BERT it *copies* a visible token (a large logit for the token already at
  a position) and *predicts from the context* at a ``[MASK]``: the logits at position i
  are ``base[i] + left[ids[i-1]] + right[ids[i+1]]`` (+ ``copy`` on the token itself when
  it is not the mask); ``planted`` adds a sentence the model believes in. Options make
  it behave like a Hugging Face model (``hf_output``: an object with ``.logits``) and
  check how it is called (``max_calls``, ``batch_size``).
* ``bert_ja_model`` — the course's small Japanese ``BertForMaskedLM`` (see
  ``models/bert_ja/README.md``), loaded from ``autograder/assets/bert_ja``. The grader
  runs it with a short pure-PyTorch forward pass (same weights, same arithmetic as
  ``transformers``' ``BertForMaskedLM`` in eval mode, logits equal to ~1e-6) so that a
  test does not pay for importing the transformers modelling code; it takes
  ``model(ids)``, ``model(input_ids=ids, attention_mask=...)`` and returns an object
  with ``.logits``, as Hugging Face models do. Both models return logits on the device
  of the ids they are given, wherever the model itself lives.
* ``bert_ja_tokenizer`` — the course's ``BertJapaneseTokenizer`` (MeCab with the
  ``ipadic`` dictionary, word-level vocabulary), loaded with ``local_files_only=True``.

Students load the same model in their notebook with::

    from transformers import BertForMaskedLM, BertJapaneseTokenizer
    tok = BertJapaneseTokenizer.from_pretrained(PATH, local_files_only=True)
    model = BertForMaskedLM.from_pretrained(PATH, local_files_only=True).eval()

where ``PATH`` is :data:`ASSETS` (``autograder/assets/bert_ja``).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

import autograder
from autograder.helpers import register

# what the tokenizer (and a student's own `from transformers import ...`) imports on first use
WORKER_IMPORTS = ("transformers.models.bert_japanese.tokenization_bert_japanese",
                  "transformers.models.bert.modeling_bert", "fugashi", "ipadic")

ASSETS = Path(autograder.__file__).resolve().parent / "assets" / "bert_ja"  # ships with the engine


class MaskedLMOutput:
    """What a Hugging Face masked LM returns, reduced to its logits.

    ``out.logits``, ``out["logits"]``, ``out[0]`` and ``logits, = out`` all work.
    """

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits

    def __getitem__(self, key: Any) -> torch.Tensor:
        if key == 0 or key == "logits":
            return self.logits
        raise KeyError(key)

    def __iter__(self):
        return iter((self.logits,))

    def __len__(self) -> int:
        return 1

    def keys(self):
        return ["logits"]

    def to_tuple(self) -> tuple:
        return (self.logits,)


def _check_ids(input_ids: Any, vocab_size: int, who: str) -> torch.Tensor:
    if not isinstance(input_ids, torch.Tensor):
        raise TypeError(f"{who} expects input_ids as a torch.Tensor, got {type(input_ids).__name__}")
    if input_ids.dim() != 2:
        raise ValueError(f"{who} expects input_ids of shape (B, L) (a batch of sentences), got "
                         f"shape {tuple(input_ids.shape)}; add a batch dimension with ids[None] "
                         "or ids.unsqueeze(0)")
    if input_ids.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"{who} expects integer token ids (int64), got {input_ids.dtype}")
    if input_ids.numel() and (int(input_ids.min()) < 0 or int(input_ids.max()) >= vocab_size):
        raise ValueError(f"{who}: token ids must lie in [0, {vocab_size}); got values from "
                         f"{int(input_ids.min())} to {int(input_ids.max())}")
    return input_ids.long()


class FakeMLM(nn.Module):
    """Deterministic masked LM from seeded tables (see the module docstring)."""

    def __init__(self, vocab_size: int, mask_token_id: int, *, seed: int, positional: bool,
                 copy: float, scale: float, max_len: int, hf_output: bool, dtype: torch.dtype,
                 max_calls: int | None, batch_size: int | None, banned: list | None,
                 planted: list | None, planted_strength: float) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        V = int(vocab_size)
        base = torch.randn(int(max_len), V, generator=gen, dtype=torch.float64) * scale
        if not positional:
            base = base[:1].expand(int(max_len), V).clone()
        left = torch.randn(V, V, generator=gen, dtype=torch.float64) * scale
        right = torch.randn(V, V, generator=gen, dtype=torch.float64) * scale
        if planted:  # the model "knows" this sentence: a bonus for planted[i] at position i
            rows = torch.arange(len(planted))
            base[rows, torch.tensor([int(t) for t in planted])] += float(planted_strength)
        if banned:  # tokens the model never predicts (e.g. [CLS], [SEP], [PAD], [MASK])
            base[:, torch.tensor([int(b) for b in banned])] -= 20.0
        # parameters (frozen), so that next(model.parameters()).device works as for any model
        self.base = nn.Parameter(base, requires_grad=False)
        self.left = nn.Parameter(left, requires_grad=False)
        self.right = nn.Parameter(right, requires_grad=False)
        self.config = SimpleNamespace(vocab_size=V, mask_token_id=int(mask_token_id))
        self.vocab_size = V
        self.mask_token_id = int(mask_token_id)
        self.copy = float(copy)
        self.hf_output = bool(hf_output)
        self.out_dtype = dtype
        self.max_calls = None if max_calls is None else int(max_calls)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.calls = 0

    @property
    def device(self) -> torch.device:
        return self.base.device

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: Any = None,
                token_type_ids: Any = None, **_: Any) -> Any:
        ids = _check_ids(input_ids, self.vocab_size, "the grader's masked LM")
        where = ids.device  # logits come back on the device of the ids
        ids = ids.to(self.base.device)
        self.calls += 1
        if self.max_calls is not None and self.calls > self.max_calls:
            raise RuntimeError(
                f"the grader's masked LM was called {self.calls} times, more than the "
                f"{self.max_calls} calls this input needs: make ONE batched model call per round "
                "(all masked copies from masked_candidates together), not one call per position, "
                "and no extra calls")
        B, L = ids.shape
        if self.batch_size is not None and B != self.batch_size:
            raise RuntimeError(
                f"the grader's masked LM received a batch of {B} sentence(s); each round should "
                f"score all {self.batch_size} masked copies (one per non-special position, from "
                "masked_candidates) in one batched call")
        if L > self.base.shape[0]:
            raise ValueError(f"the grader's masked LM takes at most {self.base.shape[0]} tokens")
        logits = self.base[:L].unsqueeze(0).expand(B, L, self.vocab_size).clone()  # (B, L, V)
        if L > 1:
            logits[:, 1:] += self.left[ids[:, :-1]]
            logits[:, :-1] += self.right[ids[:, 1:]]
        visible = (ids != self.mask_token_id).to(logits.dtype).unsqueeze(-1)  # (B, L, 1)
        one_hot = torch.nn.functional.one_hot(ids, self.vocab_size).to(logits.dtype)
        logits = (logits + self.copy * visible * one_hot).to(where, self.out_dtype)
        return MaskedLMOutput(logits) if self.hf_output else logits


@register("bert_fake_mlm")
def bert_fake_mlm(vocab_size: int, mask_token_id: int, seed: int = 0, positional: bool = True,
                  copy: float = 6.0, scale: float = 1.5, max_len: int = 32,
                  hf_output: bool = False, dtype: str = "float32", max_calls: int | None = None,
                  batch_size: int | None = None, banned: list | None = None,
                  planted: list | None = None, planted_strength: float = 4.0) -> FakeMLM:
    """A seeded fake masked LM over ``vocab_size`` tokens (``mask_token_id`` is its [MASK]).

    ``positional=False`` drops the position term, so equal tokens with equal neighbours get
    bit-identical logits (for tie tests). ``max_calls`` / ``batch_size``: raise a clear
    error when called more often, or with another batch size. ``banned``: token ids whose
    logits are lowered by 20 everywhere (special tokens a real model never predicts).
    ``planted``: a sentence the model believes in — ``planted_strength`` is added to the
    logit of ``planted[i]`` at position i — so a copy of it with a few wrong tokens is a
    sentence with errors that a correct corrector repairs.
    """
    return FakeMLM(vocab_size, mask_token_id, seed=seed, positional=positional, copy=copy,
                   scale=scale, max_len=max_len, hf_output=hf_output,
                   dtype=getattr(torch, dtype), max_calls=max_calls, batch_size=batch_size,
                   banned=banned, planted=planted, planted_strength=planted_strength).eval()


# --------------------------------------------------------------------------- course model


class _CourseBert(nn.Module):
    """``BertForMaskedLM`` in eval mode (post-LayerNorm encoder, GELU, tied decoder)."""

    def __init__(self, config: dict, state: dict) -> None:
        super().__init__()
        self.vocab_size = int(config["vocab_size"])
        self.n_layers = int(config["num_hidden_layers"])
        self.n_heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError("the course model uses GELU")
        self.config = SimpleNamespace(**config)
        self.params = nn.ParameterDict({
            k.replace(".", "__"): nn.Parameter(v, requires_grad=False) for k, v in state.items()})

    @property
    def device(self) -> torch.device:
        return self.p("cls.predictions.bias").device

    def p(self, name: str) -> torch.Tensor:
        return self.params[name.replace(".", "__")]

    def _ln(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return nn.functional.layer_norm(x, x.shape[-1:], self.p(name + ".weight"),
                                        self.p(name + ".bias"), self.eps)

    def _lin(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return nn.functional.linear(x, self.p(name + ".weight"), self.p(name + ".bias"))

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: Any = None,
                token_type_ids: Any = None, **_: Any) -> MaskedLMOutput:
        ids = _check_ids(input_ids, self.vocab_size, "the course's masked LM")
        where = ids.device  # logits come back on the device of the ids
        ids = ids.to(self.p("cls.predictions.bias").device)
        B, L = ids.shape
        max_len = self.p("bert.embeddings.position_embeddings.weight").shape[0]
        if L > max_len:
            raise ValueError(f"the course's masked LM takes at most {max_len} tokens, got {L}")
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(ids)
        token_type_ids = torch.as_tensor(token_type_ids).to(ids.device)
        x = (self.p("bert.embeddings.word_embeddings.weight")[ids]
             + self.p("bert.embeddings.position_embeddings.weight")[:L].unsqueeze(0)
             + self.p("bert.embeddings.token_type_embeddings.weight")[token_type_ids.long()])
        x = self._ln(x, "bert.embeddings.LayerNorm")
        bias = None
        if attention_mask is not None:
            keep = torch.as_tensor(attention_mask, device=x.device).bool().reshape(B, 1, 1, L)
            bias = torch.zeros(B, 1, 1, L, dtype=x.dtype, device=x.device).masked_fill(
                ~keep, torch.finfo(x.dtype).min)
        H = self.n_heads
        D = x.shape[-1]
        for i in range(self.n_layers):
            pre = f"bert.encoder.layer.{i}."

            def heads(t: torch.Tensor) -> torch.Tensor:
                return t.reshape(B, L, H, D // H).transpose(1, 2)  # (B, H, L, Dh)

            q = heads(self._lin(x, pre + "attention.self.query"))
            k = heads(self._lin(x, pre + "attention.self.key"))
            v = heads(self._lin(x, pre + "attention.self.value"))
            scores = q @ k.transpose(-1, -2) / math.sqrt(D // H)  # (B, H, L, L)
            if bias is not None:
                scores = scores + bias
            ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, L, D)
            x = self._ln(self._lin(ctx, pre + "attention.output.dense") + x,
                         pre + "attention.output.LayerNorm")
            h = nn.functional.gelu(self._lin(x, pre + "intermediate.dense"))
            x = self._ln(self._lin(h, pre + "output.dense") + x, pre + "output.LayerNorm")
        t = nn.functional.gelu(self._lin(x, "cls.predictions.transform.dense"))
        t = self._ln(t, "cls.predictions.transform.LayerNorm")
        logits = t @ self.p("bert.embeddings.word_embeddings.weight").T + self.p("cls.predictions.bias")
        return MaskedLMOutput(logits.to(where))


def _missing(what: str, exc: Exception) -> RuntimeError:
    return RuntimeError(
        f"{what} needs packages that are not installed ({exc}); install them with "
        "`pip install transformers fugashi ipadic safetensors`")


@register("bert_ja_model")
def bert_ja_model(path: str | None = None) -> nn.Module:
    """The course's small Japanese masked LM, in eval mode, float32, on the CPU."""
    folder = Path(path) if path else ASSETS
    try:
        from safetensors.torch import load_file
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise _missing("the course's Japanese BERT", e) from None
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    state = load_file(str(folder / "model.safetensors"))
    return _CourseBert(config, state).eval()


@register("bert_ja_tokenizer")
def bert_ja_tokenizer(path: str | None = None) -> Any:
    """The course's ``BertJapaneseTokenizer`` (MeCab + ipadic, word-level), offline."""
    folder = Path(path) if path else ASSETS
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
        os.environ.setdefault(key, "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from transformers import BertJapaneseTokenizer
        import fugashi  # noqa: F401
        import ipadic  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise _missing("the course's Japanese tokenizer", e) from None
    return BertJapaneseTokenizer.from_pretrained(str(folder), local_files_only=True)
