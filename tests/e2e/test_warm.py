"""The pre-warmed template (autograder.warm) grades exactly like a fresh runner process,
also through an assignment template (a fork of a pytest session collected once per batch)."""

import os
import subprocess
import sys
import textwrap
import time

import pytest

from autograder.batch import grade_one_isolated
from autograder.course import Course
from autograder.results import Status
from autograder.runner import GradeOptions, request_json
from autograder.warm import WarmRunner
from tests.conftest import ROOT
from tests.material import mistake


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def grading_processes(warm: WarmRunner) -> list[int]:
    """What the template runs below its assignment templates (its direct children)."""
    found, todo = [], [k for t in children_of(warm._proc.pid) for k in children_of(t)]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children_of(pid)
    return found


def feedback(result) -> list[tuple]:
    return [(t.test_id, t.score, t.passed, t.timed_out, t.grader_error, t.output) for t in result.tests]


@pytest.fixture(scope="module")
def warm():
    with WarmRunner() as w:
        yield w


@pytest.mark.parametrize("kind", ["wrong", "correct"])
def test_fork_grades_like_a_fresh_process(course, warm, kind):
    """First and again later in the batch, through the assignment template: the same score
    and every test's feedback as a fresh ``autograder.runner`` process."""
    path = mistake("mle", "unbiased_variance") if kind == "wrong" else course.alternatives("mle")[0]
    fresh, _ = grade_one_isolated(course, "mle", "fresh", path, GradeOptions())
    forked = [grade_one_isolated(course, "mle", f"forked{i}", path, GradeOptions(), warm)[0]
              for i in range(2)]
    assert len(children_of(warm._proc.pid)) == 1  # mle's assignment template, still there
    assert fresh.status == forked[0].status == forked[1].status == Status.GRADED
    if kind == "wrong":
        assert 0 < fresh.score < fresh.max_score
    else:
        assert fresh.full_marks
    assert feedback(fresh) == feedback(forked[0]) == feedback(forked[1])
    assert fresh.score == forked[0].score == forked[1].score


def test_chosen_tests_and_recorded_calls_are_per_request(course, warm):
    """verify's options (only some test functions; the student's functions each test called)
    apply per submission: the template collected without them grades them like a fresh run."""
    only = GradeOptions(tests=("test_gaussian_mle_values", "test_mvn_mle_not_modified"))
    path = mistake("mle", "unbiased_variance")
    fresh, _ = grade_one_isolated(course, "mle", "fresh", path, only)
    forked, _ = grade_one_isolated(course, "mle", "forked", path, only, warm)
    assert feedback(fresh) == feedback(forked)
    assert {t.test_id.split("[")[0] for t in forked.tests} == set(only.tests)
    values = next(t for t in forked.tests if t.test_id == "test_gaussian_mle_values")
    assert not values.passed and values.calls is None
    recorded, _ = grade_one_isolated(course, "mle", "ref", course.solution("mle"),
                                     GradeOptions(record_calls=True), warm)
    calls = {t.test_id.split("[")[0]: t.calls for t in recorded.tests}
    assert recorded.full_marks and calls["test_gaussian_mle_values"] == ("gaussian_mle",)
    assert calls["test_mvn_mle_not_modified"] == ("mvn_mle",)  # a test generated from the contract


LEAK_TESTS = """
from autograder.testing import expect

SEEN = []  # module state of the tests: collected once per batch, fresh for each student


def test_module_state_is_this_students(student):
    SEEN.append(student.name())
    expect(len(SEEN) == 1, f"the tests' module state holds earlier students: {SEEN}")
"""
LEAK_HIDDEN = """
from autograder.testing import expect


def test_reference_state_is_this_students(student, reference):
    student.name()
    reference.name()
    expect(reference.calls() == 1, f"the reference was called {reference.calls()} times")
"""
LEAK_REFERENCE = """
CALLS = []


def name():
    CALLS.append(1)
    return "reference"


def calls():
    return len(CALLS)
"""


def test_no_state_passes_from_one_student_to_the_next(warm, tmp_path):
    """Tests and reference keep module-level state; each student of the batch starts from the
    template's, never from an earlier student's."""
    root = tmp_path / "course"
    for rel, text in (("assignments/leak/tests/test_public.py", LEAK_TESTS),
                      ("solutions/tests/leak/test_hidden.py", LEAK_HIDDEN),
                      ("solutions/leak.py", LEAK_REFERENCE)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    subs = {}
    for who in ("ann", "ben"):
        subs[who] = tmp_path / f"{who}.py"
        subs[who].write_text(f"def name():\n    return {who!r}\n")
    course = Course(root)
    before = len(children_of(warm._proc.pid))
    for who in ("ann", "ben", "ann"):
        r, log = grade_one_isolated(course, "leak", who, subs[who], GradeOptions(), warm)
        assert r.status == Status.GRADED and r.full_marks, (feedback(r), log)
    assert len(children_of(warm._proc.pid)) == before + 1  # graded through leak's template


def test_tests_that_cannot_be_collected_are_reported_as_by_a_fresh_process(warm, tmp_path):
    root = tmp_path / "course"
    (root / "assignments" / "broken" / "tests").mkdir(parents=True)
    (root / "assignments" / "broken" / "tests" / "test_public.py").write_text("def test_x(:\n")
    sub = tmp_path / "s.py"
    sub.write_text("x = 1\n")
    course = Course(root)
    fresh, fresh_log = grade_one_isolated(course, "broken", "s", sub, GradeOptions())
    forked, forked_log = grade_one_isolated(course, "broken", "s", sub, GradeOptions(), warm)
    assert fresh.status == forked.status == Status.ERROR and fresh.error == forked.error
    assert "could not be collected" in fresh_log and "could not be collected" in forked_log


def test_a_failing_child_becomes_an_error_result(course, warm, tmp_path):
    bad = tmp_path / "not-a-course"
    bad.mkdir()
    r, detail = grade_one_isolated(type(course)(bad), "mle", "x", course.solution("mle"),
                                   GradeOptions(), warm)
    assert r.status == Status.ERROR and "instructor has the details" in r.error
    assert "Traceback" in detail


def test_timeout_kills_the_child(course, warm, tmp_path):
    req, out, err = tmp_path / "req.json", tmp_path / "out.json", tmp_path / "err.txt"
    spin = tmp_path / "spin.py"  # bernoulli_mle's tests run into their time limit: far over 3 s
    spin.write_text("def bernoulli_mle(x):\n    while True:\n        pass\n")
    req.write_text(request_json(course, "mle", spin, "s", GradeOptions(), out))
    with pytest.raises(TimeoutError):
        warm.run(req, err, timeout=3)
    deadline = time.monotonic() + 10
    while grading_processes(warm) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not grading_processes(warm) and not out.exists()


def test_template_leaves_with_its_grader():
    code = textwrap.dedent("""
        import os, sys
        from autograder.warm import WarmRunner
        w = WarmRunner()
        print(w._proc.pid, flush=True)
        os._exit(0)  # like kill -9: nothing is closed
    """)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    pid = int(r.stdout)
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not os.path.exists(f"/proc/{pid}") or " Z" in open(f"/proc/{pid}/stat").read()
