"""Every notebook runs top to bottom from the student bundle alone, with the reference's code
in its cells: the "Try it" experiments, and every path they use, exist in what students get.

The bundle is released to a temporary folder and each notebook executed in a real Jupyter
kernel (nbclient) whose Python sees the bundle and not this repository. The final
`check("NAME")` cell is replaced by one that shows where `autograder` was imported from: the
check runs the public tests, which other tests cover."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.assign import percent_cells
from autograder.course import Course
from autograder.release import release

ROOT = Path(__file__).resolve().parents[2]
CELL_TIMEOUT = 240  # seconds per cell; the slowest "Try it" trains a small VAE
NOTEBOOK_TIMEOUT = 600  # seconds per notebook, kernel start included

RUN_NOTEBOOK = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=int(sys.argv[3]), kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, sys.argv[1])
"""
WHERE = "import autograder\nprint(autograder.__file__)"
NAMES = Course(ROOT).assignments()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle")
    release(Course(ROOT), out)
    return out


@pytest.fixture(scope="module")
def bundle_ja(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle_ja")
    release(Course(ROOT), out, lang="ja")
    return out


def filled_notebook(bundle: Path, name: str) -> dict:
    """The bundle's notebook with the reference's code in place of each skeleton cell; its
    last cell (the check) replaced by one that prints where `autograder` was imported from."""
    nb = json.loads((bundle / "assignments" / name / f"{name}.ipynb").read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "from autograder import check" in "".join(code[0]["source"])
    assert f'check("{name}")' in "".join(code[-1]["source"]), "the notebook must end with its check"
    reference = [text for kind, text in percent_cells((ROOT / "solutions" / f"{name}.py")
                                                      .read_text(encoding="utf-8")) if kind == "code"]
    assert len(code) == len(reference) + 1, "the notebook's cells no longer match the reference's"
    for cell, text in zip(code[1:], reference):
        cell["source"] = text
    code[-1]["source"] = WHERE
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("name, lang", [(n, lang) for lang in ("en", "ja") for n in NAMES])
def test_notebook_runs_from_the_bundle(request, tmp_path, name, lang):
    """The reference-filled notebook runs without an error, importing only from the bundle
    (the English one, and the Japanese bundle's)."""
    bundle = request.getfixturevalue("bundle" if lang == "en" else "bundle_ja")
    path = tmp_path / f"{name}.ipynb"
    path.write_text(json.dumps(filled_notebook(bundle, name)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(bundle)  # the bundle's autograder (and model assets), not ROOT's
    env["OMP_NUM_THREADS"] = "1"  # one core per notebook: torch's threads crawl on a busy machine
    workdir = bundle / "assignments" / name  # where a student opens the notebook
    r = subprocess.run([sys.executable, "-c", RUN_NOTEBOOK, str(path), str(workdir), str(CELL_TIMEOUT)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=NOTEBOOK_TIMEOUT)
    assert r.returncode == 0, f"{name}.ipynb failed:\n{r.stderr[-4000:]}"
    last = json.loads(path.read_text(encoding="utf-8"))["cells"][-1]
    imported_from = "".join("".join(o.get("text", "")) for o in last["outputs"]).strip()
    assert Path(imported_from).is_relative_to(bundle), imported_from
