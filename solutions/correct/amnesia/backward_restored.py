"""Correct, with backward(): per-example gradients read from .grad, the caller's .grad saved
first and put back at the end; float32 accumulation of the report's sums avoided by summing
float64 differences with bincount weights."""

import torch


def fisher_diagonal(model, x, c):
    params = list(model.parameters())
    saved = [p.grad for p in params]  # the caller's gradients (or None), put back below
    fisher = [torch.zeros_like(p) for p in params]
    try:
        for n in range(len(x)):
            for p in params:
                p.grad = None
            model.log_prob(x[n:n + 1], c[n:n + 1]).sum().backward()
            for f, p in zip(fisher, params):
                if p.grad is not None:
                    f.add_(p.grad.detach().square())
    finally:
        for p, g in zip(params, saved):
            p.grad = g
    return [f.div(len(x)) for f in fisher]


def ewc_penalty(params, old_params, fisher, lam):
    terms = torch.stack([(f * (p - q) * (p - q)).sum() for p, q, f in zip(params, old_params, fisher)])
    return 0.5 * torch.as_tensor(lam, dtype=terms.dtype, device=terms.device) * terms.sum()


def replay_samples(model, classes, n_per_class, generator=None):
    device = next(model.parameters()).device
    labels = torch.as_tensor(classes, device=device).long()
    c = labels[:, None].expand(-1, n_per_class).reshape(-1)
    with torch.no_grad():
        x = model.sample(c, generator=generator)
    return x, c


def selective_amnesia_loss(model, old_params, fisher, lam, x_forget, c_forget, x_replay, c_replay):
    ewc = ewc_penalty(list(model.parameters()), old_params, fisher, lam)
    return ewc - torch.mean(model.log_prob(x_forget, c_forget)) - torch.mean(model.log_prob(x_replay, c_replay))


def forgetting_report(model, x, c, log_px_before):
    with torch.no_grad():
        delta = model.log_prob(x, c).to(torch.float64) - log_px_before.to(torch.float64)
    k = int(c.max()) + 1
    sums = torch.bincount(c, weights=delta, minlength=k)
    return sums / torch.bincount(c, minlength=k).to(torch.float64)
