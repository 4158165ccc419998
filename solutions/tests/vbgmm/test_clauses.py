"""Hidden tests: clauses of the spec that no other test exercised (docs/spec-audit.md).

The tensors inside the `prior` and `posterior` tuples are inputs too, never modified in place.
The engine's call_checking_inputs watches only top-level tensor arguments, and every call
gets fresh copies, so a function writing into a tuple's tensor is invisible in one call.
fit_vbgmm shows it: with n_iter=0 it is `posterior = vb_m_step(x, resp, prior)` and
`history[0] = vb_elbo(x, resp, posterior, prior)` in ONE call, so an M-step that writes into
the prior changes the bound, and a bound that writes into the posterior changes the
posterior returned. The test compares that call with the student's own vb_m_step and
vb_elbo called one by one, so only the in-place writes differ, not the formulas.
"""

from __future__ import annotations

import torch

from autograder.testing import expect_right_answer, expect_tensor, expect_tuple, fail, points

F64 = torch.float64
NAMES = ("alpha", "beta", "m", "W", "nu")


def _problem(rng: torch.Generator):
    """Twelve 2-D points, soft responsibilities for K = 3, a prior with W0 ≠ I and m0 ≠ 0."""
    x = torch.randn(12, 2, generator=rng, dtype=F64) * 2.0
    g = -torch.log(torch.rand(12, 3, generator=rng, dtype=F64))
    resp = g / g.sum(1, keepdim=True)
    prior = (torch.tensor(0.7, dtype=F64), torch.tensor(0.8, dtype=F64), torch.tensor([0.5, -1.0], dtype=F64),
             torch.tensor([[2.0, 0.4], [0.4, 0.5]], dtype=F64), torch.tensor(3.5, dtype=F64))
    return x, resp, prior


def _differs(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Different values; a result in another dtype (its own test's mistake, not this one's) is
    compared at the precision of the coarser dtype, so that only a changed input shows."""
    rtol = 1e-10 if a.dtype == b.dtype == F64 else 1e-6
    return a.shape != b.shape or not torch.allclose(a.to(F64), b.to(F64), rtol=rtol, atol=1e-12, equal_nan=True)


@points(1)
def test_fit_leaves_prior_and_posterior_alone(student, reference, rng):
    """fit_vbgmm with n_iter=0: the M-step does not write into the prior, the bound not into the posterior"""
    x, resp, prior = _problem(rng)
    inputs = {"x": x, "resp": resp, "prior": prior}
    call = "fit_vbgmm(x, resp, prior, n_iter=0)"
    got = expect_tuple(student.fit_vbgmm(x, resp, prior, n_iter=0), 3, call=call, inputs=inputs)
    posterior = expect_tuple(got[0], 5, call=call + ": posterior", inputs=inputs)
    history = expect_tensor(got[2], call=call + ": history", inputs=inputs, shape=(1,), finite=False)
    # The same two steps, each in its own call (so on fresh copies of prior and posterior).
    alone = expect_tuple(student.vb_m_step(x, resp, prior), 5, call="vb_m_step(x, resp, prior)", inputs=inputs)
    bound = expect_tensor(student.vb_elbo(x, resp, alone, prior), inputs=inputs, shape=(), finite=False,
                          call="vb_elbo(x, resp, vb_m_step(x, resp, prior), prior)")
    changed = [name for name, a, b in zip(NAMES, posterior, alone)
               if not isinstance(a, torch.Tensor) or _differs(a, b)]
    if changed:
        fail(f"{call}\n  returned a posterior whose {', '.join(changed)} differ(s) from your own "
             "vb_m_step(x, resp, prior) called alone; with n_iter=0 they must be the same. The "
             "posterior was changed after the M-step: does vb_elbo modify the tensors of the "
             "posterior tuple in place (e.g. alpha /= …, W.add_(…))? Inputs, the tensors inside "
             "the prior and posterior tuples included, are never modified in place.")
    if _differs(history[0], bound):
        fail(f"{call}\n  history[0] = {history[0].item():.10g}, but your vb_elbo of your "
             f"vb_m_step(x, resp, prior), each called alone, gives {bound.item():.10g}; with "
             "n_iter=0 they must be the same. The prior was changed between the M-step and the "
             "bound: does vb_m_step modify the tensors of the prior tuple in place (e.g. "
             "torch.linalg.inv(W0, out=W0), m0 *= beta0)? Inputs, the tensors inside the prior "
             "and posterior tuples included, are never modified in place.")
    # The comparison above is with the student's own functions, which junk consistent with
    # itself passes: prior and posterior left alone count only with the right answer too.
    expect_right_answer(got, reference.fit_vbgmm(x, resp, prior, n_iter=0), call=call, inputs=inputs)
