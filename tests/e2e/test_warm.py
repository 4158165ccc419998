"""The pre-warmed template (autograder.warm) grades exactly like a fresh runner process."""

import os
import subprocess
import sys
import textwrap
import time

import pytest

from autograder.batch import grade_one_isolated
from autograder.results import Status
from autograder.runner import GradeOptions, request_json
from autograder.warm import WarmRunner
from tests.conftest import ROOT


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


@pytest.fixture(scope="module")
def warm():
    with WarmRunner() as w:
        yield w


def test_fork_grades_like_a_fresh_process(course, warm):
    wrong = course.bank("mle", "wrong")[0]
    fresh, _ = grade_one_isolated(course, "mle", "fresh", wrong, GradeOptions())
    forked, _ = grade_one_isolated(course, "mle", "forked", wrong, GradeOptions(), warm)
    assert fresh.status == forked.status == Status.GRADED
    assert 0 < forked.score < forked.max_score
    assert [(t.test_id, t.score, t.output) for t in fresh.tests] == \
        [(t.test_id, t.score, t.output) for t in forked.tests]


def test_a_failing_child_becomes_an_error_result(course, warm, tmp_path):
    bad = tmp_path / "not-a-course"
    bad.mkdir()
    r, detail = grade_one_isolated(type(course)(bad), "mle", "x", course.solution("mle"),
                                   GradeOptions(), warm)
    assert r.status == Status.ERROR and "instructor has the details" in r.error
    assert "Traceback" in detail


def test_timeout_kills_the_child(course, warm, tmp_path):
    req, out, err = tmp_path / "req.json", tmp_path / "out.json", tmp_path / "err.txt"
    req.write_text(request_json(course, "mle", course.solution("mle"), "s", GradeOptions(), out))
    with pytest.raises(TimeoutError):
        warm.run(req, err, timeout=0.5)
    deadline = time.monotonic() + 10
    while children_of(warm._proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not children_of(warm._proc.pid) and not out.exists()


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
