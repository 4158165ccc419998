"""Where a course's material lives, and the public/hidden split.

A course folder holds::

    assignments/NAME/NAME.py          skeleton (public, generated from the solution)
    assignments/NAME/NAME.ipynb       student notebook (public, generated)
    assignments/NAME/tests/test_*.py  public tests (students run them with `gmgrade check`)
    assignments/NAME/helpers.py       grader-provided objects (public, optional; autograder.helpers)
    solutions/NAME.py                 hidden reference, with BEGIN/END SOLUTION markers
    solutions/tests/NAME/test_*.py    hidden tests
    solutions/mistakes/NAME.toml      known mistakes, as edits of the reference (each must lose points)
    solutions/correct/NAME/*.py       correct alternatives (each must get full marks)

Everything under ``solutions/`` is hidden; everything under ``assignments/`` is public.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import autograder
from autograder.errors import UsageError

MARKER = "assignments"


class CourseError(UsageError):
    pass


def find_root(explicit: str | None = None) -> Path:
    """The course folder: --course, $GMGRADE_COURSE, a parent of the cwd, or this checkout."""
    if explicit:
        root = Path(explicit).resolve()
        if not (root / MARKER).is_dir():
            raise CourseError(f"--course {explicit}: no '{MARKER}/' folder there")
        return root
    env = os.environ.get("GMGRADE_COURSE")
    if env:
        root = Path(env).resolve()
        if not (root / MARKER).is_dir():
            raise CourseError(f"GMGRADE_COURSE={env}: no '{MARKER}/' folder there")
        return root
    for d in [Path.cwd(), *Path.cwd().parents]:
        if (d / MARKER).is_dir() and ((d / "solutions").is_dir() or (d / "gmgrade-course.txt").exists()):
            return d
    here = Path(autograder.__file__).resolve().parent.parent
    if (here / MARKER).is_dir():
        return here
    try:
        import gmgrade_course  # the public material of a student bundle installed with pip
    except ImportError:
        pass
    else:
        return Path(gmgrade_course.__file__).resolve().parent
    raise CourseError("cannot find the course folder (one with an 'assignments/' folder); run "
                      "from inside it, or pass --course DIR")


@dataclass(frozen=True)
class Course:
    root: Path

    @property
    def has_solutions(self) -> bool:
        return (self.root / "solutions").is_dir()

    def assignments(self) -> list[str]:
        base = self.root / MARKER
        names = {p.name for p in base.iterdir() if (p / "tests").is_dir()}
        names |= {p.stem for p in (self.root / "solutions").glob("*.py")} if self.has_solutions else set()
        return sorted(names)

    def check_assignment(self, name: str) -> None:
        if name not in self.assignments():
            known = ", ".join(self.assignments()) or "none"
            raise CourseError(f"unknown assignment {name!r}; this course has: {known}")

    def public_dir(self, name: str) -> Path:
        return self.root / MARKER / name / "tests"

    def public_tests(self, name: str) -> list[Path]:
        """The public test files, and the contract the engine generates tests from
        (:mod:`autograder.contracts`) where the assignment has one."""
        contract = self.public_dir(name) / "contract.toml"
        return sorted(self.public_dir(name).glob("test_*.py")) + ([contract] if contract.is_file() else [])

    def hidden_tests(self, name: str) -> list[Path]:
        return sorted((self.root / "solutions" / "tests" / name).glob("test_*.py"))

    def solution(self, name: str) -> Path | None:
        p = self.root / "solutions" / f"{name}.py"
        return p if p.exists() else None

    def skeleton(self, name: str) -> Path:
        return self.root / MARKER / name / f"{name}.py"

    def functions(self, name: str) -> list[str]:
        """The functions a student writes for ``name``: the skeleton's top-level ``def``s."""
        import ast

        tree = ast.parse(self.skeleton(name).read_text(encoding="utf-8"))
        return [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]

    def check_functions(self, name: str, functions: tuple[str, ...]) -> None:
        known = self.functions(name)
        unknown = [f for f in functions if f not in known]
        if unknown:
            raise CourseError(f"{name} has no function {unknown[0]!r}; its functions: {', '.join(known)}")

    def notebook(self, name: str) -> Path:
        return self.root / MARKER / name / f"{name}.ipynb"

    def helper_files(self, name: str) -> list[Path]:
        """The file of ``name``'s grader-provided objects (:mod:`autograder.helpers`), if it has one."""
        path = self.root / MARKER / name / "helpers.py"
        return [path] if path.is_file() else []

    def grading_files(self, name: str) -> list[Path]:
        """What grading ``name`` reads from the course folder: its skeleton, public tests and
        helpers, its reference and hidden tests, and the course's ``pyproject.toml``
        (``[tool.gmgrade]``). The one list behind a batch's fingerprints, the files a Ray node
        receives, the Gradescope and otter exports and the modules a warm template imports."""
        files = [self.skeleton(name), *self.public_tests(name), *self.helper_files(name)]
        sol = self.solution(name)
        files += ([sol] if sol else []) + self.hidden_tests(name)
        files += self.catalogues(name)
        files.append(self.root / "pyproject.toml")
        return [f for f in files if f.is_file()]

    def catalogues(self, name: str) -> list[Path]:
        """The translations of ``name``'s messages (``autograder/catalogue.py``): the public
        ones, beside its tests, and the hidden tests' ones."""
        return sorted([*(self.root / MARKER / name / "locale").glob(f"*/LC_MESSAGES/{name}.po"),
                       *(self.root / "solutions" / "locale").glob(f"*/LC_MESSAGES/{name}.po")])

    def mistakes_file(self, name: str) -> Path:
        return self.root / "solutions" / "mistakes" / f"{name}.toml"

    def alternatives(self, name: str) -> list[Path]:
        """Correct alternatives to the reference, each a whole submission."""
        return sorted((self.root / "solutions" / "correct" / name).glob("*.py"))
