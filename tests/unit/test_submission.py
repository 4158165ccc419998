import io
import json
import stat
import zipfile

import pytest

from autograder.submission import SubmissionError, batch_entries, load

CODE = "def f(x):\n    return x\n"


def nb(*cells):
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [],
                                  "execution_count": None} for c in cells]})


def test_py_file(tmp_path):
    p = tmp_path / "mle.py"
    p.write_text(CODE)
    sub = load(p, "mle")
    assert sub.cells == [CODE] and sub.filename == "mle.py"


def test_notebook_drops_magics_and_shell_lines(tmp_path):
    p = tmp_path / "mle.ipynb"
    p.write_text(nb("%matplotlib inline\nimport torch", "%%time\nx = 1", "!pip install x\n" + CODE))
    sub = load(p, "mle")
    assert len(sub.cells) == 2
    assert "%matplotlib" not in sub.source and "pip install" not in sub.source
    assert "def f" in sub.cells[1]
    assert any("magic" in n for n in sub.notes)


@pytest.mark.parametrize("data, msg", [
    (b"", "empty"),
    (b"\x00\x01\x02binary", "not a text file"),
    (b"x = '\xff\xfe'", "not valid UTF-8"),
])
def test_bad_files_get_clear_errors(tmp_path, data, msg):
    p = tmp_path / "mle.py"
    p.write_bytes(data)
    with pytest.raises(SubmissionError, match=msg):
        load(p, "mle")


def test_invalid_notebook(tmp_path):
    p = tmp_path / "mle.ipynb"
    p.write_text("{not json")
    with pytest.raises(SubmissionError, match="not a valid Jupyter notebook"):
        load(p, "mle")


def test_folder_prefers_expected_name_and_falls_back_to_single_file(tmp_path):
    d = tmp_path / "alice"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "mle.py").write_text(CODE)
    (d / "notes.py").write_text("x = 1")
    assert load(d, "mle").filename == "mle.py"
    e = tmp_path / "bob"
    e.mkdir()
    (e / "homework1.py").write_text(CODE)
    sub = load(e, "mle")
    assert sub.filename == "homework1.py" and "expected name" in sub.notes[0]


def test_folder_without_submission(tmp_path):
    d = tmp_path / "carol"
    d.mkdir()
    (d / "readme.txt").write_text("hi")
    with pytest.raises(SubmissionError, match="no mle.py or mle.ipynb"):
        load(d, "mle")


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            if mode:
                info.external_attr = mode << 16
            z.writestr(info, data)


def test_zip_reads_member_without_extracting(tmp_path):
    p = tmp_path / "dave.zip"
    _zip(p, [("../../evil/mle.py", "bad = 1", 0), ("/abs/mle.py", "bad = 2", 0),
             ("link/mle.py", "/etc/passwd", stat.S_IFLNK | 0o777), ("hw/mle.py", CODE, 0)])
    sub = load(p, "mle")
    assert sub.cells == [CODE]
    assert not (tmp_path.parent / "evil").exists()


def test_zip_with_only_unsafe_members_has_nothing_gradable(tmp_path):
    p = tmp_path / "eve.zip"
    _zip(p, [("../mle.py", CODE, 0)])
    with pytest.raises(SubmissionError, match="no mle.py"):
        load(p, "mle")


def test_zip_bomb_declared_size_is_rejected(tmp_path):
    p = tmp_path / "bomb.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("mle.py", b"#" * (120 * 1024 * 1024))
    p.write_bytes(buf.getvalue())
    with pytest.raises(SubmissionError, match="unpacks to more than|larger than"):
        load(p, "mle")


def test_not_a_zip(tmp_path):
    p = tmp_path / "x.zip"
    p.write_bytes(b"PK not really")
    with pytest.raises(SubmissionError, match="not a valid zip"):
        load(p, "mle")


def test_batch_entries_ids_are_safe_and_unique(tmp_path):
    (tmp_path / "alice.py").write_text(CODE)
    (tmp_path / "alice").mkdir()
    (tmp_path / "b ob$.ipynb").write_text("{}")
    (tmp_path / ".hidden").write_text("")
    ids = [s for s, _ in batch_entries(tmp_path)]
    assert ids == ["alice", "alice~2", "b_ob_"]
