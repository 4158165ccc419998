"""``gmgrade verify``: the course's own quality gate, run by CI.

For each assignment: the generated skeleton and notebook are up to date; the reference
gets full marks with no grader faults; the skeleton scores zero without crashing the
grader; every known mistake (``solutions/mistakes/NAME.toml``, materialised from the
current reference) still applies, fails the tests it names and shows its hint; every
correct alternative gets full marks; grading is deterministic, and the same in the
batch's template as in a fresh process.
"""

from __future__ import annotations

import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from autograder import assign
from autograder.batch import grade_one_isolated
from autograder.course import Course
from autograder.mistakes import Mistake, MistakeError, apply, load, test_function
from autograder.results import SubmissionResult
from autograder.options import GradeOptions
from autograder.warm import WarmRunner, WorkerPlan, course_imports

@dataclass
class Check:
    assignment: str
    label: str
    path: Path
    expect: str  # "full", "zero", "less"
    mistake: Mistake | None = None


def plan(course: Course, name: str, scratch: Path) -> tuple[list[Check], list[str]]:
    """What to grade for ``name`` (each known mistake written into ``scratch``), and the
    problems found before grading (a mistake that no longer applies)."""
    sol = course.solution(name)
    if sol is None:
        raise FileNotFoundError(f"{name}: no reference solution solutions/{name}.py")
    checks = [Check(name, "reference", sol, "full"),
              Check(name, "skeleton", course.skeleton(name), "zero")]
    problems = []
    reference = sol.read_text(encoding="utf-8")
    source = f"solutions/{name}.py"
    try:
        mistakes = load(course.mistakes_file(name))
    except MistakeError as e:
        mistakes, problems = [], [str(e)]
    for m in mistakes:
        try:
            text = apply(reference, m, source)
        except MistakeError as e:
            problems.append(str(e))
            continue
        path = scratch / f"{name}-{m.id}.py"
        path.write_text(text, encoding="utf-8")
        checks.append(Check(name, f"mistake {m.id}", path, "less", m))
    for p in course.alternatives(name):
        checks.append(Check(name, f"correct/{p.name}", p, "full"))
    return checks, problems


def _judge(check: Check, r: SubmissionResult) -> list[str]:
    problems = []
    faults = [t for t in r.tests if t.grader_error]
    if faults:
        problems.append("grader fault in " + ", ".join(t.test_id for t in faults[:5])
                        + " (see the staff log)")
    if r.status.value != "graded" and check.expect != "zero":
        problems.append(f"status {r.status.value}: {r.error}")
    if check.expect == "full" and not r.full_marks:
        failed = [t for t in r.tests if not t.passed]
        problems.append(f"expected full marks, got {r.score:g}/{r.max_score:g}; failed: "
                        + "; ".join(f"{t.test_id}: {t.output.splitlines()[0] if t.output else ''}"
                                    for t in failed[:4]))
    if check.expect == "zero" and r.score != 0:
        passed = [t.test_id for t in r.tests if t.passed]
        problems.append(f"the skeleton should score 0 but passes {', '.join(passed[:6])}")
    if check.mistake is not None:
        problems += _judge_mistake(check.mistake, r)
    if r.max_score <= 0:
        problems.append("no tests were collected")
    return problems


def _judge_mistake(m: Mistake, r: SubmissionResult) -> list[str]:
    """A mistake must lose points, fail every test it names and show its hint."""
    problems = []
    if r.full_marks:
        problems.append(f"the mistake got full marks: the tests miss it ({m.what})")
    failed = sorted({test_function(t.test_id) for t in r.tests if not t.passed})
    known = {test_function(t.test_id) for t in r.tests}
    missing = [t for t in m.caught_by if t not in known]
    passed = [t for t in m.caught_by if t in known and t not in failed]
    if missing:
        problems.append(f"caught_by names {', '.join(missing)}, which the suite does not have")
    if passed:
        problems.append(f"expected {', '.join(passed)} to fail; passed. Tests that failed: "
                        + (", ".join(failed) or "none"))
    feedback = "\n".join(t.output for t in r.tests) + "\n" + (r.error or "")
    if m.hint not in feedback:
        problems.append(f"expected the hint {m.hint!r} in the feedback; it is not there")
    return problems


def verify(course: Course, names: list[str], opts: GradeOptions, jobs: int,
           out: TextIO = sys.stdout) -> bool:
    """Verify ``names``; a line per check as it finishes; True when everything holds."""
    return all(ok for ok, _ in verify_each(course, names, opts, jobs, out).values())


def verify_each(course: Course, names: list[str], opts: GradeOptions, jobs: int,
                out: TextIO = sys.stdout) -> dict[str, tuple[bool, str]]:
    """Grade every check of every assignment in one pool (so no core idles between
    assignments); per assignment, whether it holds and its report lines."""
    verdicts = {name: [True, []] for name in names}

    def say(name: str, text: str, good: bool = True) -> None:
        verdicts[name][0] &= good
        verdicts[name][1].append(text)
        out.write(text)
        out.flush()

    plans: dict[str, list[Check]] = {}
    scratch = tempfile.TemporaryDirectory(prefix="gmgrade-mistakes-")
    for name in names:
        sol = course.solution(name)
        stale = assign.stale_files(sol, name, course.root / "assignments" / name) if sol else []
        if stale:
            say(name, f"FAIL {name}: generated files are stale: "
                      f"{', '.join(str(p.relative_to(course.root)) for p in stale)} "
                      f"(run `gmgrade assign {name}`)\n", False)
        checks, problems = plan(course, name, Path(scratch.name))
        for p in problems:
            say(name, f"FAIL {name}: {p}\n", False)
        # the first mistake is graded twice, the second time alone in a fresh runner
        # process instead of in the batch's template: feedback must be identical
        repeat = next((c for c in checks if c.expect == "less"), checks[0])
        plans[name] = checks + [repeat]
    results: dict[tuple[str, int], tuple[SubmissionResult, str]] = {}
    with scratch, WarmRunner(course_imports(course, names), WorkerPlan.of(opts, names),
                             note=lambda m: print(m, flush=True)) as warm, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade_one_isolated, course, name, c.label.replace("/", "_"), c.path,
                               opts, warm if i < len(checks) - 1 else None): (name, i)
                   for name, checks in plans.items() for i, c in enumerate(checks)}
        for fut in as_completed(futures):
            name, i = futures[fut]
            r, log = results[name, i] = fut.result()
            if i == len(plans[name]) - 1:
                continue  # the repeat: compared below
            problems = _judge(plans[name][i], r)
            text = (f"{'ok  ' if not problems else 'FAIL'} {name:10s} {plans[name][i].label:40s} "
                    f"{r.score:6g}/{r.max_score:<5g} {r.execution_time:6.1f}s\n")
            text += "".join(f"       - {p}\n" for p in problems)
            if problems and log:
                text += "       staff log:\n" + "".join(f"         {x}\n" for x in log.splitlines()[-30:])
            say(name, text, not problems)
    for name, checks in plans.items():
        repeat = checks[-1]
        first = results[name, checks.index(repeat)][0]
        again = results[name, len(checks) - 1][0]
        a = [(t.test_id, t.score, t.output) for t in first.tests]
        b = [(t.test_id, t.score, t.output) for t in again.tests]
        if a != b:
            diff = [x[0] for x, y in zip(a, b) if x != y]
            say(name, f"FAIL {name}: grading {repeat.label} twice (in the batch's template, then "
                      f"in a fresh process) gave different results in {', '.join(diff[:5])}\n", False)
        times = [results[name, i][0].execution_time for i in range(len(checks) - 1)]
        say(name, f"     {name}: {len(times)} submissions, mean {sum(times) / len(times):.1f}s, "
                  f"max {max(times):.1f}s per submission\n")
    return {name: (ok, "".join(lines)) for name, (ok, lines) in verdicts.items()}
