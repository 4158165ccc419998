"""Grading a folder of submissions in parallel, resumably.

Each submission is graded by a fresh trusted process (``python -m autograder.runner``)
with its own sandboxed worker, so students never share state. A student is done once
``DIR/STUDENT/results.json`` and its fingerprint (hash of the submission, the tests
and the options) are written; re-running skips done students unless ``regrade``, so an
interrupted batch (Ctrl-C, ``kill -9``) finishes the rest without losing or
duplicating anything. ``grades.csv`` and ``summary.json`` are rebuilt from the
per-student results after every student.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict
from pathlib import Path
from typing import Callable, TextIO

from autograder import report, submission
from autograder.course import Course
from autograder.results import Status, SubmissionResult
from autograder.runner import GradeOptions, request_json

FINGERPRINT = ".gmgrade-fingerprint"
SUBMISSION_WALL_LIMIT = 1800.0


def _hash_path(h: "hashlib._Hash", path: Path) -> None:
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and not p.is_symlink():
                h.update(str(p.relative_to(path)).encode())
                h.update(p.read_bytes())
    elif path.is_file():
        h.update(path.read_bytes())


def fingerprint(course: Course, assignment: str, path: Path, opts: GradeOptions) -> str:
    h = hashlib.sha256()
    try:
        _hash_path(h, path)
    except OSError:
        h.update(b"unreadable")
    for f in course.public_tests(assignment) + course.hidden_tests(assignment):
        h.update(f.read_bytes())
    sol = course.solution(assignment)
    if sol:
        h.update(sol.read_bytes())
    h.update(json.dumps(asdict(opts), sort_keys=True).encode())
    return h.hexdigest()


def _done(out_dir: Path, student: str, fp: str) -> SubmissionResult | None:
    d = out_dir / student
    try:
        if (d / FINGERPRINT).read_text() != fp:
            return None
        return SubmissionResult.from_dict(json.loads((d / "results.json").read_text()))
    except (OSError, ValueError, KeyError):
        return None


def load_results(out_dir: Path, students: list[str]) -> list[SubmissionResult]:
    results = []
    for s in students:
        try:
            results.append(SubmissionResult.from_dict(json.loads((out_dir / s / "results.json").read_text())))
        except (OSError, ValueError, KeyError):
            pass
    return results


def grade_one_isolated(course: Course, assignment: str, student: str, path: Path,
                       opts: GradeOptions) -> tuple[SubmissionResult, str]:
    """Grade in a separate trusted process; a crash there becomes an error result."""
    with tempfile.TemporaryDirectory(prefix="gmgrade-req-") as tmp:
        out = Path(tmp) / "result.json"
        req = Path(tmp) / "request.json"
        req.write_text(request_json(course, assignment, path, student, opts, out))
        env = dict(os.environ)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        try:
            proc = subprocess.run([sys.executable, "-m", "autograder.runner", str(req)],
                                  capture_output=True, text=True, timeout=SUBMISSION_WALL_LIMIT,
                                  env=env, stdin=subprocess.DEVNULL)
            detail = proc.stderr[-6000:]
        except subprocess.TimeoutExpired:
            return _grader_failure(student, assignment, "grading took longer than "
                                   f"{SUBMISSION_WALL_LIMIT:g} s and was stopped",
                                   Status.TIMEOUT), ""
        if proc.returncode != 0 or not out.exists():
            return _grader_failure(student, assignment, "the autograder failed on this submission "
                                   "— your instructor has the details", Status.ERROR), detail
        data = json.loads(out.read_text())
        return SubmissionResult.from_dict(data["result"]), data.get("staff_log", "")


def _grader_failure(student: str, assignment: str, message: str, status: Status) -> SubmissionResult:
    return SubmissionResult(student=student, assignment=assignment, status=status, tests=(),
                            max_score=0.0, execution_time=0.0, error=message)


class Progress:
    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.skipped = 0
        self.start = time.monotonic()
        self.stream = stream
        self.tty = stream.isatty()
        self.lock = threading.Lock()

    def skip(self, n: int) -> None:
        self.skipped += n
        self.done += n

    def update(self, r: SubmissionResult) -> None:
        with self.lock:
            self.done += 1
            graded = self.done - self.skipped
            elapsed = time.monotonic() - self.start
            left = self.total - self.done
            eta = elapsed / graded * left if graded else 0.0
            width = 24
            filled = int(width * self.done / max(1, self.total))
            bar = "#" * filled + "-" * (width - filled)
            line = (f"[{bar}] {self.done}/{self.total}  eta {int(eta) // 60}m{int(eta) % 60:02d}s  "
                    f"{r.student}: {r.score:g}/{r.max_score:g} {r.status.value}")
            if self.tty:
                self.stream.write("\r\033[K" + line)
                if self.done == self.total:
                    self.stream.write("\n")
            else:
                self.stream.write(line + "\n")
            self.stream.flush()


def grade_batch(course: Course, assignment: str, folder: Path, out_dir: Path, opts: GradeOptions,
                *, jobs: int = 1, regrade: bool = False, progress_stream: TextIO | None = None,
                grade_fn: Callable[..., tuple[SubmissionResult, str]] = grade_one_isolated) -> dict:
    entries = submission.batch_entries(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    students = [s for s, _ in entries]
    progress = Progress(len(entries), progress_stream or sys.stderr)
    todo = []
    for sid, path in entries:
        fp = fingerprint(course, assignment, path, opts)
        if not regrade and _done(out_dir, sid, fp) is not None:
            progress.skip(1)
            continue
        todo.append((sid, path, fp))
    if progress.skipped:
        progress.stream.write(f"{progress.skipped} submission(s) already graded; skipping them "
                              "(use --regrade to grade them again)\n")
    lock = threading.Lock()

    def finish(sid: str, fp: str, result: SubmissionResult, log: str) -> None:
        with lock:
            report.write_student(out_dir, result, log)
            report.atomic_write(out_dir / sid / FINGERPRINT, fp)
            report.write_class(out_dir, load_results(out_dir, students))
        progress.update(result)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        pending = {pool.submit(grade_fn, course, assignment, sid, path, opts): (sid, fp)
                   for sid, path, fp in todo}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    sid, fp = pending.pop(fut)
                    result, log = fut.result()
                    finish(sid, fp, result, log)
        except KeyboardInterrupt:
            for fut in pending:
                fut.cancel()
            raise
    results = load_results(out_dir, students)
    summary = report.write_class(out_dir, results)
    summary["students_text"] = report.students_text(results)
    return summary
