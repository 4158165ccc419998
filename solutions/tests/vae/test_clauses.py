"""Hidden tests: clauses of the spec that no other test exercised (docs/spec-audit.md).

Independent noise when reparameterize draws it, the ELBO with a single sample (L = 1), the
ELBO's gradients through a Gaussian decoder, and inputs left alone by gaussian_kl and the
two likelihoods.
"""

from __future__ import annotations

import torch

from autograder.testing import Helper, expect, expect_close, expect_inputs_kept, expect_tensor, fail, points

F64 = torch.float64
TOL = dict(rtol=1e-5, atol=1e-6)


def _enc(rng, b, dz):
    mu = torch.randn(b, dz, generator=rng, dtype=F64)
    log_var = 1.5 * torch.rand(b, dz, generator=rng, dtype=F64) - 1.0  # in [-1, 0.5]
    return mu, log_var


@points(1)
def test_reparameterize_draws_independent_noise(student, rng):
    """reparameterize: with eps=None every entry of z gets its own noise (none shared across rows or dims)"""
    b, dz = 500, 4
    mu = torch.randn(b, dz, generator=rng, dtype=F64)
    lv = torch.rand(b, dz, generator=rng, dtype=F64) - 0.5
    call = "reparameterize(mu, log_var) (eps=None) with mu, log_var of shape (500, 4)"
    z = expect_tensor(student.reparameterize(mu, lv), call=call, shape=(b, dz), dtype=F64)
    e = (z - mu) / torch.exp(0.5 * lv)  # the noise the function drew, (B, Dz)
    rows = e.unique(dim=0).shape[0]
    cols = e.T.unique(dim=0).shape[0]
    corr = torch.corrcoef(e.T) - torch.eye(dz, dtype=F64)  # between latent dimensions
    expect(rows == b and cols == dz,
           f"{call}: the noise (z − mu)/exp(½ log_var) has only {rows} distinct rows of {b} and "
           f"{cols} distinct columns of {dz}; ε ~ N(0, I) has the shape of mu, one independent draw "
           "per entry (torch.randn_like(mu)), not one vector shared by the batch or one number per row.")
    expect(float(corr.abs().max()) < 0.2,
           f"{call}: the noise of different latent dimensions is correlated (largest correlation "
           f"{float(corr.abs().max()):.2f}); draw independent noise for every entry (torch.randn_like(mu)).")


@points(1)
def test_elbo_single_sample(student, reference, rng):
    """elbo: L = 1 (eps of shape (1, B, Dz), as in training) gives (B,) for both likelihoods"""
    b, dz, dx = 4, 3, 7
    mu, lv = _enc(rng, b, dz)
    eps = torch.randn(1, b, dz, generator=rng, dtype=F64)
    cases = [
        ("bernoulli", (torch.rand(b, dx, generator=rng, dtype=F64) > 0.5).to(F64),
         Helper("mlp", sizes=[dz, 16, dx], seed=3, activation="tanh", dtype="float64", out_scale=2.0)),
        ("gaussian", torch.randn(b, dx, generator=rng, dtype=F64),
         Helper("vae_gaussian_decoder", dz=dz, dx=dx, hidden=16, seed=4, dtype="float64")),
    ]
    for likelihood, x, dec in cases:
        call = f"elbo(x, mu, log_var, decode, eps, likelihood={likelihood!r}) with eps of shape (1, {b}, {dz})"
        inputs = {"x": x, "mu": mu, "log_var": lv, "eps": eps}
        got = expect_tensor(student.elbo(x, mu, lv, dec, eps, likelihood=likelihood), call=call,
                            inputs=inputs, shape=(b,), dtype=F64,
                            shape_note="(B,); with L = 1 the sample dim is still there to average over")
        want = reference.elbo(x, mu, lv, dec, eps, likelihood=likelihood)
        kl = reference.gaussian_kl(mu, lv)
        expect_close(got, want, call=call, inputs=inputs, **TOL, mistakes={
            # eps.squeeze() drops the sample dim: the "mean over samples" then averages the batch
            "with L = 1, eps is (1, B, Dz): keep its sample dim (no .squeeze()), average log p(x|z) "
            "over dim 0 and subtract the KL per data point": (want + kl).mean() - kl})


@points(1)
def test_elbo_gradients_gaussian(student, reference, rng):
    """elbo: with likelihood='gaussian', gradients reach mu and log_var through the decoder's mean and log_var"""
    b, dz, dx = 3, 2, 5
    x = torch.randn(b, dx, generator=rng, dtype=F64)
    mu, lv = _enc(rng, b, dz)
    eps = torch.randn(2, b, dz, generator=rng, dtype=F64)
    dec = Helper("vae_gaussian_decoder", dz=dz, dx=dx, hidden=16, seed=8, dtype="float64")
    call = "elbo(x, mu, log_var, decode, eps, likelihood='gaussian'), backpropagating ones"
    _, grads = student.grad("elbo", x, mu, lv, dec, eps, wrt=(1, 2), likelihood="gaussian")
    for i, name in enumerate(("mu", "log_var")):
        if grads[i] is None:
            fail(f"{call}: no gradient reached `{name}`; don't use .detach(), .item(), .data, "
                 "torch.no_grad() or NumPy on the way.")
    mu_r, lv_r = mu.clone().requires_grad_(), lv.clone().requires_grad_()
    want = torch.autograd.grad(reference.elbo(x, mu_r, lv_r, dec, eps, likelihood="gaussian").sum(),
                               [mu_r, lv_r])
    # the same ELBO with the decoder's log-variance held constant (detached)
    net = dec.build()
    mu_c, lv_c = mu.clone().requires_grad_(), lv.clone().requires_grad_()
    mean, dec_lv = net(mu_c + torch.exp(0.5 * lv_c) * eps)
    const = (reference.gaussian_log_likelihood(x, mean, dec_lv.detach()).mean(0)
             - reference.gaussian_kl(mu_c, lv_c))
    detached = torch.autograd.grad(const.sum(), [mu_c, lv_c])
    hint = ("the decoder's log_var depends on z too: let the gradient flow through both outputs of "
            "decode (no .detach())")
    inputs = {"x": x, "mu": mu, "log_var": lv, "eps": eps}
    for i, name in enumerate(("mu", "log_var")):
        expect_close(grads[i], want[i], call=f"{call}: gradient with respect to {name}", inputs=inputs,
                     **TOL, mistakes={hint: detached[i]})


@points(1)
def test_kl_and_likelihoods_do_not_modify_inputs(student, reference, rng):
    """gaussian_kl, bernoulli_log_likelihood, gaussian_log_likelihood: no argument is modified in place"""
    b, dz, dx = 3, 2, 5
    mu, lv = _enc(rng, b, dz)
    x = torch.rand(b, dx, generator=rng, dtype=F64)
    logits = torch.randn(b, dx, generator=rng, dtype=F64)
    mean = torch.randn(b, dx, generator=rng, dtype=F64)
    dec_lv = torch.randn(b, dx, generator=rng, dtype=F64)
    for fn, args, names in (("gaussian_kl", (mu, lv), ["mu", "log_var"]),
                            ("bernoulli_log_likelihood", (x, logits), ["x", "logits"]),
                            ("gaussian_log_likelihood", (x, mean, dec_lv), ["x", "mean", "log_var"])):
        expect_inputs_kept(student, fn, args, names, "never write into an argument (e.g. "
                           "`torch.exp(-log_var)`, not `log_var.neg_().exp_()`).", reference)
