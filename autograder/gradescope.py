"""Gradescope integration: the autograder zip and the entry point its ``run_autograder`` calls.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once when the
image is built, then ``run_autograder`` for each submission, which must write
``/autograder/results/results.json``. Our ``results.json`` already follows that schema.

Students see ``results.json`` (its ``output`` fields), never the autograder's own output
(``stdout_visibility`` is ``hidden``): the staff log, and the traceback when grading
fails, go to stderr, which instructors read as the submission's "Autograder Output".
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

from autograder import config, i18n, sandbox
from autograder.course import Course
from autograder.errors import UsageError
from autograder.report import atomic_write

SETUP_SH = """#!/usr/bin/env bash
# Runs once when Gradescope builds the autograder image (Ubuntu, as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3 python3-pip python3-venv bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install -q torch=={torch}
/autograder/venv/bin/pip install -q /autograder/source
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Runs for every submission: grades /autograder/submission into /autograder/results/results.json
# with the same sandbox and tests as `gmgrade grade`. GMGRADE_GRADESCOPE_ROOT replaces /autograder in tests.
set -u
ROOT="${{GMGRADE_GRADESCOPE_ROOT:-/autograder}}"
PY="${{GMGRADE_PYTHON:-$ROOT/venv/bin/python}}"
mkdir -p "$ROOT/results"
cd "$ROOT/source"
{lang}exec "$PY" -m autograder.gradescope {name} "$ROOT/submission" "$ROOT/results/results.json"
"""


def _add_tree(z: zipfile.ZipFile, src: Path, arc: str) -> None:
    for p in sorted(src.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            z.write(p, f"{arc}/{p.relative_to(src).as_posix()}")


def export_zip(course: Course, name: str, out: Path, lang: str | None = None) -> Path:
    """The autograder zip of ``name``; ``lang``: the feedback's language, where it is to
    override the course's ``[tool.gmgrade] lang``."""
    import autograder
    import torch

    course.check_assignment(name)
    sol = course.solution(name)
    if sol is None or not course.hidden_tests(name):
        raise UsageError(f"{name}: the export needs the reference and the hidden tests")
    out.parent.mkdir(parents=True, exist_ok=True)
    torch_version = torch.__version__.split("+")[0]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for fname, text in (("setup.sh", SETUP_SH.format(torch=torch_version)),
                            ("run_autograder", RUN_AUTOGRADER.format(
                                name=name, lang=f"export GMGRADE_LANG={lang}\n" if lang else ""))):
            info = zipfile.ZipInfo(fname)
            info.external_attr = 0o100755 << 16
            z.writestr(info, text)
        _add_tree(z, Path(autograder.__file__).parent, "autograder")
        for f in course.grading_files(name):
            z.write(f, f.relative_to(course.root).as_posix())
        z.writestr("gmgrade-course.txt", "gmgrade course for the Gradescope autograder\n")
    return out


def main(argv: list[str]) -> int:
    name, submission_dir, results = argv
    out = Path(results)
    # the worker starts (and imports torch) while this process imports torch and the tests
    early = None
    try:
        course = Course(Path.cwd())
        # the course's [tool.gmgrade] (its pyproject.toml is in the zip) and GMGRADE_* variables
        cfg = config.load({}, course.root)
        i18n.use(cfg.language())
        early = sandbox.start_early(cfg.sandbox, cfg.memory, cfg.device, course.helper_files(name))
        opts = cfg.grade_options(include_hidden=True)
        from autograder.runner import grade_path

        result, log = grade_path(course, name, Path(submission_dir), "submission", opts,
                                 early=early)
        data = i18n.localize(result, course).to_dict()
    except Exception:  # Gradescope must always get a results file
        if early is not None:
            early.kill()  # unused when grading never reached the submission
        # the error can quote the hidden tests (a collection error does): staff only, below
        data = {"score": 0, "output": i18n.t("The autograder failed on your submission; your "
                                             "instructor can see the details."),
                "stdout_visibility": "hidden", "tests": []}
        atomic_write(out, json.dumps(data, indent=2, ensure_ascii=False))
        raise  # the traceback goes to stderr: the Autograder Output, for instructors only
    if log:
        sys.stderr.write(f"gmgrade staff log (instructors only, not in results.json):\n{log}\n")
    atomic_write(out, json.dumps(data, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
