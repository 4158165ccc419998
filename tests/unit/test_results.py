"""Result records: their JSON (Gradescope's schema) and the way back, which resuming a batch
(``load_results``) and ``verify`` (the recorded ``calls``) rely on."""

import json

import pytest

from autograder import results
from autograder.results import Status, SubmissionResult


def _test(test_id="test_mean[n=3]", *, passed=True, hidden=False, calls=None, **kw):
    return results.TestResult(test_id, "mean of a batch", 2.0 if passed else 0.0, 2.0, passed,
                              "" if passed else "got 1.5, expected 2.0", hidden, calls=calls, **kw)


def _through_json(d: dict) -> dict:
    return json.loads(json.dumps(d))  # what results.json holds: tuples become lists


@pytest.mark.parametrize("calls", [None, (), ("gaussian_mle",), ("mean", "var")])
def test_a_test_result_round_trips_with_its_calls(calls):
    t = _test(calls=calls, timed_out=True, grader_error=True, hidden=True, passed=False)
    assert results.TestResult.from_dict(_through_json(t.to_dict())) == t


def test_calls_none_and_no_calls_stay_apart():
    # None: not recorded (verify then reruns every test); (): recorded, none called
    assert "calls" not in _test(calls=None).to_dict()["extra_data"]
    assert _test(calls=()).to_dict()["extra_data"]["calls"] == []
    assert results.TestResult.from_dict(_test(calls=()).to_dict()).calls == ()


def test_a_test_result_in_gradescopes_schema():
    d = _test(passed=False, hidden=True).to_dict()
    assert (d["name"], d["score"], d["max_score"], d["status"]) == ("mean of a batch", 0.0, 2.0, "failed")
    assert d["visibility"] == "after_published"  # hidden tests: shown once grades are published
    assert _test().to_dict()["visibility"] == "visible"
    assert d["extra_data"]["id"] == "test_mean[n=3]"


def _submission(**kw):
    tests = (_test("test_a", calls=("mean",)), _test("test_b", passed=False, hidden=True, calls=()))
    return SubmissionResult(**{"student": "ada", "assignment": "mle", "status": Status.GRADED,
                               "tests": tests, "max_score": 4.0, "execution_time": 1.25, **kw})


@pytest.mark.parametrize("kw", [
    {},
    {"notes": ("cell In [3] redefines mean",), "error": None},
    {"status": Status.TIMEOUT, "error": "loading your code took longer than 60 s", "tests": ()},
    {"status": Status.ERROR, "error": "no mle.py in the folder", "notes": ("a", "b")},
])
def test_a_submission_result_round_trips(kw):
    r = _submission(**kw)
    back = SubmissionResult.from_dict(_through_json(r.to_dict()))
    assert back == r
    assert back.tests == r.tests and back.score == r.score


def test_the_execution_time_is_kept_to_the_millisecond():
    d = _submission(execution_time=1.23456).to_dict()
    assert d["execution_time"] == 1.235
    assert SubmissionResult.from_dict(d).execution_time == 1.235


def test_a_submission_result_in_gradescopes_schema():
    d = _submission(notes=("note one",), error="something went wrong").to_dict()
    assert d["score"] == 2.0 and d["max_score"] == 4.0
    assert d["output"] == "something went wrong\nnote one"  # the error first, then the notes
    assert [t["extra_data"]["id"] for t in d["tests"]] == ["test_a", "test_b"]
    assert d["extra_data"]["status"] == "graded"


def test_score_and_full_marks():
    assert _submission().score == 2.0 and not _submission().full_marks
    full = _submission(tests=(_test("test_a"), _test("test_b")))
    assert full.full_marks
    # a submission that never reached its tests has nothing to score: no full marks
    assert not _submission(tests=(), max_score=0.0).full_marks
    tenths = _submission(tests=tuple(results.TestResult(f"t{i}", "t", 0.1, 0.1, True, "", False)
                                     for i in range(3)), max_score=0.3)
    assert tenths.score == 0.3 and tenths.full_marks  # rounded: not 0.30000000000000004
