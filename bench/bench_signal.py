"""How much the public tests and the hints tell a student: figures printed, never asserted.

    python bench/bench_signal.py [ASSIGNMENT ...] [--jobs N] [--verbose]

For every known mistake of each assignment (default: every assignment with a
``solutions/mistakes/NAME.toml``), materialised from the current reference, this grades it
once with public + hidden tests (the grade) in a batch's warm template, as ``gmgrade verify``
does. Every test is seeded from its own id and runs alone, so a public test fails there
exactly when it fails in ``gmgrade check`` (the public tests alone). Per assignment and
overall it prints

- public: the share of mistakes that fail at least one public test (a student who runs
  ``check`` learns something is wrong before the deadline);
- graded: the share that lose points at grading;
- hint: of the mistakes caught (public or hidden), the share whose feedback contains the
  hint their entry declares (the student is told the cause, not only that numbers differ).

``--verbose`` lists, per assignment, the mistakes the public tests miss and the caught ones
without their hint.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import config, contracts  # noqa: E402
from autograder.batch import grade_one_isolated  # noqa: E402
from autograder.course import Course  # noqa: E402
from autograder.mistakes import load, materialise, test_function  # noqa: E402
from autograder.warm import WarmRunner, WorkerPlan, course_imports  # noqa: E402


def public_tests(course: Course, name: str) -> set[str]:
    """The names of the public test functions of ``name``: those written in its public test
    files and those the engine generates from its public ``contract.toml``."""
    names: set[str] = set()
    for path in course.public_tests(name):
        if path.suffix == ".toml":
            names |= {t for t in vars(contracts.module(path)) if t.startswith("test")}
        else:
            names |= {node.name for node in ast.parse(path.read_text(encoding="utf-8")).body
                      if isinstance(node, ast.FunctionDef) and node.name.startswith("test")}
    return names


def measure(course: Course, names: list[str], jobs: int) -> dict[str, list[dict]]:
    """Per assignment, one row per mistake: id, public (a public test failed), graded
    (points lost with public + hidden tests), hint (its hint in the graded feedback)."""
    base = config.load({}, course.root).grade_options(include_hidden=True)
    rows: dict[str, list[dict]] = {name: [] for name in names}
    public = {name: public_tests(course, name) for name in names}
    with tempfile.TemporaryDirectory(prefix="gmgrade-signal-") as tmp, \
            WarmRunner(course_imports(course, names), WorkerPlan.of(base, course, names)) as warm, \
            ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        jobs_of = []
        for name in names:
            for m in load(course.mistakes_file(name)):
                path = Path(tmp) / f"{name}-{m.id}.py"
                path.write_text(materialise(course, name, m.id), encoding="utf-8")
                label = f"mistake_{m.id}"
                jobs_of.append((name, m, pool.submit(grade_one_isolated, course, name, label, path, base, warm)))
        for name, m, full in jobs_of:
            f = full.result()[0]
            feedback = "\n".join(t.output for t in f.tests) + "\n" + (f.error or "")
            rows[name].append({"id": m.id,
                               "public": any(not t.passed and test_function(t.test_id) in public[name]
                                             for t in f.tests),
                               "graded": not f.full_marks, "hint": m.hint in feedback})
    return rows


def _share(part: int, whole: int) -> str:
    return f"{part:3d}/{whole:<3d} {100 * part / whole:5.1f} %" if whole else "     —        "


def table(rows: dict[str, list[dict]], verbose: bool) -> str:
    lines = [f"{'assignment':12s} {'mistakes':>8s}   {'public catches':14s}   {'graded catches':14s}   "
             f"{'caught with hint':16s}"]
    every: list[dict] = []
    for name, rs in rows.items():
        every += rs
        lines.append(_line(name, rs))
        if verbose:
            lines += [f"    public misses {r['id']}" for r in rs if not r["public"]]
            lines += [f"    no hint       {r['id']}" for r in rs if r["graded"] and not r["hint"]]
    if len(rows) > 1:
        lines.append(_line("overall", every))
    return "\n".join(lines)


def _line(name: str, rs: list[dict]) -> str:
    caught = [r for r in rs if r["graded"]]
    return (f"{name:12s} {len(rs):8d}   {_share(sum(r['public'] for r in rs), len(rs))}   "
            f"{_share(len(caught), len(rs))}   {_share(sum(r['hint'] for r in caught), len(caught))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("assignments", nargs="*")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    course = Course(ROOT)
    names = args.assignments or [n for n in course.assignments() if course.mistakes_file(n).exists()]
    print(table(measure(course, names, args.jobs), args.verbose))


if __name__ == "__main__":
    main()
