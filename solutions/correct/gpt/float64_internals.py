"""Correct alternative: float64 internals cast back, kthvalue, exponential-race sampling."""
import torch


def causal_lm_loss(logits, input_ids):
    x = logits.double()[:, :-1]
    target = input_ids[:, 1:]
    log_z = torch.logsumexp(x, dim=-1)
    picked = torch.take_along_dim(x, target[..., None], dim=-1)[..., 0]
    return (log_z - picked).mean().to(logits.dtype)


def top_k_filter(logits, k):
    V = logits.shape[-1]
    kth = torch.kthvalue(logits.double(), V - k + 1, dim=-1, keepdim=True).values
    keep = logits.double() >= kth
    return torch.where(keep, logits, torch.tensor(float("-inf"), dtype=logits.dtype, device=logits.device))


def top_p_filter(logits, p):
    probs = torch.softmax(logits.double(), dim=-1)
    sorted_probs, _ = torch.sort(probs, dim=-1, descending=True)
    before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
    n_keep = (before < p).sum(dim=-1, keepdim=True).clamp_min(1)
    threshold = sorted_probs.gather(-1, n_keep - 1)
    keep = probs >= threshold
    return logits.clone().masked_fill(~keep, float("-inf"))


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0.0:
        return logits.max(dim=-1).indices
    z = logits.double() / float(temperature)
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    probs = torch.softmax(z, dim=-1)
    e = torch.empty(probs.shape, dtype=torch.float64, device=probs.device).exponential_(generator=generator)
    return torch.argmax(probs / e, dim=-1)


def generate(model, input_ids, max_new_tokens, **sampling):
    rows = [input_ids]
    ids = input_ids
    for _ in range(max_new_tokens):
        nxt = sample_next(model(ids)[:, -1, :].detach(), **sampling)
        rows.append(nxt.view(-1, 1))
        ids = torch.cat(rows, dim=1)
    return ids.clone()
