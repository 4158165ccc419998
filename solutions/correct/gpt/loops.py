"""Correct alternative: explicit Python loops, manual log-softmax, inverse-CDF sampling."""
import math

import torch


def causal_lm_loss(logits, input_ids):
    B, L, V = logits.shape
    total = logits.new_zeros(())
    for b in range(B):
        for i in range(L - 1):
            row = logits[b, i]
            m = row.max()
            log_z = m + torch.log(torch.exp(row - m).sum())
            total = total - (row[input_ids[b, i + 1]] - log_z)
    return total / (B * (L - 1))


def top_k_filter(logits, k):
    flat = logits.reshape(-1, logits.shape[-1])
    out = torch.full_like(flat, float("-inf"))
    for r in range(flat.shape[0]):
        order = sorted(range(flat.shape[1]), key=lambda j: -flat[r, j].item())
        for j in order[:k]:
            out[r, j] = flat[r, j]
    return out.reshape(logits.shape)


def top_p_filter(logits, p):
    flat = logits.reshape(-1, logits.shape[-1])
    out = torch.full_like(flat, float("-inf"))
    for r in range(flat.shape[0]):
        probs = torch.softmax(flat[r].double(), dim=-1).tolist()
        order = sorted(range(len(probs)), key=lambda j: -probs[j])
        mass = 0.0
        for j in order:
            if mass >= p:
                break
            out[r, j] = flat[r, j]
            mass += probs[j]
    return out.reshape(logits.shape)


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return torch.tensor([int(torch.argmax(row)) for row in logits], dtype=torch.int64,
                            device=logits.device)
    x = logits / temperature
    if top_k is not None:
        x = top_k_filter(x, top_k)
    if top_p is not None:
        x = top_p_filter(x, top_p)
    probs = torch.softmax(x.double(), dim=-1)
    u = torch.rand(probs.shape[0], dtype=torch.float64, generator=generator,
                   device=generator.device if generator is not None else probs.device)
    out = []
    for r in range(probs.shape[0]):
        cdf = 0.0
        choice = None
        last_positive = None
        for j, pj in enumerate(probs[r].tolist()):
            if pj > 0:
                last_positive = j
            cdf += pj
            if choice is None and pj > 0 and u[r].item() < cdf:
                choice = j
        out.append(choice if choice is not None else last_positive)
    return torch.tensor(out, dtype=torch.int64, device=logits.device)


def generate(model, input_ids, max_new_tokens, **sampling):
    B, L = input_ids.shape
    out = torch.empty(B, L + max_new_tokens, dtype=input_ids.dtype, device=input_ids.device)
    out[:, :L] = input_ids
    for t in range(max_new_tokens):
        with torch.no_grad():
            logits = model(out[:, :L + t])
        out[:, L + t] = sample_next(logits[:, -1], **sampling)
    return out
