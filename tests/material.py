"""Course material the project's tests grade: correct alternatives are files already;
known mistakes are written out from ``solutions/mistakes/NAME.toml`` on first use."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from autograder.course import Course
from autograder.mistakes import materialise

ROOT = Path(__file__).resolve().parent.parent
_written: dict[tuple[str, str], Path] = {}
_folder: list[Path] = []


def correct(name: str, file: str) -> Path:
    """A correct alternative of ``name`` (``solutions/correct/NAME/FILE``)."""
    return ROOT / "solutions" / "correct" / name / file


def mistake(name: str, mistake_id: str) -> Path:
    """A file holding known mistake ``mistake_id`` of ``name`` (removed at exit)."""
    if (name, mistake_id) not in _written:
        if not _folder:
            _folder.append(Path(tempfile.mkdtemp(prefix="gmgrade-test-mistakes-")))
            atexit.register(shutil.rmtree, _folder[0], True)
        path = _folder[0] / f"{name}-{mistake_id}.py"
        path.write_text(materialise(Course(ROOT), name, mistake_id), encoding="utf-8")
        _written[name, mistake_id] = path
    return _written[name, mistake_id]
