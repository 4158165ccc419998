"""MISTAKE: flow_log_prob returns only the base log-density of f(x), without the log-determinants."""
# expect-hint: the log-determinants are missing
import math

import torch


def coupling_forward(x, d, s_net, t_net):
    x1, x2 = x[:, :d], x[:, d:]
    s = s_net(x1)
    t = t_net(x1)
    z2 = x2 * torch.exp(s) + t
    return torch.cat([x1, z2], dim=1), s.sum(dim=1)


def coupling_inverse(z, d, s_net, t_net):
    z1, z2 = z[:, :d], z[:, d:]
    s = s_net(z1)
    t = t_net(z1)
    x2 = (z2 - t) * torch.exp(-s)
    return torch.cat([z1, x2], dim=1), -s.sum(dim=1)


def standard_normal_log_prob(z):
    return -0.5 * (z ** 2).sum(dim=-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)


def flow_log_prob(x, layers):
    h = x
    log_det = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for d, s_net, t_net, perm in layers:
        if perm is not None:
            h = h[:, perm]
        h, ld = coupling_forward(h, d, s_net, t_net)
        log_det = log_det + ld
    return standard_normal_log_prob(h)


def flow_sample(layers, z):
    h = z
    for d, s_net, t_net, perm in reversed(layers):
        h, _ = coupling_inverse(h, d, s_net, t_net)
        if perm is not None:
            h = h[:, torch.argsort(perm)]
    return h
