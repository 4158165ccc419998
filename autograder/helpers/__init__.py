"""Grader-provided objects that student functions receive as arguments.

Small networks, fake language models and oracles cannot cross the trust boundary as
objects. A test names one with :class:`autograder.protocol.Helper` (a registry key and
plain parameters); the worker and the trusted grader each rebuild it here, so both
sides hold identical, deterministic objects.

This package is the registry (:func:`register`, :func:`build`) and the helpers several
assignments share (``common.py``). An assignment's own helpers live with it, in
``assignments/NAME/helpers.py`` (public: helper code runs inside the sandbox and ships to
students), and register there. Python imports that file as ``autograder.helpers.NAME``: a
finder at the end of ``sys.meta_path`` maps the name to the file, so that tests, references
and notebooks import it as a module of this package, wherever the course lies. The files
found (:func:`files`) are:

* in a worker, exactly those the sandbox gave it, listed in ``$GMGRADE_HELPERS``
  (``autograder/sandbox.py``; under bwrap each one alone is bound read-only at
  ``/grader/assignments/NAME/helpers.py``);
* elsewhere, those of the course whose tests this process runs (:func:`use`), or else of the
  course :func:`autograder.course.find_root` finds (a notebook, a unit test).

Every helper module is imported on first use of the registry.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import pkgutil
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

ENV = "GMGRADE_HELPERS"  # the helper files a worker may import, os.pathsep between them

_REGISTRY: dict[str, Callable[..., Any]] = {}
_LOADED = False
_ROOT: Path | None = None  # the course whose helpers this process imports (None: find_root)


def register(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"helper {name!r} registered twice")
        _REGISTRY[name] = fn
        return fn

    return deco


def use(root: Path) -> None:
    """Import the helpers of the course folder ``root`` (the grader calls it for the course
    whose tests it runs; one course per process)."""
    global _ROOT
    _ROOT = root


def worker_env(paths: Iterable[str]) -> dict[str, str]:
    """The environment that gives a worker the helpers files at ``paths`` (as it sees them)."""
    return {ENV: os.pathsep.join(paths)}


def files() -> dict[str, Path]:
    """Assignment name -> the file of its helpers, for every one this process may import."""
    listed = os.environ.get(ENV)
    if listed is not None:
        return {Path(p).parent.name: Path(p) for p in listed.split(os.pathsep) if p}
    from autograder.course import Course, CourseError, find_root

    try:
        course = Course(_ROOT or find_root())
    except CourseError:
        return {}  # no course here: the engine's own helpers only
    return {a: f for a in course.assignments() for f in course.helper_files(a)}


class _AssignmentHelpers(importlib.abc.MetaPathFinder):
    """Finds ``autograder.helpers.NAME`` in ``assignments/NAME/helpers.py`` (see above)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: Any = None) -> ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        file = files().get(name) if package == __name__ else None
        return importlib.util.spec_from_file_location(fullname, file) if file else None


sys.meta_path.append(_AssignmentHelpers())


def _load_all() -> None:
    global _LOADED
    if _LOADED:
        return
    for name in [m.name for m in pkgutil.iter_modules(__path__)] + sorted(files()):
        importlib.import_module(f"{__name__}.{name}")
    _LOADED = True


def build(name: str, params: dict) -> Any:
    """Build the helper called ``name`` from plain ``params``."""
    _load_all()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown grader helper {name!r}; known: {sorted(_REGISTRY)}") from None
    return factory(**params)


def worker_imports(assignments: list[str]) -> list[str]:
    """Modules the helpers of ``assignments`` import lazily on first use (the
    ``WORKER_IMPORTS`` of ``assignments/NAME/helpers.py``): a zygote imports them once for
    every worker it forks."""
    found: list[str] = []
    for name in sorted(files().keys() & set(assignments)):
        found += getattr(importlib.import_module(f"{__name__}.{name}"), "WORKER_IMPORTS", ())
    return found


def names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)
