"""Grading one submission: read it, start its sandboxed worker, run the tests, score.

The score comes from the list of tests collected from the trusted test files: a test
that did not run, errored or was skipped scores 0. ``python -m autograder.runner
REQUEST.json`` grades one submission in a fresh trusted process (used by batches so
that each student's pytest session is independent) and writes the result JSON.

Running the tests is a :data:`Tests` function: by default a whole pytest session per
submission (:func:`fresh_tests`); a batch's warm template (:mod:`autograder.warm`) instead
passes one that continues a session collected once for the assignment, in a fork.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

from autograder import helpers, sandbox, submission
from autograder.course import Course, CourseError
from autograder.errors import GraderError, TestsNotCollected
from autograder.options import GradeOptions
from autograder.plugin import GradingPlugin, run_pytest
from autograder.results import Status, SubmissionResult, TestResult
from autograder.student import StudentProxy, WorkerSession, WorkerUnavailable


class GraderUnavailable(GraderError):
    """``check`` could not run the student's code at all: the installation, not their code.
    The message says what failed and what to do."""


def _test_files(course: Course, assignment: str, include_hidden: bool) -> list[Path]:
    files = course.public_tests(assignment)
    if include_hidden:
        files += course.hidden_tests(assignment)
    if not files:  # pytest given no file would collect whatever lies in the current folder
        raise CourseError(f"{assignment}: no test files (test_*.py) in "
                          f"{course.public_dir(assignment)}" + (" or the hidden tests" if include_hidden else ""))
    return files


Tests = Callable[[Callable[[], StudentProxy], tuple[str, ...]], GradingPlugin]
"""Runs every grading test of one submission (or only the test functions named), given how
to make its ``student``; returns the plugin holding what was expected and each test's outcome."""


def make_plugin(course: Course, assignment: str, opts: GradeOptions,
                make_student: Callable[[], StudentProxy] | None) -> GradingPlugin:
    helpers.use(course.root)  # the tests build and import this course's helpers
    return GradingPlugin(
        assignment=assignment, public_dirs=[course.public_dir(assignment)],
        make_student=make_student,
        reference_path=course.solution(assignment) if opts.include_hidden else None,
        default_timeout=opts.timeout, max_examples=opts.max_examples, functions=opts.functions,
        tests=opts.tests, skeleton=course.skeleton(assignment))


def fresh_tests(course: Course, assignment: str, opts: GradeOptions) -> Tests:
    """A whole pytest session for the submission: start-up, collection, tests."""
    def run(make_student: Callable[[], StudentProxy], only: tuple[str, ...] = ()) -> GradingPlugin:
        plugin = make_plugin(course, assignment, replace(opts, tests=only), make_student)
        run_pytest(_test_files(course, assignment, opts.include_hidden), plugin, course.root)
        return plugin

    return run


def collect_once(course: Course, assignment: str, opts: GradeOptions,
                 serve: Callable[[Tests], None]) -> None:
    """Run pytest for ``assignment`` up to the end of collection, then call ``serve`` with
    the :data:`Tests` that continue this session; ``serve`` must call them only in forks of
    this process (each fork grades one submission). Nothing is served when the tests cannot
    be collected."""
    plugin = make_plugin(course, assignment, opts, None)
    plugin.serve = serve
    run_pytest(_test_files(course, assignment, opts.include_hidden), plugin, course.root)


def grade_path(course: Course, assignment: str, path: Path, student: str,
               opts: GradeOptions, tests: Tests | None = None,
               early: sandbox.Worker | None = None) -> tuple[SubmissionResult, str]:
    """Grade the submission at ``path``; return the result and a staff-only log.
    ``early``: a worker started for these options before the grader imported its tests
    (``gmgrade check``); it is used, or killed when the submission cannot be read."""
    start = time.perf_counter()
    tests = tests or fresh_tests(course, assignment, opts)
    try:
        sub = submission.load(path, assignment, student)
    except (submission.SubmissionError, OSError) as e:
        if early is not None:
            early.kill()
        why = (str(e) if isinstance(e, submission.SubmissionError)
               else f"could not read the submission: {e.strerror or e}")
        return _all_failed(assignment, student, tests, why, start, opts), ""
    return grade_cells(course, assignment, sub, opts, tests, start, early=early)


def grade_cells(course: Course, assignment: str, sub: submission.Submission,
                opts: GradeOptions, tests: Tests | None = None, start: float | None = None,
                early: sandbox.Worker | None = None) -> tuple[SubmissionResult, str]:
    start = time.perf_counter() if start is None else start
    tests = tests or fresh_tests(course, assignment, opts)
    backend = sandbox.choose_backend(opts.sandbox)
    tmp = tempfile.mkdtemp(prefix="gmgrade-sub-")
    os.chmod(tmp, 0o755)
    src = Path(tmp) / f"{assignment}.py"
    src.write_text(sub.source, encoding="utf-8")
    os.chmod(src, 0o444)
    spec = sandbox.SandboxSpec(backend=backend, submission=src, device=opts.device,
                               limits=sandbox.Limits(memory_mb=opts.memory_mb),
                               helpers=tuple(course.helper_files(assignment)))
    filename = f"/submission/{assignment}.py" if backend == "bwrap" else str(src)
    session = WorkerSession(spec, sub.cells, assignment, filename=filename,
                            cell_timeout=opts.cell_timeout, load_timeout=opts.load_timeout,
                            early=early)
    load_notes: list[str] = []
    load_error: list[tuple[str, bool]] = []  # (what the student reads, whether it timed out)
    start_failure: list[str] = []

    def make_student() -> StudentProxy:
        try:
            info = session.ensure_started()
        except WorkerUnavailable as e:
            load_error.append((e.feedback, e.timed_out))
            raise
        except Exception as e:  # noqa: BLE001 - the worker itself did not start
            start_failure.append(f"{type(e).__name__}: {e}")
            raise
        load_notes.extend(info.notes)
        if info.error:
            load_error.append((info.error, False))
        return StudentProxy(session, timeout=opts.timeout, cpu_seconds=int(opts.timeout * 3) + 5)

    try:
        result, log = _run(assignment, sub.student, tests, make_student, start, opts)
    except TestsNotCollected as e:
        if opts.report_grader_failure:
            raise GraderUnavailable(explain_grader_failure(str(e), assignment, backend)) from None
        raise
    finally:
        session.close()
        for p in (src,):
            try:
                os.chmod(p, 0o644)
                p.unlink()
            except OSError:
                pass
        os.rmdir(tmp)
    if start_failure and opts.report_grader_failure:
        raise GraderUnavailable(explain_grader_failure(start_failure[0], assignment, backend))
    status = Status.GRADED
    error = None
    if load_error:
        error = "Your code could not be loaded: " + load_error[0][0]
        status = Status.TIMEOUT if load_error[0][1] else Status.ERROR
    notes = tuple(sub.notes + load_notes)
    result = SubmissionResult(student=sub.student, assignment=assignment, status=status,
                              tests=result.tests, max_score=result.max_score,
                              execution_time=time.perf_counter() - start, notes=notes, error=error)
    return result, log


def _run(assignment: str, student: str, run_tests: Tests, make_student,
         start: float, opts: GradeOptions) -> tuple[SubmissionResult, str]:
    plugin = run_tests(make_student, opts.tests)
    tests = []
    log_lines = list(plugin.collect_errors)
    for exp in plugin.expected:
        out = plugin.outcomes.get(exp.nodeid)
        if out is None:
            out_text, passed, to, ge = "this test did not run", False, False, True
        else:
            out_text, passed, to, ge = out.output, out.passed, out.timed_out, out.grader_error
            if out.staff_detail:
                log_lines.append(f"== {exp.nodeid}\n{out.staff_detail}")
        tests.append(TestResult(test_id=exp.test_id, name=exp.name,
                                score=exp.points if passed else 0.0, max_score=exp.points,
                                passed=passed, output=out_text, hidden=exp.hidden,
                                timed_out=to, grader_error=ge,
                                calls=tuple(plugin.calls.get(exp.nodeid, ())) if opts.record_calls else None))
    if plugin.collect_errors:
        raise TestsNotCollected("the grading tests could not be collected:\n" + "\n".join(plugin.collect_errors))
    result = SubmissionResult(student=student, assignment=assignment, status=Status.GRADED,
                              tests=tuple(tests), max_score=sum(t.max_score for t in tests),
                              execution_time=time.perf_counter() - start)
    return result, "\n".join(log_lines)


def _all_failed(assignment: str, student: str, run_tests: Tests, message: str,
                start: float, opts: GradeOptions) -> SubmissionResult:
    def make_student() -> StudentProxy:
        raise WorkerUnavailable(message)

    result, _ = _run(assignment, student, run_tests, make_student, start, opts)
    tests = tuple(TestResult(test_id=t.test_id, name=t.name, score=0.0, max_score=t.max_score,
                             passed=False, output=message, hidden=t.hidden) for t in result.tests)
    return SubmissionResult(student=student, assignment=assignment, status=Status.ERROR,
                            tests=tests, max_score=result.max_score,
                            execution_time=time.perf_counter() - start, error=message)


def explain_grader_failure(cause: str, assignment: str, backend: str) -> str:
    """What a student reads when ``check`` cannot run their code: what failed, and what to do."""
    missing = re.search(r"No module named '([\w.]+)'", cause)
    if missing:
        pkg = missing.group(1).split(".")[0]
        todo = (f"Python cannot import {pkg!r}. Install it into the Python that runs the check "
                f"(`python -m pip install {pkg}` in a terminal, `%pip install {pkg}` in a notebook "
                "cell; if that package name is not right, search for the one that provides it), "
                "then check again.")
    elif backend == "bwrap":
        todo = ("The sandbox (bubblewrap) could not start Python here. Check without it: "
                f"`gmgrade check {assignment} --sandbox process` in a terminal, or "
                f"`check({assignment!r}, sandbox=\"process\")` in a notebook; your code still runs "
                "in a separate process with time limits. If that works, tell your instructor what "
                "failed (below).")
    else:
        todo = ("Reinstall the course bundle (the `pip install` line of the course notes or of "
                "the notebook's first cell) and check again; if it keeps failing, send this "
                "message to your instructor.")
    return ("The check could not run your code: the problem is in the installation, not in "
            f"your code.\n{todo}\nWhat failed:\n  " + cause.strip()[-2000:].replace("\n", "\n  "))


# ------------------------------------------------------------------ subprocess entry point


def request_json(course: Course, assignment: str, path: Path, student: str, opts: GradeOptions,
                 out: Path) -> str:
    return json.dumps({"course": str(course.root), "assignment": assignment, "path": str(path),
                       "student": student, "options": asdict(opts), "out": str(out)})


def main(argv: list[str], tests: Tests | None = None) -> int:
    """One submission of a batch, in its own trusted process: ``python -m autograder.runner REQ``
    (``tests``: the warm template's collected session for this request's assignment)."""
    import torch

    torch.set_num_threads(1)  # batches run one such process per job: no oversubscription
    req = json.loads(Path(argv[0]).read_text())
    course = Course(Path(req["course"]))
    opts = GradeOptions(**req["options"])
    result, log = grade_path(course, req["assignment"], Path(req["path"]), req["student"], opts, tests)
    out = Path(req["out"])
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"result": result.to_dict(), "staff_log": log}))
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
