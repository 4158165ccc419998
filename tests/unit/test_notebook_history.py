"""What the in-notebook check grades: the kernel's executed cells, minus magics and checks."""

from autograder.notebook import history_cells, last_definition
from autograder.plugin import mentions


def test_magics_and_check_calls_are_dropped_line_numbers_kept():
    entries = [
        (1, "%load_ext autoreload\nimport torch\nfrom autograder import check"),
        (2, "def f(x):\n    return x + 1"),
        (3, "check('mle')"),
        (4, "!ls\ndef f(x):\n    return 2 * x\nresult = check('mle', 'f')"),
        (5, "%%time\ndef g():\n    pass"),
        (6, "check('mle')\ndef h():\n    pass"),  # the running cell: h is not defined yet
    ]
    cells, dropped = history_cells(entries, current=6)
    assert [n for n, _ in cells] == [1, 2, 4]
    assert cells[0][1] == "\nimport torch\nfrom autograder import check"
    assert cells[2][1] == "\ndef f(x):\n    return 2 * x\n"
    assert dropped == 3  # %load_ext, !ls, the %%time cell
    assert last_definition(cells, "f") == 4
    assert last_definition(cells, "h") is None
    assert last_definition(cells, "torch") == 1


def test_aliases_of_the_check_and_syntax_errors():
    entries = [
        (1, "import autograder as ag\nfrom autograder import check as grade"),
        (2, "ag.check('mle')\nx = 1"),
        (3, "print(grade('mle'))"),
        (4, "def broken(:\n    pass"),  # kept: the worker reports the syntax error
        (5, "y = 2\ngrade('mle')\nz = 3"),
    ]
    cells, _ = history_cells(entries, current=5)
    assert dict(cells) == {1: entries[0][1], 2: "\nx = 1", 4: entries[3][1], 5: "y = 2\n\n"}


def test_tests_are_selected_by_the_functions_they_name():
    assert mentions("gaussian_mle: returns two 0-dim tensors", ("gaussian_mle",))
    assert mentions("mvn_mle and mvn_log_pdf: shapes", ("mvn_log_pdf",))
    assert not mentions("mvn_mle and mvn_log_pdf: shapes", ("gaussian_mle",))
    assert not mentions("bernoulli_mle: the coin", ("mle",))
