"""The package's public API: every name resolves, lazily."""

import subprocess
import sys

import autograder


def test_every_public_name_resolves():
    for name in autograder.__all__:
        assert getattr(autograder, name) is not None, name
    assert autograder.load_config.__module__ == "autograder.config"


def test_importing_the_package_imports_nothing_heavy():
    code = "import sys, autograder; print('torch' in sys.modules, 'pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
