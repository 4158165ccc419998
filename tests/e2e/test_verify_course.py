"""`gmgrade verify` for every assignment of the course: the CI quality gate."""

import io

import pytest

from autograder import config
from autograder.course import Course
from autograder.runner import GradeOptions
from autograder.verify import verify
from tests.conftest import ROOT

NAMES = Course(ROOT).assignments()


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_verify(name, course):
    out = io.StringIO()
    cfg = config.load({}, course.root)  # GMGRADE_TIMEOUT lets a loaded CI machine raise the limits
    ok = verify(course, [name], GradeOptions(timeout=cfg.timeout), jobs=2, out=out)
    print(out.getvalue())
    assert ok, out.getvalue()
