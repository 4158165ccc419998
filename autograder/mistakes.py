"""Known mistakes, declared as small edits of the reference solution.

``solutions/mistakes/NAME.toml`` lists the mistakes a student makes in assignment NAME, the
way mutation-testing tools describe mutants: each is the reference with a few exact pieces
of text replaced, so it follows the reference when the reference changes, and an edit that
no longer applies is an error instead of a silently stale copy::

    [[mistake]]
    id = "unbiased_variance"                  # [a-z0-9_]+, unique in the file
    what = "gaussian_mle divides by N − 1 instead of N."
    function = "gaussian_mle"                 # the top-level def/class holding the edit (omit: the module)
    replace = '''x.var(unbiased=False)'''     # occurs exactly once in that function's source
    by = '''x.var(unbiased=True)'''
    hint = "unbiased"                         # the student's feedback must contain this text
    caught_by = ["test_gaussian_mle_values"]  # test functions that must fail

    [[mistake.also]]                          # further edits of the same mistake, if it needs them
    function = "..."
    replace = '''...'''
    by = '''...'''

``gmgrade verify`` grades every mistake materialised from the current reference;
``gmgrade mistakes NAME [ID]`` lists them or shows one as a diff.
"""

from __future__ import annotations

import ast
import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_ID = re.compile(r"[a-z0-9_]+\Z")
_KEYS = {"id", "what", "function", "replace", "by", "hint", "caught_by", "also"}
_EDIT_KEYS = {"function", "replace", "by"}


class MistakeError(UsageError):
    """A mistakes file that cannot be read, or an edit that no longer applies."""


@dataclass(frozen=True)
class Edit:
    function: str | None
    replace: str
    by: str


@dataclass(frozen=True)
class Mistake:
    id: str
    what: str
    hint: str
    caught_by: tuple[str, ...]
    edits: tuple[Edit, ...]


def _edit(table: dict, where: str) -> Edit:
    unknown = set(table) - _EDIT_KEYS
    if unknown:
        raise MistakeError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} in an edit "
                           f"(an edit has function, replace, by)")
    for key in ("replace", "by"):
        if not isinstance(table.get(key), str):
            raise MistakeError(f"{where}: '{key}' must be a string")
    if not table["replace"]:
        raise MistakeError(f"{where}: 'replace' must not be empty")
    if table["replace"] == table["by"]:
        raise MistakeError(f"{where}: 'replace' and 'by' are the same text")
    function = table.get("function")
    if function is not None and not isinstance(function, str):
        raise MistakeError(f"{where}: 'function' must be a string")
    return Edit(function, table["replace"], table["by"])


def parse(text: str, source: str) -> list[Mistake]:
    """The mistakes declared in ``text`` (the contents of ``source``, for messages)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise MistakeError(f"{source}: not valid TOML: {e}") from None
    extra = set(data) - {"mistake"}
    if extra:
        raise MistakeError(f"{source}: unknown top-level key(s) {', '.join(sorted(extra))}; "
                           f"each mistake is a [[mistake]] table")
    mistakes: list[Mistake] = []
    for i, table in enumerate(data.get("mistake", [])):
        where = f"{source}: mistake {table.get('id', f'#{i + 1}')!s}"
        unknown = set(table) - _KEYS
        if unknown:
            raise MistakeError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        for key in ("id", "what", "hint"):
            if not isinstance(table.get(key), str) or not table[key].strip():
                raise MistakeError(f"{where}: '{key}' must be a non-empty string")
        if not _ID.match(table["id"]):
            raise MistakeError(f"{where}: the id must be lower-case letters, digits and _")
        if any(m.id == table["id"] for m in mistakes):
            raise MistakeError(f"{where}: the id is used twice")
        caught = table.get("caught_by")
        if not (isinstance(caught, list) and caught and all(isinstance(c, str) and c for c in caught)):
            raise MistakeError(f"{where}: 'caught_by' must list the test functions that catch it")
        edits = [_edit({k: v for k, v in table.items() if k in _EDIT_KEYS}, where)]
        edits += [_edit(t, where) for t in table.get("also", [])]
        mistakes.append(Mistake(table["id"], table["what"].strip(), table["hint"],
                                tuple(caught), tuple(edits)))
    return mistakes


def load(path: Path) -> list[Mistake]:
    """The mistakes of one assignment; none when the file does not exist."""
    if not path.exists():
        return []
    return parse(path.read_text(encoding="utf-8"), str(path))


def _span(tree: ast.Module, lines: list[int], function: str) -> tuple[int, int]:
    """Character offsets of the top-level def/class ``function`` (decorators included)."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == function:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return lines[first - 1], lines[node.end_lineno]
    raise LookupError(function)


def apply(reference: str, mistake: Mistake, source: str = "the reference") -> str:
    """The reference with the mistake's edits made, or a MistakeError saying which edit
    no longer applies."""
    text = reference
    for n, edit in enumerate(mistake.edits, 1):
        label = f"mistake {mistake.id}" + (f" (edit {n})" if len(mistake.edits) > 1 else "")
        start, end = 0, len(text)
        if edit.function is not None:
            try:
                tree = ast.parse(text)
            except SyntaxError as e:
                raise MistakeError(f"{label}: an earlier edit leaves {source} unparsable: {e}") from None
            offsets = [0]
            for line in text.splitlines(keepends=True):
                offsets.append(offsets[-1] + len(line))
            try:
                start, end = _span(tree, offsets, edit.function)
            except LookupError:
                raise MistakeError(f"{label} no longer applies to {source}: it has no top-level "
                                   f"function {edit.function!r}") from None
        count = text.count(edit.replace, start, end)
        where = f"function {edit.function}" if edit.function else "the module"
        if count != 1:
            found = "does not occur" if count == 0 else f"occurs {count} times"
            raise MistakeError(f"{label} no longer applies to {source}: the text {edit.replace!r} "
                               f"{found} in {where} (it must occur exactly once)")
        at = text.index(edit.replace, start, end)
        text = text[:at] + edit.by + text[at + len(edit.replace):]
    return text


def diff(reference: str, mistake: Mistake, name: str) -> str:
    """The mistake as a unified diff against the reference."""
    changed = apply(reference, mistake, f"solutions/{name}.py")
    return "".join(difflib.unified_diff(reference.splitlines(keepends=True), changed.splitlines(keepends=True),
                                        f"solutions/{name}.py", f"mistake {mistake.id}"))


def affected(reference: str, mistake: Mistake) -> set[str] | None:
    """The reference's top-level functions whose behaviour the mistake can change: those it
    edits and, transitively, those that refer to them; None when that could be anything
    (an edit outside a function, or module-level code that refers to one of them)."""
    if any(e.function is None for e in mistake.edits):
        return None
    tree = ast.parse(reference)
    defs = {n.name: {x.id for x in ast.walk(n) if isinstance(x, ast.Name)}
            for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    changed = {e.function for e in mistake.edits}
    while True:
        more = {name for name, refs in defs.items() if refs & changed} - changed
        if not more:
            break
        changed |= more
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
            continue
        if {x.id for x in ast.walk(node) if isinstance(x, ast.Name)} & changed:
            return None  # e.g. a notebook cell that calls it while the module loads
    return changed


def test_function(test_id: str) -> str:
    """The test function of a test id (``test_x[params]`` → ``test_x``)."""
    return test_id.split("[", 1)[0]


def materialise(course, name: str, mistake_id: str) -> str:
    """The source of known mistake ``mistake_id`` of assignment ``name`` (``course`` a
    :class:`autograder.course.Course` with its solutions)."""
    sol = course.solution(name)
    if sol is None:
        raise MistakeError(f"{name}: no solutions/{name}.py to apply mistakes to")
    for m in load(course.mistakes_file(name)):
        if m.id == mistake_id:
            return apply(sol.read_text(encoding="utf-8"), m, f"solutions/{name}.py")
    raise MistakeError(f"{name} has no known mistake {mistake_id!r}")
