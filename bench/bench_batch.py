"""Batch-grading figures, printed (never asserted).

    python bench/bench_batch.py [--copies N] [--notebooks K] [--no-ray] [--no-otter]

In one run, on the same machine:

1. throughput of ``gmgrade grade`` (the local executor) with ``--jobs 1`` and ``--jobs 2``
   on a batch: ``examples/mle_batch``, or N copies of each of its entries;
2. the same batch through the Ray executor (``--jobs 2``: a 2-CPU Ray instance started
   here): the cost of starting Ray, and grading with Ray already up, against local;
3. ``otter run`` on the otter export of ``mle`` (one notebook at a time, as otter runs)
   against ``gmgrade grade --jobs 1`` on the same K notebooks, made from mle's correct
   alternatives and known mistakes.

Every run grades from scratch (a fresh output folder). The figures depend on the machine
and its load: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.assign import to_notebook  # noqa: E402
from autograder.batch import connect_ray, grade_batch  # noqa: E402
from autograder.course import Course  # noqa: E402
from autograder import mistakes  # noqa: E402
from autograder.runner import GradeOptions  # noqa: E402

BATCH = ROOT / "examples" / "mle_batch"


def make_batch(where: Path, copies: int) -> Path:
    batch = where / "batch"
    batch.mkdir()
    for entry in sorted(BATCH.iterdir()):
        for i in range(copies):
            name = entry.name if copies == 1 else f"{entry.stem}{i:02d}{entry.suffix}"
            (shutil.copytree if entry.is_dir() else shutil.copy)(entry, batch / name)
    return batch


def grade(course: Course, batch: Path, where: Path, **kw) -> tuple[float, dict, Path]:
    out = Path(tempfile.mkdtemp(dir=where, prefix="out-"))
    t = time.perf_counter()
    summary = grade_batch(course, "mle", batch, out, GradeOptions(), progress_stream=io.StringIO(), **kw)
    return time.perf_counter() - t, summary, out


def timeouts(out: Path) -> str:
    """Tests that hit their time limit: under heavy load they cost points, so say how many."""
    n = 0
    for p in out.glob("*/results.json"):
        n += sum(bool(t["extra_data"].get("timed_out")) for t in json.loads(p.read_text())["tests"])
    return f"timed-out tests {n}"


def row(what: str, seconds: float, n: int, extra: str = "") -> None:
    print(f"{what:50s} {seconds:8.1f} s  {n / seconds * 60:6.1f} subm/min  "
          f"{seconds / n:6.1f} s/subm  {extra}", flush=True)


def load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def bench_batch(course: Course, where: Path, copies: int, ray_too: bool) -> None:
    batch = make_batch(where, copies)
    n = sum(1 for _ in batch.iterdir())
    label = "examples/mle_batch" if copies == 1 else f"{copies} copies of each entry of examples/mle_batch"
    print(f"\n== batch: {n} submissions ({label})")
    print(f"{'what':50s} {'wall':>10}  {'throughput':>15}  {'per subm':>12}")
    for jobs in (1, 2):
        secs, s, out = grade(course, batch, where, jobs=jobs)
        row(f"gmgrade grade --jobs {jobs} (local)", secs, n,
            f"mean score {s['score']['mean']:.2f}  {timeouts(out)}  load {load()}")
    if not ray_too:
        return
    try:
        import ray
    except ImportError:
        print("ray: not installed (pip install -e '.[ray]'); skipped")
        return
    secs, s, out = grade(course, batch, where, jobs=2, executor="ray")  # starts and stops its own Ray
    row("gmgrade grade --jobs 2 --executor ray (cold)", secs, n,
        f"mean score {s['score']['mean']:.2f}  {timeouts(out)}  load {load()}")
    t = time.perf_counter()
    connect_ray(None, 2, io.StringIO())
    start = time.perf_counter() - t
    try:
        secs, s, out = grade(course, batch, where, jobs=2, executor="ray")  # reuses the running Ray
        row("gmgrade grade --jobs 2 --executor ray (Ray up)", secs, n,
            f"mean score {s['score']['mean']:.2f}  {timeouts(out)}  load {load()}")
    finally:
        ray.shutdown()
    print(f"{'starting a local 2-CPU Ray instance (ray.init)':50s} {start:8.1f} s")


def bench_otter(course: Course, where: Path, k: int) -> None:
    try:
        import otter  # noqa: F401
    except ImportError:
        print("otter: not installed (pip install -e '.[otter]'); skipped")
        return
    from autograder import otter as gm_otter

    right = [(p.stem, p.read_text()) for p in course.alternatives("mle")]
    wrong = [(m.id, mistakes.materialise(course, "mle", m.id)) for m in mistakes.load(course.mistakes_file("mle"))]
    bank = [p for pair in zip(right, wrong) for p in pair][:k]  # correct, wrong, correct, …
    nbs = where / "notebooks"
    nbs.mkdir()
    for stem, source in bank:
        (nbs / f"{stem}.ipynb").write_text(to_notebook(source))
    print(f"\n== otter run vs gmgrade grade: {len(bank)} notebooks: mle's correct alternatives "
          "and known mistakes")
    t = time.perf_counter()
    zip_path = gm_otter.export_zip(course, "mle", where / "mle-otter.zip")
    print(f"{'gmgrade export otter mle':50s} {time.perf_counter() - t:8.1f} s")
    otter_scores, total = {}, 0.0
    for nb in sorted(nbs.iterdir()):
        run_dir = where / f"otter-{nb.stem}"
        run_dir.mkdir()
        shutil.copy(nb, run_dir / "mle.ipynb")
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(zip_path),
                            "-o", str(run_dir), str(run_dir / "mle.ipynb")], cwd=run_dir,
                           capture_output=True, text=True, timeout=900)
        secs = time.perf_counter() - t
        total += secs
        if r.returncode != 0:
            otter_scores[nb.stem] = f"failed ({r.stderr.strip().splitlines()[-1:]})"
            continue
        res = json.loads((run_dir / "results.json").read_text())
        tests = [x for x in res["tests"] if "max_score" in x]
        otter_scores[nb.stem] = f"{sum(x['score'] for x in tests):g}/{sum(x['max_score'] for x in tests):g}"
        print(f"{'  otter run ' + nb.name:50s} {secs:8.1f} s  {otter_scores[nb.stem]}", flush=True)
    n = len(bank)
    row("otter run, one notebook after another", total, n, f"load {load()}")
    for jobs in (1, 2):
        secs, _, out = grade(course, nbs, where, jobs=jobs)
        row(f"gmgrade grade --jobs {jobs}, same notebooks", secs, n, f"{timeouts(out)}  load {load()}")
    print("scores (otter run | gmgrade grade):")
    for nb in sorted(nbs.iterdir()):
        gm = json.loads((out / nb.stem / "results.json").read_text())
        print(f"  {nb.stem:30s} {otter_scores.get(nb.stem, '?'):>10} | {gm['score']:g}/{gm['max_score']:g}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=1, help="copies of each entry of examples/mle_batch")
    ap.add_argument("--notebooks", type=int, default=3, help="notebooks for the otter comparison")
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--no-otter", action="store_true")
    args = ap.parse_args()
    course = Course(ROOT)
    print(f"machine: {os.cpu_count()} CPUs, load average {load()}")
    with tempfile.TemporaryDirectory(prefix="gmgrade-bench-") as tmp:
        bench_batch(course, Path(tmp), args.copies, not args.no_ray)
        if not args.no_otter:
            bench_otter(course, Path(tmp), args.notebooks)


if __name__ == "__main__":
    main()
