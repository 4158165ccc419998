"""Result records: frozen dataclasses with an explicit ``to_dict`` (JSON, never pickle)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ExitCode(enum.IntEnum):
    OK = 0
    TESTS_FAILED = 1
    GRADER_ERROR = 2
    USAGE_ERROR = 3


class Status(str, enum.Enum):
    GRADED = "graded"
    ERROR = "error"
    TIMEOUT = "timeout"
    MISSING = "missing"  # on the roster, but nothing was submitted (autograder/lms.py)


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest test class (for test modules that import it)

    test_id: str  # short, stable id (the test function name with parameters)
    name: str  # what students read
    score: float
    max_score: float
    passed: bool
    output: str
    hidden: bool
    timed_out: bool = False
    grader_error: bool = False
    calls: tuple[str, ...] | None = None  # the student's functions it called (verify only)

    @property
    def visibility(self) -> str:
        return "after_published" if self.hidden else "visible"

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "name_format": "text",
            "score": self.score,
            "max_score": self.max_score,
            "status": "passed" if self.passed else "failed",
            "output": self.output,
            "output_format": "text",
            "visibility": self.visibility,
            "extra_data": {"id": self.test_id, "timed_out": self.timed_out,
                           "grader_error": self.grader_error,
                           **({"calls": list(self.calls)} if self.calls is not None else {})},
        }

    @classmethod
    def from_dict(cls, d: dict) -> "TestResult":
        extra = d.get("extra_data", {})
        return cls(test_id=extra["id"], name=d["name"], score=float(d["score"]),
                   max_score=float(d["max_score"]), passed=d["status"] == "passed",
                   output=d["output"], hidden=d["visibility"] != "visible",
                   timed_out=bool(extra.get("timed_out")), grader_error=bool(extra.get("grader_error")),
                   calls=tuple(extra["calls"]) if "calls" in extra else None)


@dataclass(frozen=True)
class SubmissionResult:
    student: str
    assignment: str
    status: Status
    tests: tuple[TestResult, ...]
    max_score: float
    execution_time: float
    notes: tuple[str, ...] = field(default_factory=tuple)
    error: str | None = None

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 6)

    @property
    def full_marks(self) -> bool:
        """All the points of at least one test (a submission that never reached its tests,
        with nothing to score, does not have full marks)."""
        return self.max_score > 0 and self.score >= self.max_score - 1e-9

    def output_text(self) -> str:
        lines = []
        if self.error:
            lines.append(self.error)
        lines.extend(self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": round(self.execution_time, 3),
            "output": self.output_text(),
            "output_format": "text",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [t.to_dict() for t in self.tests],
            "extra_data": {"student": self.student, "assignment": self.assignment,
                           "status": self.status.value, "notes": list(self.notes),
                           "error": self.error},
        }

    @classmethod
    def from_dict(cls, d: dict) -> "SubmissionResult":
        extra = d["extra_data"]
        return cls(student=extra["student"], assignment=extra["assignment"],
                   status=Status(extra["status"]),
                   tests=tuple(TestResult.from_dict(t) for t in d["tests"]),
                   max_score=float(d["max_score"]), execution_time=float(d["execution_time"]),
                   notes=tuple(extra.get("notes", [])), error=extra.get("error"))
