"""The student bundle (and its leak scan) and the Gradescope autograder zip."""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.release import leaks, release
from tests.material import correct, mistake

ROOT = Path(__file__).resolve().parents[2]
WRONG = mistake("mle", "unbiased_variance")
RIGHT = correct("mle", "loops.py")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, course):
    out = tmp_path_factory.mktemp("bundle") / "b"
    release(course, out)
    return out


def test_bundle_has_public_material_only(bundle, course):
    for name in course.assignments():
        d = bundle / "assignments" / name
        assert (d / f"{name}.py").exists() and (d / f"{name}.ipynb").exists()
        assert sorted(p.name for p in (d / "tests").iterdir()) == sorted(p.name for p in course.public_tests(name))
    assert not (bundle / "solutions").exists()
    assert leaks(course, bundle) == []


def test_leak_scan_catches_a_leaked_answer(bundle, course, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    sol = (ROOT / "solutions" / "mle.py").read_text().splitlines()
    answer = next(x for x in sol if "solve_triangular" in x)
    (copy / "assignments" / "mle" / "notes.py").write_text(answer + "\n")
    found = leaks(course, copy)
    assert any(f.startswith("assignments/mle/notes.py: line from solutions/") for f in found), found
    hidden = (ROOT / "solutions" / "tests" / "mle" / "test_hidden.py").read_text()
    hidden_test_line = next(x for x in hidden.splitlines()
                            if "def test_mvn_log_pdf_stable_d100_cond1e8" in x)
    (copy / "autograder" / "x.py").write_text(hidden_test_line + "\n")
    assert any("test_hidden.py" in f for f in leaks(course, copy))


def test_student_can_check_from_the_bundle(bundle, tmp_path):
    work = bundle / "assignments" / "mle"
    env = dict(os.environ, PYTHONPATH=str(bundle))
    env.pop("GMGRADE_COURSE", None)
    shutil.copy(RIGHT, tmp_path / "mle.py")
    r = subprocess.run([sys.executable, "-m", "autograder.cli", "check", "mle", str(tmp_path / "mle.py")],
                       cwd=work, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"(\d+)/\1 public tests passed", r.stdout), r.stdout


def test_release_refuses_a_non_empty_folder(course, tmp_path):
    (tmp_path / "x").write_text("")
    with pytest.raises(FileExistsError):
        release(course, tmp_path)


@pytest.mark.parametrize("submission, full", [(RIGHT, True), (WRONG, False)])
def test_gradescope_zip_runs_in_a_fake_autograder_tree(course, tmp_path, submission, full):
    from autograder.gradescope import export_zip

    root = tmp_path / "autograder"
    z = export_zip(course, "mle", tmp_path / "mle.zip")
    with zipfile.ZipFile(z) as f:
        names = f.namelist()
        assert {"setup.sh", "run_autograder"} <= set(names)
        assert not any("mistakes/" in n or "correct/" in n for n in names)
        f.extractall(root / "source")
    (root / "submission").mkdir()
    shutil.copy(submission, root / "submission" / "mle.py")
    run = root / "source" / "run_autograder"
    run.chmod(0o755)
    env = dict(os.environ, GMGRADE_GRADESCOPE_ROOT=str(root), GMGRADE_PYTHON=sys.executable)
    r = subprocess.run([str(run)], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    res = json.loads((root / "results" / "results.json").read_text())
    assert isinstance(res["score"], (int, float)) and res["tests"]
    for t in res["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(t)
        assert t["visibility"] in {"visible", "hidden", "after_due_date", "after_published"}
    assert (res["score"] == res["max_score"]) == full


def test_gradescope_keeps_staff_details_out_of_results_json(tmp_path, monkeypatch, capsys):
    """Students read results.json; the staff log and a failure's details (a collection error
    quotes the hidden tests) go to the Autograder Output, which only instructors see."""
    from autograder import gradescope, runner
    from autograder.results import Status, SubmissionResult

    hidden = "def test_hidden_values(student, reference):  # from solutions/tests"
    result = SubmissionResult(student="submission", assignment="mle", status=Status.GRADED,
                              tests=(), max_score=0.0, execution_time=0.1)
    monkeypatch.setattr(runner, "grade_path", lambda *a, **k: (result, f"Traceback\n    {hidden}"))
    out = tmp_path / "results.json"
    assert gradescope.main(["mle", str(tmp_path), str(out)]) == 0
    assert hidden in capsys.readouterr().err
    assert hidden not in out.read_text()

    def broken(*a, **k):
        raise RuntimeError(f"the grading tests could not be collected:\n{hidden}")

    monkeypatch.setattr(runner, "grade_path", broken)
    with pytest.raises(RuntimeError):
        gradescope.main(["mle", str(tmp_path), str(out)])
    data = json.loads(out.read_text())
    assert data["score"] == 0 and data["stdout_visibility"] == "hidden"
    assert hidden not in out.read_text() and "your instructor can see the details" in data["output"]
