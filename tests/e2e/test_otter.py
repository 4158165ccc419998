"""`gmgrade export otter`: otter-grader's own `otter run` grades notebooks with our tests.

`otter run` executes the notebook in a Jupyter kernel (ipykernel, from the `otter` extra),
on loopback only; gmgrade's plugin grades the file in our sandbox first and removes the
student's code from the notebook otter executes.
"""

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("otter", reason="needs otter-grader: pip install -e '.[otter]'")
pytest.importorskip("ipykernel", reason="otter run needs a kernel: pip install -e '.[otter]'")

from autograder import otter  # noqa: E402
from autograder.assign import to_notebook  # noqa: E402
from autograder import results as res  # noqa: E402
from autograder.errors import UsageError  # noqa: E402
from tests.material import correct, mistake

ROOT = Path(__file__).resolve().parents[2]
RIGHT = correct("mle", "loops.py")
WRONG = mistake("mle", "unbiased_variance")


@pytest.fixture(scope="module")
def otter_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("otter") / "mle-otter.zip"
    r = subprocess.run([sys.executable, "-m", "autograder.cli", "export", "otter", "mle", "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


def otter_run(zip_path: Path, source: str, where: Path) -> tuple[dict, str]:
    where.mkdir()
    nb = where / "mle.ipynb"
    nb.write_text(to_notebook(source))
    r = subprocess.run([sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(zip_path),
                        "-o", str(where), str(nb)], cwd=where, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads((where / "results.json").read_text()), r.stdout


def scored(results: dict) -> list[dict]:
    return [t for t in results["tests"] if "max_score" in t]


def zip_points(zip_path: Path) -> float:
    with zipfile.ZipFile(zip_path) as z:
        return sum(float(re.search(r"points=([0-9.]+)", z.read(n).decode()).group(1))
                   for n in z.namelist() if n.startswith("tests/"))


def test_zip_is_in_otters_format(otter_zip):
    with zipfile.ZipFile(otter_zip) as z:
        names = set(z.namelist())
        config = json.loads(z.read("otter_config.json"))
        setup = z.read("setup.sh").decode()
        env = z.read("environment.yml").decode()
        tests = {n: z.read(n).decode() for n in names if n.startswith("tests/")}
    assert {"otter_config.json", "setup.sh", "run_autograder", "run_otter.py", "environment.yml"} <= names
    assert config["plugins"][0][otter.PLUGIN]["assignment"] == "mle"
    assert "bubblewrap" in setup and "otter-grader" in env and "/autograder/source/gmgrade" in env
    ids = [re.search(r"check\('mle', '(.+)'\)", t).group(1) for t in tests.values()]
    assert len(ids) == len(set(ids)) > 10 and "test_gaussian_mle_values" in ids
    assert all("OK_FORMAT = False" in t for t in tests.values())
    assert "gmgrade/solutions/tests/mle/test_hidden.py" in names
    assert not any("mistakes/" in n or "correct/" in n for n in names)


def test_correct_notebook_gets_full_marks_and_its_code_never_runs_in_otters_kernel(otter_zip, tmp_path):
    marker = tmp_path / "ran-in-otters-kernel"
    # Our sandbox cannot see tmp_path (bwrap) or write to it (process backend: another user);
    # otter's kernel could, if it ran the student's code.
    source = RIGHT.read_text() + (f"\n\n# %%\ntry:\n    open({str(marker)!r}, 'w').write('x')\n"
                                  "except OSError:\n    pass\n")
    results, stdout = otter_run(otter_zip, source, tmp_path / "right")
    tests = scored(results)
    total, possible = sum(t["score"] for t in tests), sum(t["max_score"] for t in tests)
    assert possible == zip_points(otter_zip) and total == possible, stdout[-3000:]
    assert f"Total Score: {total:.3f} / {possible:.3f}" in stdout
    assert f"gmgrade graded mle in its sandbox: {total:g}/{possible:g}" in stdout
    assert not marker.exists()


def test_wrong_notebook_loses_points_with_our_feedback(otter_zip, tmp_path):
    results, stdout = otter_run(otter_zip, WRONG.read_text(), tmp_path / "wrong")
    tests = scored(results)
    total, possible = sum(t["score"] for t in tests), sum(t["max_score"] for t in tests)
    assert possible == zip_points(otter_zip) and total < possible
    failed = [t for t in tests if t["score"] < t["max_score"]]
    assert any("unbiased N−1 variance" in t["output"] for t in failed)
    assert all(t["score"] == 0 for t in failed)  # each otter test is one gmgrade test: all or nothing


def test_check_reads_the_saved_result(tmp_path, monkeypatch):
    result = res.SubmissionResult(
        student="submission", assignment="mle", status=res.Status.GRADED, max_score=3.0, execution_time=1.0,
        tests=(res.TestResult("t_ok", "ok", 1.0, 1.0, True, "passed", False),
               res.TestResult("t_bad", "bad", 0.0, 2.0, False, "returned 2, expected 1", True)))
    saved = tmp_path / "gmgrade-result.json"
    saved.write_text(json.dumps(result.to_dict()))
    monkeypatch.setenv(otter.RESULT_ENV, str(saved))
    monkeypatch.setattr(otter, "_CACHE", {})
    otter.check("mle", "t_ok")
    with pytest.raises(AssertionError, match="returned 2, expected 1"):
        otter.check("mle", "t_bad")
    with pytest.raises(AssertionError, match="did not run"):
        otter.check("mle", "t_missing")


def test_the_staff_log_goes_to_the_instructors_output(tmp_path, monkeypatch, capsys):
    """Not into results/ (students see results.json; any other file there is lost with otter's
    folder): to stderr, the autograder output that only instructors see (show_stdout off)."""
    result = res.SubmissionResult(student="submission", assignment="mle", status=res.Status.GRADED,
                                  tests=(), max_score=0.0, execution_time=0.1)
    log = "Traceback (most recent call last):\n    a line of solutions/tests/mle/test_hidden.py"
    monkeypatch.setattr(otter, "grade_file", lambda *a: (result, log))
    for d in ("results", "submission"):
        (tmp_path / d).mkdir()
    monkeypatch.chdir(tmp_path / "submission")  # where otter runs its plugins
    for var in (otter.RESULT_ENV, otter.COURSE_ENV):  # set by the plugin: restored afterwards
        monkeypatch.setenv(var, "")
    plugin = otter.GmgradePlugin("mle.ipynb", None, {"assignment": "mle"})
    plugin.before_execution("x = 1\n")
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["gmgrade-result.json"]
    assert log in capsys.readouterr().err


def test_export_names_the_install_command_without_otter(course, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "otter", None)  # import otter -> ImportError
    with pytest.raises(UsageError, match=r"pip install 'gmgrade\[otter\]'"):
        otter.export_zip(course, "mle", tmp_path / "x.zip")
