"""Generating the student's skeleton and notebook from the reference solution.

The reference ``solutions/NAME.py`` is the single source. It is a Python file in the
"percent" format: ``# %% [markdown]`` starts a markdown cell, ``# %%`` a code cell.
Each ``# BEGIN SOLUTION`` … ``# END SOLUTION`` block is replaced by a ``raise
NotImplementedError`` at the marker's indentation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from autograder.errors import UsageError

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
STUB = 'raise NotImplementedError("{hint}")'
# `gmgrade release --url URL` puts the address of the hosted bundle in place of this
BUNDLE_URL = "https://YOUR-COURSE-SITE/gmgrade-student.zip"
CHECK_CELL = """\
# Check your work from this notebook: run this cell, then check("{name}") in a cell of its own
# (check("{name}", "FUNCTION") for the tests of one function). It grades the cells you have run.
# Where gmgrade is not installed (Colab, a fresh environment), first install the course bundle:
#     %pip install -q "{url}"
from autograder import check"""
_CELL = re.compile(r"^# %%(?P<md>\s*\[markdown\])?\s*$")


class MarkerError(UsageError, ValueError):
    pass


def strip_solution(source: str, *, hint: str = "write your solution here") -> str:
    """The skeleton: every marked block replaced by ``raise NotImplementedError``.

    Rejects unbalanced or nested markers, and markers that are not alone on their line.
    """
    out: list[str] = []
    inside = False
    begin_line = 0
    for n, line in enumerate(source.splitlines(keepends=True), 1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if stripped != BEGIN:
                raise MarkerError(f"line {n}: '{BEGIN}' must be alone on its line")
            if inside:
                raise MarkerError(f"line {n}: '{BEGIN}' inside a block opened on line {begin_line}")
            inside, begin_line = True, n
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# YOUR CODE HERE\n{indent}{STUB.format(hint=hint)}\n")
        elif stripped.startswith(END):
            if stripped != END:
                raise MarkerError(f"line {n}: '{END}' must be alone on its line")
            if not inside:
                raise MarkerError(f"line {n}: '{END}' without a matching '{BEGIN}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"line {begin_line}: '{BEGIN}' is never closed")
    return "".join(out)


def percent_cells(source: str) -> list[tuple[str, str]]:
    """``(kind, text)`` cells of a percent-format file; ``kind`` is 'markdown' or 'code'."""
    cells: list[tuple[str, list[str]]] = []
    kind, lines = "code", []
    for line in source.splitlines():
        m = _CELL.match(line)
        if m:
            if any(x.strip() for x in lines):
                cells.append((kind, lines))
            kind, lines = ("markdown" if m.group("md") else "code"), []
            continue
        lines.append(line)
    if any(x.strip() for x in lines):
        cells.append((kind, lines))
    result = []
    for kind, body in cells:
        while body and not body[0].strip():
            body = body[1:]
        while body and not body[-1].strip():
            body = body[:-1]
        if kind == "markdown":
            body = [re.sub(r"^# ?", "", x) for x in body]
        result.append((kind, "\n".join(body)))
    return result


def to_notebook(source: str, check_cell_for: str | None = None) -> str:
    """A Jupyter notebook (nbformat 4 JSON) with the cells of a percent-format file; with
    ``check_cell_for`` (the assignment's name), first a cell that sets up the in-notebook check."""
    nb_cells = []
    cells = percent_cells(source)
    if check_cell_for:
        cells.insert(0, ("code", CHECK_CELL.format(name=check_cell_for, url=BUNDLE_URL)))
    for kind, text in cells:
        lines = text.splitlines(keepends=True)
        cell = {"cell_type": kind, "metadata": {}, "source": lines}
        if kind == "code":
            cell.update({"execution_count": None, "outputs": []})
        nb_cells.append(cell)
    nb = {
        "cells": nb_cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    # stable ids, so regenerating gives identical files
    for i, cell in enumerate(nb_cells):
        cell["id"] = f"cell-{i:03d}"
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def generated_files(solution: Path, name: str, target_dir: Path) -> dict[Path, str]:
    skeleton = strip_solution(solution.read_text(encoding="utf-8"))
    return {target_dir / f"{name}.py": skeleton, target_dir / f"{name}.ipynb": to_notebook(skeleton, name)}


def stale_files(solution: Path, name: str, target_dir: Path) -> list[Path]:
    return [p for p, text in generated_files(solution, name, target_dir).items()
            if not p.exists() or p.read_text(encoding="utf-8") != text]


def write(solution: Path, name: str, target_dir: Path) -> list[Path]:
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for p, text in generated_files(solution, name, target_dir).items():
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8")
            written.append(p)
    return written
