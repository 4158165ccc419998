"""The package's public API: every name resolves, lazily."""

import os
import subprocess
import sys
from pathlib import Path

import autograder
from autograder import helpers


def test_every_public_name_resolves():
    for name in autograder.__all__:
        assert getattr(autograder, name) is not None, name
    assert autograder.load_config.__module__ == "autograder.config"


def test_importing_the_package_imports_nothing_heavy():
    code = "import sys, autograder; print('torch' in sys.modules, 'pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_an_assignments_helpers_import_as_a_module_of_autograder_helpers(tmp_path):
    """``autograder.helpers.NAME`` is ``assignments/NAME/helpers.py`` wherever the course lies;
    a process given its helpers files (as a worker is) sees those and no other."""
    f = tmp_path / "assignments" / "zz" / "helpers.py"
    f.parent.mkdir(parents=True)
    f.write_text("from autograder.helpers import register\n\nVALUE = 7\n\n\n"
                 "@register('zz_seven')\ndef seven():\n    return VALUE\n")
    code = ("import importlib.util; from autograder import helpers; from autograder.helpers.zz import VALUE; "
            "print(VALUE, helpers.build('zz_seven', {}), importlib.util.find_spec('autograder.helpers.bert'))")
    env = {**os.environ, **helpers.worker_env([str(f)]), "PYTHONPATH": str(Path(autograder.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["7", "7", "None"]
