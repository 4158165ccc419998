# %% [markdown]
# # Assignment 5 — Normalizing flows (正規化流): RealNVP affine coupling
#
# A normalizing flow is a **全単射** (bijection) f that maps data x to a latent z = f(x) with a
# simple base density, here the standard normal N(0, I). By the change of variables formula
# (変数変換公式)
#
#     log p(x) = log N(f(x); 0, I) + log |det ∂f/∂x|,
#
# where ∂f/∂x is the **ヤコビアン** (Jacobian) of f. A flow is a composition f = f_L ∘ … ∘ f_1,
# and the log-determinants of the layers add up. Sampling runs the flow backwards:
# z ~ N(0, I), x = f⁻¹(z).
#
# RealNVP makes every layer cheap to invert and its Jacobian determinant cheap to compute with
# the **affine coupling layer** (アフィンカップリング層). Split x ∈ R^D into x₁:d and x_d+1:D:
#
#     z₁:d   = x₁:d                                  (passes through)
#     z_d+1:D = x_d+1:D ⊙ exp(s(x₁:d)) + t(x₁:d)
#
# with arbitrary networks s, t: R^d → R^(D−d) (they never need to be inverted). The Jacobian is
# block lower-triangular with identity and diag(exp(s)) on the diagonal, so
#
#     log |det ∂z/∂x| = Σ_j s_j(x₁:d).
#
# The inverse uses the same networks on z₁:d = x₁:d:
#
#     x_d+1:D = (z_d+1:D − t(z₁:d)) ⊙ exp(−s(z₁:d)),   log |det ∂x/∂z| = −Σ_j s_j(z₁:d).
#
# Because a coupling layer leaves its first d features unchanged, flows interleave layers
# with **permutations** of the features, so that every feature gets transformed.
#
# Conventions (they hold for every function below):
# - `x`, `z` are (B, D) batches; `s_net`, `t_net` are callables (B, d) → (B, D − d)
#   (grader-provided networks in the tests, never all-zero);
# - results have the dtype and device of the inputs; never modify an input in place;
# - everything is differentiable with torch autograd (no NumPy, no `.detach()`).
#
# Where it comes from: the change-of-variables formula and the idea of a flow as a chain of
# invertible layers are the lecture's normalizing-flow part; the affine coupling layer and
# the permutations between layers are those of RealNVP (Dinh, Sohl-Dickstein and Bengio, 2017).

# %%
import math

import torch

# %% [markdown]
# ## 1. The affine coupling layer and its inverse

# %%
def coupling_forward(x: torch.Tensor, d: int, s_net, t_net) -> tuple[torch.Tensor, torch.Tensor]:
    """Affine coupling layer  z = f(x)  and  log |det ∂z/∂x|.

        z₁:d = x₁:d,   z_d+1:D = x_d+1:D ⊙ exp(s(x₁:d)) + t(x₁:d),   log_det = Σ_j s_j(x₁:d)

    Args:
        x: (B, D) inputs.
        d: number of leading features that pass through unchanged (1 ≤ d < D).
        s_net: callable (B, d) → (B, D − d), the log-scale s.
        t_net: callable (B, d) → (B, D − d), the shift t.

    Returns:
        ``(z, log_det)``: z (B, D) and log_det (B,), the sum of s over its D − d outputs,
        both in the dtype of ``x`` (float32 stays float32). Differentiable in ``x``; ``x`` is
        not modified (build z with torch.cat, not in place).
    """
    # BEGIN SOLUTION
    x1, x2 = x[:, :d], x[:, d:]  # (B, d), (B, D - d)
    s = s_net(x1)
    t = t_net(x1)
    z2 = x2 * torch.exp(s) + t
    return torch.cat([x1, z2], dim=1), s.sum(dim=1)
    # END SOLUTION


# %%
def coupling_inverse(z: torch.Tensor, d: int, s_net, t_net) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of :func:`coupling_forward`:  x = f⁻¹(z)  and  log |det ∂x/∂z|.

        x₁:d = z₁:d,   x_d+1:D = (z_d+1:D − t(z₁:d)) ⊙ exp(−s(z₁:d)),   log_det = −Σ_j s_j(z₁:d)

    Args:
        z: (B, D) outputs of the coupling layer.
        d, s_net, t_net: the same as for :func:`coupling_forward`.

    Returns:
        ``(x, log_det)``: x (B, D) with coupling_forward(x) == z, and log_det (B,) =
        −(the forward log_det at x). Differentiable; ``z`` is not modified.
    """
    # BEGIN SOLUTION
    z1, z2 = z[:, :d], z[:, d:]
    s = s_net(z1)
    t = t_net(z1)
    x2 = (z2 - t) * torch.exp(-s)
    return torch.cat([z1, x2], dim=1), -s.sum(dim=1)
    # END SOLUTION


# %% [markdown]
# ## 2. The base distribution
#
#     log N(z; 0, I) = −½ Σ_j z_j² − (D/2) log(2π)

# %%
def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last dim.

    Args:
        z: (B, D) (any leading batch dims (..., D) work the same way).

    Returns:
        (B,) — (...) in general: −½ Σ_j z_j² − (D/2) log(2π), with D = z.shape[-1]; in the
        dtype of ``z``.
    """
    # BEGIN SOLUTION
    dim = z.shape[-1]
    return -0.5 * (z * z).sum(dim=-1) - 0.5 * dim * math.log(2 * math.pi)
    # END SOLUTION


# %% [markdown]
# ## 3. A whole flow: exact log-likelihood and sampling
#
# A flow is a list of layers `(d, s_net, t_net, perm)`. Layer ℓ first permutes the features,
# h ← h[:, perm] (`perm` a (D,) int64 index tensor, `None` for no permutation), then applies
# the coupling layer. Starting from h = x:
#
#     log p(x) = log N(h_L; 0, I) + Σ_ℓ log_det_ℓ.
#
# A permutation is volume preserving (|det| = 1), so it adds nothing to the log-determinant.
# Sampling inverts the layers in reverse order: for each layer, first undo the coupling, then
# undo the permutation. Careful: the inverse of "h[:, perm]" is *not* "h[:, perm]" again (only
# for a swap of two features); it is "h[:, inv]" with inv = torch.argsort(perm).

# %%
def flow_log_prob(x: torch.Tensor, layers: list) -> torch.Tensor:
    """Exact log-likelihood log p(x) of a RealNVP flow with base distribution N(0, I).

    Args:
        x: (B, D) data.
        layers: list of ``(d, s_net, t_net, perm)`` applied in order: each layer first
            permutes the features, ``h = h[:, perm]`` (``perm`` a (D,) int64 tensor, or
            ``None`` for the identity), then applies ``coupling_forward(h, d, s_net, t_net)``.

    Returns:
        (B,) log p(x) = standard_normal_log_prob(f(x)) + Σ_layers log_det, in the dtype of
        ``x``. Differentiable in
        ``x`` and in the networks' parameters. Call the networks on the whole batch (B, d)
        at once, not row by row: the grader's networks may rely on seeing every row.
    """
    # BEGIN SOLUTION
    h = x
    log_det = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for d, s_net, t_net, perm in layers:
        if perm is not None:
            h = h[:, perm]
        h, ld = coupling_forward(h, d, s_net, t_net)
        log_det = log_det + ld
    return standard_normal_log_prob(h) + log_det
    # END SOLUTION


# %%
def flow_sample(layers: list, z: torch.Tensor) -> torch.Tensor:
    """Run the flow backwards: x = f⁻¹(z) for base samples z.

    Args:
        layers: the flow, as in :func:`flow_log_prob` (the forward direction).
        z: (B, D) base samples (the tests pass fixed z; nothing is drawn here).

    Returns:
        (B, D) x such that the forward flow of :func:`flow_log_prob` maps x to z: the layers in
        reverse order, each undoing its coupling (``coupling_inverse``) and then its
        permutation (index with the inverse permutation ``torch.argsort(perm)``).
    """
    # BEGIN SOLUTION
    h = z
    for d, s_net, t_net, perm in reversed(layers):
        h, _ = coupling_inverse(h, d, s_net, t_net)
        if perm is not None:
            h = h[:, torch.argsort(perm)]
    return h
    # END SOLUTION


# %% [markdown]
# ## Try it
#
# A two-layer flow on R² with a swap between the layers. `log p` should integrate to 1 and
# sampling should invert the flow.

# %%
if __name__ == "__main__":
    torch.manual_seed(0)

    def tiny_net(d_in: int, d_out: int) -> torch.nn.Module:
        return torch.nn.Sequential(torch.nn.Linear(d_in, 16), torch.nn.Tanh(), torch.nn.Linear(16, d_out)).double()

    layers = [(1, tiny_net(1, 1), tiny_net(1, 1), None),
              (1, tiny_net(1, 1), tiny_net(1, 1), torch.tensor([1, 0]))]
    with torch.no_grad():
        g = torch.linspace(-8, 8, 321, dtype=torch.float64)
        grid = torch.cartesian_prod(g, g)
        mass = flow_log_prob(grid, layers).exp().sum() * (g[1] - g[0]) ** 2
        print("∫ p(x) dx ≈", mass.item())
        z = torch.randn(5, 2, dtype=torch.float64)
        x = flow_sample(layers, z)
        print("log p(samples):", flow_log_prob(x, layers))


# %% [markdown]
# ## Check your work
#
# Run the cell below: `check("flow")` runs the public tests on the cells you have executed
# (`check("flow", "FUNCTION")`: only the tests of one function); your grade also counts hidden
# tests of the same functions. Each test must finish within **10 seconds** (the default limit;
# a few end-to-end tests allow more) or it fails with "… timed out after 10 s".
#
# **What runs when this notebook is graded.** Every code cell is executed, top to bottom
# (lines starting with `%` or `!` are dropped). Each cell may run for at most 10 s and all of
# them together for 60 s, and they run again whenever the grader restarts your code after a
# crash or a timeout. Code under `if __name__ == "__main__":`, like the cell below, runs when
# you run the notebook yourself but is skipped at grading: put experiments there, or keep
# them cheap.

# %%
if __name__ == "__main__":
    from autograder import check

    check("flow")
