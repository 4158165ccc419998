"""Command-line mistakes, the pure parts: what a wrong path, a wrong kind of file, a broken
notebook, an output path that cannot be written or a wrong name in ``check()`` says."""

from pathlib import Path

import pytest

from autograder.batch import rejection
from autograder.cli import _output_path, build_parser
from autograder.course import CourseError
from autograder.notebook import names_problem
from autograder.results import ExitCode
from autograder.submission import SubmissionError, load


def problem(path, assignment="mle"):
    with pytest.raises(SubmissionError) as e:
        load(path, assignment)
    return str(e.value)


def test_a_missing_file_says_what_to_give_instead(tmp_path):
    assert problem(tmp_path / "missing.py") == (
        f"{tmp_path / 'missing.py'} does not exist; give the path of your mle.py, mle.ipynb, or "
        "a folder or .zip holding one")


@pytest.mark.parametrize("name", ["notes.txt", "mle.pdf", "mle"])
def test_a_file_of_the_wrong_kind_is_refused_without_reading_it(tmp_path, name):
    (tmp_path / name).write_text("def gaussian_mle(x): ...")
    assert problem(tmp_path / name) == (f"{name} is not a submission for mle; submit mle.py, "
                                        "mle.ipynb, or a folder or .zip holding one")


def test_a_notebook_that_is_not_json_says_where_it_breaks(tmp_path):
    p = tmp_path / "mle.ipynb"
    p.write_text('{"cells": [\n  {"cell_type": "code",,}\n')
    text = problem(p)
    assert text.startswith("mle.ipynb is not a valid Jupyter notebook: it is not valid JSON (")
    assert "at line 2, column 24" in text and "save it again" in text


def test_an_unreadable_file_is_a_clear_error(tmp_path, monkeypatch):
    p = tmp_path / "mle.py"
    p.write_text("x = 1")

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert problem(p) == (f"cannot read {p} (Permission denied); make sure the file can be "
                          "read, or copy it somewhere it can")


def test_a_folder_without_the_file_says_what_to_name_it(tmp_path):
    (tmp_path / "readme.md").write_text("hi")
    assert problem(tmp_path).endswith("; put your work in a file of that name there")


def test_batch_entries_are_rejected_with_the_reason_or_accepted(tmp_path):
    (tmp_path / "frank.txt").write_text("I forgot my notebook")
    (tmp_path / "alice.py").write_text("def gaussian_mle(x):\n    return x\n")
    assert rejection(tmp_path / "frank.txt", "mle").startswith("frank.txt is not a submission for mle")
    assert rejection(tmp_path / "alice.py", "mle") is None


def test_output_paths_that_cannot_be_written_as_asked(tmp_path):
    f = tmp_path / "grades"
    f.write_text("an old file")
    with pytest.raises(CourseError, match=r"is a file, not a folder; give a folder"):
        _output_path(f, folder=True)
    with pytest.raises(CourseError, match=r"lies under .*grades, which is a file"):
        _output_path(f / "out", folder=True)
    with pytest.raises(CourseError, match=r"is a folder; give the name of the zip file"):
        _output_path(tmp_path, folder=False)
    assert _output_path(tmp_path / "new" / "out", folder=True) == tmp_path / "new" / "out"
    assert _output_path(tmp_path, folder=True) == tmp_path
    assert _output_path(f, folder=False) == f  # a zip file written again


def test_check_names_that_are_not_strings():
    def gaussian_mle(x):
        return x

    assert names_problem("mle", ("gaussian_mle", "bernoulli_mle")) is None
    assert names_problem("mle", (gaussian_mle,)) == (
        'check() takes function names in quotes, e.g. check("mle", "gaussian_mle"); it was given '
        "the function gaussian_mle")
    assert names_problem("mle", (["gaussian_mle", "bernoulli_mle"],)) == (
        'give each function name as its own argument: check("mle", "gaussian_mle", "bernoulli_mle")')
    assert names_problem(3, ()) == ('check() takes the assignment\'s name in quotes, e.g. '
                                    'check("mle"); it was given 3 (of type int)')


def test_argument_mistakes_exit_with_the_usage_code(capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["check"])
    assert e.value.code == ExitCode.USAGE_ERROR
    assert "the following arguments are required: assignment" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["grade", "mle", "subs"])  # no --out
    assert e.value.code == ExitCode.USAGE_ERROR
