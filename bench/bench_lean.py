"""The lean test loop against the whole runner, per submission: figures printed, never asserted.

    python bench/bench_lean.py [ASSIGNMENT ...] [--repeat N] [--per-test]

This process warms up as a batch's template does (``autograder.warm.warm_up``), then grades
the reference of each assignment (default: mle) in forks, alternating the two ways a
template grades a submission:

- plain fork: the whole of ``autograder.runner`` in the fork (what every warm child did
  before the lean loop, and still does when an assignment's tests cannot be collected):
  pytest's start-up, the collection (importing the test modules), the tests, the end;
- lean loop: a fork of a pytest session collected once per assignment
  (``autograder.runner.collect_once``, as an assignment template does): the tests only.

Each line gives the median wall time of one submission in the fork and the trusted
process's own CPU time (the rest is the sandboxed worker, and waiting for it), with the
collection's cost, paid once per batch by the lean loop, beside it. ``--per-test`` then
prints, for one submission through the lean loop, each test's wall time, the part spent
waiting for the worker (its per-test fork, the calls into the student's code, the end of
the test) and the trusted CPU outside those waits (pytest's hooks and fixtures,
hypothesis, the reference, the checks). The machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import runner, student  # noqa: E402
from autograder.course import Course  # noqa: E402
from autograder.runner import GradeOptions  # noqa: E402
from autograder.warm import course_imports, warm_up  # noqa: E402


def in_fork(job) -> dict:
    """Run ``job()`` (a dict of figures) in a fork of this process; its figures."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.write(w, json.dumps(job()).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data)


def graded(course: Course, name: str, tests=None) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    res, _ = runner.grade_path(course, name, course.solution(name), "bench", GradeOptions(), tests)
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
            "score": f"{res.score:g}/{res.max_score:g}"}


def lean(course: Course, name: str, per_test: bool = False) -> dict:
    """Collect once in a fork (an assignment template), grade one submission in a fork of it."""
    def template() -> dict:
        start, start_cpu = time.perf_counter(), time.process_time()
        out: dict = {}

        def serve(tests) -> None:
            out["collect"] = time.perf_counter() - start
            out["collect_cpu"] = time.process_time() - start_cpu
            gc.collect()
            gc.freeze()  # as autograder.warm does before forking
            out.update(in_fork(lambda: timed_tests(course, name, tests) if per_test
                               else graded(course, name, tests)))

        runner.collect_once(course, name, GradeOptions(), serve)
        return out

    return in_fork(template)


def timed_tests(course: Course, name: str, tests) -> dict:
    """``graded``, with each test's wall time, worker time and trusted CPU outside it."""
    import _pytest.runner

    waiting = [0.0, 0.0]  # wall, CPU inside the worker session's calls

    def timing(fn):
        def wrapper(self, *args, **kw):
            if getattr(self, "_timing", False):
                return fn(self, *args, **kw)  # nested (call -> begin_test): counted once
            self._timing = True
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(self, *args, **kw)
            finally:
                self._timing = False
                waiting[0] += time.perf_counter() - wall
                waiting[1] += time.process_time() - cpu
        return wrapper

    for method in ("ensure_started", "begin_test", "call", "end_test"):
        setattr(student.WorkerSession, method, timing(getattr(student.WorkerSession, method)))
    rows = []
    protocol = _pytest.runner.runtestprotocol

    def runtestprotocol(item, log=True, nextitem=None):
        before, wall, cpu = list(waiting), time.perf_counter(), time.process_time()
        try:
            return protocol(item, log=log, nextitem=nextitem)
        finally:
            rows.append((item.name, time.perf_counter() - wall, waiting[0] - before[0],
                         time.process_time() - cpu - (waiting[1] - before[1])))

    _pytest.runner.runtestprotocol = runtestprotocol
    out = graded(course, name, tests)
    out["rows"] = rows
    return out


def fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs):6.2f} s (min {min(xs):.2f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("assignments", nargs="*", default=["mle"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--per-test", action="store_true")
    args = ap.parse_args()
    course = Course(ROOT)
    warm_up(course_imports(course, args.assignments))
    print(f"load average {os.getloadavg()[0]:.1f}; {args.repeat} submissions each way, alternating")
    for name in args.assignments:
        plain, leaned = [], []
        for _ in range(args.repeat):
            plain.append(in_fork(lambda: graded(course, name)))
            leaned.append(lean(course, name))
        for label, runs in (("plain fork (whole runner)", plain), ("lean loop (collected once)", leaned)):
            print(f"{name:8s} {label:27s} {runs[0]['score']:>7s}  wall {fmt([r['wall'] for r in runs])}"
                  f"  trusted CPU {fmt([r['cpu'] for r in runs])}")
        print(f"{name:8s} {'collection, once per batch':27s} {'':7s}  wall "
              f"{fmt([r['collect'] for r in leaned])}  trusted CPU {fmt([r['collect_cpu'] for r in leaned])}")
        if args.per_test:
            out = lean(course, name, per_test=True)
            print(f"\n{name}: one submission through the lean loop, per test (ms)")
            print(f"  {'test':48s} {'wall':>7s} {'worker':>7s} {'trusted CPU outside worker':>27s}")
            for test, wall, worker, cpu in out["rows"]:
                print(f"  {test:48s} {wall * 1e3:7.1f} {worker * 1e3:7.1f} {cpu * 1e3:27.1f}")
            rows = out["rows"]
            print(f"  {'total (' + str(len(rows)) + ' tests)':48s} {sum(r[1] for r in rows) * 1e3:7.0f} "
                  f"{sum(r[2] for r in rows) * 1e3:7.0f} {sum(r[3] for r in rows) * 1e3:27.0f}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
