"""`gmgrade verify` for every assignment of the course: the CI quality gate."""

import io

import pytest

from autograder import config
from autograder.course import Course
from autograder.runner import GradeOptions
from autograder.verify import verify_each
from tests.conftest import ROOT

NAMES = Course(ROOT).assignments()


@pytest.fixture(scope="module")
def verdicts(course):
    """One verify run over the whole course (one pool: both cores busy to the end)."""
    cfg = config.load({}, course.root)  # GMGRADE_TIMEOUT lets a loaded CI machine raise the limits
    return verify_each(course, NAMES, GradeOptions(timeout=cfg.timeout), jobs=2, out=io.StringIO())


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_verify(name, verdicts):
    ok, report = verdicts[name]
    print(report)
    assert ok, report
