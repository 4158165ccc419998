"""upstream_mistakes: a composed function's test names the slip in a function it calls."""

import pytest
import torch

from autograder.testing import GradingFailure, expect_close, upstream_mistakes


def composed(sigma=lambda v: v.sqrt(), shift=0.0):
    # a stand-in for a function built on others: correct pieces by default
    v = torch.tensor([4.0, 9.0])
    return sigma(v) + shift


SLIPS = {"sqrt: returns v itself": {"sigma": lambda v: v},
         "offset: adds 1": {"shift": 1.0}}


def feedback(got):
    with pytest.raises(GradingFailure) as e:
        expect_close(got, composed(), call="f()", mistakes=upstream_mistakes("f", composed, SLIPS))
    return e.value.feedback


def test_names_the_upstream_slip_that_matches():
    text = feedback(torch.tensor([4.0, 9.0]))
    assert "your f is consistent with this slip in a function it calls: sqrt: returns v itself" in text
    assert "adds 1" not in text
    assert "adds 1" in feedback(torch.tensor([3.0, 4.0]))


def test_no_hint_when_no_slip_matches():
    assert "Hint" not in feedback(torch.tensor([2.5, 3.0]))


def test_each_entry_keeps_its_own_pieces():
    table = upstream_mistakes("f", composed, SLIPS)
    assert [v().tolist() for v in table.values()] == [[4.0, 9.0], [3.0, 4.0]]
    expect_close(torch.tensor([2.0, 3.0]), composed(), call="f()", mistakes=table)  # correct: passes
