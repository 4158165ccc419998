"""gmgrade: the autograder. ``from autograder import check`` checks a notebook's work
(:mod:`autograder.notebook`, imported on first use: importing the package stays cheap)."""


def __getattr__(name: str):
    if name == "check":
        from autograder.notebook import check

        return check
    raise AttributeError(f"module 'autograder' has no attribute {name!r}")
