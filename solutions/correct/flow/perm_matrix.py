"""Correct alternative: permutations as permutation matrices, the flow as a list of bijections."""
import math

import torch


def coupling_forward(x, d, s_net, t_net):
    s = s_net(x[:, :d])
    t = t_net(x[:, :d])
    return torch.cat([x[:, :d], torch.addcmul(t, x[:, d:], s.exp())], dim=-1), s.sum(-1)


def coupling_inverse(z, d, s_net, t_net):
    s = s_net(z[:, :d])
    t = t_net(z[:, :d])
    return torch.cat([z[:, :d], (z[:, d:] - t) * (-s).exp()], dim=-1), -s.sum(-1)


def standard_normal_log_prob(z):
    return -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)


def _perm_matrix(perm, dim, like):
    # (x @ P)[:, j] = x[:, perm[j]]
    p = torch.zeros(dim, dim, dtype=like.dtype, device=like.device)
    p[perm, torch.arange(dim, device=like.device)] = 1.0
    return p


def flow_log_prob(x, layers):
    dim = x.shape[1]
    log_det = 0
    for d, s_net, t_net, perm in layers:
        if perm is not None:
            x = x @ _perm_matrix(perm, dim, x)
        x, ld = coupling_forward(x, d, s_net, t_net)
        log_det = log_det + ld
    return standard_normal_log_prob(x) + log_det


def flow_sample(layers, z):
    dim = z.shape[1]
    for d, s_net, t_net, perm in reversed(list(layers)):
        z = coupling_inverse(z, d, s_net, t_net)[0]
        if perm is not None:
            z = z @ _perm_matrix(perm, dim, z).T
    return z
