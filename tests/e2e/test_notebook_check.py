"""`check` from inside a notebook, in a real Jupyter kernel (nbclient), and `gmgrade check` on
a Python that looks like Windows (tests/e2e/nonposix: no resource, fcntl, libc, fork)."""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path


from autograder.assign import percent_cells
from autograder.release import release
from tests.material import mistake

ROOT = Path(__file__).resolve().parents[2]
NONPOSIX = Path(__file__).resolve().parent / "nonposix"
WRONG = mistake("mle", "unbiased_variance")

def passed(report: str) -> str:
    """"all" or "some" of the public tests passed, as the check's summary line says."""
    m = re.search(r"(\d+)/(\d+) public tests passed", report)
    assert m, report
    return "all" if m.group(1) == m.group(2) else "some" if 0 < int(m.group(1)) else "none"


def count(report: str) -> int:
    return int(re.search(r"\d+/(\d+) public tests passed", report).group(1))


RUN_NOTEBOOK = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
               resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, sys.argv[1])
"""


def execute(nb_path: Path, cwd: Path, python: str, env: dict) -> list:
    """Execute the notebook in a kernel of ``python`` (its own native kernel); its cells."""
    r = subprocess.run([python, "-c", RUN_NOTEBOOK, str(nb_path), str(cwd)], env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(nb_path.read_text())["cells"]


def outputs(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        data = o.get("data", {})
        out.append("".join(data.get("text/plain", "")) + "".join(data.get("text/html", ""))
                   + "".join(o.get("text", "")) + o.get("evalue", ""))
    return "\n".join(out)


def nonposix_env() -> dict:
    """No bubblewrap on PATH, and the shim that hides the POSIX-only modules."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(NONPOSIX), str(ROOT)])
    env["PATH"] = os.path.dirname(sys.executable)
    return env


def code_cell(source: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": source, "outputs": [],
            "execution_count": None}


def test_bundle_notebook_with_the_reference_passes_every_public_test(course, tmp_path):
    """As on Colab: the bundle installed with pip, the notebook run far from any course folder."""
    bundle = tmp_path / "bundle"
    release(course, bundle, ["mle"], url="https://example.invalid/gmgrade-student.zip")
    venv = tmp_path / "venv"  # under /tmp: the sandbox must find this interpreter too
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
                    "--no-build-isolation", str(bundle)], check=True)
    nb = json.loads((bundle / "assignments" / "mle" / "mle.ipynb").read_text())
    first = "".join(nb["cells"][0]["source"])
    assert '%pip install -q "https://example.invalid/gmgrade-student.zip"' in first
    assert "from autograder import check" in first
    reference = [text for kind, text in percent_cells((ROOT / "solutions" / "mle.py").read_text())
                 if kind == "code"]
    code = [c for c in nb["cells"][1:] if c["cell_type"] == "code"]
    assert len(code) == len(reference)
    for cell, text in zip(code, reference):
        cell["source"] = text
    nb["cells"].append(code_cell('check("mle")'))
    path = tmp_path / "work" / "mle.ipynb"
    path.parent.mkdir()
    path.write_text(json.dumps(nb))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    cells = execute(path, path.parent, python, env)
    shown = outputs(cells[-1])
    assert passed(shown) == "all", shown
    assert "gaussian_mle In [" in shown and "not defined" not in shown


def test_wrong_notebook_shows_the_hint_without_posix(tmp_path):
    """A known mistake, graded in a kernel where resource, fcntl and libc are missing (as on
    Windows): the hint shows, the fixed definition in a later cell is what gets graded, and
    the per-function check runs only that function's tests."""
    wrong = WRONG.read_text()
    fixed = "\n".join(line.replace("(x.shape[0] - 1)", "x.shape[0]") for line in wrong.splitlines())
    assert fixed != wrong
    nb = {"cells": [code_cell("%env GMGRADE_DEMO=1\nfrom autograder import check"),
                    code_cell(wrong),
                    code_cell('import os\nprint("shim", os.environ.get("GMGRADE_NONPOSIX_SHIM"))\n'
                              'check("mle")'),
                    code_cell(fixed),
                    code_cell('result = check("mle", "gaussian_mle")\nresult')],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                      "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "mle.ipynb"
    path.write_text(json.dumps(nb))
    cells = execute(path, ROOT / "assignments" / "mle", sys.executable, nonposix_env())
    first, second = outputs(cells[2]), outputs(cells[4])
    assert "shim 1" in first
    assert "Hint: looks like the unbiased N−1 variance; the MLE divides by N" in first, first
    assert passed(first) == "some" and "gaussian_mle In [2]" in first
    assert passed(second) == "all" and "gaussian_mle In [4]" in second, second
    assert count(second) < count(first)  # only gaussian_mle's tests


def gmgrade_check(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder.cli", "check", "mle", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_check_without_posix_gives_the_same_results_as_on_linux():
    linux = gmgrade_check(os.environ, str(WRONG), "--sandbox", "process")
    windows_like = gmgrade_check(nonposix_env(), str(WRONG))
    assert linux.returncode == windows_like.returncode == 1, windows_like.stderr[-2000:]
    assert "unbiased N−1 variance" in windows_like.stdout
    assert windows_like.stdout == linux.stdout


def test_a_worker_that_cannot_start_is_reported_once(tmp_path):
    """The issue's case: bwrap cannot run the interpreter. One message, its cause, what to do."""
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent("""\
        import sys
        sys.executable = "/nonexistent/venv/bin/python"
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    from autograder import sandbox

    backend = "bwrap" if sandbox.bwrap_works() else "process"
    r = gmgrade_check(env, str(WRONG), "--sandbox", backend)
    assert r.returncode == 2
    assert r.stderr.count("The check could not run your code") == 1, r.stderr
    assert "/nonexistent/venv/bin" in r.stderr  # the cause, as bwrap or Python gave it
    assert "instructor has the details" not in r.stdout + r.stderr
    if backend == "bwrap":
        assert "--sandbox process" in r.stderr
