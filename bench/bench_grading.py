"""Grading-time figures, printed (never asserted).

    python bench/bench_grading.py [ASSIGNMENT ...] [--repeat N]

For comparison it prints a bare ``python -c "import torch"``, then the fixed cost of one
sandboxed worker (sandbox start + interpreter + torch import + loading a trivial
submission) for each backend, started from scratch and forked by a zygote (and what
starting the zygote costs once per batch), ``gmgrade check mle`` as a student runs it,
the cost of the trusted runner process, and the
wall-clock time to grade the reference solution of each assignment (public + hidden
tests) through the same paths ``gmgrade grade`` uses: a fresh ``autograder.runner``
process (one submission) and a fork of the batch's warm template (``autograder.warm``,
with the batch's zygote: the second and later submissions of a batch).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import sandbox, zygote  # noqa: E402
from autograder.batch import grade_one_isolated  # noqa: E402
from autograder.course import Course  # noqa: E402
from autograder.runner import GradeOptions  # noqa: E402
from autograder.student import WorkerSession  # noqa: E402
from autograder.warm import WarmRunner, WorkerPlan  # noqa: E402


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs):7.2f} s (min {min(xs):.2f}, n={len(xs)})"


def worker_start(backend: str) -> None:
    """From the request to a worker that has loaded a trivial submission (a zygote's fork
    when this process has a zygote for ``backend``, else a sandbox of its own)."""
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "sub.py"
        src.write_text("def f(x):\n    return x\n")
        spec = sandbox.SandboxSpec(backend=backend, limits=sandbox.Limits(), submission=src)
        session = WorkerSession(spec, [src.read_text()], "sub", filename=str(src))
        session.ensure_started()
        session.close()


def check_wall(name: str) -> None:
    """``gmgrade check NAME`` on the reference, as a student runs it (a fresh process)."""
    sol = ROOT / "solutions" / f"{name}.py"
    subprocess.run([sys.executable, "-m", "autograder.cli", "check", name, str(sol)], check=True,
                   cwd=ROOT, capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("assignments", nargs="*")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    course = Course(ROOT)
    names = args.assignments or course.assignments()
    r = args.repeat
    opts = GradeOptions()
    plan = WorkerPlan.of(opts, course, names)
    print(f"{'what':58s} {'time':>7}")
    bare = 'bare python -c "import torch"'
    print(f"{bare:58s}",
          fmt(timed(lambda: subprocess.run([sys.executable, "-c", "import torch"], check=True), r)))
    for backend in ["process"] + (["bwrap"] if sandbox.bwrap_works() else []):
        print(f"{'fixed: worker start + torch import + load (' + backend + ')':58s}",
              fmt(timed(lambda: worker_start(backend), r)))
        t = time.perf_counter()
        z = zygote.start_shared(backend, sandbox.Limits(), "cpu", names, plan.helpers, note=print)
        if z is not None:
            print(f"{'  zygote start, once per batch (' + backend + ')':58s}",
                  fmt([time.perf_counter() - t]))
            print(f"{'fixed: fork from the zygote + load (' + backend + ')':58s}",
                  fmt(timed(lambda: worker_start(backend), max(r, 10))))
        zygote.stop_shared()
    if "mle" in names:
        print(f"{'gmgrade check mle (reference), whole command':58s}", fmt(timed(lambda: check_wall("mle"), r)))
    print(f"{'fixed: trusted runner process (python, torch, pytest, hypothesis)':58s}",
          fmt(timed(lambda: subprocess.run(
              [sys.executable, "-c", "import torch, pytest, hypothesis, autograder.runner"], check=True), r)))
    with WarmRunner(workers=plan, note=print) as warm:  # as `gmgrade grade`
        for name in names:
            sol = course.solution(name)
            if sol is None:
                continue
            for how, w in (("fresh process", None), ("warm fork", warm)):
                times = []
                for _ in range(r):
                    t = time.perf_counter()
                    res, _ = grade_one_isolated(course, name, "bench", sol, opts, w)
                    times.append(time.perf_counter() - t)
                label = f"grade {name} reference, {how} ({res.score:g}/{res.max_score:g} points)"
                print(f"{label:58s}", fmt(times))

if __name__ == "__main__":
    main()
