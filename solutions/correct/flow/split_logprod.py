"""Correct alternative: torch.split, log-det as log of the product of scales, torch.distributions base, x[:, perm] = h."""
import torch
from torch.distributions import Normal


def coupling_forward(x, d, s_net, t_net):
    x_a, x_b = torch.split(x, [d, x.shape[1] - d], dim=1)
    s, t = s_net(x_a), t_net(x_a)
    scale = torch.exp(s)
    z = torch.cat((x_a, scale * x_b + t), dim=1)
    return z, torch.log(torch.prod(scale, dim=1))


def coupling_inverse(z, d, s_net, t_net):
    z_a, z_b = torch.split(z, [d, z.shape[1] - d], dim=1)
    s, t = s_net(z_a), t_net(z_a)
    x = torch.cat((z_a, (z_b - t) * torch.exp(-s)), dim=1)
    return x, -torch.sum(s, dim=1)


def standard_normal_log_prob(z):
    base = Normal(torch.zeros((), dtype=z.dtype, device=z.device), torch.ones((), dtype=z.dtype, device=z.device))
    return base.log_prob(z).sum(-1)


def flow_log_prob(x, layers):
    log_det = x.new_zeros(x.shape[0])
    for d, s_net, t_net, perm in layers:
        x = x if perm is None else x[:, perm]
        x, ld = coupling_forward(x, d, s_net, t_net)
        log_det += ld
    return standard_normal_log_prob(x) + log_det


def flow_sample(layers, z):
    for d, s_net, t_net, perm in layers[::-1]:
        z, _ = coupling_inverse(z, d, s_net, t_net)
        if perm is not None:
            out = torch.empty_like(z)
            out[:, perm] = z
            z = out
    return z
