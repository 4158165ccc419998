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
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from autograder import assign
from autograder.batch import grade_one_isolated
from autograder.course import Course
from autograder.mistakes import Mistake, MistakeError, affected, apply, load, test_function
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
    if r.max_score <= 0:
        problems.append("no tests were collected")
    return problems


def _judge_mistake(m: Mistake, r: SubmissionResult, suite: set[str], ran: set[str] | None) -> list[str]:
    """A mistake must lose points, fail every test it names and show its hint. ``suite``: the
    test functions of the assignment; ``ran``: those graded for this mistake (None: all)."""
    problems = []
    if r.full_marks:
        problems.append(f"the mistake got full marks: the tests miss it ({m.what})")
    failed = sorted({test_function(t.test_id) for t in r.tests if not t.passed})
    missing = [t for t in m.caught_by if t not in suite]
    never = [t for t in m.caught_by if t in suite and ran is not None and t not in ran]
    passed = [t for t in m.caught_by if t in suite and t not in never and t not in failed]
    if missing:
        problems.append(f"caught_by names {', '.join(missing)}, which the suite does not have")
    if never:
        problems.append(f"{', '.join(never)} cannot catch it: grading the reference, they call none "
                        f"of the functions the mistake changes")
    if passed:
        problems.append(f"expected {', '.join(passed)} to fail; passed. Tests that failed: "
                        + (", ".join(failed) or "none"))
    feedback = "\n".join(t.output for t in r.tests) + "\n" + (r.error or "")
    if m.hint not in feedback:
        problems.append(f"expected the hint {m.hint!r} in the feedback; it is not there")
    return problems


def relevant_tests(reference: str, m: Mistake, graded: SubmissionResult) -> set[str] | None:
    """The test functions whose outcome the mistake can change: those that, grading the
    reference (``graded``, with calls recorded), called a function the mistake affects.
    Every other test calls only code the mistake leaves as it is, so it passes as it did
    for the reference. None: all of them."""
    changed = affected(reference, m)
    if changed is None or not graded.full_marks or any(t.calls is None for t in graded.tests):
        return None
    return {test_function(t.test_id) for t in graded.tests if set(t.calls or ()) & changed}  # (none is None: above)


def verify(course: Course, names: list[str], opts: GradeOptions, jobs: int,
           out: TextIO = sys.stdout) -> bool:
    """Verify ``names``; a line per check as it finishes; True when everything holds."""
    return all(ok for ok, _ in verify_each(course, names, opts, jobs, out).values())


def verify_each(course: Course, names: list[str], opts: GradeOptions, jobs: int,
                out: TextIO = sys.stdout) -> dict[str, tuple[bool, str]]:
    """Grade every check of every assignment in one pool (so no core idles between
    assignments); per assignment, whether it holds and its report lines."""
    holds = dict.fromkeys(names, True)
    lines: dict[str, list[str]] = {name: [] for name in names}

    def say(name: str, text: str, good: bool = True) -> None:
        holds[name] &= good
        lines[name].append(text)
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
    ran: dict[tuple[str, int], set[str] | None] = {}

    def report(name: str, i: int) -> None:
        check, (r, log) = plans[name][i], results[name, i]
        if check.mistake is None:
            problems = _judge(check, r)
            run = ""
        else:
            reference = results[name, 0][0]
            suite = {test_function(t.test_id) for t in reference.tests}
            problems = _judge(check, r) + _judge_mistake(check.mistake, r, suite, ran[name, i])
            run = "" if ran[name, i] is None else f" {len(r.tests)} of {len(reference.tests)} tests"
        text = (f"{'ok  ' if not problems else 'FAIL'} {name:10s} {check.label:40s} "
                f"{r.score:6g}/{r.max_score:<5g} {r.execution_time:6.1f}s{run}\n")
        text += "".join(f"       - {p}\n" for p in problems)
        if problems and log:
            text += "       staff log:\n" + "".join(f"         {x}\n" for x in log.splitlines()[-30:])
        say(name, text, not problems)

    warm = WarmRunner(course_imports(course, names), WorkerPlan.of(opts, course, names),
                      note=lambda m: print(m, flush=True))
    with scratch, warm, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        pending: dict = {}

        def submit(name: str, i: int, how: GradeOptions) -> None:
            last = i == len(plans[name]) - 1  # the repeat: alone, in a fresh process
            check = plans[name][i]
            student = check.label.replace("/", "_").replace(" ", "_")
            pending[pool.submit(grade_one_isolated, course, name, student, check.path, how,
                                None if last else warm)] = (name, i)

        # the references first, recording which of the student's functions each test calls;
        # then each mistake runs only the tests that call a function it changes
        for name, checks in plans.items():
            submit(name, 0, replace(opts, record_calls=True))
        for name, checks in plans.items():
            for i, c in enumerate(checks[1:-1], 1):
                if c.mistake is None:
                    submit(name, i, opts)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                name, i = pending.pop(fut)
                results[name, i] = fut.result()
                checks = plans[name]
                if i == 0:
                    reference = checks[0].path.read_text(encoding="utf-8")  # plan(): solutions/NAME.py
                    for k, c in enumerate(checks[:-1]):
                        if c.mistake is None:
                            continue
                        ran[name, k] = relevant_tests(reference, c.mistake, results[name, 0][0])
                        if ran[name, k] == set():
                            say(name, f"FAIL {name:10s} {c.label:40s} no test calls a function it "
                                      f"changes: it cannot be caught\n", False)
                            continue
                        how = replace(opts, tests=tuple(sorted(ran[name, k] or ())))
                        submit(name, k, how)
                        if checks[-1] is c:
                            submit(name, len(checks) - 1, how)
                    if checks[-1].mistake is None:
                        submit(name, len(checks) - 1, opts)
                if i < len(checks) - 1:
                    report(name, i)
    for name, checks in plans.items():
        repeat = checks[-1]
        if (name, len(checks) - 1) not in results:
            continue  # not graded: reported above
        first = results[name, checks.index(repeat)][0]
        again = results[name, len(checks) - 1][0]
        a = [(t.test_id, t.score, t.output) for t in first.tests]
        b = [(t.test_id, t.score, t.output) for t in again.tests]
        if a != b:
            diff = [x[0] for x, y in zip(a, b) if x != y]
            say(name, f"FAIL {name}: grading {repeat.label} twice (in the batch's template, then "
                      f"in a fresh process) gave different results in {', '.join(diff[:5])}\n", False)
        times = [results[name, i][0].execution_time for i in range(len(checks) - 1) if (name, i) in results]
        say(name, f"     {name}: {len(times)} submissions, mean {sum(times) / len(times):.1f}s, "
                  f"max {max(times):.1f}s per submission\n")
    return {name: (holds[name], "".join(lines[name])) for name in names}
