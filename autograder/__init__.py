"""gmgrade: the autograder for a course on generative models.

The public API, each name imported on first use (importing the package stays cheap: the
worker and ``gmgrade check`` import it before torch)::

    from autograder import check                  # in a notebook: check("mle")
    from autograder import Course, GradeOptions, grade_path, grade_batch, verify

Test authors import from :mod:`autograder.testing` (checks, points, time limits).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "check": "autograder.notebook",  # the in-notebook check
    "Course": "autograder.course",  # where a course's material lives
    "find_root": "autograder.course",
    "GradeOptions": "autograder.options",  # how one submission is graded
    "load_config": "autograder.config",  # options from the command line, GMGRADE_*, [tool.gmgrade]
    "grade_path": "autograder.runner",  # grade one submission (file, notebook, folder, zip)
    "grade_batch": "autograder.batch",  # grade a folder of students into an output folder
    "verify": "autograder.verify",  # the course's quality gate
    "SubmissionResult": "autograder.results",
    "TestResult": "autograder.results",
    "Status": "autograder.results",
    "ExitCode": "autograder.results",
    "StudentFacing": "autograder.errors",  # the error hierarchy
    "UsageError": "autograder.errors",
    "GraderError": "autograder.errors",
}
_RENAMED = {"load_config": "load"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'autograder' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), _RENAMED.get(name, name))


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
