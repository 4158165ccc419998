"""How one submission is graded: the options every grading path shares. Free of torch, so
that a command can read them (and start the student's worker) before importing it."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TIMEOUT = 10.0  # seconds per test unless --timeout says otherwise
DEFAULT_MEMORY_MB = 4096  # per submission unless --memory says otherwise
LANGS = ("en", "ja")  # the languages of the feedback (autograder/i18n.py); English first


@dataclass(frozen=True)
class GradeOptions:
    timeout: float = DEFAULT_TIMEOUT  # per test, seconds; tests' own @timeout limits scale with it
    memory_mb: int = DEFAULT_MEMORY_MB
    device: str = "cpu"
    sandbox: str = "auto"
    include_hidden: bool = True
    max_examples: int = 30
    cell_timeout: float = 10.0
    load_timeout: float = 60.0
    # check: a worker that cannot start, or tests that cannot be collected, raise
    # GraderUnavailable once instead of failing every test (batches record a grader fault)
    report_grader_failure: bool = False
    functions: tuple[str, ...] = ()  # check: only the tests whose name mentions one of these
    # verify: only these test functions (names without parameters), and which of the
    # student's functions each test called (TestResult.calls)
    tests: tuple[str, ...] = ()
    record_calls: bool = False
