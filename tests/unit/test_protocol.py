import math

import pytest
import torch

from autograder.protocol import Helper, ProtocolError, Unsupported, decode, encode


@pytest.mark.parametrize("value", [
    None, True, 0, -(2**70), 1.5, math.inf, "héllo", [1, "a"], (1, (2.0, None)),
    {"a": [1, 2], "b": {"c": ()}},
])
def test_plain_values_round_trip(value):
    assert decode(encode(value)) == value


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.bool,
                                   torch.bfloat16, torch.float16])
def test_tensors_round_trip(dtype):
    t = (torch.arange(12).reshape(3, 4) % 3).to(dtype)
    out = decode(encode(t))
    assert type(out) is torch.Tensor and out.dtype == dtype and torch.equal(out, t)


def test_nan_float_round_trips():
    assert math.isnan(decode(encode(math.nan)))


def test_non_contiguous_and_empty_tensors():
    t = torch.arange(6.0).reshape(2, 3).T
    assert torch.equal(decode(encode(t)), t)
    e = torch.empty(0, 3)
    assert decode(encode(e)).shape == (0, 3)


def test_tensor_subclass_arrives_as_plain_tensor():
    class Liar(torch.Tensor):
        def __eq__(self, other):
            return True

    t = torch.tensor([1.0, 2.0]).as_subclass(Liar)
    out = decode(encode(t))
    assert type(out) is torch.Tensor
    assert not torch.equal(out, torch.tensor([0.0, 0.0]))


def test_unsupported_objects_are_described_not_sent():
    class Weird:
        def __eq__(self, other):
            return True

    out = decode(encode([Weird(), {1: 2}]))
    assert isinstance(out[0], Unsupported) and "Weird" in out[0].type_name
    assert isinstance(out[1], Unsupported)


def test_helper_round_trips():
    h = Helper("mlp", sizes=[2, 3], seed=1, w=torch.ones(2))
    out = decode(encode(h))
    assert out.name == "mlp" and out.params["sizes"] == [2, 3] and torch.equal(out.params["w"], torch.ones(2))


@pytest.mark.parametrize("mutate", [
    lambda b: b[:5],
    lambda b: b[:8] + b"{not json" + b[8:],
    lambda b: b.replace(b'"n": 8', b'"n": 800'),
    lambda b: b.replace(b'"tensor"', b'"pickle"'),
])
def test_malformed_frames_are_rejected(mutate):
    data = encode(torch.tensor([1.0, 2.0], dtype=torch.float32))
    with pytest.raises(ProtocolError):
        decode(mutate(data))


def test_deep_nesting_is_rejected():
    v = []
    for _ in range(100):
        v = [v]
    with pytest.raises(ProtocolError):
        encode(v)
