"""Hidden tests: clauses of the spec that no other test exercised (docs/spec-audit.md).

bernoulli_log_likelihood leaving theta and x alone (test_inputs_not_modified covers the
other five functions).
"""

import torch

from autograder.testing import expect, expect_close, points


@points(1)
def test_bernoulli_log_likelihood_keeps_inputs(student, reference):
    """bernoulli_log_likelihood: theta and x are not modified in place"""
    theta = torch.tensor(0.3, dtype=torch.float64)
    x = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    got, mutated = student.call_checking_inputs("bernoulli_log_likelihood", theta, x)
    names = ["theta", "x"]
    expect(not mutated, f"bernoulli_log_likelihood(theta, x) modified {', '.join(names[i] for i in mutated)} "
           "in place; compute 1 − x and 1 − θ as new tensors (1 - x), not with x.neg_().add_(1)")
    # credited with a right answer only (junk that leaves its inputs alone earns nothing)
    expect_close(got, reference.bernoulli_log_likelihood(theta, x), call="bernoulli_log_likelihood(theta, x)",
                 inputs={"theta": theta, "x": x}, rtol=1e-7, atol=1e-10)
