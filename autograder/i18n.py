"""Feedback in the student's language.

The language is chosen once per command (``use``): ``--lang``, else ``$GMGRADE_LANG``, else
``[tool.gmgrade] lang`` of the course, else the student's locale (``LC_ALL``,
``LC_MESSAGES``, ``LANG``), else English. English is what the code says; for another
language, text is translated when it is rendered, with the gettext catalogues of
``autograder/catalogue.py``: a result's test titles, outputs and notes (``localize``) and
the report's own lines (``t``). Nothing changes how a submission is graded.

A rendered text is looked up a line at a time: the line as a message, else the message line
(a template) whose literal parts match it, each ``{placeholder}`` taking what stands in its
place, itself looked up in turn (a hint inside "Hint: {hint}"). A line that no message
matches (a value, the student's code) stays as it is.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from autograder import catalogue
from autograder.options import LANGS

if TYPE_CHECKING:
    from autograder.course import Course
    from autograder.results import SubmissionResult

_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PARAM = re.compile(r"^(?P<title>.*\S) (?P<param>\[[^\[\]]*\])$")  # "title [float32]"
_COMMENT = re.compile(r"^(\s*#\s?)(.*)$", re.M)  # a code cell's comment line: "# " and its text
_GLUED_AFTER = re.compile(r"^(?:\.\w|\(|\w)")  # "{fn}()", "{name}.py", "{x}th"
_GLUED_BEFORE = re.compile(r"\w\.?$")  # "torch.{name}", "x{i}"
_INNER_SPACE = re.compile(r"^\S.*\s")  # a phrase, not a word (a value may start with a space:
# " You reduced …" glued after "expected (3,)." is the next sentence)
_HEAD = re.compile(r"^([-•*] |[A-Za-z_][\w.\[\]]* = )(.+)$")
_DEPTH = 3  # placeholders inside placeholders: how deep a line is looked up
_current = "en"


def from_locale(env: dict[str, str] | None = None) -> str:
    """The language of the user's locale: ``ja`` for ``ja_JP.UTF-8``, else English."""
    env = dict(os.environ) if env is None else env
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(key):
            code = env[key].split("_")[0].split(".")[0].lower()
            return code if code in LANGS else "en"
    return "en"


def use(lang: str) -> None:
    """Speak ``lang`` from now on in this process (one of ``LANGS``)."""
    global _current
    if lang not in LANGS:
        raise ValueError(f"no translations for {lang!r}; one of {', '.join(LANGS)}")
    _current = lang


def current() -> str:
    return _current


def _unescape(s: str) -> str:
    return s.replace("{{", "{").replace("}}", "}")


@dataclasses.dataclass(frozen=True)
class _Line:
    pieces: tuple[str, ...]  # the literal text around its placeholders (one more than names)
    names: tuple[str, ...]  # its placeholders, in order
    probe: str  # its longest literal piece: a line without it cannot match
    target: str  # the translated line, a brace template
    words: tuple[bool, ...]  # per placeholder: glued to a name ({fn}(), {name}.py), so one word

    def match(self, text: str) -> dict[str, str] | None:
        """What each placeholder stands for in ``text``, or None. Each literal piece is the
        first found after the previous one (no backtracking: linear in the text, whatever a
        student's values hold), the last piece ends the text."""
        first, last = self.pieces[0], self.pieces[-1]
        if not text.startswith(first) or not text.endswith(last) or len(text) < len(first) + len(last):
            return None
        pos, end = len(first), len(text) - len(last)
        values: dict[str, str] = {}
        for i, name in enumerate(self.names):
            if i == len(self.names) - 1:
                value = text[pos:end]
            else:
                j = text.find(self.pieces[i + 1], pos, end)
                if j < 0:
                    return None
                value, pos = text[pos:j], j + len(self.pieces[i + 1])
            if values.setdefault(name, value) != value or (self.words[i] and _INNER_SPACE.search(value)):
                return None
        return values


def _compile(src: str, dst: str) -> _Line | None:
    """A template line; None when it has nothing but placeholders (it would match any text:
    a composition of messages, which are looked up on their own)."""
    pieces, names, literal = [], [], ""
    pos = 0
    for m in _FIELD.finditer(src):
        literal += src[pos:m.start()]
        if m[1]:
            pieces.append(literal)
            names.append(m[1])
            literal = ""
        else:
            literal += m[0][0]  # a doubled brace is one literal brace
        pos = m.end()
    pieces.append(literal + src[pos:])
    text = "".join(pieces)
    if not catalogue.is_prose(text) and not re.search(r"[A-Za-z]{3,}", text):
        return None
    words = tuple(bool(_GLUED_AFTER.match(pieces[i + 1]) or _GLUED_BEFORE.search(pieces[i]))
                  for i in range(len(names)))
    return _Line(tuple(pieces), tuple(names), max(pieces, key=len), dst, words)


class Translator:
    """Lookups in the catalogues of one language (msgid -> msgstr pairs)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.exact: dict[str, str] = {}
        lines: list[_Line] = []
        for msgid, msgstr in pairs:
            if not msgid or not msgstr:
                continue
            self.exact.setdefault(_unescape(msgid).strip(), _unescape(msgstr).strip())
            src, dst = msgid.split("\n"), msgstr.split("\n")
            if len(src) != len(dst):
                continue  # catalogue.problems() reports it
            for s, d in zip(src, dst):
                s, d = s.strip(), d.strip()
                if not s:
                    continue
                if _FIELD.search(s) is None or not any(m[1] for m in _FIELD.finditer(s)):
                    self.exact.setdefault(_unescape(s), _unescape(d))
                elif (line := _compile(s, d)) is not None:
                    lines.append(line)
        self.lines = sorted(lines, key=lambda x: -len(x.probe))  # the most specific first

    def translate(self, text: str) -> str:
        """``text`` in this translator's language, as far as the catalogues know it."""
        if not text or not text.strip():
            return text
        whole = self.exact.get(text.strip())
        if whole is not None:
            return _keep_space(text, whole)
        return "\n".join(self._line(line, 0) for line in text.split("\n"))

    def _line(self, line: str, depth: int) -> str:
        core = line.strip()
        if not core:
            return line
        hit = self.exact.get(core)
        if hit is not None:
            return _keep_space(line, hit)
        for t in self.lines:
            if t.probe not in core:
                continue
            found = t.match(core)
            if found is None:
                continue
            values = {k: (self._value(v, depth + 1) if depth < _DEPTH else v) for k, v in found.items()}
            return _keep_space(line, _FIELD.sub(lambda f: values[f[1]] if f[1] else f[0][0], t.target))
        head = _HEAD.match(core)  # "- hint" (an item of a list), "s_net = a grader-provided mlp"
        if head is not None and depth < _DEPTH:
            return _keep_space(line, head[1] + self._line(head[2], depth + 1))
        return line


    def _value(self, value: str, depth: int) -> str:
        """What stood in a placeholder: a message, or a list of them joined with "; "."""
        whole = self._line(value, depth)
        if whole != value or "; " not in value:
            return whole
        return "; ".join(self._line(part, depth) for part in value.split("; "))


def _keep_space(original: str, translated: str) -> str:
    core = original.strip()
    if not core:
        return original
    start = original.index(core)
    return original[:start] + translated + original[start + len(core):]


IDENTITY = Translator(())


@functools.lru_cache(maxsize=64)
def _load(paths: tuple[Path, ...], stamps: tuple[float, ...]) -> Translator:
    pairs: list[tuple[str, str]] = []
    for p in paths:
        cat = catalogue.read(p)
        if cat is not None:
            pairs.extend((str(m.id), str(m.string)) for m in cat if m.id and m.string)
    return Translator(pairs)


def translator(lang: str, course_root: Path | None = None, assignment: str | None = None,
               *, hidden: bool = True) -> Translator:
    """The engine's catalogue of ``lang``, with an assignment's public and (where the course
    has them, unless not ``hidden``) hidden catalogues."""
    if lang == "en":
        return IDENTITY
    paths = [catalogue.po_path(Path(__file__).resolve().parent / "locale", catalogue.ENGINE_DOMAIN, lang)]
    if course_root is not None and assignment is not None:
        paths.append(catalogue.po_path(course_root / "assignments" / assignment / "locale", assignment, lang))
        if hidden:
            paths.append(catalogue.po_path(course_root / "solutions" / "locale", assignment, lang))
    found = tuple(p for p in paths if p.exists())
    return _load(found, tuple(p.stat().st_mtime for p in found))


def N_(text: str) -> str:
    """Marks ``text`` as a message for the catalogues where it is written (a module's
    constant, translated where it is used); returns it unchanged."""
    return text


def t(text: str) -> str:
    """The engine's own text (a report's frame, a command's message) in the current language."""
    return translator(_current).translate(text)


def title(tr: Translator, name: str) -> str:
    """A test's title, its parameters (``[float32]``) kept as they are."""
    m = _PARAM.match(name)
    return f"{tr.translate(m['title'])} {m['param']}" if m else tr.translate(name)


def localize(result: SubmissionResult, course: Course | None) -> SubmissionResult:
    """``result`` with its titles, outputs, notes and error in the current language."""
    if _current == "en":
        return result
    tr = translator(_current, course.root if course is not None else None, result.assignment)
    tests = tuple(dataclasses.replace(x, name=title(tr, x.name), output=tr.translate(x.output))
                  for x in result.tests)
    return dataclasses.replace(result, tests=tests, notes=tuple(tr.translate(n) for n in result.notes),
                               error=tr.translate(result.error) if result.error else result.error)


def notebook(text: str, tr: Translator) -> str:
    """A notebook (its JSON) with its markdown cells and its code cells' comments translated;
    the code itself, and so what is graded, unchanged."""
    nb = json.loads(text)
    for cell in nb.get("cells", []):
        src = "".join(cell.get("source", []))
        if cell.get("cell_type") == "markdown" and src.strip():
            new = tr.translate(src)
        elif cell.get("cell_type") == "code":
            new = _COMMENT.sub(lambda m: m[1] + tr.translate(m[2]), src)
        else:
            continue
        cell["source"] = new.splitlines(keepends=True)
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"  # as nbformat writes
