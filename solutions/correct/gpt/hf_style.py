"""Correct alternative: Hugging Face-style filters, Gumbel-max sampling, float32 log_softmax + gather."""
import torch
import torch.nn.functional as F


def causal_lm_loss(logits, input_ids):
    logp = F.log_softmax(logits[:, :-1].float(), dim=-1)
    nll = -logp.gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return nll.mean().to(logits.dtype)


def top_k_filter(logits, k):
    values, _ = torch.sort(logits, dim=-1, descending=True)
    threshold = values[..., k - 1, None]
    return torch.where(logits >= threshold, logits, torch.full_like(logits, -float("inf")))


def top_p_filter(logits, p):
    sorted_logits, sorted_idx = torch.sort(logits, descending=True, dim=-1)
    cumulative = torch.cumsum(F.softmax(sorted_logits.float(), dim=-1), dim=-1)
    remove = cumulative > p
    remove[..., 1:] = remove[..., :-1].clone()
    remove[..., 0] = False
    mask = remove.scatter(-1, sorted_idx, remove)
    return logits.masked_fill(mask, -float("inf"))


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    if not temperature:
        return torch.argmax(logits, dim=-1)
    z = logits / temperature
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    u = torch.rand(z.shape, generator=generator, dtype=torch.float64, device=z.device).clamp_min(1e-300)
    gumbel = -torch.log(-torch.log(u))
    return torch.argmax(z.double() + gumbel, dim=-1)


def generate(model, input_ids, max_new_tokens, **sampling):
    seq = input_ids.clone()
    for _ in range(max_new_tokens):
        out = model(seq)
        logits = out.logits if hasattr(out, "logits") else out
        seq = torch.cat((seq, sample_next(logits[:, -1, :], **sampling).unsqueeze(1)), dim=1)
    return seq
