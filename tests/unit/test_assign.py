import json

import pytest

from autograder.assign import MarkerError, percent_cells, stale_files, strip_solution, to_notebook

SRC = '''# %% [markdown]
# # Title
# text

# %%
def f(x):
    """Doc."""
    # BEGIN SOLUTION
    y = x + 1
    return y
    # END SOLUTION


class A:
    def g(self):
        # BEGIN SOLUTION
        return 2
        # END SOLUTION
'''


def test_strip_replaces_blocks_at_their_indentation():
    out = strip_solution(SRC)
    assert "y = x + 1" not in out and "return 2" not in out
    assert '    """Doc."""\n    # YOUR CODE HERE\n    raise NotImplementedError' in out
    assert "        # YOUR CODE HERE\n        raise NotImplementedError" in out
    compile(out, "skeleton", "exec")


@pytest.mark.parametrize("bad, msg", [
    ("# BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("x = 1\n# END SOLUTION\n", "without a matching"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "inside a block"),
    ("# BEGIN SOLUTION extra\n# END SOLUTION\n", "alone on its line"),
])
def test_unbalanced_markers_are_rejected(bad, msg):
    with pytest.raises(MarkerError, match=msg):
        strip_solution(bad)


def test_percent_cells_and_notebook():
    cells = percent_cells(SRC)
    assert [k for k, _ in cells] == ["markdown", "code"]
    assert cells[0][1] == "# Title\ntext"
    nb = json.loads(to_notebook(SRC))
    assert nb["nbformat"] == 4 and nb["cells"][1]["outputs"] == []
    assert to_notebook(SRC) == to_notebook(SRC)  # stable output


def test_committed_student_files_are_up_to_date(course):
    """CI fails when a skeleton or notebook was not regenerated after a solution changed."""
    for name in course.assignments():
        sol = course.solution(name)
        assert sol is not None, name
        stale = stale_files(sol, name, course.root / "assignments" / name)
        assert not stale, f"run `gmgrade assign {name}`: stale {stale}"
