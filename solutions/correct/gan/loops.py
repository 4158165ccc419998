"""Correct alternative: explicit loops and Python math for the discrete quantities."""
import math

import torch
import torch.nn.functional as F


def discriminator_loss(real_logits, fake_logits):
    return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()


def generator_loss(fake_logits, kind="non_saturating"):
    if kind == "non_saturating":
        return -F.logsigmoid(fake_logits).mean()
    if kind == "minimax":
        return F.logsigmoid(-fake_logits).mean()
    raise ValueError(kind)


def optimal_discriminator(p_data, p_model):
    p, q = torch.broadcast_tensors(p_data, p_model)
    out = torch.empty_like(p)
    flat_p, flat_q, flat_o = p.reshape(-1), q.reshape(-1), out.view(-1)
    for i in range(flat_p.numel()):
        a, b = flat_p[i].item(), flat_q[i].item()
        flat_o[i] = 0.5 if a + b == 0 else a / (a + b)
    return out


def _js_row(p, q):
    total = 0.0
    for a, b in zip(p, q):
        m = 0.5 * (a + b)
        if a > 0:
            total += 0.5 * a * math.log(a / m)
        if b > 0:
            total += 0.5 * b * math.log(b / m)
    return total


def js_divergence(p, q):
    p, q = torch.broadcast_tensors(p, q)
    rows_p = p.reshape(-1, p.shape[-1]).tolist()
    rows_q = q.reshape(-1, q.shape[-1]).tolist()
    vals = [_js_row(a, b) for a, b in zip(rows_p, rows_q)]
    return torch.tensor(vals, dtype=p.dtype, device=p.device).reshape(p.shape[:-1])


def value_at_optimum(p_data, p_model):
    p, q = torch.broadcast_tensors(p_data, p_model)
    vals = []
    for a_row, b_row in zip(p.reshape(-1, p.shape[-1]).tolist(), q.reshape(-1, q.shape[-1]).tolist()):
        v = 0.0
        for a, b in zip(a_row, b_row):
            if a > 0:
                v += a * math.log(a / (a + b))
            if b > 0:
                v += b * math.log(b / (a + b))
        vals.append(v)
    return torch.tensor(vals, dtype=p.dtype, device=p.device).reshape(p.shape[:-1])
