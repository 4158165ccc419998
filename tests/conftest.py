from pathlib import Path

import pytest

from autograder.course import Course

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def course() -> Course:
    return Course(ROOT)
