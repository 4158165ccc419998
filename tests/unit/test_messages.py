"""The numbers in a value mismatch mean something to the student: expected, got, where
(the worst entry's index) and by how much against what the tolerance allows there."""

import math
import re

import pytest
import torch

from autograder.testing import GradingFailure, expect_close, expect_scalar_close, expect_tensor


def failure(got, expected, **kw):
    with pytest.raises(GradingFailure) as e:
        expect_close(got, expected, call="f(x)", **kw)
    return e.value.feedback


def numbers(text):
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?", text)]


def test_an_expected_zero_gets_the_absolute_error_and_tolerance_not_a_relative_one():
    text = failure(torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64),
                   torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    assert "index (1,): got 0.5, expected 0; off by 0.5 where at most 1e-08 is allowed" in text
    assert "relative" not in text
    assert max(numbers(text)) < 10  # no 2e+300 from dividing by the expected 0


def test_entries_within_tolerance_never_inflate_the_reported_error():
    """An expected 0 met within atol (got 1e-9) once gave "max rel error 1e+291"."""
    got = torch.tensor([1e-9, 2.0, 3.0], dtype=torch.float64)
    text = failure(got, torch.tensor([0.0, 2.0, 3.5], dtype=torch.float64))
    assert "1 of 3 values differ" in text
    assert "index (2,): got 3, expected 3.5; off by 0.5, a relative error of 0.143 where at most " \
           "1e-05 is allowed" in text
    assert max(numbers(text)) < 10


def test_the_worst_entry_is_named_first_with_its_index():
    expected = torch.zeros(3, 4, dtype=torch.float64) + 1.0
    got = expected.clone()
    got[0, 1] += 1e-3
    got[2, 3] += 5.0
    text = failure(got, expected)
    assert "2 of 12 values differ" in text and "the worst is at index (2, 3): got 6, expected 1" in text
    rows = [line.split("|")[0].strip() for line in text.splitlines() if line.strip().startswith("(")]
    assert rows == ["(2, 3)", "(0, 1)"]


def test_a_scalar_mismatch_says_by_how_much():
    text = failure(torch.tensor(1.5, dtype=torch.float64), torch.tensor(1.2, dtype=torch.float64))
    assert "returned 1.5, expected 1.2; off by 0.3, a relative error of 0.25" in text
    text = failure(torch.tensor(0.25, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64),
                   atol=1e-6)
    assert "returned 0.25, expected 0; off by 0.25 where at most 1e-06 is allowed" in text


def test_an_exact_comparison_says_so():
    text = failure(torch.tensor([1, 2]), torch.tensor([1, 3]), rtol=0, atol=0)
    assert "off by 1 where it must match exactly" in text


def test_non_finite_mismatches_print_no_arithmetic_on_infinities():
    """Where the reference itself has an infinity the finite check is off; an infinity
    matched exactly is no error at all, and a NaN against a number has no "off by"."""
    expected = torch.tensor([-math.inf, 2.0, 3.0], dtype=torch.float64)
    text = failure(torch.tensor([-math.inf, 2.0, math.nan], dtype=torch.float64), expected)
    assert "1 of 3 values differ" in text
    assert "index (2,): got nan, expected 3; a non-finite value where a finite one was expected" in text
    assert "inf" not in text.replace("-inf", "")  # nothing is "off by inf"
    text = failure(torch.tensor([-1e30, 2.0, 3.0], dtype=torch.float64), expected)
    assert "got -1e+30, expected -inf; a non-finite expected value must be matched exactly" in text


def test_complex_values_keep_their_imaginary_part():
    text = failure(torch.tensor([1 + 1j, 2j]), torch.tensor([1 + 1j, 1j]))
    assert "index (1,): got 0+2j, expected 0+1j; off by 1" in text


def test_a_non_finite_scalar_has_no_index():
    with pytest.raises(GradingFailure) as e:
        expect_tensor(torch.tensor(math.inf), call="f(x)")
    assert "returned inf, a non-finite value." in e.value.feedback and "index" not in e.value.feedback
    with pytest.raises(GradingFailure) as e:
        expect_tensor(torch.tensor([1.0, 2.0, math.nan, math.inf]), call="f(x)")
    assert "(2 of 4; the first is nan at index (2,))" in e.value.feedback


def test_scalar_close_to_a_plain_zero():
    with pytest.raises(GradingFailure) as e:
        expect_scalar_close(torch.tensor(1e-3, dtype=torch.float64), 0.0, call="kl(q, q)")
    assert "returned 0.001, expected 0; off by 0.001 where at most 1e-08 is allowed" in e.value.feedback
