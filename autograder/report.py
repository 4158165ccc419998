"""Writing results: per-student ``results.json`` and ``feedback.html``, ``grades.csv``,
``summary.json``, and the readable summaries printed to the terminal. All writes are
atomic (a temporary file renamed into place).

The output folder's layout: ``DIR/STUDENT/`` holds only what that student may see
(``results.json``, ``feedback.html``), so an instructor can hand it back as it is;
what is for staff only (grader logs with tracebacks of the hidden tests, resume
fingerprints) lives in ``DIR/staff/`` as ``STUDENT.log``, ``STUDENT.fingerprint``."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import statistics
from pathlib import Path

from autograder import i18n
from autograder.results import SubmissionResult

STAFF_DIR = "staff"  # DIR/staff/: for the instructor only, never handed to a student


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fmt(x: float) -> str:
    return f"{x:g}"


def feedback_text(result: SubmissionResult, *, show_hidden: bool = True) -> str:
    lines = [i18n.t(f"{result.assignment}: {_fmt(result.score)} / {_fmt(result.max_score)} points")]
    if result.error:
        lines.append(f"! {result.error}")
    for n in result.notes:
        lines.append(i18n.t(f"note: {n}"))
    for t in result.tests:
        if t.hidden and not show_hidden:
            continue
        score = f"{_fmt(t.score)}/{_fmt(t.max_score)}"
        lines.append(i18n.t(f"[PASS] {t.name} ({score})") if t.passed else i18n.t(f"[FAIL] {t.name} ({score})"))
        if not t.passed:
            lines.extend("    " + x for x in t.output.splitlines())
    return "\n".join(lines)


def check_text(result: SubmissionResult) -> str:
    """What ``check`` shows: the public tests with feedback, and how many passed."""
    passed = sum(t.passed for t in result.tests)
    return (feedback_text(result, show_hidden=False) + "\n\n" + i18n.t(
        f"{passed}/{len(result.tests)} public tests passed. Hidden tests are run when your instructor "
        "grades the assignment."))


def feedback_html(result: SubmissionResult) -> str:
    e = html.escape
    rows = []
    for t in result.tests:
        cls = "pass" if t.passed else "fail"
        detail = "" if t.passed else f"<pre>{e(t.output)}</pre>"
        tag = f' <span class="tag">{e(i18n.t("hidden test"))}</span>' if t.hidden else ""
        rows.append(f'<details class="{cls}"{"" if t.passed else " open"}><summary>'
                    f'<b>{"✓" if t.passed else "✗"}</b> {e(t.name)}{tag} '
                    f'<span class="pts">{_fmt(t.score)} / {_fmt(t.max_score)}</span></summary>'
                    f"{detail}</details>")
    notes = "".join(f"<li>{e(n)}</li>" for n in result.notes)
    err = f'<p class="err">{e(result.error)}</p>' if result.error else ""
    heading = e(i18n.t(f"{result.assignment} — feedback for {result.student}"))
    return f"""<!doctype html>
<html lang="{i18n.current()}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{heading}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#222}}
h1{{font-size:1.4rem}} .score{{font-size:1.2rem}}
details{{border:1px solid #ddd;border-radius:6px;margin:.4rem 0;padding:.4rem .7rem}}
details.pass summary b{{color:#197a2e}} details.fail summary b{{color:#b3261e}}
.pts{{float:right;color:#555}} .tag{{font-size:.8em;color:#666;border:1px solid #ccc;border-radius:4px;padding:0 .3em}}
pre{{white-space:pre-wrap;background:#f6f6f6;padding:.6rem;border-radius:4px;font-size:.9em}}
.err{{color:#b3261e;font-weight:600}}
</style></head><body>
<h1>{heading}</h1>
<p class="score">{e(i18n.t("Score:"))} <b>{_fmt(result.score)} / {_fmt(result.max_score)}</b></p>
{err}{f"<ul>{notes}</ul>" if notes else ""}
{"".join(rows)}
</body></html>
"""


def staff_file(out_dir: Path, student: str, suffix: str) -> Path:
    """``DIR/staff/STUDENT.SUFFIX``: a staff-only file about one student."""
    return out_dir / STAFF_DIR / f"{student}{suffix}"


def write_student(out_dir: Path, result: SubmissionResult, staff_log: str) -> None:
    """The student's folder (only what they may see) and, apart, their staff log."""
    d = out_dir / result.student
    atomic_write(d / "results.json", json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    atomic_write(d / "feedback.html", feedback_html(result))
    log = staff_file(out_dir, result.student, ".log")
    if staff_log:
        atomic_write(log, staff_log)
    else:
        log.unlink(missing_ok=True)  # a log of an earlier grading would describe another run


def grades_csv(results: list[SubmissionResult]) -> str:
    test_ids: list[str] = []
    for r in results:
        for t in r.tests:
            if t.test_id not in test_ids:
                test_ids.append(t.test_id)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "score", "max_score", "status", *test_ids])
    for r in sorted(results, key=lambda r: r.student):
        by_id = {t.test_id: t.score for t in r.tests}
        w.writerow([r.student, _fmt(r.score), _fmt(r.max_score), r.status.value,
                    *(_fmt(by_id[i]) if i in by_id else "" for i in test_ids)])
    return buf.getvalue()


def summary(results: list[SubmissionResult]) -> dict:
    scores = [r.score for r in results]
    max_score = max((r.max_score for r in results), default=0.0)
    tests: dict[str, dict] = {}
    for r in results:
        for t in r.tests:
            s = tests.setdefault(t.test_id, {"name": t.name, "max_score": t.max_score, "passed": 0,
                                             "total": 0, "hidden": t.hidden})
            s["total"] += 1
            s["passed"] += int(t.passed)
    for s in tests.values():
        s["pass_rate"] = round(s["passed"] / s["total"], 4) if s["total"] else 0.0
    bins = 10
    hist = [0] * bins
    for x in scores:
        i = min(bins - 1, int(bins * x / max_score)) if max_score else 0
        hist[i] += 1
    status: dict[str, int] = {}
    for r in results:
        status[r.status.value] = status.get(r.status.value, 0) + 1
    return {
        "assignment": results[0].assignment if results else None,
        "students": len(results),
        "max_score": max_score,
        "status": status,
        "score": {
            "mean": round(statistics.fmean(scores), 4) if scores else None,
            "median": statistics.median(scores) if scores else None,
            "min": min(scores, default=None),
            "max": max(scores, default=None),
            "full_marks": sum(1 for r in results if r.full_marks),
            "histogram": {"bins": [round(max_score * i / bins, 4) for i in range(bins + 1)],
                          "counts": hist},
        },
        "tests": tests,
    }


def write_class(out_dir: Path, results: list[SubmissionResult]) -> dict:
    atomic_write(out_dir / "grades.csv", grades_csv(results))
    s = summary(results)
    atomic_write(out_dir / "summary.json", json.dumps(s, indent=2, ensure_ascii=False))
    return s


def students_text(results: list[SubmissionResult], limit: int = 40) -> str:
    """One line per student (the first ``limit``), lowest scores first."""
    rows = sorted(results, key=lambda r: (r.score, r.student))
    lines = [f"{'student':<24} {'score':>9}  status"]
    for r in rows[:limit]:
        why = f"  ({r.error[:70]})" if r.error else ""
        lines.append(f"{r.student:<24} {_fmt(r.score):>4}/{_fmt(r.max_score):<4}  {r.status.value}{why}")
    if len(rows) > limit:
        lines.append(i18n.t(f"… and {len(rows) - limit} more in grades.csv"))
    return "\n".join(lines)


def summary_text(s: dict) -> str:
    if not s["students"]:
        return i18n.t("No submissions were graded.")
    sc = s["score"]
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(s["status"].items()))
    lines = [
        i18n.t(f"{s['assignment']}: {s['students']} submission(s) graded — {statuses}"),
        i18n.t(f"score out of {_fmt(s['max_score'])}: mean {sc['mean']:.2f}, median {_fmt(sc['median'])}, "
               f"min {_fmt(sc['min'])}, max {_fmt(sc['max'])}; full marks: {sc['full_marks']}"),
        "",
        f"{i18n.t('pass rate'):>9}  {i18n.t('points'):>6}  {i18n.t('test')}",
    ]
    for tid, t in sorted(s["tests"].items(), key=lambda kv: kv[1]["pass_rate"]):
        name = i18n.t(f"{t['name']} (hidden)") if t["hidden"] else t["name"]
        lines.append(f"{100 * t['pass_rate']:8.0f}%  {_fmt(t['max_score']):>6}  {name}")
    return "\n".join(lines)
