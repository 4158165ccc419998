"""Which submissions look alike: every pair compared, the most similar shown side by side.

``gmgrade similarity NAME SUBMISSIONS --out FILE.html`` fingerprints each submission with
copydetect (winnowing over the tokenised code, Schleimer et al. 2003, as MOSS does:
variable and function names become placeholders, so renaming hides nothing, and a set of
fingerprints does not care in which order the functions come), drops the fingerprints of
the skeleton the students started from (its docstrings and signatures are everyone's),
and writes an HTML page with the most similar pairs and their matching code highlighted.
It is for a person to read and judge: nothing here changes a grade.

SUBMISSIONS is what ``gmgrade grade`` takes (a folder with one entry per student, or an
LMS export); each entry is read as grading reads it, so a notebook is its code cells.
"""

from __future__ import annotations

import html
import io
import tempfile
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from autograder import lms, report, submission
from autograder.course import Course
from autograder.errors import UsageError

NOISE = 25  # shortest match (in filtered characters) that counts: copydetect's default
GUARANTEE = 30  # every match this long is found (the winnowing window follows)
SHOWN = 20  # pairs on the page


def _copydetect() -> Any:
    try:
        import copydetect.detector as detector
        import copydetect.utils as utils
    except ImportError:
        raise UsageError("gmgrade similarity needs copydetect: pip install 'gmgrade[similarity]' "
                         "(or: pip install 'copydetect>=0.5')") from None
    return detector, utils


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    similarity: tuple[float, float]  # share of each one's code found in the other
    a_html: str  # the code, the matching parts marked
    b_html: str

    @property
    def score(self) -> float:
        return max(self.similarity)


def sources(folder: Path, assignment: str) -> tuple[dict[str, str], list[str]]:
    """Each student's code as grading reads it, and the entries that are no submission."""
    with tempfile.TemporaryDirectory(prefix="gmgrade-similarity-") as tmp:
        entries = lms.batch_entries(folder, Path(tmp))
        if entries is None:
            entries = submission.batch_entries(folder)
        code, skipped = {}, []
        for sid, path in entries:
            try:
                code[sid] = submission.load(path, assignment, sid).source
            except submission.SubmissionError as e:
                skipped.append(f"{sid}: {e}")
    return code, skipped


def compare(code: dict[str, str], skeleton: str) -> list[Pair]:
    """Every pair of submissions, most similar first, the skeleton's code not counted."""
    detector, utils = _copydetect()
    window = GUARANTEE - NOISE + 1

    def fingerprint(name: str, text: str, boilerplate: Any = None) -> Any:
        return detector.CodeFingerprint(f"{name}.py", NOISE, window, boilerplate=boilerplate,
                                        language="python", fp=io.StringIO(text))

    boilerplate = list(fingerprint("skeleton", skeleton).hashes) if skeleton.strip() else None
    prints = {s: fingerprint(s, text, boilerplate) for s, text in code.items()}
    pairs = []
    for a, b in combinations(sorted(prints), 2):
        _, sims, (slices_a, slices_b) = detector.compare_files(prints[a], prints[b])
        if not sims[0] and not sims[1]:
            continue
        marked = [utils.highlight_overlap(prints[s].raw_code, sl, "<mark>", "</mark>", escape_html=True)[0]
                  for s, sl in ((a, slices_a), (b, slices_b))]
        pairs.append(Pair(a, b, (float(sims[0]), float(sims[1])), *marked))
    return sorted(pairs, key=lambda p: (-p.score, p.a, p.b))


def page(assignment: str, pairs: list[Pair], students: int, skipped: list[str]) -> str:
    e = html.escape
    rows = "".join(f"<tr><td>{i}</td><td><a href='#p{i}'>{e(p.a)} — {e(p.b)}</a></td>"
                   f"<td>{100 * p.similarity[0]:.0f}%</td><td>{100 * p.similarity[1]:.0f}%</td></tr>"
                   for i, p in enumerate(pairs[:SHOWN], 1))
    sides = "".join(f"<h2 id='p{i}'>{i}. {e(p.a)} ({100 * p.similarity[0]:.0f}% found in the other) — "
                    f"{e(p.b)} ({100 * p.similarity[1]:.0f}%)</h2><div class='pair'><pre>{p.a_html}</pre>"
                    f"<pre>{p.b_html}</pre></div>" for i, p in enumerate(pairs[:SHOWN], 1))
    skip = "".join(f"<li>{e(s)}</li>" for s in skipped)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(assignment)} — similar submissions</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ddd;padding:.2rem .6rem}} .pair{{display:grid;grid-template-columns:1fr 1fr;gap:1rem}}
pre{{background:#f6f6f6;padding:.6rem;font-size:.85em;overflow-x:auto}} mark{{background:#ffd5d5}}
</style></head><body>
<h1>{e(assignment)}: the most similar pairs of {students} submissions</h1>
<p>For a person to read and judge, never a penalty by itself: similar code can have honest
causes (the skeleton, which is not counted here; the lecture's formulas; a short task).
Marked: the code found in both, after names are replaced by placeholders.</p>
<table><tr><th>#</th><th>pair</th><th>of the first</th><th>of the second</th></tr>{rows}</table>
{f"<p>Not compared (no submission):</p><ul>{skip}</ul>" if skip else ""}
{sides}
</body></html>
"""


def run(course: Course, assignment: str, folder: Path, out: Path) -> list[Pair]:
    code, skipped = sources(folder, assignment)
    if len(code) < 2:
        raise UsageError(f"{folder} holds {len(code)} readable submission(s) of {assignment}; "
                         "comparing needs at least two")
    skeleton = course.skeleton(assignment)
    pairs = compare(code, skeleton.read_text(encoding="utf-8") if skeleton.is_file() else "")
    report.atomic_write(out, page(assignment, pairs, len(code), skipped))
    return pairs
