"""Submissions straight from a learning-management system, and grades back into it.

``gmgrade grade NAME EXPORT`` accepts the "download all submissions" archive of Canvas,
Moodle or Blackboard, as a zip or unpacked, and keys each student by the LMS's own id.
Each LMS names the files of its export its own way (docs/lms.md gives the sources):

- Canvas: one flat file per uploaded file, ``sortablename_[LATE_]USERID_ATTACHMENTID_FILE``
  (``smithjane_LATE_1234_98765_mle.py``): the sortable name lower-cased with everything but
  letters, digits and ``_`` removed (it may be empty: ``_1234_98765_mle.py``), for a group
  assignment the group's name and one member's id; ``LATE`` is upper case. A text entry or
  URL is ``sortablename_[LATE_]USERID_text.html`` / ``_link.html`` (no file to grade). Only
  the current submission's files are in the archive; a file uploaded under a name the
  student had already used gets ``-N`` (or ``-UUID``) after its base name (``mle-1.py``,
  ``a-1.tar.gz``), which is taken off again. Lateness is the ``LATE`` flag; no time is
  given. Anonymous grading (``anon_ID`` instead of name and user id) is refused: the
  gradebook import cannot match it.
- Moodle: ``Full Name_PARTICIPANTID_assignsubmission_file_FILE`` flat, or in folders
  ``Full Name_PARTICIPANTID_assignsubmission_file[_]/`` (Moodle 4 drops the final ``_``)
  holding the files as uploaded. Other plugins (``assignsubmission_onlinetext``…) are
  ignored. Only the latest attempt is exported; no time.
- Blackboard: ``Assignment_USERNAME_attempt_YYYY-MM-DD-HH-MM-SS_FILE`` beside a receipt
  ``Assignment_USERNAME_attempt_YYYY-MM-DD-HH-MM-SS.txt`` ("Name: Jane Smith (jsmith)", and
  under "Files:" each "Original filename: mle.py" with the stored "Filename: …"); files are
  named as the receipt's original names, else by what follows the time. The time in the
  name is the attempt's; with every attempt downloaded, the latest attempt is graded.

Several files per student are kept together; when one name occurs twice (a resubmitted
file), the latest upload wins. Each student's files are written to
``OUT/staff/lms/STUDENT/`` under their original names, which the batch grades as any
per-student folder, and ``OUT/staff/lms.csv`` keeps what the LMS said (name, submission
time, lateness) for the roster, the grade export and the late policy.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from autograder import report
from autograder.errors import UsageError
from autograder.results import Status, SubmissionResult, TestResult
from autograder.submission import MAX_SOURCE_BYTES, MAX_ZIP_MEMBERS, MAX_ZIP_TOTAL, RESERVED_IDS

LMSES = ("canvas", "moodle", "blackboard")
STAGE = "lms"  # OUT/staff/lms/STUDENT/: each student's files under their original names
INFO = "lms.csv"  # OUT/staff/lms.csv: what the LMS said about each submission
INFO_COLUMNS = ["student", "id", "name", "lms", "submitted", "late", "files"]

# an anonymous id, or the (lazy: a name may hold "_") name, LATE and user id; then the
# attachment id and file, or a text entry / URL (no attachment)
_CANVAS = re.compile(r"^(?:(?P<anon>(?:LATE_)?anon_[0-9A-Za-z]+)|(?P<name>[^/]*?)_(?P<late>LATE_)?(?P<id>\d+))"
                     r"_(?:(?P<upload>\d+)_(?P<file>.+)|(?:text|link)\.html)$")
# "mle-1.py", "a-1.tar.gz", "mle-<uuid>.py": Canvas's name for a file whose name was taken
_CANVAS_COPY = re.compile(r"^(?P<stem>.+?)-(?:\d+|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})"
                          r"(?P<ext>(?:\.[A-Za-z][A-Za-z0-9]*)*\.[A-Za-z0-9]*)?$")
_MOODLE = re.compile(r"^(?P<name>.+)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z0-9]+)(?:_(?P<file>.*))?$")
# ASSIGNMENT_USERNAME before "_attempt_": both may hold "_", so the receipt says where the
# username begins; without one, it is the last part
_BLACKBOARD = re.compile(r"^(?P<head>[^/]+?_[^/]+?)_attempt_(?P<time>\d{4}(?:-\d\d){5})(?:_(?P<file>.+)|\.txt)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")  # as submission.student_id: what a folder name may hold
_BB_NAME = re.compile(r"^Name:\s*(?P<name>.*?)\s*\((?P<id>[^()]+)\)\s*$", re.M)
_BB_FILE = re.compile(r"^\s*Original filename:\s*(?P<original>.+?)\s*\n\s*Filename:\s*(?P<stored>.+?)\s*$", re.M)


class LmsError(UsageError):
    """An LMS export that cannot be read as one."""


@dataclass
class Work:
    """One student's submission as the LMS exported it."""

    student: str  # the LMS's id: Canvas user id, Moodle participant id, Blackboard username
    name: str
    files: dict[str, bytes] = field(default_factory=dict)  # original file name -> content
    submitted: str = ""  # the submission time (ISO 8601, the LMS's local time), where the LMS gives it
    late: bool | None = None  # what the LMS says; None where it says nothing


@dataclass
class Export:
    lms: str
    students: dict[str, Work]


# ------------------------------------------------------------------ reading the raw files


def _raw_files(path: Path) -> tuple[str, list[tuple[str, bytes]]] | None:
    """The LMS whose naming scheme the names of a zip's or folder's files follow, and
    ``(relative posix path, bytes)`` of every regular file; None, before reading any, when
    they follow no LMS's scheme. With the limits and
    path checks of ``submission``: links, absolute or ``..`` paths are skipped."""
    if path.is_dir():
        found = [(p.relative_to(path).as_posix(), p) for p in sorted(path.rglob("*"))
                 if len(p.relative_to(path).parts) <= 4 and not p.is_symlink() and p.is_file()
                 and not p.relative_to(path).parts[0].startswith((".", "__MACOSX"))]  # macOS's unzip
        lms = detect([rel for rel, _ in found])
        if lms is None:
            return None
        _check_size(path, len(found), sum(p.stat().st_size for _, p in found))
        return lms, [(rel, p.read_bytes()) for rel, p in found if p.stat().st_size <= MAX_SOURCE_BYTES]
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise LmsError(f"{path.name} is not a valid zip archive ({e})") from None
    with zf:
        infos = []
        for info in zf.infolist():
            name = info.filename.replace("\\", "/")
            parts = PurePosixPath(name).parts
            if (info.is_dir() or stat.S_ISLNK(info.external_attr >> 16) or name.startswith("/")
                    or ".." in parts or "__MACOSX" in parts):
                continue  # never followed, never extracted
            infos.append((name, info))
        lms = detect([name for name, _ in infos])
        if lms is None:
            return None
        _check_size(path, len(infos), sum(i.file_size for _, i in infos))
        out = []
        for name, info in infos:
            if info.file_size <= MAX_SOURCE_BYTES:
                with zf.open(info) as f:
                    out.append((name, f.read(MAX_SOURCE_BYTES + 1)))  # never trust the declared size
        return lms, out


def _check_size(path: Path, count: int, total: int) -> None:
    # an export holds a class's submissions: ten times one submission's limits
    if count > 10 * MAX_ZIP_MEMBERS or total > 10 * MAX_ZIP_TOTAL:
        raise LmsError(f"{path.name} holds {count} files, {total / 2**20:.0f} MB: more than an LMS "
                       "export of one assignment should; download the submissions of one assignment")


def _kind(rel: str) -> str | None:
    """Which LMS names a file this way (its first path component decides)."""
    top = rel.split("/")[0]
    if _MOODLE.match(top):
        return "moodle"
    if _BLACKBOARD.match(top):
        return "blackboard"
    if "/" not in rel and _CANVAS.match(top):
        return "canvas"
    return None


def detect(names: list[str]) -> str | None:
    """The LMS whose naming every file follows, or None (e.g. a folder per student)."""
    kinds = {_kind(rel) for rel in names}
    return kinds.pop() if len(kinds) == 1 and None not in kinds else None


# ------------------------------------------------------------------ one reader per LMS


def _canvas(files: list[tuple[str, bytes]]) -> dict[str, Work]:
    students: dict[str, Work] = {}
    uploads: dict[tuple[str, str], int] = {}  # (student, file) -> upload id kept
    for rel, data in files:
        m = _CANVAS.match(rel)
        assert m is not None  # detect() matched every file
        if m["anon"]:
            raise LmsError(f"{rel}: Canvas anonymised this download (anonymous grading: no user ids "
                           "in the file names), so its grades could not be imported; download it again "
                           "once Canvas shows the students (anonymous grading off, or the grades posted)")
        w = students.setdefault(m["id"], Work(m["id"], m["name"]))
        w.late = bool(w.late) or bool(m["late"])
        if m["file"] is None:
            continue  # a text entry or URL: nothing to grade
        copy = _CANVAS_COPY.match(m["file"])
        name = copy["stem"] + (copy["ext"] or "") if copy else m["file"]
        upload = int(m["upload"])
        if uploads.get((w.student, name), -1) < upload:  # a later upload has a larger id
            uploads[(w.student, name)] = upload
            w.files[name] = data
    return students


def _moodle(files: list[tuple[str, bytes]]) -> dict[str, Work]:
    students: dict[str, Work] = {}
    for rel, data in files:
        top, _, rest = rel.partition("/")
        m = _MOODLE.match(top)
        assert m is not None
        w = students.setdefault(m["id"], Work(m["id"], m["name"]))
        name = rest or m["file"]  # in a folder per submission, or flat with the file in the name
        if m["plugin"] == "file" and name:  # onlinetext, comments…: not a file to grade
            w.files[name] = data
    return students


def _blackboard(files: list[tuple[str, bytes]]) -> dict[str, Work]:
    matches = [(rel, m, data) for rel, data in files if (m := _BLACKBOARD.match(rel)) is not None]
    receipts = {}  # (head, time) -> (username, name): "Name: Jane Smith (jsmith)"
    originals = {}  # stored file name -> the name the student gave it, as the receipt says
    for rel, m, data in matches:
        if m["file"] is None:
            text = data.decode("utf-8", errors="replace")
            n = _BB_NAME.search(text)
            if n and m["head"].endswith("_" + n["id"]):
                receipts[m["head"], m["time"]] = (n["id"], n["name"])
            for f in _BB_FILE.finditer(text):
                original = PurePosixPath(f["original"].replace("\\", "/")).name  # never a path to follow
                if original not in ("", ".", "..") and f["stored"].startswith(rel[:-4] + "_"):
                    originals[f["stored"]] = original  # this attempt's files only (comments are free text)
    attempts: dict[str, dict[str, Work]] = {}  # student -> attempt time -> work
    for rel, m, data in matches:
        sid, name = receipts.get((m["head"], m["time"]), (m["head"].rsplit("_", 1)[1],) * 2)
        y, mo, d, h, mi, sec = m["time"].split("-")  # the attempt's time, as ISO 8601
        w = attempts.setdefault(sid, {}).setdefault(
            m["time"], Work(sid, name, submitted=f"{y}-{mo}-{d}T{h}:{mi}:{sec}"))
        if m["file"] is not None:
            w.files[originals.get(rel, m["file"])] = data
    # the attempt times (YYYY-MM-DD-HH-MM-SS) sort as times: the latest attempt is graded
    return {sid: by_time[max(by_time)] for sid, by_time in attempts.items()}


READERS = {"canvas": _canvas, "moodle": _moodle, "blackboard": _blackboard}


def read(path: Path) -> Export | None:
    """The LMS export at ``path`` (zip or folder), or None when it is not one."""
    if not (path.is_dir() or (path.is_file() and path.suffix.lower() == ".zip")):
        return None
    found = _raw_files(path)
    if found is None:
        return None
    lms, files = found
    return Export(lms, READERS[lms](files))


# ------------------------------------------------------------------ into a batch


def _folder_id(student: str) -> str:
    """The LMS id as the name of the student's output folder: no path, no hidden file,
    never a name the batch writes (the LMS's own id is kept in ``lms.csv``)."""
    sid = _UNSAFE.sub("_", student).lstrip(".")[:100] or "student"
    return sid + "_" if sid.lower() in RESERVED_IDS else sid


def batch_entries(path: Path, out_dir: Path) -> list[tuple[str, Path]] | None:
    """``(student id, folder)`` for each student of the LMS export at ``path``, their files
    written to ``OUT/staff/lms/STUDENT/`` and what the LMS said to ``OUT/staff/lms.csv``;
    None when ``path`` is no LMS export (the batch reads it as a folder per student)."""
    export = read(path)
    if export is None and path.is_file():
        raise LmsError(f"{path.name} is no Canvas, Moodle or Blackboard 'download all submissions' "
                       "archive (its files are not named as one of them names them); give the "
                       "archive as the LMS made it, or a folder with one entry per student")
    if export is None:
        return None
    stage = out_dir / report.STAFF_DIR / STAGE
    shutil.rmtree(stage, ignore_errors=True)  # an earlier export's files are not this one's
    folders = _folders(export)
    for sid, fid in folders.items():
        (stage / fid).mkdir(parents=True)
        for name, data in export.students[sid].files.items():
            target = (stage / fid).joinpath(*PurePosixPath(name).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    report.atomic_write(out_dir / report.STAFF_DIR / INFO, _info_csv(export, folders))
    return [(fid, stage / fid) for fid in folders.values()]


def _folders(export: Export) -> dict[str, str]:
    """Each student's folder name, by LMS id: two ids that make the same name get ``~2``…"""
    folders: dict[str, str] = {}
    for sid in sorted(export.students):
        fid, n = _folder_id(sid), 1
        while (fid if n == 1 else f"{fid}~{n}") in folders.values():
            n += 1
        folders[sid] = fid if n == 1 else f"{fid}~{n}"
    return folders


def _info_csv(export: Export, folders: dict[str, str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(INFO_COLUMNS)
    for sid, fid in folders.items():
        s = export.students[sid]
        late = "" if s.late is None else ("yes" if s.late else "no")
        w.writerow([fid, sid, s.name, export.lms, s.submitted, late, " ".join(sorted(s.files))])
    return buf.getvalue()


def read_info(out_dir: Path) -> dict[str, dict[str, str]]:
    """``OUT/staff/lms.csv`` by student id (empty when the batch was no LMS export)."""
    try:
        text = (out_dir / report.STAFF_DIR / INFO).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return {row["student"]: row for row in csv.DictReader(io.StringIO(text))}


# ------------------------------------------------------------------ the roster


@dataclass(frozen=True)
class Student:
    id: str
    name: str = ""
    email: str = ""
    section: str = ""


def read_roster(path: Path) -> dict[str, Student]:
    """A roster CSV with a header row: ``id`` (the LMS's id), and optionally ``name``,
    ``email``, ``section``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise LmsError(f"--roster {path}: cannot read it ({e.strerror or e})") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    header = {k.strip().lower() for k in (rows[0].keys() if rows else [])}
    if "id" not in header:
        raise LmsError(f"--roster {path}: the first row must name the columns, among them 'id' "
                       "(the LMS's id of each student), e.g. id,name,email,section")
    roster = {}
    for row in rows:
        r = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        if r["id"]:
            roster[_folder_id(r["id"])] = Student(r["id"], r.get("name", ""), r.get("email", ""),
                                                  r.get("section", ""))
    return roster


def missing_result(student: str, assignment: str, tests: list[dict]) -> SubmissionResult:
    """A roster student without a submission: status ``missing``, every test 0 so that the
    row in grades.csv has the columns of any other."""
    return SubmissionResult(
        student=student, assignment=assignment, status=Status.MISSING,
        tests=tuple(TestResult(test_id=t["test_id"], name=t["name"], score=0.0, max_score=t["points"],
                               passed=False, hidden=t["hidden"], output="not run: no submission")
                    for t in tests),
        max_score=sum(t["points"] for t in tests), execution_time=0.0,
        error="no submission was received")


def apply_roster(out_dir: Path, assignment: str, roster: dict[str, Student],
                 graded: list[str], tests: list[dict]) -> tuple[list[str], list[str]]:
    """Write a ``missing`` result for each roster student not in ``graded``; return those
    students and the graded students who are not on the roster (reported, still graded)."""
    missing = [s for s in sorted(roster) if s not in graded]
    for s in missing:
        report.write_student(out_dir, missing_result(s, assignment, tests), "")
    return missing, [s for s in graded if s not in roster]


# ------------------------------------------------------------------ grades back into the LMS


def results(out_dir: Path) -> list[SubmissionResult]:
    """Every ``OUT/STUDENT/results.json`` of an output folder."""
    out = []
    for p in sorted(out_dir.glob("*/results.json")):
        try:
            out.append(SubmissionResult.from_dict(json.loads(p.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError):
            continue
    return out


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = name.strip().rpartition(" ")
    return (last, first) if first else (name.strip(), "")


def grade_import(lms: str, assignment: str, out_dir: Path, roster: dict[str, Student] | None = None) -> str:
    """The grade-import file of ``lms`` for the results in ``out_dir`` (docs/lms.md: sources):

    - Canvas gradebook import CSV: ``Student, ID, SIS User ID, SIS Login ID, Section`` and a
      column named after the assignment (an assignment of that title, else a new one), a
      ``Points Possible`` row first (a new assignment's points); Canvas matches rows on
      ``ID`` (the user id of the export's file names), then SIS ids, then the name.
    - Moodle offline grading worksheet: ``Identifier`` (``Participant N``), ``Full name``,
      ``Email address``, ``Status``, ``Grade``, ``Maximum Grade``, ``Grade can be changed``,
      ``Last modified (submission)``, ``Last modified (grade)``. Moodle needs
      ``Identifier``, ``Grade`` and ``Last modified (grade)``, here the time of writing (a
      grade changed in Moodle after it is kept); ``Feedback comments`` is left out, since
      an empty one would erase the comments on upload.
    - Blackboard Grade Center upload: ``Last Name, First Name, Username`` and a column named
      after the assignment, every value quoted; Blackboard matches rows on ``Username``, and
      a header without ``|COLUMNID`` makes a new (text) column.
    """
    graded = results(out_dir)
    if not graded:
        raise LmsError(f"--results {out_dir} holds no graded results (STUDENT/results.json); "
                       f"run `gmgrade grade {assignment} EXPORT --out {out_dir}` first")
    info = read_info(out_dir)
    roster = roster or {}
    top = max(r.max_score for r in graded)

    def name(sid: str) -> str:
        return (roster[sid].name if sid in roster and roster[sid].name else info.get(sid, {}).get("name") or sid)

    def lms_id(sid: str) -> str:  # the LMS's own id (a folder name may differ from it)
        return roster[sid].id if sid in roster else info.get(sid, {}).get("id", sid)

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if lms == "canvas":
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
        w.writerow(["    Points Possible", "", "", "", "", f"{top:g}"])
        for r in graded:
            sec = roster[r.student].section if r.student in roster else ""
            w.writerow([name(r.student), lms_id(r.student), "", "", sec, f"{r.score:g}"])
    elif lms == "moodle":
        w.writerow(["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                    "Grade can be changed", "Last modified (submission)", "Last modified (grade)"])
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for r in graded:
            email = roster[r.student].email if r.student in roster else ""
            status = "No submission" if r.status is Status.MISSING else "Submitted for grading"
            w.writerow([f"Participant {lms_id(r.student)}", name(r.student), email, status,
                        f"{r.score:g}", f"{r.max_score:g}", "Yes", "", now])
    elif lms == "blackboard":
        w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)  # Blackboard wants a CSV's values quoted
        w.writerow(["Last Name", "First Name", "Username", assignment])
        for r in graded:
            last, first = _split_name(name(r.student))
            w.writerow([last, first, lms_id(r.student), f"{r.score:g}"])
    else:
        raise LmsError(f"no grade import for {lms!r}; one of {', '.join(LMSES)}")
    return buf.getvalue()
