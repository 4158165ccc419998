"""CPU/CUDA parity: each reference solution graded with --device cuda scores what it
scores on the CPU, test by test. Skipped without CUDA."""

import pytest
import torch

from autograder.batch import grade_one_isolated
from autograder.course import Course
from autograder.runner import GradeOptions
from tests.conftest import ROOT

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


@pytest.mark.parametrize("name", Course(ROOT).assignments())
def test_reference_scores_the_same_on_cuda(name, course):
    sol = course.solution(name)
    cpu, _ = grade_one_isolated(course, name, "cpu", sol, GradeOptions(device="cpu"))
    cuda, log = grade_one_isolated(course, name, "cuda", sol, GradeOptions(device="cuda"))
    assert cpu.full_marks, [t.output for t in cpu.tests if not t.passed]
    diff = [(a.test_id, b.output) for a, b in zip(cpu.tests, cuda.tests) if a.passed != b.passed]
    assert not diff, (diff, log)
