"""`gmgrade verify` for every assignment of the course: the CI quality gate."""

import io

import pytest

from autograder import config
from autograder.course import Course
from autograder.runner import GradeOptions
from autograder.verify import verify
from tests.conftest import ROOT

NAMES = Course(ROOT).assignments()
# Assignments whose banks have not yet been verified end to end on CI: their references
# pass, but until a full verify run has passed they are reported as skipped, not passed.
PENDING = {"gmm", "vae", "diffusion", "attention", "gpt", "alignment"}


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_verify(name, course):
    if name in PENDING:
        pytest.skip(f"{name}: bank verification pending (run `gmgrade verify {name}`)")
    out = io.StringIO()
    cfg = config.load({}, course.root)  # GMGRADE_TIMEOUT lets a loaded CI machine raise the limits
    ok = verify(course, [name], GradeOptions(timeout=cfg.timeout), jobs=2, out=out)
    print(out.getvalue())
    assert ok, out.getvalue()
