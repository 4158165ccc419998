"""Hidden end-to-end test: the lecture's point, with the student's code — VB switches extra components off."""

from __future__ import annotations

import pytest
import torch

from autograder.testing import expect, expect_tensor, expect_tuple, fail, points

F64 = torch.float64


def _three_clusters(n_per: int, dtype) -> torch.Tensor:
    gen = torch.Generator().manual_seed(2025)
    centres = torch.tensor([[0.0, 0.0], [6.0, 0.0], [3.0, 5.0]], dtype=F64)
    return torch.cat([c + 0.8 * torch.randn(n_per, 2, generator=gen, dtype=F64) for c in centres]).to(dtype)


@pytest.mark.slow
@points(3)
def test_vb_switches_off_extra_components(student):
    """fit_vbgmm, effective_components: three clusters, K = 6, α0 = 1e-3 end with three components and a rising bound"""
    for dtype in (F64, torch.float32):
        n_per, k = 100, 6
        x = _three_clusters(n_per, dtype)
        n, d = x.shape
        gen = torch.Generator().manual_seed(3)
        resp = torch.softmax(torch.randn(n, k, generator=gen, dtype=F64), dim=1).to(dtype)
        alpha0 = 1e-3
        prior = (torch.tensor(alpha0, dtype=dtype), torch.tensor(1.0, dtype=dtype), x.mean(0),
                 torch.eye(d, dtype=dtype), torch.tensor(float(d), dtype=dtype))
        name = str(dtype).replace("torch.", "")
        call = (f"fit_vbgmm(x, resp, prior, n_iter=200, tol=1e-4) in {name} on 300 points from three "
                f"well-separated clusters, K={k}, random initial resp, α0={alpha0}, β0=1, m0=mean(x), "
                "W0=I, ν0=2")
        posterior, _, history = expect_tuple(student.fit_vbgmm(x, resp, prior, n_iter=200, tol=1e-4), 3,
                                             call=call)
        history = expect_tensor(history, call=call + ": history", dtype=dtype)
        expect(history.dim() == 1 and history.shape[0] >= 2,
               f"{call}\n  returned a history of shape {tuple(history.shape)}; expected one value per "
               "iteration plus one.")
        h = history.double()
        slack = 1e-9 if dtype == F64 else 1e-5 * float(h.abs().max())  # float32 resolves |L|·1e-7
        steps = h[1:] - h[:-1]
        worst = int(torch.argmin(steps))
        if steps[worst] < -slack:
            fail(f"{call}\n  the bound decreases from iteration {worst} to {worst + 1} "
                 f"({h[worst].item():.10g} → {h[worst + 1].item():.10g}); each VB update maximises "
                 "the bound over one factor, so it never decreases. Check that the E-step, the "
                 "M-step and the bound use the same formulas.")
        weights = student.expected_weights(posterior)
        weights = expect_tensor(weights, call=f"expected_weights(posterior) after the {name} fit",
                                shape=(k,), dtype=dtype).double()
        count = expect_tensor(student.effective_components(posterior),
                              call=f"effective_components(posterior) after the {name} fit", shape=(),
                              dtype=torch.int64)
        if int(count) != 3:
            fail(f"{call}\n  effective_components(posterior) = {int(count)}, expected 3: the data have "
                 f"three clusters and VB with a small α0 switches the other {k - 3} components off. "
                 f"E[π] = {[round(v, 5) for v in weights.tolist()]}.")
        off = torch.sort(weights).values[:3]
        empty = alpha0 / (n + k * alpha0)
        if float(off.max()) > 10 * empty:
            fail(f"{call}\n  the three smallest expected weights {[f'{v:.3g}' for v in off.tolist()]} should "
                 f"be near α0/(N + Kα0) = {empty:.3g} (a component left without data keeps α_k = α0).")
