import math

import pytest
import torch

from autograder.protocol import Unsupported
from autograder.testing import (GradingFailure, close_enough, expect_close, expect_right_answer, expect_tensor,
                                expect_tuple)


def failure(fn, *a, **k):
    with pytest.raises(GradingFailure) as e:
        fn(*a, **k)
    return e.value.feedback


def test_layers_stop_at_first_problem():
    assert "expected a torch.Tensor" in failure(expect_tensor, 1.5, call="f(x)")
    assert ".item()" in failure(expect_tensor, 1.5, call="f(x)")
    assert "NumPy" in failure(expect_tensor, Unsupported("numpy.ndarray", "numpy array of shape (2,)"), call="f(x)")
    assert "transpose" in failure(expect_tensor, torch.zeros(3, 2), call="f(x)", shape=(2, 3))
    assert "dtype float32, expected float64" in failure(expect_tensor, torch.zeros(2), call="f(x)", dtype=torch.float64)
    assert "non-finite" in failure(expect_tensor, torch.tensor([1.0, math.nan]), call="f(x)")


def test_value_mismatch_reports_table_and_inputs():
    x = torch.arange(4.0)
    text = failure(expect_close, x + torch.tensor([0, 0, 1.0, 0]), x, call="f(x)", inputs={"x": x})
    assert "1 of 4 values differ" in text and "(2,)" in text and "x = tensor([0, 1, 2, 3]" in text


def test_hint_names_matching_mistake():
    text = failure(expect_close, torch.tensor(2.0), torch.tensor(1.0), call="f(x)",
                   mistakes={"wrong by a factor 2": torch.tensor(2.0), "other": torch.tensor(5.0)})
    assert "Hint: wrong by a factor 2" in text and "other" not in text


def test_tuples_and_passes():
    expect_close((torch.tensor(1.0), torch.ones(2)), (torch.tensor(1.0), torch.ones(2)), call="f")
    text = failure(expect_close, torch.tensor(1.0), (torch.tensor(1.0), torch.ones(2)), call="f")
    assert "tuple of 2" in text


def test_nan_never_matches_finite_expected():
    text = failure(expect_close, torch.tensor(math.nan), torch.tensor(0.0), call="f")
    assert "non-finite" in text


def test_ambiguous_mistakes_are_all_named():
    text = failure(expect_close, torch.tensor(0.5), torch.tensor(0.25), call="f",
                   mistakes={"unbiased": torch.tensor(0.5), "std": torch.tensor(0.5), "other": 3.0})
    assert "more than one known mistake" in text and "- unbiased" in text and "- std" in text
    assert "other" not in text


def test_expect_tuple_names_what_came_back():
    pair = (torch.zeros(2), torch.ones(2))
    assert expect_tuple(list(pair), 2, call="f(x)")[1] is pair[1]
    text = failure(expect_tuple, torch.tensor(3.0), 2, call="f(x)", inputs={"x": torch.zeros(2)})
    assert "f(x)" in text and "tensor(3" in text and "expected a tuple of 2 values" in text
    assert "expected a tuple of 3 values" in failure(expect_tuple, pair, 3, call="f(x)")


def test_a_test_that_cannot_use_an_answer_says_what_to_check():
    from types import SimpleNamespace

    from autograder.plugin import _unexpected_feedback

    answered = SimpleNamespace(funcargs={"student": SimpleNamespace(answered=["f", "g"])})
    text = _unexpected_feedback(TypeError("iteration over a 0-d tensor"), answered)
    assert "could not use what f(), g() returned (TypeError: iteration over a 0-d tensor)" in text
    assert "a tensor or a tuple" in text
    silent = SimpleNamespace(funcargs={"student": SimpleNamespace(answered=[])})
    assert "instructor has the details" in _unexpected_feedback(KeyError("k"), silent)
    assert "instructor has the details" in _unexpected_feedback(KeyError("k"), SimpleNamespace())


def test_a_property_is_credited_only_with_a_right_answer():
    """expect_right_answer: loose (float32 rounding, broadcastable shapes, tuples) but no junk."""
    want = (torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor(-math.inf))
    expect_right_answer((torch.tensor([1.00001, 2.0]), torch.tensor(-math.inf)), want, call="f(x)")
    assert close_enough(torch.ones(3, 1), torch.ones(3, 4), 1e-4) and close_enough(2, 2.0001, 1e-4)
    assert not close_enough(torch.ones(3), torch.ones(4), 1e-4) and not close_enough(None, torch.ones(1), 1e-4)
    text = failure(expect_right_answer, (torch.zeros(2), torch.tensor(0.0)), want, call="f(x)",
                   inputs={"x": torch.ones(2)})
    assert text.startswith("f(x)\n  on input:\n    x = tensor([1, 1]")
    assert "returned (tensor([0, 0]" in text and "which is not the right answer" in text
    assert "only together with a right answer" in text and "value tests" in text
