# %% [markdown]
# # Assignment 13 — Selective Amnesia: making a generative model forget (忘却)
#
# A conditional generative model p(x | θ, c) — a class-conditional VAE, a diffusion model
# guided by a label — has learnt parameters θ* by maximum likelihood (最尤推定) on data of
# every class c. Sometimes one concept c_f must be **forgotten** (忘却): the model should no
# longer produce it, while everything else it knows stays. Retraining from scratch without
# c_f is expensive. **Selective Amnesia** (Heng & Soh, NeurIPS 2023; slide 92) instead
# continues training θ from θ* with three ingredients borrowed from continual learning
# (継続学習):
#
# 1. a **surrogate distribution** q(x | c_f) for the forgotten class — noise, or images of
#    something harmless — whose likelihood (尤度) under c_f is *maximised*, so c_f now
#    generates the surrogate;
# 2. **generative replay**: samples of the *original* model for the other classes, whose
#    likelihood is kept high (the model rehearses what it must remember);
# 3. **elastic weight consolidation** (EWC): a quadratic penalty that keeps each parameter
#    near θ*, weighted by how much the original model's likelihood depends on it — the
#    diagonal of the **Fisher information** (フィッシャー情報量)
#
#        F_i = E_{c, x ~ p(x | θ*, c)} [ (∂ ln p(x | θ, c) / ∂θ_i)² ]  at θ = θ*.
#
# Together, the loss to *minimise* is
#
#     L(θ) = − E_{q(x | c_f)} ln p(x | θ, c_f) − E_{c ≠ c_f, x ~ p(x | θ*, c)} ln p(x | θ, c)
#            + λ/2 · Σ_i F_i (θ_i − θ*_i)².
#
# Where EWC comes from, briefly and beyond the slide: treat the original training as giving
# a posterior over θ and approximate it by a Gaussian centred at θ* (a Laplace
# approximation, ラプラス近似 — in spirit what 変分ベイズ does too: replace an intractable
# posterior by a simple distribution). Its precision is the curvature of the
# log-likelihood, which for samples drawn from the model itself equals the Fisher
# information in expectation; keeping only the diagonal gives the penalty above. How large
# λ should be, and how well a diagonal describes a deep network, are questions the slide
# leaves open and so do we: here λ is simply given. Forgetting is also an out-of-distribution
# (分布外データ) story: after forgetting, samples of the forgotten class should be as unlikely
# under c_f as data the model never saw. The last function measures exactly that, as the
# change of the log-likelihood per class.
#
# The models you receive are `torch.nn.Module`s with
# - `model.log_prob(x, c) -> (N,)` for x (N, D) and int64 labels c (N,): ln p(x_n | θ, c_n),
#   depending only on row n (no batch statistics), written with operations
#   `torch.func.vmap` supports;
# - `model.sample(c, generator=None) -> (N, D)`: one draw per label;
# - parameters that all require grad, always taken in the order of `model.parameters()`:
#   `params`, `old_params` and `fisher` below are lists of tensors in that order.
#
# Conventions (they hold for every function below):
# - inputs are `torch.Tensor`s; results have the dtype and device of the inputs (the
#   model's parameters), float32 or float64; a "scalar" is a 0-dim tensor;
# - never modify an input in place — and never change the model you are given;
# - `log` is the natural logarithm.
#
# Each test has a time limit of 10 seconds (the end-to-end check 60); every
# function here needs milliseconds on the tests' small models.

# %%
import torch

# %% [markdown]
# ## 1. The diagonal of the Fisher information (フィッシャー情報量)
#
# Estimated on points x_1 … x_N with labels c_n (in Selective Amnesia: samples of the
# original model), at the current parameters:
#
#     F_i = (1/N) Σ_n ( ∂ ln p(x_n | θ, c_n) / ∂θ_i )².
#
# Square **each example's** gradient, then average. The square of the mean gradient,
# ((1/N) Σ_n ∂ ln p(x_n) / ∂θ_i)², is a different, much smaller number: at a maximum of the
# likelihood the mean gradient is about 0, while each example's gradient is not.
#
# Two ways to get per-example gradients:
# - a loop over n with `torch.autograd.grad(model.log_prob(x[n:n+1], c[n:n+1]).sum(), params)`
#   (simple; fine for a few hundred points);
# - `torch.func`: `vmap(grad(f))` of a function f(params, x_n, c_n) that calls the model with
#   the given parameters (`torch.func.functional_call`), all points at once.
#
# Whatever you use, the caller's model must come back as it was: the same parameter values,
# and the same `.grad` (`loss.backward()` would add into `.grad`; `model.zero_grad()` would
# throw away gradients the caller still needs — prefer `torch.autograd.grad`, which touches
# neither). Return plain tensors, without an autograd graph.

# %%
class _LogProb(torch.nn.Module):
    """The model's log_prob as a forward(), for torch.func.functional_call."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.model.log_prob(x, c)


def fisher_diagonal(model: torch.nn.Module, x: torch.Tensor, c: torch.Tensor) -> list:
    """Diagonal Fisher information, the mean of per-example squared gradients.

    F_i = (1/N) Σ_n (∂ ln p(x_n | θ, c_n) / ∂θ_i)² at the model's current parameters θ.

    Args:
        model: an nn.Module with ``log_prob(x, c) -> (N,)``; all its parameters require grad.
        x: (N, D) points (in Selective Amnesia: samples of the original model).
        c: (N,) int64 class labels.

    Returns:
        A list with one tensor per parameter, in the order of ``model.parameters()``, each
        with that parameter's shape, dtype and device and **without an autograd graph**.
        The model's parameters and their ``.grad`` are left as they were (a ``.grad`` that
        is None stays None); no random numbers are drawn.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 2. Elastic weight consolidation (EWC)
#
#     penalty(θ) = λ/2 · Σ_i F_i (θ_i − θ*_i)²
#
# summed over every entry of every parameter tensor. A parameter with a large F_i mattered
# for the original likelihood and is held firmly; one with F_i ≈ 0 may move freely. `lam`
# may be a Python number or a 0-dim tensor (possibly of another dtype): the result has the
# dtype of `params`. `fisher` and `old_params` are constants; gradients flow to `params`.

# %%
def ewc_penalty(params: list, old_params: list, fisher: list, lam) -> torch.Tensor:
    """EWC penalty lam/2 · Σ_i F_i (θ_i − θ*_i)² over every entry of every tensor.

    Args:
        params: list of parameter tensors θ (differentiable).
        old_params: list of tensors θ* of the same shapes (constants).
        fisher: list of tensors F ≥ 0 of the same shapes (constants).
        lam: λ ≥ 0, a Python number or a 0-dim tensor.

    Returns:
        A 0-dim tensor with the dtype and device of ``params``, differentiable in ``params``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 3. Generative replay
#
# The model rehearses the classes it must keep with its own samples: `n_per_class` draws for
# each class in `classes`, labels in the order of `classes` (not sorted):
#
#     c = torch.tensor(classes).repeat_interleave(n_per_class).
#
# Draw under `torch.no_grad()` — the samples are data, not part of the graph — but not
# under `torch.inference_mode()`, whose tensors cannot be used in a later loss. Pass
# `generator` on to `model.sample`, so the same generator state gives the same samples.

# %%
def replay_samples(model: torch.nn.Module, classes, n_per_class: int, generator=None):
    """n_per_class samples of the model for each class in ``classes``.

    Args:
        model: an nn.Module with ``sample(c, generator=None) -> (N, D)``.
        classes: a list of ints or a 1-D int64 tensor of class labels.
        n_per_class: the number of samples per class.
        generator: an optional torch.Generator passed on to ``model.sample``.

    Returns:
        ``(x, c)``: x (n·C, D) in the model's dtype and device, drawn without a graph (under
        torch.no_grad(), not inference_mode), and c (n·C,) int64 equal to
        ``torch.tensor(classes).repeat_interleave(n_per_class)`` (on the model's device).
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 4. The Selective Amnesia loss
#
#     L(θ) = − (1/|F|) Σ_{n ∈ F} ln p(x_n | θ, c_f) − (1/|R|) Σ_{n ∈ R} ln p(x_n | θ, c_n)
#            + λ/2 · Σ_i F_i (θ_i − θ*_i)²
#
# with F the batch of surrogate samples for the forgotten class (`x_forget`, `c_forget`) and R
# the replay batch (`x_replay`, `c_replay`): two *separate* means, because the batches may
# differ in size. Return the loss; the caller calls `backward()` and steps the optimizer.

# %%
def selective_amnesia_loss(model: torch.nn.Module, old_params: list, fisher: list, lam,
                           x_forget: torch.Tensor, c_forget: torch.Tensor,
                           x_replay: torch.Tensor, c_replay: torch.Tensor) -> torch.Tensor:
    """−mean ln p(x_forget | θ, c_forget) − mean ln p(x_replay | θ, c_replay) + EWC.

    Args:
        model: the model being made to forget (its parameters θ require grad).
        old_params, fisher: lists (order of ``model.parameters()``) of θ* and the Fisher
            diagonal at θ*; constants.
        lam: the EWC weight λ, a Python number or a 0-dim tensor.
        x_forget: (Nf, D) samples of the surrogate q(x | c_f); c_forget (Nf,) int64.
        x_replay: (Nr, D) samples of the original model; c_replay (Nr,) int64.

    Returns:
        A 0-dim tensor (dtype of the model's parameters), differentiable in the model's
        parameters, to minimise: ``−mean ln p(x_forget | c_forget) − mean ln p(x_replay |
        c_replay) + ewc_penalty(list(model.parameters()), old_params, fisher, lam)``. Does
        not call backward().
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 5. Measuring the forgetting
#
# For each class k = 0 … C − 1 (C = `int(c.max()) + 1`), the mean change of the
# log-likelihood over the examples of that class,
#
#     Δ_k = mean_{n: c_n = k} [ ln p(x_n | θ, c_n) − log_px_before_n ],
#
# evaluated without a graph, the difference taken in float64 (log-likelihoods of −1e4 and
# changes of 1e−3 must not lose digits in float32). The forgotten class should fall by many
# nats; the others should stay close to 0. A class without examples gets NaN.

# %%
def forgetting_report(model: torch.nn.Module, x: torch.Tensor, c: torch.Tensor,
                      log_px_before: torch.Tensor) -> torch.Tensor:
    """Per-class mean change in log-likelihood, ln p(x | θ, c) − log_px_before.

    Args:
        model: the model after forgetting.
        x: (N, D) points; c: (N,) int64 labels.
        log_px_before: (N,) ln p(x_n | θ*, c_n) under the original model.

    Returns:
        (C,) float64 on the device of ``x``, C = int(c.max()) + 1: entry k is the mean of
        ln p(x_n | θ, c_n) − log_px_before_n over the n with c_n = k (NaN for a class with
        no examples); computed without a graph, the difference in float64.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 6. Try it: forgetting class 0
#
# Three classes in 2-D and a class-conditional Gaussian that plays the trained model θ* (the
# same kind of model the grader uses: `autograder.helpers.amnesia.ClassGaussian`, whose mean
# for class c is `means[c] + shift`, the `shift` shared by all classes). We make it forget class 0 by replacing it
# with a surrogate — a tight blob far away — for 60 Adam steps, with and without replay and
# EWC, and draw each class's mean log-likelihood before and after. With replay and EWC only
# class 0 falls; without them the shared shift drags the other classes along.
#
# Then check your work: run `check("amnesia")` in a cell of its own (or
# `gmgrade check amnesia amnesia.ipynb` in a terminal).

# %%
def _forget(model, x_keep, c_keep, lam, replay, steps=30, seed=0):
    """Selective Amnesia on a copy of ``model``: class 0 forgets towards q = N((−2, −2), 0.7²)."""
    import copy

    gen = torch.Generator().manual_seed(seed)
    old_params = [p.detach().clone() for p in model.parameters()]
    fisher = fisher_diagonal(model, x_keep, c_keep)
    forgetting = copy.deepcopy(model)  # θ starts at θ*
    opt = torch.optim.Adam(forgetting.parameters(), lr=0.3)
    for _ in range(steps):
        x_f = -2.0 + 0.7 * torch.randn(64, 2, generator=gen, dtype=torch.float64)
        c_f = torch.zeros(64, dtype=torch.int64)
        if replay:
            x_r, c_r = replay_samples(model, [1, 2], 32, generator=gen)
            loss = selective_amnesia_loss(forgetting, old_params, fisher, lam, x_f, c_f, x_r, c_r)
        else:  # the forgetting term alone
            loss = -forgetting.log_prob(x_f, c_f).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return forgetting


if __name__ == "__main__":
    from autograder.helpers.amnesia import ClassGaussian

    torch.manual_seed(0)
    model = ClassGaussian(torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]], dtype=torch.float64),
                          torch.full((3, 2), -0.3, dtype=torch.float64),
                          torch.zeros(2, dtype=torch.float64))
    x_test, c_test = replay_samples(model, [0, 1, 2], 200)
    with torch.no_grad():
        before = model.log_prob(x_test, c_test)
    x_keep, c_keep = replay_samples(model, [0, 1, 2], 100)
    results = {}
    for label, replay in (("Selective Amnesia (replay + EWC)", True), ("forgetting term only", False)):
        forgot = _forget(model, x_keep, c_keep, lam=0.3, replay=replay)
        results[label] = forgetting_report(forgot, x_test, c_test, before)
        print(label, "change of the mean log-likelihood per class:",
              [round(v, 2) for v in results[label].tolist()])
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
    if plt is not None:
        base = [float(before[c_test == k].mean()) for k in range(3)]
        fig, ax = plt.subplots(figsize=(6, 3.5))
        width = 0.27
        ax.bar([k - width for k in range(3)], base, width, label="before forgetting")
        for i, (label, delta) in enumerate(results.items()):
            ax.bar([k + i * width for k in range(3)], [b + d for b, d in zip(base, delta.tolist())],
                   width, label=label)
        ax.set_xticks(range(3), [f"class {k}" for k in range(3)])
        ax.set_ylabel("mean ln p(x | θ, c)  [nats]")
        ax.set_title("Forgetting class 0: class likelihoods before and after")
        ax.legend(fontsize=8)
        plt.tight_layout()
        plt.show()


# %% [markdown]
# ## Check your work
#
# Run this cell: it runs the public tests on the cells you have executed (the first cell of
# the notebook explains how; `check("amnesia", "fisher_diagonal")` runs one function's). The
# public tests use small examples you can redo by hand with the score of the
# class-conditional Gaussian; the hidden tests add random and float32 models, the Fisher of
# 3000 samples against its expectation, gradients, the replay distribution and generator,
# and the forgetting experiment above, run with your functions. Each test has 10 seconds.

# %%
from autograder import check  # noqa: E402 - as in the notebook's first cell, so that this file also runs as a script

check("amnesia") if __name__ == "__main__" else None  # the table of results; nothing when the grader imports this file
