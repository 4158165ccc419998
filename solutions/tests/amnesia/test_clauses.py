"""Hidden tests: clauses of the spec that no other test exercised (docs/spec-audit.md).

forgetting_report evaluates the model without an autograd graph. Tensors lose their graph
crossing the sandbox, so the result cannot show it; student.grad can: it sends `x` requiring
grad, and a report evaluated with a graph lets a gradient reach `x` through ln p(x | θ, c)
(the way test_fisher_diagonal_no_graph_no_mutation checks fisher_diagonal).
"""

from __future__ import annotations

import torch

from autograder.testing import Helper, expect, expect_right_answer, points

F64 = torch.float64


@points(1)
def test_forgetting_report_without_graph(student, reference, rng):
    """forgetting_report: evaluated without an autograd graph (no gradient reaches x)"""
    means = 2.0 * torch.randn(3, 2, generator=rng, dtype=F64)
    log_std = 0.6 * torch.rand(3, 2, generator=rng, dtype=F64) - 0.4
    shift = 0.5 + torch.rand(2, generator=rng, dtype=F64)
    c = torch.tensor([0, 1, 2, 2, 1, 0], dtype=torch.int64)
    x = means[c] + shift + torch.randn(6, 2, generator=rng, dtype=F64)
    before = torch.full((6,), -3.0, dtype=F64)
    model = Helper("amnesia_gaussian", means=means, log_std=log_std, shift=shift, dtype="float64")
    got, grads = student.grad("forgetting_report", model, x, c, before, wrt=(1,))
    expect(grads[0] is None,
           "forgetting_report(model, x, c, log_px_before) with x requiring grad: the report carries "
           "an autograd graph back to x (and to the model's parameters). It is a measurement, "
           "evaluated without a graph: compute ln p(x | θ, c) under torch.no_grad() (or detach it) "
           "before taking the difference.")
    # no graph counts only with the right answer for the same call (a constant has no graph either)
    expect_right_answer(got, reference.forgetting_report(model, x, c, before),
                        call="forgetting_report(model, x, c, log_px_before)",
                        inputs={"x": x, "c": c, "log_px_before": before})
