"""Grader-provided objects that student functions receive as arguments.

Small networks, fake language models and oracles cannot cross the trust boundary as
objects. A test names one with :class:`autograder.protocol.Helper` (a registry key and
plain parameters); the worker and the trusted grader each rebuild it here, so both
sides hold identical, deterministic objects.

Each assignment registers its own helpers in a module of this package
(``autograder/helpers/NAME.py``) with :func:`register`; every module is imported on
first use. Helper code is public: it runs inside the sandbox and ships to students.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable

_REGISTRY: dict[str, Callable[..., Any]] = {}
_LOADED = False


def register(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"helper {name!r} registered twice")
        _REGISTRY[name] = fn
        return fn

    return deco


def _load_all() -> None:
    global _LOADED
    if _LOADED:
        return
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
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
    ``WORKER_IMPORTS`` of ``helpers/NAME.py``): a zygote imports them once for every
    worker it forks."""
    found: list[str] = []
    for mod in pkgutil.iter_modules(__path__):
        if mod.name in assignments:
            found += getattr(importlib.import_module(f"{__name__}.{mod.name}"), "WORKER_IMPORTS", ())
    return found


def names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)
