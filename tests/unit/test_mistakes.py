"""Known mistakes as edits of the reference: parsing, applying, and a stale edit caught."""

import textwrap

import pytest

from autograder import mistakes
from autograder.cli import main
from autograder.course import Course
from autograder.mistakes import MistakeError
from autograder.results import ExitCode, Status, SubmissionResult, TestResult
from autograder.verify import plan, relevant_tests

REFERENCE = textwrap.dedent('''\
    import torch


    def mean(x):
        """The mean."""
        return x.sum() / x.numel()


    def var(x):
        m = x.sum() / x.numel()
        return ((x - m) ** 2).sum() / x.numel()
    ''')

ONE = '''
[[mistake]]
id = "var_unbiased"
what = "var divides by N − 1."
function = "var"
replace = "((x - m) ** 2).sum() / x.numel()"
by = "((x - m) ** 2).sum() / (x.numel() - 1)"
hint = "unbiased"
caught_by = ["test_var"]
'''


def test_an_edit_applies_inside_its_function_only():
    (m,) = mistakes.parse(ONE, "one.toml")
    out = mistakes.apply(REFERENCE, m)
    assert "return ((x - m) ** 2).sum() / (x.numel() - 1)" in out
    assert "return x.sum() / x.numel()" in out  # mean() untouched though it shares text
    assert out.count("x.numel() - 1") == 1


def test_several_edits_and_a_module_level_edit():
    text = ONE + '''
[[mistake.also]]
function = "mean"
replace = "x.sum() / x.numel()"
by = "x.sum()"

[[mistake.also]]
replace = "import torch"
by = "import math\\nimport torch"
'''
    (m,) = mistakes.parse(text, "t.toml")
    out = mistakes.apply(REFERENCE, m)
    assert out.startswith("import math\nimport torch")
    assert "        return x.sum()\n" in out.replace("    return x.sum()\n", "        return x.sum()\n")


@pytest.mark.parametrize("edit, message", [
    ('function = "var"\nreplace = "x.mean()"', "does not occur in function var"),
    ('function = "var"\nreplace = "x.numel()"', "occurs 2 times in function var"),
    ('function = "variance"\nreplace = "x.numel()"', "has no top-level function 'variance'"),
])
def test_an_edit_that_no_longer_applies_says_which_and_why(edit, message):
    text = f'[[mistake]]\nid = "m"\nwhat = "w"\n{edit}\nby = "y"\nhint = "h"\ncaught_by = ["t"]\n'
    (m,) = mistakes.parse(text, "t.toml")
    with pytest.raises(MistakeError, match="mistake m no longer applies to the reference") as e:
        mistakes.apply(REFERENCE, m)
    assert message in str(e.value)


@pytest.mark.parametrize("text, message", [
    ("[[mistake]]\nid = 'a b'\nwhat = 'w'\nreplace = 'x'\nby = 'y'\nhint = 'h'\ncaught_by = ['t']", "lower-case"),
    ("[[mistake]]\nid = 'a'\nwhat = 'w'\nreplace = 'x'\nby = 'y'\nhint = 'h'\ncaught_by = []", "caught_by"),
    ("[[mistake]]\nid = 'a'\nwhat = 'w'\nreplace = 'x'\nby = 'y'\ncaught_by = ['t']", "'hint' must be"),
    ("[[mistake]]\nid = 'a'\nwhat = 'w'\nreplace = 'x'\nby = 'x'\nhint = 'h'\ncaught_by = ['t']", "the same text"),
    ("[[mistake]]\nid = 'a'\nwhat = 'w'\nreplace = 'x'\nby = 'y'\nhint = 'h'\ncaught_by = ['t']\nhnt = 1",
     "unknown key"),
    ("[[mistake]]\nid = 'a'\nwhat = 'w'\nreplace = 'x'\nby = 'y'\nhint = 'h'\ncaught_by = ['t']\n"
     "[[mistake]]\nid = 'a'\nwhat = 'w'\nreplace = 'x'\nby = 'y'\nhint = 'h'\ncaught_by = ['t']", "used twice"),
    ("[mistake\n", "not valid TOML"),
])
def test_a_malformed_file_is_refused_with_the_reason(text, message):
    with pytest.raises(MistakeError, match=message):
        mistakes.parse(text, "t.toml")


def _course_with(tmp_path, course, toml):
    """A copy of the course's mle material with ``toml`` as its mistakes file."""
    root = tmp_path / "course"
    (root / "assignments" / "mle" / "tests").mkdir(parents=True)
    (root / "solutions" / "mistakes").mkdir(parents=True)
    (root / "assignments" / "mle" / "mle.py").write_text(course.skeleton("mle").read_text())
    (root / "solutions" / "mle.py").write_text(course.solution("mle").read_text())
    (root / "solutions" / "mistakes" / "mle.toml").write_text(toml)
    return Course(root)


def test_verify_reports_a_stale_mistake_of_the_real_reference_before_grading(tmp_path, course):
    """A mistake whose text the reference no longer has is a verify failure that names it."""
    stale = course.mistakes_file("mle").read_text().replace(
        "replace = 'var = ((x - mu) ** 2).mean()'", "replace = 'var = x.var(unbiased=False)'", 1)
    assert stale != course.mistakes_file("mle").read_text()
    checks, problems = plan(_course_with(tmp_path, course, stale), "mle", tmp_path)
    assert problems == ["mistake inplace_centering no longer applies to solutions/mle.py: the text "
                        "'var = x.var(unbiased=False)' does not occur in function gaussian_mle "
                        "(it must occur exactly once)"]
    assert "mistake inplace_centering" not in [c.label for c in checks]
    assert len([c for c in checks if c.mistake]) == len(mistakes.load(course.mistakes_file("mle"))) - 1


def test_every_mistake_of_the_course_applies_to_its_reference(course):
    for name in course.assignments():
        for m in mistakes.load(course.mistakes_file(name)):
            mistakes.apply(course.solution(name).read_text(), m, f"solutions/{name}.py")


def test_the_mistakes_command_lists_and_shows_a_diff(capsys):
    assert main(["mistakes", "mle"]) == 0
    assert "unbiased_variance" in capsys.readouterr().out
    assert main(["mistakes", "mle", "logdet_no_half"]) == 0
    out = capsys.readouterr().out
    assert "--- solutions/mle.py" in out and "+++ mistake logdet_no_half" in out
    assert main(["mistakes", "mle", "no_such"]) == ExitCode.USAGE_ERROR
    assert "has no known mistake 'no_such'" in capsys.readouterr().err


CALLER = REFERENCE + textwrap.dedent('''

    def std(x):
        return var(x) ** 0.5


    def unrelated(x):
        return x
    ''')


def _edit_of(function):
    return mistakes.Mistake("m", "w", "h", ("t",), (mistakes.Edit(function, "x", "y"),))


def test_a_mistake_affects_its_function_and_every_caller():
    assert mistakes.affected(CALLER, _edit_of("var")) == {"var", "std"}
    assert mistakes.affected(CALLER, _edit_of("mean")) == {"mean"}
    assert mistakes.affected(CALLER, _edit_of(None)) is None  # a module-level edit: anything
    assert mistakes.affected(CALLER + "\nprint(std(torch.ones(2)))\n", _edit_of("var")) is None


def _graded(calls, full=True):
    tests = tuple(TestResult(f"{name}[p]", name, 1.0 if full else 0.0, 1.0, full, "", True, calls=c)
                  for name, c in calls.items())
    return SubmissionResult("s", "a", Status.GRADED, tests, float(len(tests)), 0.0)


def test_a_mistake_reruns_only_the_tests_that_called_what_it_changes():
    graded = _graded({"test_std": ("std",), "test_mean": ("mean",), "test_all": ("mean", "var"),
                      "test_none": ()})
    assert relevant_tests(CALLER, _edit_of("var"), graded) == {"test_std", "test_all"}
    assert relevant_tests(CALLER, _edit_of("unrelated"), graded) == set()
    assert relevant_tests(CALLER, _edit_of(None), graded) is None
    # without a reference run that recorded its calls with full marks: every test
    assert relevant_tests(CALLER, _edit_of("var"), _graded({"test_std": ("std",)}, full=False)) is None
    assert relevant_tests(CALLER, _edit_of("var"), _graded({"test_std": None})) is None
