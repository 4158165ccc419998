"""Command-line mistakes through ``gmgrade``'s own entry point: one clear line on stderr,
the usage exit code, and no worker, sandbox or grading process started. A batch with
bad entries among good ones grades the good ones and records each bad one as ``error``."""

import io
import json
import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder.cli import main
from autograder.results import ExitCode, Status, SubmissionResult

ROOT = Path(__file__).resolve().parents[2]
BATCH = ROOT / "examples" / "mle_batch"


@pytest.fixture
def no_worker(monkeypatch):
    """Whatever gmgrade starts to grade (a worker or its sandbox, a zygote, a batch's warm
    template or runner process, a fork) fails the test instead."""
    from autograder import batch, sandbox, warm, zygote

    def refuse(*a, **k):
        raise AssertionError("something was started to grade a command-line mistake")

    for owner, name in [(sandbox, "start"), (sandbox, "start_zygote"), (zygote, "start_shared"),
                        (warm, "WarmRunner"), (batch, "WarmRunner"), (batch, "request_json"),
                        (os, "fork")]:
        monkeypatch.setattr(owner, name, refuse)


def usage_error(capsys, *argv):
    """Run gmgrade; return its one line of error after checking the exit code and streams."""
    assert main(list(argv)) == ExitCode.USAGE_ERROR
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("gmgrade: error: "), err
    return err


def test_check_on_a_wrong_path_or_kind_of_file(no_worker, capsys, tmp_path):
    assert "missing.py does not exist; give the path of your mle.py" in usage_error(
        capsys, "check", "mle", str(tmp_path / "missing.py"))
    (tmp_path / "notes.txt").write_text("my answers")
    assert "notes.txt is not a submission for mle" in usage_error(
        capsys, "check", "mle", str(tmp_path / "notes.txt"))
    (tmp_path / "mle.ipynb").write_text("{")
    assert "mle.ipynb is not a valid Jupyter notebook: it is not valid JSON" in usage_error(
        capsys, "check", "mle", str(tmp_path / "mle.ipynb"))
    alice = str(BATCH / "alice.py")
    assert "unknown assignment 'mle2'" in usage_error(capsys, "check", "mle2", alice)
    assert "mle has no function 'gaussian'" in usage_error(capsys, "check", "mle", alice,
                                                           "--only", "gaussian")


def test_check_without_a_path_names_the_current_folder(no_worker, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = usage_error(capsys, "check", "mle", "--course", str(ROOT))
    assert "no mle.py or mle.ipynb found" in err and "looks in the current folder" in err


def test_grade_refuses_an_empty_batch_and_an_output_file(no_worker, capsys, tmp_path):
    empty, out = tmp_path / "empty", tmp_path / "out"
    empty.mkdir()
    assert "holds no submissions" in usage_error(capsys, "grade", "mle", str(empty), "--out", str(out))
    assert not out.exists()  # nothing written
    (tmp_path / "grades").write_text("")
    assert "is a file, not a folder" in usage_error(capsys, "grade", "mle", str(BATCH), "--out",
                                                    str(tmp_path / "grades"))
    assert "inside the submissions folder" in usage_error(capsys, "grade", "mle", str(empty),
                                                          "--out", str(empty / "out"))


def test_a_batch_of_only_bad_entries_records_each_without_grading(no_worker, capsys, tmp_path):
    batch, out = tmp_path / "batch", tmp_path / "out"
    batch.mkdir()
    shutil.copy(BATCH / "frank.txt", batch)
    (batch / "gina").mkdir()  # a folder without any code
    (batch / "gina" / "README.md").write_text("see my notebook")
    (batch / "hal.ipynb").write_text('{"cells": [}')
    assert main(["grade", "mle", str(batch), "--out", str(out), "--jobs", "1"]) == ExitCode.OK
    printed = capsys.readouterr().out
    rows = {r.split(",")[0]: r.split(",") for r in (out / "grades.csv").read_text().splitlines()[1:]}
    assert sorted(rows) == ["frank", "gina", "hal"] and {r[3] for r in rows.values()} == {"error"}
    # a gradebook row like any other: the assignment's points, every test's column at 0
    assert all(float(r[2]) > 0 and set(r[4:]) == {"0"} for r in rows.values())
    assert "full marks: 0" in printed
    assert "frank.txt: frank.txt is not a submission for mle" in printed
    assert "hal.ipynb: hal.ipynb is not a valid Jupyter notebook" in printed
    feedback = json.loads((out / "gina" / "results.json").read_text())["output"]
    assert "no mle.py or mle.ipynb found in folder gina/" in feedback


def test_a_mixed_batch_grades_the_good_entries_and_keeps_what_was_graded(tmp_path):
    from autograder.batch import grade_batch
    from autograder.course import Course
    from autograder.options import GradeOptions

    graded = []

    def grade_fn(course, assignment, student, path, opts):  # stands in for the sandboxed runner
        graded.append(student)
        return SubmissionResult(student=student, assignment=assignment, status=Status.GRADED,
                                tests=(), max_score=0.0, execution_time=0.0), ""

    batch, out = tmp_path / "batch", tmp_path / "out"
    batch.mkdir()
    for name in ("alice.py", "bob.py"):
        shutil.copy(BATCH / name, batch)
    args = (Course(ROOT), "mle", batch, out, GradeOptions())
    grade_batch(*args, grade_fn=grade_fn, progress_stream=io.StringIO())
    shutil.copy(BATCH / "frank.txt", batch)
    summary = grade_batch(*args, grade_fn=grade_fn, progress_stream=io.StringIO())
    assert graded == ["alice", "bob"]  # graded once; frank never reaches the runner
    assert summary["rejected"] == ["frank.txt: frank.txt is not a submission for mle; submit "
                                   "mle.py, mle.ipynb, or a folder or .zip holding one"]
    statuses = {r.split(",")[0]: r.split(",")[3] for r in (out / "grades.csv").read_text().splitlines()[1:]}
    assert statuses == {"alice": "graded", "bob": "graded", "frank": "error"}


def test_export_release_and_verify_refuse_before_any_work(no_worker, capsys, tmp_path):
    assert "unknown assignment 'nosuch'" in usage_error(
        capsys, "export", "gradescope", "nosuch", "--out", str(tmp_path / "a.zip"))
    assert "is a folder; give the name of the zip file" in usage_error(
        capsys, "export", "gradescope", "mle", "--out", str(tmp_path))
    (tmp_path / "bundle").write_text("")
    assert "is a file, not a folder" in usage_error(capsys, "release", "--out", str(tmp_path / "bundle"))
    assert "unknown assignment 'nosuch'" in usage_error(capsys, "verify", "nosuch")


def test_in_notebook_check_with_a_wrong_name_runs_nothing(no_worker, monkeypatch):
    from autograder import notebook

    def gaussian_mle(x):
        return x

    monkeypatch.setitem(sys.modules, "IPython", SimpleNamespace(get_ipython=lambda: object()))
    wrong_function = notebook.check("mle", gaussian_mle, course=str(ROOT))
    assert wrong_function.result is None and not wrong_function.passed
    assert 'check("mle", "gaussian_mle")' in wrong_function.problem
    unknown = notebook.check("MLE", course=str(ROOT))
    assert "unknown assignment 'MLE'" in repr(unknown) and unknown.result is None
    no_such_function = notebook.check("mle", "gaussian", course=str(ROOT))
    assert "mle has no function 'gaussian'" in no_such_function.problem
