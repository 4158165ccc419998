"""``check`` from inside a notebook: the public tests on what the kernel has executed.

    from autograder import check
    check("mle")                  # every public test of mle
    check("mle", "gaussian_mle")  # only the tests of these functions

It grades the code the running kernel has executed — IPython's history of this session,
cell by cell in the order they ran — not the saved file, so an edit that was not run is
not graded and nothing needs saving. IPython magics and shell lines are dropped (as
``gmgrade check`` drops them from a notebook file), and so are the check calls: in the
cell that runs the check, everything from the call on, which has not run yet. The result
says which cell (``In [n]``) each graded function was last defined in.

The code runs as with ``gmgrade check``: in a separate worker process (sandboxed where
bubblewrap works, a plain child process elsewhere: ``compat.py``), with the same time
limits, so a hang or a crash of the student's code costs a test, never the kernel. The
tests and scoring run here, in the kernel (``runner.grade_cells``, public tests only).
"""

from __future__ import annotations

import ast
import html
import random
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Iterator

from autograder import config, i18n, report
from autograder.course import Course, CourseError, find_root
from autograder.results import SubmissionResult
from autograder.submission import Submission, strip_magics


def check(assignment: str, *functions: str, course: str | None = None,
          **options) -> "CheckReport | None":
    """Run the public tests of ``assignment`` on the functions this kernel has defined.

    ``functions``: only the tests of these functions. ``options``: ``timeout``, ``memory``,
    ``device``, ``sandbox`` as for ``gmgrade check`` (``course``: the course folder, found
    from the current folder or the installed bundle otherwise). Jupyter shows the returned
    report as a table. Outside a notebook kernel (a script, or the instructor grading the
    notebook) it only prints how to check there, and returns None.
    """
    ipython = sys.modules.get("IPython")  # a kernel has imported it; nothing else needs to
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        print(f"check() grades the cells of a running notebook; outside one, use "
              f"`gmgrade check {assignment} FILE` in a terminal")
        return None
    from autograder.cli import check_options
    from autograder.runner import GraderUnavailable, grade_cells

    unknown = set(options) - (set(config.OPTIONS) - {"jobs"})
    if unknown:
        raise TypeError(f"check() got an unexpected option {sorted(unknown)[0]!r}; it takes "
                        "timeout, memory, device, sandbox, lang and course")
    wrong = names_problem(assignment, functions)
    if wrong:
        return CheckReport(assignment if isinstance(assignment, str) else "check()", None, {}, wrong)
    try:
        the_course = Course(find_root(course))
        the_course.check_assignment(assignment)
        the_course.check_functions(assignment, functions)
        cfg = config.load({k: options.get(k) for k in config.OPTIONS}, the_course.root)
        i18n.use(cfg.language())
    except (CourseError, config.ConfigError) as e:
        return CheckReport(assignment, None, {}, str(e).replace("--course DIR", "course=DIR"))
    raw = shell.history_manager.input_hist_raw
    current = shell.execution_count
    cells, dropped = history_cells(list(enumerate(raw[1:current + 1], start=1)), current)
    graded = list(functions) or the_course.functions(assignment)
    defined = {f: last_definition(cells, f) for f in graded}
    notes = ([f"{dropped} IPython magic or shell line(s) (starting with % or !) were ignored"]
             if dropped else [])
    if not cells:
        return CheckReport(assignment, None, defined, "No code has run in this notebook yet: run "
                           "the cells with your functions first, then check again.")
    sub = Submission(student="you", cells=[code for _, code in cells],
                     filename=f"{assignment}.ipynb", notes=notes)
    with _kept_random_state():  # the tests seed the generators; the student's session keeps its own
        try:
            result, _ = grade_cells(the_course, assignment, sub, check_options(cfg, functions))
        except GraderUnavailable as e:
            return CheckReport(assignment, None, defined, str(e))
    return CheckReport(assignment, i18n.localize(_with_cell_numbers(result, [n for n, _ in cells]), the_course),
                       defined)


def names_problem(assignment: object, functions: tuple[object, ...]) -> str | None:
    """What is wrong with how ``check`` was called, when its names are not strings: the
    function itself instead of its name, a list of names, a variable instead of a quoted
    assignment name; or None."""
    if not isinstance(assignment, str):
        return (f"check() takes the assignment's name in quotes, e.g. check(\"mle\"); it was "
                f"given {_shown(assignment)}")
    for f in functions:
        if isinstance(f, (list, tuple, set)) and all(isinstance(n, str) for n in f):
            names = ", ".join(f'"{n}"' for n in [assignment, *f])
            return f"give each function name as its own argument: check({names})"
        if not isinstance(f, str):
            name = getattr(f, "__name__", None)
            example = f'"{name}"' if isinstance(name, str) else '"gaussian_mle"'
            return (f"check() takes function names in quotes, e.g. check(\"{assignment}\", "
                    f"{example}); it was given {_shown(f)}")
    return None


def _shown(value: object) -> str:
    """A value as a student would recognise it in a message (functions by their name)."""
    name = getattr(value, "__name__", None)
    kind = type(value).__name__
    return i18n.N_(f"the {kind} {name}") if isinstance(name, str) else f"{repr(value)[:60]} (of type {kind})"


# --------------------------------------------------------------------------- the history


def _check_names(trees: list[ast.Module]) -> tuple[set[str], set[str]]:
    """The names the check is called by: ``check`` and what ``from autograder import check as
    X`` binds; and the names of the ``autograder`` package itself (``autograder.check``)."""
    names, modules = {"check"}, {"autograder"}
    for tree in trees:
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module in ("autograder", "autograder.notebook"):
                names |= {a.asname or a.name for a in node.names if a.name == "check"}
            elif isinstance(node, ast.Import):
                modules |= {a.asname or a.name for a in node.names if a.name == "autograder"}
    return names, modules


def _calls_check(stmt: ast.stmt, names: set[str], modules: set[str]) -> bool:
    if not isinstance(stmt, (ast.Expr, ast.Assign)):
        return False
    for node in ast.walk(stmt.value):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in names:
                return True
            if (isinstance(f, ast.Attribute) and f.attr == "check" and isinstance(f.value, ast.Name)
                    and f.value.id in modules):
                return True
    return False


def history_cells(entries: list[tuple[int, str]], current: int) -> tuple[list[tuple[int, str]], int]:
    """The code to grade from the executed cells ``(execution count, source)``: magics and
    shell lines dropped, check calls dropped, and in the ``current`` cell (the one running
    the check) everything from the first check call on. Returns the cells that still hold
    code, with their execution counts, and how many magic or shell lines were dropped."""
    stripped, dropped = [], 0
    for count, src in entries:
        body, n = strip_magics(src)
        dropped += n
        try:
            tree = ast.parse(body)
        except SyntaxError:
            tree = None  # kept as it is: the worker reports the syntax error for that cell
        stripped.append((count, body, tree))
    names, modules = _check_names([t for _, _, t in stripped if t is not None])
    cells = []
    for count, body, tree in stripped:
        if tree is not None:
            lines = body.splitlines()
            calls = [s for s in tree.body if _calls_check(s, names, modules)]
            if count == current and calls:
                calls = [s for s in tree.body if s.lineno >= calls[0].lineno]
            for s in calls:
                assert s.end_lineno is not None  # ast.parse sets it on every statement
                lines[s.lineno - 1:s.end_lineno] = [""] * (s.end_lineno - s.lineno + 1)
            body = "\n".join(lines)
        if body.strip():
            cells.append((count, body))
    return cells, dropped


def last_definition(cells: list[tuple[int, str]], name: str) -> int | None:
    """The execution count of the last cell that defines ``name`` at its top level."""
    found = None
    for count, code in cells:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound = {node.name}
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                bound = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound = {(a.asname or a.name).split(".")[0] for a in node.names}
            else:
                continue
            if name in bound:
                found = count
    return found


def _with_cell_numbers(result: SubmissionResult, counts: list[int]) -> SubmissionResult:
    """The worker numbers the cells it was given (``cell 3``, ``…#cell3``); the student knows
    them by their execution counts (``In [12]``)."""
    def fix(text: str) -> str:
        text = re.sub(r'File "[^"\n]*#cell(\d+)"',
                      lambda m: f'In [{counts[int(m.group(1)) - 1]}]', text)
        return re.sub(r"\bcell (\d+)\b", lambda m: f"In [{counts[int(m.group(1)) - 1]}]"
                      if int(m.group(1)) <= len(counts) else m.group(0), text)

    tests = tuple(replace(t, output=fix(t.output)) for t in result.tests)
    return replace(result, tests=tests, notes=tuple(fix(n) for n in result.notes),
                   error=fix(result.error) if result.error else None)


@contextmanager
def _kept_random_state() -> Iterator[None]:
    import numpy
    import torch

    saved = random.getstate(), numpy.random.get_state(), torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(saved[0])
        numpy.random.set_state(saved[1])
        torch.set_rng_state(saved[2])


# --------------------------------------------------------------------------- the report


@dataclass
class CheckReport:
    """What ``check`` returns: Jupyter shows it as a table, ``print`` as text."""

    assignment: str
    result: SubmissionResult | None  # None when the check could not run (``problem`` says why)
    defined: dict[str, int | None]  # graded function -> execution count of its last definition
    problem: str | None = None

    @property
    def passed(self) -> bool:
        """True when every public test checked here passed."""
        r = self.result
        return r is not None and bool(r.tests) and r.full_marks and r.status.value == "graded"

    def _cells_line(self) -> str:
        parts = [f"{f} In [{n}]" if n is not None else f"{f} (not defined in any cell you ran)"
                 for f, n in self.defined.items()]
        return i18n.t("Graded the definitions from the cells you ran: {cells}").format(cells=", ".join(parts))

    def __repr__(self) -> str:
        if self.result is None:
            return f"{self.assignment}: {i18n.t(self.problem or '')}"
        return self._cells_line() + "\n\n" + report.check_text(self.result)

    def _repr_html_(self) -> str:
        e = html.escape
        if self.result is None:
            return (f'<div style="border-left:4px solid #b3261e;padding:.4em .8em">'
                    f"<b>{e(i18n.t(f'{self.assignment}: the check could not run'))}</b><pre "
                    f'style="white-space:pre-wrap">{e(i18n.t(self.problem or ""))}</pre></div>')
        r = self.result
        passed = sum(t.passed for t in r.tests)
        cells = "".join(
            f"<tr><td><code>{e(f)}</code></td><td>"
            + (f"In [{n}]" if n is not None else f"<i>{e(i18n.t('not defined in any cell you ran'))}</i>")
            + "</td></tr>" for f, n in self.defined.items())
        rows = "".join(
            f'<tr><td style="color:{"#197a2e" if t.passed else "#b3261e"};font-weight:bold">'
            f'{e(i18n.t("✓ pass") if t.passed else i18n.t("✗ fail"))}</td><td>{e(t.name)}</td>'
            f"<td>{t.score:g}/{t.max_score:g}</td><td>"
            + ("" if t.passed else f'<pre style="white-space:pre-wrap;margin:0">{e(t.output)}</pre>')
            + "</td></tr>" for t in r.tests if not t.hidden)
        extra = "".join(f"<li>{e(n)}</li>" for n in r.notes)
        err = f'<p style="color:#b3261e"><b>{e(r.error)}</b></p>' if r.error else ""
        head = i18n.t(f"{r.assignment}: {passed}/{len(r.tests)} public tests passed")
        tail = i18n.t(f"({r.score:g} / {r.max_score:g} points). Hidden tests are run when your instructor "
                      "grades the assignment.")
        th = "".join(f"<th>{e(i18n.t(x))}</th>" for x in ("graded function", "defined in"))
        th2 = "".join(f"<th>{e(i18n.t(x)) if x else ''}</th>" for x in ("", "test", "points", "feedback"))
        return (f"<div><b>{e(head)}</b> {e(tail)}{err}"
                + (f"<ul>{extra}</ul>" if extra else "")
                + f'<table style="text-align:left"><tr>{th}</tr>{cells}</table>'
                + f'<table style="text-align:left"><tr>{th2}</tr>{rows}</table></div>')
