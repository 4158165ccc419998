"""The one error hierarchy of gmgrade.

- :class:`StudentFacing` — a failure whose ``feedback`` speaks to the student, shown in their
  results (a failed check, their function's exception, a time-out). ``timed_out`` marks the
  ones that ran out of time. Checks raise it as an ``AssertionError``; failures that do not
  depend on a test's input (a missing function, a crash) as a ``BaseException``, so that
  hypothesis stops at once (:mod:`autograder.student`).
- :class:`UsageError` — what the person running gmgrade must fix (a wrong path, option,
  assignment name or course file); the command says it in one sentence and exits with 3.
- :class:`GraderError` — the grader itself could not do its job (its worker did not start,
  the tests could not be collected); exit code 2, details for staff.

Anything else escaping a command is a bug in gmgrade and keeps its traceback.
"""

from __future__ import annotations

from autograder.results import ExitCode


class StudentFacing:
    """Mixed into the exceptions whose message is written for the student."""

    timed_out = False

    def __init__(self, feedback: str) -> None:
        super().__init__(feedback)
        self.feedback = feedback


class UsageError(Exception):
    exit_code = ExitCode.USAGE_ERROR


class GraderError(Exception):
    exit_code = ExitCode.GRADER_ERROR


class TestsNotCollected(GraderError):
    """The assignment's grading tests could not be collected (a broken test file)."""

    __test__ = False  # not a pytest test class
