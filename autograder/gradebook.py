"""The course gradebook: every assignment's results, the late policy and weights, one CSV.

``gmgrade gradebook RESULTS... --out FILE`` reads the output folder of ``gmgrade grade`` of
each assignment and writes one row per student: for each assignment the raw score, the days
late and the score after the late policy, and the weighted total in percent; beside it,
``FILE``'s stem + ``-summary.json`` holds each assignment's distribution. Grading itself
never applies the policy: ``results.json`` keeps the raw score.

The policy and the weights live in the course's ``pyproject.toml``::

    [tool.gmgrade.late]
    deadlines = { mle = "2026-10-02T23:59:00+00:00", gmm = "2026-10-16T23:59:00+00:00" }
    grace_minutes = 15          # late by less than this is on time
    penalty_per_day = 0.1       # fraction of the raw score per started day late
    max_penalty = 0.5           # the most that is taken (1: late work can reach 0)
    extensions = { mle = { "101" = 2 } }   # days, per assignment and student (the LMS's id)

    [tool.gmgrade.gradebook]
    weights = { mle = 1, gmm = 2 }         # default 1 each

How late a submission was comes from what the LMS said (``OUT/staff/lms.csv``,
:mod:`autograder.lms`): Blackboard's submission time; Canvas says only *that* a submission
was late, which counts as one day late (an extension of a day or more excuses it); Moodle's
export says neither, so its submissions are on time here. A time without a zone is compared
with the deadline's clock time (the LMS's local time).
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from autograder import lms, report
from autograder.config import ConfigError
from autograder.results import Status, SubmissionResult

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DAY = timedelta(days=1)


@dataclass(frozen=True)
class LatePolicy:
    deadlines: dict[str, datetime] = field(default_factory=dict)
    grace: timedelta = timedelta(0)
    per_day: float = 0.0
    cap: float = 1.0
    extensions: dict[str, dict[str, float]] = field(default_factory=dict)  # assignment -> student -> days

    def days_late(self, assignment: str, student: str, submitted: str, flagged: str) -> int:
        """Started days late after deadline, extension and grace; 0 without a deadline."""
        extension = timedelta(days=self.extensions.get(assignment, {}).get(student, 0.0))
        if submitted and assignment in self.deadlines:
            due = self.deadlines[assignment] + extension + self.grace
            when = datetime.fromisoformat(submitted)
            if (when.tzinfo is None) != (due.tzinfo is None):  # one side has no zone: clock times
                when, due = when.replace(tzinfo=None), due.replace(tzinfo=None)
            return max(0, math.ceil((when - due) / DAY))
        if flagged == "yes":  # late by the LMS's own due date, time unknown: one day
            return 0 if extension >= DAY else 1
        return 0

    def score(self, raw: float, days: int) -> float:
        return round(raw * (1 - min(self.cap, self.per_day * days)), 6)


def _table(data: dict, key: str, where: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where} {key} must be a table, e.g. {key} = {{ mle = ... }}")
    return value


def _number(data: dict, key: str, where: str, default: float, top: float | None = None) -> float:
    value = data.get(key, default)
    if not isinstance(value, (int, float)) or value < 0 or (top is not None and value > top):
        raise ConfigError(f"{where} {key} = {value!r}: must be a number from 0"
                          + (f" to {top:g}" if top is not None else ""))
    return float(value)


def load(course_root: Path) -> tuple[LatePolicy, dict[str, float]]:
    """The late policy and the weights of ``[tool.gmgrade.late]`` and ``[tool.gmgrade.gradebook]``."""
    pyproject = course_root / "pyproject.toml"
    try:
        tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("gmgrade", {})
    except FileNotFoundError:
        return LatePolicy(), {}
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{pyproject}: {e}") from None
    where = f"[tool.gmgrade.late] in {pyproject}:"
    late = _table(tool, "late", f"[tool.gmgrade] in {pyproject}:")
    deadlines = {}
    for name, when in _table(late, "deadlines", where).items():
        try:
            deadlines[name] = when if isinstance(when, datetime) else datetime.fromisoformat(str(when))
        except ValueError:
            raise ConfigError(f"{where} deadline {name} = {when!r}: not a date and time; write it "
                              "as 2026-10-02T23:59:00+00:00") from None
    given = _table(late, "extensions", where)
    extensions = {a: {str(s): _number(_table(given, a, f"{where} extensions:"), s, f"{where} extensions.{a}", 0.0)
                      for s in _table(given, a, f"{where} extensions:")} for a in given}
    policy = LatePolicy(deadlines=deadlines,
                        grace=timedelta(minutes=_number(late, "grace_minutes", where, 0.0)),
                        per_day=_number(late, "penalty_per_day", where, 0.0, 1.0),
                        cap=_number(late, "max_penalty", where, 1.0, 1.0), extensions=extensions)
    book = _table(tool, "gradebook", f"[tool.gmgrade] in {pyproject}:")
    gwhere = f"[tool.gmgrade.gradebook] in {pyproject}: weights"
    weights = {a: _number(_table(book, "weights", gwhere), a, gwhere, 1.0)
               for a in _table(book, "weights", gwhere)}
    return policy, weights


@dataclass(frozen=True)
class Column:
    """One assignment's results folder."""

    assignment: str
    results: dict[str, SubmissionResult]
    info: dict[str, dict[str, str]]  # what the LMS said, by student
    max_score: float


def read_column(folder: Path) -> Column:
    results = {r.student: r for r in lms.results(folder)}
    names = {r.assignment for r in results.values()}
    if len(names) != 1:
        raise ConfigError(f"{folder} is not the output folder of one `gmgrade grade` run "
                          f"(it holds results of {', '.join(sorted(names)) or 'no assignment'})")
    return Column(names.pop(), results, lms.read_info(folder), max(r.max_score for r in results.values()))


def _distribution(values: list[float], top: float) -> dict[str, Any]:
    bins = [0] * 10
    for v in values:
        bins[min(9, int(10 * v / top)) if top else 0] += 1
    return {"mean": round(statistics.fmean(values), 4) if values else None,
            "median": statistics.median(values) if values else None,
            "stdev": round(statistics.stdev(values), 4) if len(values) > 1 else None,
            "min": min(values, default=None), "max": max(values, default=None),
            "histogram": {"bins": [round(top * i / 10, 4) for i in range(11)], "counts": bins}}


def build(columns: list[Column], policy: LatePolicy, weights: dict[str, float],
          roster: dict[str, lms.Student] | None = None) -> tuple[str, dict]:
    """The gradebook CSV (one row per student) and the summary, from each assignment's results."""
    seen = [c.assignment for c in columns]
    if len(set(seen)) != len(seen):
        raise ConfigError(f"the same assignment twice among the results folders: {', '.join(seen)}")
    roster = roster or {}
    students = sorted(set(roster).union(*(c.results for c in columns)))
    weight = {c.assignment: weights.get(c.assignment, 1.0) for c in columns}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "name", "section"]
               + [f"{c.assignment} {part}" for c in columns for part in ("raw", "days late", "score")]
               + ["total %"])
    finals: dict[str, list[float]] = {c.assignment: [] for c in columns}
    late: dict[str, int] = {c.assignment: 0 for c in columns}
    totals = []
    for s in students:
        row, total = [], 0.0
        for c in columns:
            r = c.results.get(s)
            raw = r.score if r is not None and r.status is not Status.MISSING else 0.0
            said = c.info.get(s, {})
            days = policy.days_late(c.assignment, s, said.get("submitted", ""), said.get("late", "")) if r else 0
            final = policy.score(raw, days)
            finals[c.assignment].append(final)
            late[c.assignment] += days > 0
            total += weight[c.assignment] * (final / c.max_score if c.max_score else 0.0)
            row += [f"{raw:g}", str(days), f"{final:g}"]
        percent = round(100 * total / sum(weight.values()), 2) if sum(weight.values()) else 0.0
        totals.append(percent)
        who = roster.get(s)
        name = who.name if who and who.name else next((c.info[s]["name"] for c in columns if s in c.info), "")
        w.writerow([s, name, who.section if who else "", *row, f"{percent:g}"])
    summary = {
        "students": len(students),
        "assignments": {c.assignment: {
            "weight": weight[c.assignment], "max_score": c.max_score,
            "deadline": policy.deadlines[c.assignment].isoformat() if c.assignment in policy.deadlines else None,
            "status": _status_counts(c, students), "late": late[c.assignment],
            "score": _distribution(finals[c.assignment], c.max_score)} for c in columns},
        "total_percent": _distribution(totals, 100.0),
    }
    return buf.getvalue(), summary


def _status_counts(c: Column, students: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in students:
        status = c.results[s].status.value if s in c.results else Status.MISSING.value
        counts[status] = counts.get(status, 0) + 1
    return counts


def write(out: Path, text: str, summary: dict) -> Path:
    """``out`` and, beside it, ``STEM-summary.json``; returns the summary's path."""
    report.atomic_write(out, text)
    path = out.with_name(f"{out.stem}-summary.json")
    report.atomic_write(path, json.dumps(summary, indent=2, ensure_ascii=False))
    return path
