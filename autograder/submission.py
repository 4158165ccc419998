"""Finding and reading a student's submission: ``.py``, ``.ipynb``, a folder or a ``.zip``.

Nothing here executes student code. Zip archives are never extracted to disk: the one
member that holds the submission is read from the archive with size limits, after the
listing has been checked (member count, links, absolute or ``..`` paths, total size).
"""

from __future__ import annotations

import json
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.errors import UsageError

MAX_SOURCE_BYTES = 5 * 1024 * 1024
MAX_ZIP_MEMBERS = 1000
MAX_ZIP_TOTAL = 100 * 1024 * 1024
SUFFIXES = (".py", ".ipynb")


class SubmissionError(UsageError):
    """Nothing gradable: the message tells the student what to fix."""


@dataclass
class Submission:
    student: str
    cells: list[str]
    filename: str  # e.g. "mle.ipynb", as the student named it
    notes: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        return "\n\n".join(self.cells)


def _decode(data: bytes, name: str) -> str:
    if len(data) > MAX_SOURCE_BYTES:
        raise SubmissionError(f"{name} is {len(data) / 1e6:.1f} MB; submissions are limited to "
                              f"{MAX_SOURCE_BYTES / 1e6:.0f} MB (remove large outputs or data)")
    if not data.strip():
        raise SubmissionError(f"{name} is empty; save your work in it first")
    if b"\x00" in data:
        raise SubmissionError(f"{name} is not a text file (it contains binary data)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SubmissionError(f"{name} is not valid UTF-8 text (byte {e.start}); save it as UTF-8") from None


_MAGIC = re.compile(r"^\s*[%!]")


def strip_magics(src: str) -> tuple[str, int]:
    """A code cell without IPython magics and shell lines (``%``, ``!``; a ``%%`` cell magic
    drops the whole cell), and how many were dropped. Line numbers stay as they were."""
    if src.lstrip().startswith("%%"):
        return "", 1
    lines, dropped = [], 0
    for line in src.splitlines():
        if _MAGIC.match(line):
            dropped += 1
            lines.append("")  # keep line numbers stable
        else:
            lines.append(line)
    return "\n".join(lines), dropped


def notebook_cells(text: str, name: str) -> tuple[list[str], list[str]]:
    """The code cells of a notebook, with IPython magics and shell (``!``) lines dropped."""
    import nbformat

    try:
        json.loads(text)
    except json.JSONDecodeError as e:  # a truncated or hand-edited file: say where it breaks
        raise SubmissionError(f"{name} is not a valid Jupyter notebook: it is not valid JSON "
                              f"({e.msg} at line {e.lineno}, column {e.colno}); open it in "
                              "Jupyter and save it again, or export it as a .py file") from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as e:  # noqa: BLE001 - any malformed notebook
        raise SubmissionError(f"{name} is not a valid Jupyter notebook ({type(e).__name__}: "
                              f"{str(e)[:200]}); open it in Jupyter and save it again, or export "
                              "it as a .py file") from None
    cells, notes = [], []
    dropped = 0
    raw_cells = nb.get("cells", [])
    for cell in raw_cells if isinstance(raw_cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        if not isinstance(src, str):  # a list of lines; anything else in it is ignored
            src = "".join(s for s in src if isinstance(s, str)) if isinstance(src, list) else ""
        body, n = strip_magics(src)
        dropped += n
        if body.strip():
            cells.append(body)
    if dropped:
        notes.append(f"{dropped} IPython magic or shell line(s) (starting with % or !) were ignored")
    if not cells:
        raise SubmissionError(f"{name} has no code cells")
    return cells, notes


def parse(data: bytes, name: str) -> tuple[list[str], list[str]]:
    text = _decode(data, name)
    if name.endswith(".ipynb"):
        return notebook_cells(text, name)
    return [text], []


def _pick(candidates: list[str], assignment: str, where: str) -> tuple[str, list[str]]:
    """Choose the submission file among relative paths; return it and notes."""
    wanted = [f"{assignment}.py", f"{assignment}.ipynb"]
    by_name: dict[str, list[str]] = {}
    for c in candidates:
        by_name.setdefault(PurePosixPath(c).name, []).append(c)
    for w in wanted:
        if w in by_name:
            found = sorted(by_name[w], key=lambda p: (p.count("/"), p))
            notes = []
            other = wanted[1] if w == wanted[0] else wanted[0]
            if other in by_name:
                notes.append(f"both {wanted[0]} and {wanted[1]} were found; {w} was graded")
            return found[0], notes
    code = [c for c in candidates if c.endswith(SUFFIXES) and "/." not in "/" + c
            and "__MACOSX" not in c and ".ipynb_checkpoints" not in c]
    if len(code) == 1:
        return code[0], [f"no file named {wanted[0]} or {wanted[1]} was found; graded "
                         f"{PurePosixPath(code[0]).name}, the only Python file (please use the "
                         "expected name next time)"]
    if not code:
        raise SubmissionError(f"no {wanted[0]} or {wanted[1]} found in {where}; put your work in "
                              "a file of that name there")
    names = ", ".join(sorted(PurePosixPath(c).name for c in code)[:8])
    raise SubmissionError(f"no {wanted[0]} or {wanted[1]} found in {where}, and several other "
                          f"Python files ({names}); name your file {wanted[0]} or {wanted[1]}")


def _from_zip(path: Path, assignment: str) -> tuple[bytes, str, list[str]]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise SubmissionError(f"{path.name} is not a valid zip archive ({e})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise SubmissionError(f"{path.name} has {len(infos)} files; the limit is {MAX_ZIP_MEMBERS}")
        if sum(i.file_size for i in infos) > MAX_ZIP_TOTAL:
            raise SubmissionError(f"{path.name} unpacks to more than {MAX_ZIP_TOTAL // 2**20} MB")
        files = []
        for info in infos:
            name = info.filename
            mode = info.external_attr >> 16
            if info.is_dir():
                continue
            if stat.S_ISLNK(mode):
                continue  # links are never followed or read
            parts = PurePosixPath(name.replace("\\", "/")).parts
            if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                continue  # unsafe paths are ignored, never extracted
            files.append(name)
        chosen, notes = _pick(files, assignment, path.name)
        info = zf.getinfo(chosen)
        if info.file_size > MAX_SOURCE_BYTES:
            raise SubmissionError(f"{chosen} in {path.name} is larger than {MAX_SOURCE_BYTES // 2**20} MB")
        try:
            with zf.open(info) as f:
                data = f.read(MAX_SOURCE_BYTES + 1)  # never trust the declared size
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
                NotImplementedError, ValueError) as e:
            # a bad CRC or a lying size header, an encrypted member, an unknown compression
            raise SubmissionError(f"{chosen} in {path.name} cannot be read ({type(e).__name__}: "
                                  f"{str(e)[:200]})") from None
        return data, PurePosixPath(chosen).name, notes


def _from_folder(path: Path, assignment: str) -> tuple[bytes, str, list[str]]:
    files = []
    for p in path.rglob("*"):
        rel = p.relative_to(path)
        if len(rel.parts) > 4 or p.is_symlink() or not p.is_file():
            continue
        files.append(rel.as_posix())
        if len(files) > MAX_ZIP_MEMBERS:
            break
    chosen, notes = _pick(files, assignment, f"folder {path.name}/")
    target = path / chosen
    if target.stat().st_size > MAX_SOURCE_BYTES:
        raise SubmissionError(f"{chosen} is larger than {MAX_SOURCE_BYTES // 2**20} MB")
    return target.read_bytes(), PurePosixPath(chosen).name, notes


def load(path: Path, assignment: str, student: str | None = None) -> Submission:
    """Read the submission at ``path`` (file, folder or zip) for ``assignment``."""
    student = student or path.stem
    kinds = f"{assignment}.py, {assignment}.ipynb, or a folder or .zip holding one"
    if path.is_symlink():
        raise SubmissionError(f"{path.name} is a symbolic link; submit the file itself")
    if not path.exists():
        raise SubmissionError(f"{path} does not exist; give the path of your {kinds}")
    if not (path.is_dir() or path.suffix in (".zip", *SUFFIXES)):
        raise SubmissionError(f"{path.name} is not a submission for {assignment}; submit {kinds}")
    try:
        if path.is_dir():
            data, name, notes = _from_folder(path, assignment)
        elif path.suffix == ".zip":
            data, name, notes = _from_zip(path, assignment)
        else:
            if not stat.S_ISREG(path.stat().st_mode):
                # a named pipe would block the grader for ever, a device would never end
                raise SubmissionError(f"{path.name} is not a regular file; submit the file itself")
            if path.stat().st_size > MAX_SOURCE_BYTES:
                raise SubmissionError(f"{path.name} is larger than {MAX_SOURCE_BYTES // 2**20} MB")
            data, name, notes = path.read_bytes(), path.name, []
    except OSError as e:  # no permission to read it, or it vanished meanwhile
        raise SubmissionError(f"cannot read {e.filename or path} ({e.strerror or e}); make sure "
                              "the file can be read, or copy it somewhere it can") from None
    cells, more = parse(data, name)
    return Submission(student=student, cells=cells, filename=name, notes=notes + more)


_SAFE_ID = re.compile(r"[^A-Za-z0-9._@+-]")
# Names the batch writes next to the students' folders in the output folder (report.py):
# a student called e.g. ``grades.csv.py`` or ``staff.py`` must not get a folder of that name.
RESERVED_IDS = {"grades.csv", "summary.json", "staff"}


def student_id(entry: Path) -> str:
    name = entry.name if entry.is_dir() else entry.stem
    sid = _SAFE_ID.sub("_", name).lstrip(".") or "student"
    sid = sid[:100]
    if sid.lower() in RESERVED_IDS:
        sid += "_"  # "_" cannot end a reserved name, and "~" (used below) cannot occur
    return sid


def batch_entries(folder: Path) -> list[tuple[str, Path]]:
    """``(student id, path)`` for every entry of a batch folder, in a stable order."""
    if not folder.is_dir():
        raise SubmissionError(f"{folder} is not a folder of submissions")
    seen: dict[str, int] = {}
    out = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        sid = student_id(entry)
        if sid in seen:
            seen[sid] += 1
            sid = f"{sid}~{seen[sid]}"
        else:
            seen[sid] = 1
        out.append((sid, entry))
    return out
