"""Hidden tests: clauses of the spec that no other test exercised (docs/spec-audit.md).

float32 through coupling_inverse and flow_sample (only the forward direction had a float32
test), and flow_log_prob leaving its input alone.
"""

from __future__ import annotations

import torch

from autograder.helpers.flow import layer_specs, net_spec
from autograder.testing import expect, expect_close, expect_right_answer, expect_tensor, fail, points

F32 = torch.float32


@points(1)
def test_inverse_direction_float32(student, reference, rng):
    """coupling_inverse and flow_sample: float32 inputs and networks give float32 results"""
    z = torch.randn(6, 4, generator=rng, dtype=F32)
    s_net = net_spec(1, 3, 5, dtype="float32", out_scale=0.6)
    t_net = net_spec(1, 3, 6, dtype="float32", out_scale=1.0)
    call = "coupling_inverse(z, d=1, s_net, t_net) in float32"
    got = student.coupling_inverse(z, 1, s_net, t_net)
    want = reference.coupling_inverse(z, 1, s_net, t_net)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(f"{call} returned {type(got).__name__}; expected a tuple (x, log_det)")
    for part, g, w in (("x", got[0], want[0]), ("log_det", got[1], want[1])):
        expect_tensor(g, call=f"{call}  [{part}]", inputs={"z": z}, shape=tuple(w.shape), dtype=F32)
        expect_close(g, w, call=f"{call}  [{part}]", inputs={"z": z}, rtol=1e-4, atol=1e-4)
    layers = layer_specs(4, [2, 1, 3], [None, [1, 2, 3, 0], [2, 0, 3, 1]], 43, dtype="float32",
                         s_scale=0.6, t_scale=1.0)
    call = "flow_sample(layers, z) in float32"
    got = expect_tensor(student.flow_sample(layers, z), call=call, inputs={"z": z}, shape=(6, 4), dtype=F32)
    expect_close(got, reference.flow_sample(layers, z), call=call, inputs={"z": z}, rtol=1e-4, atol=1e-4)


@points(1)
def test_flow_log_prob_does_not_modify_x(student, reference, rng):
    """flow_log_prob: leaves x unchanged"""
    layers = layer_specs(4, [2, 1], [[2, 0, 3, 1], None], 44, s_scale=0.6, t_scale=1.0)
    x = torch.randn(5, 4, generator=rng, dtype=torch.float64)
    got, mutated = student.call_checking_inputs("flow_log_prob", x, layers)
    expect(not mutated, "flow_log_prob(x, layers) modified x in place; permute and transform copies "
           "(h = x[:, perm] makes one), never write into x")
    # x left alone counts only with the right answer for the same call
    expect_right_answer(got, reference.flow_log_prob(x, layers), call="flow_log_prob(x, layers)", inputs={"x": x})
