"""Every speed figure of issue 13 in one run, printed side by side (never asserted).

    python bench/bench_speed.py [--repeat N] [--notebooks K]

1. ``bench_grading mle``: bare ``import torch``; the fixed cost per submission (a worker
   from scratch vs forked by the batch's zygote, each backend); ``gmgrade check mle`` as a
   student runs it; the ``mle`` reference graded in a fresh runner and in the batch's
   template;
2. ``bench_batch``: throughput of ``gmgrade grade`` with ``--jobs 1`` and ``--jobs 2``, and
   ``otter run`` on the otter export of ``mle`` against ``gmgrade grade`` on the same
   notebooks (marginal time per submission).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_batch  # noqa: E402
import bench_grading  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--notebooks", type=int, default=6)
    args = ap.parse_args()
    print("== bench_grading mle")
    sys.argv = ["bench_grading.py", "mle", "--repeat", str(args.repeat)]
    bench_grading.main()
    sys.argv = ["bench_batch.py", "--no-ray", "--notebooks", str(args.notebooks)]
    bench_batch.main()


if __name__ == "__main__":
    main()
