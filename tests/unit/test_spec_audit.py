"""docs/spec-audit.md against the spec: every spec function has rows, every row names tests
that exist, and no clause is left without a test (issue 16)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from autograder import contracts

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT.parent / "shared" / "spec" / "assignments.md"
AUDIT = ROOT / "docs" / "spec-audit.md"

_SPEC_SECTION = re.compile(r"^## \d+\. `(\w+)`")
_AUDIT_SECTION = re.compile(r"^## \d+\. (\w+)\s*$")
_TEST_REF = re.compile(r"`([\w.]+\.py|contract\.toml)::(test_\w+)`")


def _cells(line: str) -> list[str]:
    """The cells of a markdown table row (`\\|` is a pipe inside a cell)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def spec_functions(text: str) -> dict[str, list[str]]:
    """{assignment: the functions named in the first column of its tables}."""
    found: dict[str, list[str]] = {}
    section = None
    for line in text.splitlines():
        m = _SPEC_SECTION.match(line)
        if m:
            section = found.setdefault(m.group(1), [])
        elif line.startswith("## "):
            section = None
        elif section is not None and line.startswith("| `"):
            section += re.findall(r"`(\w+)\(", _cells(line)[0])
    return found


def audit_rows(text: str) -> dict[str, list[tuple[str, str, str]]]:
    """{assignment: [(function, clause, tests cell)]} from the audit's tables."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    section = None
    for line in text.splitlines():
        m = _AUDIT_SECTION.match(line)
        if m:
            section = found.setdefault(m.group(1), [])
        elif line.startswith("## "):
            section = None
        elif section is not None and line.startswith("| `"):
            function, clause, tests = _cells(line)
            section.append((function.strip("`"), clause, tests))
    return found


def missing(tests_cell: str) -> bool:
    """A row without a test: marked missing, or naming no test at all."""
    return "missing" in tests_cell.lower() or not _TEST_REF.search(tests_cell)


def defined_tests(name: str) -> dict[str, set[str]]:
    """{file name: its test functions} over the public and hidden tests of one assignment."""
    files = sorted((ROOT / "assignments" / name / "tests").glob("test_*.py"))
    files += sorted((ROOT / "solutions" / "tests" / name).glob("test_*.py"))
    found = {f.name: {n.name for n in ast.walk(ast.parse(f.read_text(encoding="utf-8")))
                      if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")} for f in files}
    contract = ROOT / "assignments" / name / "tests" / contracts.FILENAME
    if contract.exists():  # the tests the engine generates from the assignment's contract
        found[contracts.FILENAME] = {n for n in dir(contracts.module(contract)) if n.startswith("test_")}
    return found


@pytest.fixture(scope="module")
def spec() -> dict[str, list[str]]:
    if not SPEC.exists():
        pytest.skip(f"the spec is not beside this checkout ({SPEC})")
    return spec_functions(SPEC.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def audit() -> dict[str, list[tuple[str, str, str]]]:
    return audit_rows(AUDIT.read_text(encoding="utf-8"))


def test_every_spec_function_has_a_row(spec, audit):
    gaps = [f"{name}.{fn}" for name, fns in spec.items()
            for fn in fns if fn not in {row[0] for row in audit.get(name, [])}]
    assert not gaps, f"spec functions without a row in {AUDIT.name}: {', '.join(gaps)}"


def test_rows_are_about_spec_functions(spec, audit):
    strays = [f"{name}.{row[0]}" for name, rows in audit.items() for row in rows
              if row[0] not in spec.get(name, [])]
    assert not strays, f"rows of {AUDIT.name} for functions the spec does not have: {', '.join(strays)}"


def test_named_tests_exist(audit):
    unknown = []
    for name, rows in audit.items():
        defined = defined_tests(name)
        for function, clause, tests in rows:
            unknown += [f"{name}: {f}::{t} (row {function}: {clause})"
                        for f, t in _TEST_REF.findall(tests) if t not in defined.get(f, set())]
    assert not unknown, "rows name tests that do not exist:\n" + "\n".join(unknown)


def test_no_clause_is_missing(audit):
    open_rows = [f"{name}.{function}: {clause}" for name, rows in audit.items()
                 for function, clause, tests in rows if missing(tests)]
    assert not open_rows, "clauses without a test:\n" + "\n".join(open_rows)


def test_the_parsers_see_a_missing_row_and_a_pipe_in_a_clause():
    text = ("## 5. flow\n\n| function | clause | tests |\n|---|---|---|\n"
            "| `coupling_forward` | log_det = log\\|det J\\| | `test_coupling.py::test_x` |\n"
            "| `flow_sample` | float32 kept | **missing** |\n")
    rows = audit_rows(text)["flow"]
    assert [r[0] for r in rows] == ["coupling_forward", "flow_sample"]
    assert [missing(r[2]) for r in rows] == [False, True]
    spec = spec_functions("## 7. `attention` — x\n| function | returns |\n|---|---|\n"
                          "| `split_heads(x, n_heads)` / `merge_heads(x)` | a \\| b |\n")
    assert spec == {"attention": ["split_heads", "merge_heads"]}
