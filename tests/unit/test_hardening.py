"""Boundary hardening found by the red team (tests/redteam): each one in isolation, fast."""

import json
import os
import struct
import zipfile
from pathlib import Path

import pytest

from autograder import helpers, protocol, sandbox, submission
from autograder.course import Course


def _frame(header) -> bytes:
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack(">Q", len(h)) + h


@pytest.mark.parametrize("header", [
    b"[" * 100_000 + b"]" * 100_000,  # RecursionError inside json
    {"k": "int", "v": "0x10"},  # ValueError inside int()
    {"k": "tensor", "dtype": "float64", "shape": [3, 0, 2 ** 62, 2 ** 62], "device": "cpu",
     "off": 0, "n": 0},  # an empty tensor torch cannot allocate
])
def test_any_malformed_frame_is_a_protocol_error(header):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(_frame(header))


def test_the_grader_refuses_helpers_from_the_worker():
    data = protocol.encode(protocol.Helper("anything", size=3))
    assert isinstance(protocol.decode(data), protocol.Helper)  # grader -> worker: fine
    with pytest.raises(protocol.ProtocolError, match="grader-provided"):
        protocol.decode(data, helpers=False)


def test_the_sandbox_gets_an_assignments_helpers_file_alone_and_read_only():
    """bwrap binds each helpers file the worker needs, read-only, and nothing else of the
    course (not its folder, not solutions/); the worker finds them through its environment."""
    files = tuple(Course(Path(__file__).resolve().parents[2]).helper_files("bert"))
    assert files, "bert has helpers"
    args = sandbox._bwrap_args(sandbox.Limits(), "cpu", None, files, sandbox._Stage(), nested=False)
    into_grader = {args[i + 2]: args[i] for i, a in enumerate(args)
                   if a.endswith("bind") and args[i + 2].startswith(sandbox.GRADER_ROOT)}
    assert into_grader == {f"{sandbox.GRADER_ROOT}/autograder": "--ro-bind",
                           f"{sandbox.GRADER_ROOT}/assignments/bert/helpers.py": "--ro-bind"}
    assert not any("solutions" in a for a in args)
    assert sandbox._helpers_env(files, bwrap=True) == {
        helpers.ENV: f"{sandbox.GRADER_ROOT}/assignments/bert/helpers.py"}


def test_student_ids_never_name_the_batch_files(tmp_path):
    for name in ("grades.csv.py", "summary.json.py", "staff.py", "alice.py"):
        (tmp_path / name).write_text("x = 1\n")
    (tmp_path / "Staff").mkdir()
    ids = [sid for sid, _ in submission.batch_entries(tmp_path)]
    assert sorted(ids) == ["Staff_", "alice", "grades.csv_", "staff_", "summary.json_"]


def test_a_named_pipe_is_refused_without_reading_it(tmp_path):
    os.mkfifo(tmp_path / "eve.py")
    with pytest.raises(submission.SubmissionError, match="not a regular file"):
        submission.load(tmp_path / "eve.py", "mle")


def test_an_unreadable_zip_member_is_the_students_error(tmp_path):
    p = tmp_path / "bob.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mle.py", "def f():\n    return 1\n" * 50)
    data = bytearray(p.read_bytes())
    i = data.find(b"PK\x01\x02")
    data[i + 16:i + 20] = b"\0\0\0\0"  # a wrong CRC in the central directory
    p.write_bytes(bytes(data))
    with pytest.raises(submission.SubmissionError, match="cannot be read"):
        submission.load(p, "mle")


@pytest.mark.parametrize("source", [["x = 1\n", 7, None], {"a": 1}, None])
def test_malformed_notebook_cells_never_break_the_reader(source):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": source},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "y = 2\n"}]}
    try:
        cells, _ = submission.notebook_cells(json.dumps(nb), "nb.ipynb")
    except submission.SubmissionError:
        return  # refused with a message: fine
    assert cells[-1] == "y = 2"


def test_seccomp_program_is_well_formed():
    prog = sandbox.seccomp_program()
    if prog is None:
        pytest.skip("no seccomp filter for this architecture")
    assert len(prog) % 8 == 0 and len(prog) // 8 < 256
    for i in range(0, len(prog), 8):  # every jump lands inside the program
        code, jt, jf, _ = struct.unpack("=HBBI", prog[i:i + 8])
        if code & 0x07 == 0x05:  # BPF_JMP
            assert i // 8 + 1 + max(jt, jf) < len(prog) // 8
