"""The pytest plugin that runs grading tests in the trusted process.

It provides the fixtures tests use (``student``, ``reference``, ``rng``), seeds every
test from its id, loads the hypothesis grading profile, reads points and time limits
from the markers beside each test, and records one outcome per expected test. It never
reads anything the student's code printed or wrote.

With ``serve`` set (a batch's warm template, :mod:`autograder.warm`), the session stops
after collection and ``serve`` gets a function that runs the collected tests for one
student, which it calls in a fork per submission. The fork loads the reference when a
test first asks for it, as a fresh session does (it takes about a millisecond).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import importlib.util
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pytest
import torch

from autograder import contracts, testing
from autograder.errors import StudentFacing
from autograder.options import DEFAULT_TIMEOUT
from autograder.protocol import Helper
from autograder.student import StudentProxy
from autograder.worker import seed_everything

if sys.version_info < (3, 11):  # pragma: no cover - Python 3.10: hypothesis' own backport
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:
    from autograder.runner import Tests

GRADING_PROFILE = "gmgrade-grading"
DEFAULT_MAX_EXAMPLES = 30


def register_hypothesis_profile(max_examples: int = DEFAULT_MAX_EXAMPLES) -> None:
    from hypothesis import HealthCheck, Phase, settings

    settings.register_profile(
        GRADING_PROFILE,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=max_examples,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )
    settings.load_profile(GRADING_PROFILE)


def test_seed(nodeid: str) -> int:
    return int(hashlib.sha256(nodeid.encode()).hexdigest()[:8], 16)


@dataclass
class Expected:
    nodeid: str
    test_id: str
    name: str
    points: float
    hidden: bool
    timeout: float


@dataclass
class Outcome:
    passed: bool
    output: str
    timed_out: bool = False
    grader_error: bool = False
    staff_detail: str = ""


class Reference:
    """The hidden reference solution, called in the trusted process.

    Arguments that are :class:`Helper` specs are built here exactly as the worker builds
    them, so ``student.f(*args)`` and ``reference.f(*args)`` see the same objects.
    """

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Callable[..., Any]:
        fn = getattr(self._module, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return fn(*_build(args), **_build(kwargs))

        return call


def _build(value: Any) -> Any:
    if isinstance(value, Helper):
        return value.build()
    if type(value) is tuple:
        return tuple(_build(v) for v in value)
    if type(value) is list:
        return [_build(v) for v in value]
    if type(value) is dict:
        return {k: _build(v) for k, v in value.items()}
    return value


def load_module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"gmgrade_reference_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_FIXTURE_ARG = re.compile(r"^\s*(student|reference|rng)=.*$\n?", re.MULTILINE)


def _clean_example(note: str) -> str:
    """Hypothesis' falsifying example without the fixtures (only the generated inputs)."""
    return _FIXTURE_ARG.sub("", note)


def _feedback_from(exc: BaseException) -> tuple[str | None, bool]:
    """The student-facing text of a failure, or None if it is a grader fault."""
    notes = [n for n in getattr(exc, "__notes__", []) if isinstance(n, str)]
    example = "\n".join(_clean_example(n) for n in notes if "Falsifying example" in n)
    timed_out = isinstance(exc, StudentFacing) and exc.timed_out
    if isinstance(exc, StudentFacing):
        text = exc.feedback
    elif isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if isinstance(e, StudentFacing)]
        if not inner:
            return None, False
        text = inner[0].feedback
        name = type(exc).__name__
        if "Flaky" in name:
            text = ("your function gave different answers when called again with the same "
                    "input (it must be deterministic):\n" + text)
        timed_out = inner[0].timed_out
    elif isinstance(exc, AssertionError):
        text = str(exc) or "a check failed"
    else:
        return None, False
    if example:
        text += "\n  Minimal failing input found by hypothesis:\n" + example.replace(
            "Falsifying example:", "   ")
    return text, timed_out


class GradingPlugin:
    def __init__(self, *, assignment: str, public_dirs: list[Path],
                 make_student: Callable[[], StudentProxy] | None,
                 reference_path: Path | None, default_timeout: float,
                 max_examples: int = DEFAULT_MAX_EXAMPLES, functions: tuple[str, ...] = (),
                 tests: tuple[str, ...] = (), skeleton: Path | None = None) -> None:
        self.assignment = assignment
        self.public_dirs = [p.resolve() for p in public_dirs]
        self.make_student = make_student
        self.reference_path = reference_path
        self.default_timeout = default_timeout
        self.max_examples = max_examples
        self.functions = functions
        self.tests = tests
        # the skeleton's parameter names, to describe a call a check was not told about
        self.signatures = contracts.signatures(skeleton) if skeleton is not None and skeleton.is_file() else {}
        self.expected: list[Expected] = []
        self.calls: dict[str, list[str]] = {}  # nodeid -> the student's functions it called
        self.outcomes: dict[str, Outcome] = {}
        self._student: StudentProxy | None = None
        self._reference: Reference | None = None
        self.collect_errors: list[str] = []
        self.serve: Callable[[Tests], None] | None = None

    def _limit(self, item: pytest.Item) -> float:
        """A test's time limit: the default (``--timeout``), or its own ``@timeout``
        scaled by the same factor, so a slower grading machine can raise every limit."""
        marker = item.get_closest_marker("gm_timeout")
        if marker is None:
            return self.default_timeout
        return marker.args[0] * self.default_timeout / DEFAULT_TIMEOUT

    # ------------------------------------------------------------------ hooks
    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "gm_points(n): points for this test")
        config.addinivalue_line("markers", "gm_timeout(s): time limit for this test")
        config.addinivalue_line("markers", "slow: end-to-end test")
        config.addinivalue_line("markers", "gpu: needs CUDA")
        register_hypothesis_profile(self.max_examples)

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        if file_path.name == contracts.FILENAME:
            return contracts.ContractFile.from_parent(parent, path=file_path)
        return None

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext[-3000:]}")

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        for item in items:
            points = item.get_closest_marker("gm_points")
            path = Path(str(item.fspath)).resolve()
            hidden = not any(path.is_relative_to(d) for d in self.public_dirs)
            fn = getattr(item, "function", None)
            doc = (fn.__doc__ or "").strip().splitlines() if fn is not None else []
            name = doc[0].strip() if doc else item.name
            param = item.name[len(item.originalname):] if hasattr(item, "originalname") else ""
            if param and doc:
                name += f" {param}"
            self.expected.append(Expected(
                nodeid=item.nodeid, test_id=item.name, name=name,
                points=points.args[0] if points else 1.0, hidden=hidden,
                timeout=self._limit(item)))
        if self.functions:  # only the tests whose name (the docstring's first line) mentions one
            self._keep(items, {e.nodeid for e in self.expected if mentions(e.name, self.functions)},
                       config)
        if self.tests:
            self._keep(items, self._named(self.tests), config)

    def _named(self, tests: tuple[str, ...]) -> set[str]:
        """The node ids of the test functions called ``tests`` (any parameters)."""
        return {e.nodeid for e in self.expected if e.test_id.split("[", 1)[0] in tests}

    def _keep(self, items: list[pytest.Item], chosen: set[str], config: pytest.Config) -> None:
        config.hook.pytest_deselected(items=[i for i in items if i.nodeid not in chosen])
        items[:] = [i for i in items if i.nodeid in chosen]
        self.expected = [e for e in self.expected if e.nodeid in chosen]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        if self.serve is None:
            return None  # pytest's own loop runs the tests
        serve, self.serve = self.serve, None
        if not self.collect_errors:  # else nothing is served: a fresh session reports them
            def run_for(make_student: Callable[[], StudentProxy], only: tuple[str, ...] = ()) -> GradingPlugin:
                """In a fork of this collected session: every test (or the test functions
                ``only``), for one student."""
                self.make_student = make_student
                if only:
                    self._keep(session.items, self._named(only), session.config)
                try:
                    session.config.hook.pytest_runtestloop(session=session)
                finally:
                    self.close()
                return self

            serve(run_for)
        return True  # the collected session itself runs no test

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" and report.passed:
            self.outcomes.setdefault(item.nodeid, Outcome(True, "passed"))
        if report.skipped:
            self.outcomes[item.nodeid] = Outcome(False, "this test was skipped")
            return
        if not report.failed:
            return
        exc = call.excinfo.value if call.excinfo else None
        if exc is None:
            return
        text, timed_out = _feedback_from(exc)
        if text is None:
            detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self.outcomes[item.nodeid] = Outcome(
                False, _unexpected_feedback(exc, item), grader_error=True, staff_detail=detail[-6000:])
        else:
            if report.when == "teardown" and item.nodeid in self.outcomes:
                return
            self.outcomes[item.nodeid] = Outcome(False, text, timed_out=timed_out)

    # ------------------------------------------------------------------ fixtures
    @pytest.fixture(scope="session")
    def student(self) -> StudentProxy:
        if self.make_student is None:
            pytest.fail("no student submission is attached to this run")
        if self._student is None:
            self._student = self.make_student()
        return self._student

    @pytest.fixture(scope="session")
    def reference(self) -> Reference:
        if self.reference_path is None:
            pytest.skip("the reference solution is not available here")
        if self._reference is None:
            self._reference = Reference(load_module(self.reference_path, self.assignment))
        return self._reference

    @pytest.fixture(autouse=True)
    def _per_test(self, request: pytest.FixtureRequest) -> Any:
        seed = test_seed(request.node.nodeid)
        seed_everything(seed)
        proxy = None
        if "student" in request.fixturenames:
            proxy = request.getfixturevalue("student")
            proxy._start_test(self._limit(request.node), seed)
            testing.last_call = functools.partial(self._last_call, proxy)
        yield
        if proxy is not None:
            self.calls[request.node.nodeid] = list(proxy.called)
            proxy._finish_test()

    def _last_call(self, proxy: StudentProxy) -> tuple[str, dict[str, Any]]:
        """How ``proxy``'s last call reads in feedback (see :data:`testing.last_call`)."""
        if proxy.last_call is None:
            return "your function", {}
        return contracts.describe_call(*proxy.last_call, self.signatures)

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> torch.Generator:
        """A torch.Generator seeded from this test's id."""
        return torch.Generator().manual_seed(test_seed(request.node.nodeid))

    def close(self) -> None:
        if self._student is not None:
            self._student._session.close()


def mentions(name: str, functions: tuple[str, ...]) -> bool:
    """True when the test name ``name`` names one of ``functions`` as a whole word."""
    return any(re.search(rf"(?<![\w.]){re.escape(f)}(?!\w)", name) for f in functions)


def _unexpected_feedback(exc: BaseException, item: pytest.Item) -> str:
    """What the student reads when the test itself raised (not a check that failed).

    Tests are verified against the reference and correct alternatives, so when the
    student's functions had answered, the likely cause is an answer of an unexpected
    structure (a tensor where a tuple belongs, a tuple too short, …): say so. The staff
    log keeps the traceback and the test still counts as a grader fault for the staff.
    """
    proxy = getattr(item, "funcargs", {}).get("student")
    answered = getattr(proxy, "answered", None)
    if not answered:
        return "the autograder failed on this test — your instructor has the details"
    fns = ", ".join(f"{f}()" for f in answered)
    return (f"this test could not use what {fns} returned ({type(exc).__name__}: "
            f"{_cut(str(exc), 200)}). Check each return value against the skeleton's docstring: "
            "a tensor or a tuple (with how many items?), its shape and its dtype. If it matches, "
            "tell your instructor: the details are in the staff log.")


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def run_pytest(files: list[Path], plugin: GradingPlugin, rootdir: Path) -> int:
    args = [str(f) for f in files] + [
        "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--rootdir", str(rootdir),
        "-o", "python_files=test_*.py", "-o", "addopts=", "-o", "console_output_style=classic",
        "-W", "ignore::DeprecationWarning", "--no-header", "-rN", "--tb=no",
        "--import-mode=importlib", "--assert=plain",  # tests report through expect_*: no rewriting
        # prints are captured in Python only: file descriptors are left alone, so a fork of a
        # collected session (autograder.warm) shares no capture file with its siblings
        "--capture=sys",
        # these only turn exceptions in __del__ and threads into warnings (which grading
        # ignores), and pay five full garbage collections when the session ends
        "-p", "no:unraisableexception", "-p", "no:threadexception",
    ]
    sys.dont_write_bytecode = True
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            return int(pytest.main(args, plugins=[plugin]))
    finally:
        plugin.close()
