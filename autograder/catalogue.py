"""The message catalogues: every student-facing string, collected from where it is written.

Messages are written in English where they are used (an engine module, a test, a notebook
cell); this module collects them into gettext catalogues (``.po``, read and written with
Babel) that translators fill in, one per concern, so that a hidden test's words never ship
with the public bundle:

- ``autograder/locale/LANG/LC_MESSAGES/gmgrade.po``: the engine's messages;
- ``assignments/NAME/locale/LANG/LC_MESSAGES/NAME.po``: the public tests' titles and
  messages, the messages of its helpers (``assignments/NAME/helpers.py``) and the
  notebook's text (released with the assignment);
- ``solutions/locale/LANG/LC_MESSAGES/NAME.po``: the hidden tests' (never released).

An f-string becomes a template: each ``{expression}`` a named ``{placeholder}``
(``python-brace-format``), which a translation may move but must keep. A message is looked
up a line at a time (``autograder/i18n.py``), so a translation keeps its message's line
count. ``gmgrade translations update`` rewrites the catalogues from the sources (keeping
what is translated); ``gmgrade translations check`` (and ``tests/unit/test_i18n.py``) fail
on any message with no translation, a stale one, or one whose placeholders or lines differ.
"""

from __future__ import annotations

import ast
import datetime
import json
import re
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from autograder.course import Course
from autograder.options import LANGS as _ALL

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

ROOT = Path(__file__).resolve().parents[1]
LANGS = _ALL[1:]  # the languages translated from English
ENGINE_DOMAIN = "gmgrade"
# the engine's modules whose strings can reach a student (feedback, check, notebook, report)
ENGINE_MODULES = ("testing", "contracts", "student", "protocol", "compat", "notebook", "report",
                  "plugin", "submission", "worker", "runner", "errors", "cli", "course", "config",
                  "sandbox", "batch")
_PROSE = re.compile(r"[A-Za-z]{2,}\W+[A-Za-z]{2,}")  # two words: a message, not a name or code
_SKIP_KWARGS = {"call", "inputs"}  # code the student wrote or a call's arguments: never translated
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


_EPOCH = datetime.datetime(2026, 12, 5, tzinfo=datetime.timezone.utc)  # fixed: the same sources, the same file
_HEADER = ("# Translations of gmgrade's student-facing messages; written by `gmgrade translations update`.\n"
           "# Fill in each msgstr: keep every {placeholder}, doubled braces and the number of lines.")


@dataclass(frozen=True)
class Message:
    text: str  # the msgid: English, f-string expressions as {placeholders}
    where: str  # "path:line"


def _name(expr: str, taken: set[str]) -> str:
    """A placeholder name for an f-string expression: ``type(got).__name__`` -> ``type_got_name``."""
    base = re.sub(r"[^A-Za-z0-9]+", "_", expr).strip("_")[:32].strip("_") or "value"
    if base[0].isdigit():
        base = "v_" + base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def template(node: ast.JoinedStr, source: str) -> str:
    """An f-string as a brace template: literal braces doubled, each expression named."""
    parts: list[str] = []
    taken: set[str] = set()
    for v in node.values:
        if isinstance(v, ast.Constant):
            parts.append(str(v.value).replace("{", "{{").replace("}", "}}"))
        elif isinstance(v, ast.FormattedValue):
            parts.append("{" + _name(ast.get_source_segment(source, v.value) or "value", taken) + "}")
    return "".join(parts)


def is_prose(text: str) -> bool:
    """A message worth translating: two words outside its placeholders."""
    return bool(_PROSE.search(_PLACEHOLDER.sub(" ", text)))


def _describes_call(node: ast.AST, source: str) -> bool:
    """A ``call=`` string that says more than the call: "m_step(x, resp) with one-hot resp"
    (its words outside the call's parentheses are a message; the call alone is code)."""
    if isinstance(node, ast.JoinedStr):
        text = template(node, source)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    else:
        return False
    while (shorter := re.sub(r"\([^()]*\)|\[[^\[\]]*\]", "", text)) != text:
        text = shorter
    return is_prose(text)


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                ids.add(id(body[0].value))
    return ids


def python_messages(path: Path, *, titles: bool) -> list[Message]:
    """The prose strings of a Python file. Docstrings are the author's, not the student's,
    except (``titles``) the first line of a test function's, its title in the feedback."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    docstrings = _docstring_nodes(tree)
    marked = {id(a) for a in _marked_args(tree)}  # N_("OK") is a message though one word
    skipped: set[int] = set()
    out: list[Message] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in _SKIP_KWARGS:
            skipped.update(id(n) for n in ast.walk(node.value) if not _describes_call(n, source))
        if titles and isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            doc = ast.get_docstring(node)
            if doc and doc.strip():
                out.append(Message(doc.strip().splitlines()[0].strip(), f"{rel}:{node.lineno}"))
    for node in ast.walk(tree):
        if id(node) in docstrings or (id(node) in skipped and id(node) not in marked):
            continue
        if isinstance(node, ast.JoinedStr):
            skipped.update(id(v) for v in node.values)  # its parts are in the template
            text = template(node, source)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.replace("{", "{{").replace("}", "}}")  # a literal, never a template
        else:
            continue
        if is_prose(text) or id(node) in marked:
            out.append(Message(text, f"{rel}:{node.lineno}"))
    return out


def _marked_args(tree: ast.AST) -> list[ast.expr]:
    """The first argument of every ``N_(...)`` and ``i18n.t(...)`` call."""
    return [node.args[0] for node in ast.walk(tree)
            if isinstance(node, ast.Call) and node.args
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("N_", "t")]


def marked_messages(path: Path) -> list[Message]:
    """The strings of ``N_("...")`` and ``i18n.t("...")`` calls: messages of a module not
    otherwise collected."""
    source = path.read_text(encoding="utf-8")
    rel = path.relative_to(ROOT).as_posix()
    out = []
    for a in _marked_args(ast.parse(source)):
        if isinstance(a, ast.JoinedStr):
            out.append(Message(template(a, source), f"{rel}:{a.lineno}"))
        elif isinstance(a, ast.Constant) and isinstance(a.value, str):
            out.append(Message(a.value.replace("{", "{{").replace("}", "}}"), f"{rel}:{a.lineno}"))
    return out


def notebook_messages(path: Path) -> list[Message]:
    """Each markdown cell of a notebook, whole, and each comment of its code cells."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    out = []
    for i, cell in enumerate(nb.get("cells", [])):
        src = "".join(cell.get("source", []))
        if cell.get("cell_type") == "markdown" and src.strip():
            out.append(Message(src.strip(), f"{rel}:cell{i}"))
        elif cell.get("cell_type") == "code":
            out.extend(Message(c, f"{rel}:cell{i}") for c in code_comments(src) if is_prose(c))
    return out


def code_comments(src: str) -> list[str]:
    """The text of every ``# comment`` line of a code cell (what follows the ``#``)."""
    return [m[1].strip() for m in re.finditer(r"^\s*#\s?(.*)$", src, re.M) if m[1].strip()]


# ------------------------------------------------------------------ which sources, which file


def _assignments() -> list[str]:
    return sorted(p.name for p in (ROOT / "assignments").iterdir() if (p / "tests").is_dir())


def domains() -> dict[tuple[Path, str], list[Message]]:
    """(catalogue folder, domain) -> its messages, each message in the first domain that
    has it: the engine's, then an assignment's public one, then its hidden one."""
    engine = [m for mod in ENGINE_MODULES
              for m in python_messages(ROOT / "autograder" / f"{mod}.py", titles=False)]
    engine += [m for p in sorted((ROOT / "autograder" / "helpers").glob("*.py"))
               for m in python_messages(p, titles=False)]  # the registry, the shared helpers
    engine += [m for p in sorted((ROOT / "autograder").glob("*.py")) if p.stem not in ENGINE_MODULES
               for m in marked_messages(p)]
    out = {(ROOT / "autograder" / "locale", ENGINE_DOMAIN): engine}
    seen = {m.text for m in engine}
    for name in _assignments():
        home = ROOT / "assignments" / name
        public = [m for p in sorted((home / "tests").glob("*.py")) for m in python_messages(p, titles=True)]
        public += [m for p in Course(ROOT).helper_files(name) for m in python_messages(p, titles=False)]
        public += [m for p in sorted(home.glob("*.ipynb")) for m in notebook_messages(p)]
        hidden = [m for p in sorted((ROOT / "solutions" / "tests" / name).glob("*.py"))
                  for m in python_messages(p, titles=True)]
        public = [m for m in public if m.text not in seen]
        seen_here = seen | {m.text for m in public}
        out[(home / "locale", name)] = public
        out[(ROOT / "solutions" / "locale", name)] = [m for m in hidden if m.text not in seen_here]
    return out


def po_path(folder: Path, domain: str, lang: str) -> Path:
    return folder / lang / "LC_MESSAGES" / f"{domain}.po"


def read(path: Path) -> Catalog | None:
    from babel.messages.pofile import read_po

    if not path.exists():
        return None
    with open(path, "rb") as f:
        return read_po(f)


def update(lang: str) -> dict[Path, int]:
    """Rewrite every catalogue of ``lang`` from the sources, keeping each translation whose
    message is still there; the number of messages still untranslated, per file."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    untranslated = {}
    for (folder, domain), messages in domains().items():
        path = po_path(folder, domain, lang)
        old = read(path)
        cat = Catalog(locale=lang, domain=domain, project="gmgrade", version="", fuzzy=False,
                      copyright_holder="the course's staff", msgid_bugs_address="", last_translator="",
                      language_team="", creation_date=_EPOCH, revision_date=_EPOCH, header_comment=_HEADER)
        for m in messages:
            prev = old.get(m.text) if old is not None else None
            if m.text in cat:
                cat[m.text].locations.append((m.where.rsplit(":", 1)[0], 0))
                continue
            cat.add(m.text, prev.string if prev is not None else "",
                    locations=[(m.where.rsplit(":", 1)[0], 0)],
                    flags=["python-brace-format"] if _PLACEHOLDER.search(m.text) else [])
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            write_po(f, cat, width=0, omit_header=False, sort_output=False, no_location=False)
        untranslated[path] = sum(1 for msg in cat if msg.id and not msg.string)
    return untranslated


def problems(lang: str) -> list[str]:
    """Every message of the sources with no translation in ``lang``, or a translation that
    drops or invents a placeholder or changes the number of lines; and stale catalogues."""
    out = []
    for (folder, domain), messages in domains().items():
        path = po_path(folder, domain, lang)
        cat = read(path)
        rel = path.relative_to(ROOT)
        if cat is None:
            out.append(f"{rel}: missing; run `gmgrade translations update`")
            continue
        for m in messages:
            msg = cat.get(m.text)
            if msg is None or not isinstance(msg.string, str) or not msg.string:
                out.append(f"{rel}: no translation of {m.text[:80]!r} ({m.where})")
                continue
            want, got = sorted(_PLACEHOLDER.findall(m.text)), sorted(_PLACEHOLDER.findall(msg.string))
            if want != got:
                out.append(f"{rel}: the translation of {m.text[:60]!r} has placeholders {got}, not {want}")
            if m.text.count("\n") != msg.string.count("\n"):
                out.append(f"{rel}: the translation of {m.text[:60]!r} has {msg.string.count(chr(10)) + 1} "
                           f"lines, not {m.text.count(chr(10)) + 1} (messages are looked up a line at a time)")
    return out
