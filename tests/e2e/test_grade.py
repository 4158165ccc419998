"""`gmgrade grade`, `check` end to end on the example batch."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.cli import main
from tests.material import correct

ROOT = Path(__file__).resolve().parents[2]
BATCH = ROOT / "examples" / "mle_batch"


def gmgrade(*args, **kw):
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    r = gmgrade("grade", "mle", str(BATCH), "--out", str(out), "--jobs", "2")
    assert r.returncode == 0, r.stderr
    return out, r


def test_batch_outputs(graded):
    out, r = graded
    rows = (out / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("student,score,max_score,status,")
    by = {row.split(",")[0]: row.split(",") for row in rows[1:]}
    assert set(by) == {"alice", "bob", "carol", "dave", "erin", "frank"}
    assert by["frank"][3] == "error" and by["frank"][1] == "0"
    assert by["alice"][1] == by["alice"][2]  # full marks
    assert float(by["bob"][1]) < float(by["bob"][2])
    res = json.loads((out / "bob" / "results.json").read_text())
    assert {"score", "max_score", "execution_time", "output", "tests"} <= set(res)
    assert all({"name", "score", "max_score", "status", "output", "visibility"} <= set(t) for t in res["tests"])
    assert "unbiased N−1 variance" in json.dumps(res, ensure_ascii=False)
    assert "<html" in (out / "bob" / "feedback.html").read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["students"] == 6
    assert "mean" in r.stdout and "frank" in r.stdout
    for s in by:  # a student's folder holds what they may see; the fingerprints are staff's
        assert sorted(p.name for p in (out / s).iterdir()) == ["feedback.html", "results.json"]
        assert (out / "staff" / f"{s}.fingerprint").is_file()


def test_grading_twice_gives_identical_grades(graded, tmp_path):
    out, _ = graded
    r = gmgrade("grade", "mle", str(BATCH), "--out", str(tmp_path), "--jobs", "2")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "grades.csv").read_text() == (out / "grades.csv").read_text()
    for s in ("bob", "dave"):
        a = json.loads((out / s / "results.json").read_text())
        b = json.loads((tmp_path / s / "results.json").read_text())
        assert [t["output"] for t in a["tests"]] == [t["output"] for t in b["tests"]]


def test_rerun_skips_graded_students(graded):
    out, _ = graded
    r = gmgrade("grade", "mle", str(BATCH), "--out", str(out))
    assert r.returncode == 0 and "6 submission(s) already graded" in r.stderr


def test_kill_and_resume_finishes_without_duplicates(tmp_path):
    batch = tmp_path / "batch"
    shutil.copytree(BATCH, batch)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "autograder.cli", "grade", "mle", str(batch),
                             "--out", str(out), "--jobs", "1"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(out.glob("staff/*.fingerprint")):
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p.stem for p in out.glob("staff/*.fingerprint")}
    assert done_before and len(done_before) < 6
    r = gmgrade("grade", "mle", str(batch), "--out", str(out), "--jobs", "2")
    assert r.returncode == 0, r.stderr
    assert f"{len(done_before)} submission(s) already graded" in r.stderr
    rows = (out / "grades.csv").read_text().splitlines()[1:]
    assert sorted(row.split(",")[0] for row in rows) == ["alice", "bob", "carol", "dave", "erin", "frank"]


BROKEN_HIDDEN_TEST = """import torch


def test_breaks_after_the_student_answered(student):
    \"\"\"bernoulli_mle: a hidden test that itself breaks\"\"\"
    got = student.bernoulli_mle(torch.ones(3, dtype=torch.float64))
    table_of_hidden_expectations = {}
    return table_of_hidden_expectations["bernoulli_mle"] == got  # fails: a grader fault
"""


def test_student_folders_hold_only_what_the_student_may_see(tmp_path):
    """A hidden test that breaks is a grader fault whose traceback quotes the hidden test: it
    goes to DIR/staff/STUDENT.log, never into DIR/STUDENT/. An output folder of the earlier
    layout (staff.log and the fingerprint inside the student's folder) is tidied when the
    batch runs again, and its students still count as graded."""
    import io

    from autograder.batch import grade_batch
    from autograder.course import Course
    from autograder.runner import GradeOptions

    course = tmp_path / "course"
    shutil.copytree(ROOT / "assignments" / "mle", course / "assignments" / "mle")
    shutil.copytree(ROOT / "solutions" / "tests" / "mle", course / "solutions" / "tests" / "mle")
    shutil.copy(ROOT / "solutions" / "mle.py", course / "solutions" / "mle.py")
    (course / "solutions" / "tests" / "mle" / "test_broken.py").write_text(BROKEN_HIDDEN_TEST)
    batch, out = tmp_path / "batch", tmp_path / "out"
    batch.mkdir()
    for name in ("alice.py", "frank.txt"):  # alice is graded; frank has no mle.py: no sandbox
        shutil.copy(BATCH / name, batch / name)
    args = (Course(course), "mle", batch, out, GradeOptions())
    grade_batch(*args, jobs=2, progress_stream=io.StringIO())

    for s in ("alice", "frank"):
        assert sorted(p.name for p in (out / s).iterdir()) == ["feedback.html", "results.json"]
    assert sorted(p.name for p in (out / "staff").iterdir()) == [
        "alice.fingerprint", "alice.log", "frank.fingerprint"]
    hidden_line = 'return table_of_hidden_expectations["bernoulli_mle"] == got  # fails: a grader fault'
    assert hidden_line in (out / "staff" / "alice.log").read_text()
    for p in (out / "alice").iterdir():
        assert "table_of_hidden_expectations" not in p.read_text(), p.name
    res = json.loads((out / "alice" / "results.json").read_text())
    broken = next(t for t in res["tests"] if t["extra_data"]["id"] == "test_breaks_after_the_student_answered")
    assert broken["extra_data"]["grader_error"] and "bernoulli_mle() returned" in broken["output"]

    # the earlier layout: staff files inside the students' folders
    os.replace(out / "staff" / "alice.log", out / "alice" / "staff.log")
    for s in ("alice", "frank"):
        os.replace(out / "staff" / f"{s}.fingerprint", out / s / ".gmgrade-fingerprint")
    grades = (out / "grades.csv").read_text()
    stream = io.StringIO()
    grade_batch(*args, progress_stream=stream)
    assert "2 submission(s) already graded" in stream.getvalue()
    assert sorted(p.name for p in (out / "alice").iterdir()) == ["feedback.html", "results.json"]
    assert sorted(p.name for p in (out / "staff").iterdir()) == [
        "alice.fingerprint", "alice.log", "frank.fingerprint"]
    assert (out / "grades.csv").read_text() == grades

    # regrading replaces the staff log; a grading without one leaves none behind
    (out / "staff" / "frank.log").write_text("from an earlier grading\n")
    (batch / "alice.py").unlink()
    grade_batch(*args, regrade=True, progress_stream=io.StringIO())
    assert not (out / "staff" / "frank.log").exists()


def test_check_public_only(tmp_path, capsys):
    code = main(["check", "mle", str(correct("mle", "loops.py"))])
    out = capsys.readouterr().out
    assert code == 0 and "public tests passed" in out and "hidden" not in out.split("\n")[1]
    code = main(["check", "mle", str(ROOT / "assignments" / "mle" / "mle.py")])
    assert code == 1 and "not implemented yet" in capsys.readouterr().out


def test_usage_errors_are_clear(tmp_path, capsys):
    assert main(["grade", "nosuch", str(tmp_path), "--out", str(tmp_path / "o")]) == 3
    assert "unknown assignment 'nosuch'" in capsys.readouterr().err
    assert main(["grade", "mle", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 3
    assert "not a folder" in capsys.readouterr().err


def test_notebook_with_failing_and_slow_cells_is_graded_on_its_functions(course, tmp_path):
    import json as _json

    from autograder.runner import GradeOptions, grade_path

    good = (correct("mle", "other_formulas.py")).read_text()
    cells = [good, "raise RuntimeError('exploration failed')", "import time\nwhile True:\n    time.sleep(0.1)",
             "%timeit bernoulli_mle(torch.ones(3))"]
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None,
                     "id": f"c{i}"} for i, c in enumerate(cells)]}
    path = tmp_path / "mle.ipynb"
    path.write_text(_json.dumps(nb))
    result, _ = grade_path(course, "mle", path, "nb", GradeOptions(include_hidden=False, cell_timeout=2))
    assert result.full_marks, [t.output for t in result.tests if not t.passed]
    notes = "\n".join(result.notes)
    assert "cell 2 raised RuntimeError" in notes and "cell 3 ran longer than 2 s" in notes
    assert "magic" in notes


def test_an_answer_of_the_wrong_structure_is_named_to_the_student(course, tmp_path):
    """gaussian_mle returning one tensor instead of (mu, var): a clear failure, no grader fault."""
    from autograder.runner import GradeOptions, grade_path

    good = correct("mle", "other_formulas.py")
    path = tmp_path / "mle.py"
    path.write_text(good.read_text() + "\n\ndef gaussian_mle(x):\n    return x.mean()  # no variance\n")
    result, _ = grade_path(course, "mle", path, "s", GradeOptions())
    failed = [t for t in result.tests if not t.passed]
    assert failed and not any(t.grader_error for t in result.tests)
    affine = next(t for t in result.tests if t.test_id == "test_gaussian_mle_affine_equivariance")
    assert "expected a tuple of 2 values" in affine.output
