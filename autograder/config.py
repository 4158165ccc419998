"""Typed configuration: command line > environment (``GMGRADE_*``) > ``[tool.gmgrade]`` in
the course's ``pyproject.toml`` > defaults. Every invalid value is reported with its source."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from autograder.errors import UsageError
from autograder.options import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, LANGS

if TYPE_CHECKING:
    from autograder.options import GradeOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# key: (default, parser, description)
OPTIONS: dict[str, tuple[Any, Callable[[str], Any], str]] = {}
TABLES = ("late", "gradebook")  # [tool.gmgrade.late] and .gradebook: read by autograder/gradebook.py


class ConfigError(UsageError, ValueError):
    pass


def _positive_int(v: Any) -> int:
    try:
        i = int(v)
    except (TypeError, ValueError):
        raise ValueError("must be a whole number, e.g. 2") from None
    if i < 1:
        raise ValueError("must be at least 1")
    return i


def _positive_float(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError("must be a number of seconds, e.g. 10") from None
    if not f > 0:
        raise ValueError("must be positive")
    return f


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(v: Any) -> str:
        if str(v) not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return str(v)
    return parse


OPTIONS.update({
    "jobs": (os.cpu_count() or 1, _positive_int, "submissions graded in parallel"),
    "timeout": (DEFAULT_TIMEOUT, _positive_float, "seconds per test"),
    "memory": (DEFAULT_MEMORY_MB, _positive_int, "MB of memory per submission"),
    "device": ("auto", _choice("auto", "cpu", "cuda"), "where student code runs"),
    "sandbox": ("auto", _choice("auto", "bwrap", "process"), "sandbox backend"),
    "lang": ("auto", _choice("auto", *LANGS), "language of the feedback (auto: the locale's)"),
})


@dataclass(frozen=True)
class Config:
    jobs: int
    timeout: float
    memory: int
    device: str
    sandbox: str
    lang: str = "auto"

    def language(self) -> str:
        """The feedback's language: ``auto`` is the user's locale's, where translated."""
        from autograder import i18n

        return i18n.from_locale() if self.lang == "auto" else self.lang

    def resolved_device(self) -> str:
        if self.device != "auto":
            if self.device == "cuda":
                import torch

                if not torch.cuda.is_available():
                    raise ConfigError("--device cuda: CUDA is not available on this machine")
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def grade_options(self, include_hidden: bool, executor: str = "local") -> "GradeOptions":
        """The options of one submission's grading, from this configuration: the one way
        ``check``, ``grade``, ``verify``, the Gradescope and the otter autograders get them.
        On a Ray cluster the GPUs are the workers' (checked against the cluster's resources
        before anything is submitted), so ``cuda`` is not checked here and ``auto`` means cpu."""
        from autograder.options import GradeOptions

        device = self.resolved_device() if executor == "local" else ("cuda" if self.device == "cuda" else "cpu")
        return GradeOptions(timeout=self.timeout, memory_mb=self.memory, device=device,
                            sandbox=self.sandbox, include_hidden=include_hidden)


def load(cli: dict[str, Any], course_root: Path | None) -> Config:
    file_values: dict[str, Any] = {}
    pyproject = course_root / "pyproject.toml" if course_root else None
    if pyproject and pyproject.exists():
        try:
            data = tomllib.loads(pyproject.read_text())
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{pyproject}: {e}") from None
        file_values = data.get("tool", {}).get("gmgrade", {})
        for key in file_values:
            if key not in OPTIONS and key not in TABLES:
                raise ConfigError(f"{pyproject} [tool.gmgrade]: unknown key {key!r}; known: "
                                  f"{', '.join(OPTIONS)}")
    values = {}
    for key, (default, parse, _) in OPTIONS.items():
        env_key = f"GMGRADE_{key.upper()}"
        if cli.get(key) is not None:
            raw, source = cli[key], f"--{key}"
        elif env_key in os.environ:
            raw, source = os.environ[env_key], f"environment variable {env_key}"
        elif key in file_values:
            raw, source = file_values[key], f"[tool.gmgrade] {key} in {pyproject}"
        else:
            values[key] = default
            continue
        try:
            values[key] = parse(raw)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{source} = {raw!r}: {e}") from None
    return Config(**values)
