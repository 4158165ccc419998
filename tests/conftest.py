import os
from pathlib import Path

import pytest

# The feedback's language follows the locale where nothing else chooses it: the tests read
# English unless they ask for another (--lang beats this).
os.environ["GMGRADE_LANG"] = "en"

from autograder.course import Course

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def course() -> Course:
    return Course(ROOT)
