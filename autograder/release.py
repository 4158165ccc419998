"""``gmgrade release``: the student bundle, and the leak scan that guards it.

The bundle is built from an allow-list, never by copying the course and deleting:
the engine package (public by construction: it runs inside the sandbox), and for each
assignment its skeleton, notebook, public tests and the other files of its public folder
(its helpers, ``assignments/NAME/helpers.py``, among them), plus a student README and a small
``pyproject.toml`` so that ``pip install .`` gives students ``gmgrade check`` and the
in-notebook ``check``. The public material is also packaged as ``gmgrade_course``, so that
a bundle installed with one ``pip install URL`` line (Colab: no folder at hand) still finds
its tests; ``--url`` writes that address into each notebook's first cell.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from autograder import assign, i18n
from autograder.course import MARKER, Course
from autograder.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

STUDENT_README = i18n.N_("""# {title}

Your assignments live in `assignments/NAME/`: the notebook `NAME.ipynb` (or the plain
file `NAME.py`) to fill in, and public tests in `tests/`.

## Set up once

```bash
python3 -m pip install torch==2.13.0   # the CPU build is enough
python3 -m pip install .               # run in this folder; gives you `gmgrade`
```

## Check your work

In the notebook: run its first cell (`from autograder import check`), then, in a cell of
its own, `check("mle")` (or `check("mle", "gaussian_mle")` for one function). It grades the
cells you have run, in the order you ran them, and says which cell each function came from.
On Colab, install this bundle first with the `%pip install` line of the first cell.

In a terminal:

```bash
cd assignments/mle
gmgrade check mle              # finds mle.py or mle.ipynb in the current folder
gmgrade check mle mle.ipynb    # or name the file
```

`check` runs the public tests only and prints what each one expected, what your code
returned, on which input, and a hint where a known mistake matches. Your instructor
grades with more (hidden) tests, so passing every public test is a good sign, not a
guarantee. Your code runs in a separate process with time limits (and memory limits on
Linux and Windows), on Linux, macOS and Windows; install `bubblewrap` (Linux) to run it
sandboxed as the grader does.

Assignments: {names}
""")

STUDENT_PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "gmgrade-student"
version = "{version}"
requires-python = ">=3.10"
dependencies = {deps}

[project.scripts]
gmgrade = "autograder.cli:run"

[tool.setuptools.packages.find]
include = ["autograder*", "gmgrade_course*"]

[tool.setuptools.package-data]
"*" = ["*"]
"""

# files inside the engine package that never ship (none today; kept explicit)
_SKIP = {"__pycache__"}


def _copy_package(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", *_SKIP))


def _dependencies(course: Course) -> str:
    data = tomllib.loads((course.root / "pyproject.toml").read_text())
    deps = data["project"]["dependencies"]
    return "[" + ", ".join(f'"{d}"' for d in deps) + "]"


COURSE_PACKAGE_INIT = '''"""The course's public material (assignments, public tests), installed with the student
bundle so that `check` finds it where the bundle was installed with pip (Colab)."""
'''


def release(course: Course, out: Path, names: list[str] | None = None,
            url: str | None = None, lang: str = "en") -> list[Path]:
    """Write the student bundle into ``out`` (which must not exist or be empty); ``url``:
    where the bundle will be hosted, for the ``%pip install`` line of each notebook; ``lang``:
    the language of its notebooks, README and (``[tool.gmgrade] lang``) feedback."""
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; choose a new folder for the bundle")
    names = names or course.assignments()
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        sol = course.solution(name)
        if sol is not None:
            stale = assign.stale_files(sol, name, course.root / MARKER / name)
            if stale:
                raise UsageError(f"{name}: the skeleton or notebook is stale; run `gmgrade assign {name}`")
        src = course.root / MARKER / name
        dst = out / MARKER / name
        (dst / "tests").mkdir(parents=True)
        for f in (course.skeleton(name), course.notebook(name)):
            shutil.copy2(f, dst / f.name)
        for t in course.public_tests(name):
            shutil.copy2(t, dst / "tests" / t.name)
        for extra in sorted(src.iterdir()):  # data files an assignment ships, if any
            if extra.is_file() and extra.name not in {f"{name}.py", f"{name}.ipynb"}:
                shutil.copy2(extra, dst / extra.name)
        if (src / "locale").is_dir():  # the public tests' and the notebook's translations
            shutil.copytree(src / "locale", dst / "locale")
        if lang != "en":  # the notebook's text in lang, its code (what is graded) unchanged
            nb = dst / f"{name}.ipynb"
            tr = i18n.translator(lang, course.root, name, hidden=False)
            nb.write_text(i18n.notebook(nb.read_text(encoding="utf-8"), tr), encoding="utf-8")
    if url:
        for name in names:
            nb = out / MARKER / name / f"{name}.ipynb"
            nb.write_text(nb.read_text(encoding="utf-8").replace(assign.BUNDLE_URL, url),
                          encoding="utf-8")
    shutil.copytree(out / MARKER, out / "gmgrade_course" / MARKER)
    (out / "gmgrade_course" / "__init__.py").write_text(COURSE_PACKAGE_INIT)
    import autograder

    _copy_package(Path(autograder.__file__).parent, out / "autograder")
    readme = i18n.translator(lang).translate(STUDENT_README)
    (out / "README.md").write_text(readme.format(
        title=i18n.translator(lang).translate("Generative models — assignments"), names=", ".join(names)),
        encoding="utf-8")
    (out / "pyproject.toml").write_text(STUDENT_PYPROJECT.format(
        version=_version(course), deps=_dependencies(course))
        + ("" if lang == "en" else f'\n[tool.gmgrade]\nlang = "{lang}"\n'))
    (out / "gmgrade-course.txt").write_text("This folder is a gmgrade student bundle.\n")
    return sorted(p for p in out.rglob("*") if p.is_file())


def _version(course: Course) -> str:
    return tomllib.loads((course.root / "pyproject.toml").read_text())["project"]["version"]


def _meaningful(line: str) -> bool:
    s = line.strip()
    return len(s) >= 30 and not s.startswith("#")


def _lines(files) -> set[str]:
    out: set[str] = set()
    for f in files:
        if f.exists():
            out |= {x.strip() for x in f.read_text(encoding="utf-8").splitlines()}
    return out


def leaks(course: Course, bundle: Path) -> list[str]:
    """Lines of hidden material found in the bundle.

    Hidden material: every line of ``solutions/`` (references, correct alternatives, hidden tests) long
    enough to be distinctive, minus the lines the published skeletons and public tests
    contain themselves (docstrings and signatures are shared on purpose). A hidden test
    may share a line with the public engine or an assignment's helpers (e.g. a helper
    call); answers may not.
    """
    import autograder

    public = _lines([f for n in course.assignments()
                     for f in (course.skeleton(n), *course.public_tests(n))])
    engine = _lines([*Path(autograder.__file__).parent.rglob("*.py"),
                     *(f for n in course.assignments() for f in course.helper_files(n))])
    hidden: dict[str, str] = {}
    for f in sorted((course.root / "solutions").rglob("*.py")):
        is_test = "tests" in f.relative_to(course.root).parts
        for line in f.read_text(encoding="utf-8").splitlines():
            s = line.strip()
            if _meaningful(s) and s not in public and not (is_test and s in engine):
                hidden.setdefault(s, str(f.relative_to(course.root)))
    found = []
    if (bundle / "solutions").exists():
        found.append("the bundle has a solutions/ folder")
    for f in sorted(bundle.rglob("*")):
        if not f.is_file():
            continue
        try:
            text = f.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if f.suffix == ".ipynb":
            text = "\n".join("".join(c.get("source", "")) for c in json.loads(text).get("cells", []))
        for s in {x.strip() for x in text.splitlines()} & hidden.keys():
            found.append(f"{f.relative_to(bundle)}: line from {hidden[s]}: {s[:80]}")
    return found
