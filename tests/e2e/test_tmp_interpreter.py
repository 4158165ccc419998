"""The bubblewrap worker starts when the interpreter lives under /tmp (a virtualenv there).

The sandbox's /tmp is a private tmpfs: binds of Python roots under /tmp must be laid after
it, or the worker fails with ``bwrap: execvp …/bin/python: No such file or directory``.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder import sandbox

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
from pathlib import Path
import sys
from autograder import sandbox
from autograder.student import WorkerSession
src = Path(sys.argv[1])
spec = sandbox.SandboxSpec(backend="bwrap", submission=src, limits=sandbox.Limits())
session = WorkerSession(spec, [src.read_text()], "mle", filename="/submission/mle.py")
try:
    print("functions:", session.ensure_started().functions)
finally:
    session.close()
"""


@pytest.mark.skipif(not sandbox.bwrap_works(), reason="bubblewrap is not usable here")
def test_bwrap_worker_starts_from_a_venv_under_tmp():
    with tempfile.TemporaryDirectory(prefix="gmgrade-venv-", dir="/tmp") as d:
        venv = Path(d) / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                        str(venv)], check=True)
        src = Path(d) / "mle.py"
        src.write_text("def double(x):\n    return 2 * x\n")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        r = subprocess.run([str(venv / "bin" / "python"), "-c", SCRIPT, str(src)], env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "functions: ['double']" in r.stdout
