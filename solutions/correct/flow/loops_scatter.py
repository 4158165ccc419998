"""Correct alternative: loops over features, inverse permutation by scatter, output by index assignment."""
import math

import torch


def coupling_forward(x, d, s_net, t_net):
    cond = x[:, :d]
    s = s_net(cond)
    t = t_net(cond)
    cols = [x[:, j] for j in range(d)]
    log_det = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for j in range(x.shape[1] - d):
        cols.append(x[:, d + j] * torch.exp(s[:, j]) + t[:, j])
        log_det = log_det + s[:, j]
    return torch.stack(cols, dim=1), log_det


def coupling_inverse(z, d, s_net, t_net):
    cond = z[:, :d]
    s = s_net(cond)
    t = t_net(cond)
    cols = [z[:, j] for j in range(d)]
    log_det = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
    for j in range(z.shape[1] - d):
        cols.append((z[:, d + j] - t[:, j]) / torch.exp(s[:, j]))
        log_det = log_det - s[:, j]
    return torch.stack(cols, dim=1), log_det


def standard_normal_log_prob(z):
    out = torch.zeros(z.shape[:-1], dtype=z.dtype, device=z.device)
    for j in range(z.shape[-1]):
        out = out - 0.5 * z[..., j] ** 2 - 0.5 * math.log(2 * math.pi)
    return out


def flow_log_prob(x, layers):
    total = 0.0
    h = x
    for layer in layers:
        d, s_net, t_net, perm = layer
        if perm is not None:
            h = torch.index_select(h, 1, perm)
        h, ld = coupling_forward(h, d, s_net, t_net)
        total = total + ld
    return standard_normal_log_prob(h) + total


def flow_sample(layers, z):
    h = z
    for i in range(len(layers) - 1, -1, -1):
        d, s_net, t_net, perm = layers[i]
        h, _ = coupling_inverse(h, d, s_net, t_net)
        if perm is not None:
            inv = torch.empty_like(perm)
            inv[perm] = torch.arange(perm.numel(), device=perm.device)
            h = h[:, inv]
    return h
