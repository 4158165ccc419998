"""`gmgrade grade --executor ray` against a Ray instance this test starts (loopback only):
the same grades and feedback as the local executor, and the same resume fingerprints."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="needs Ray: pip install -e '.[ray]'")

from autograder.batch import (RAY_LOOPBACK_ENV, check_cluster, node_slots, pack_submission,  # noqa: E402
                              unpack_submission)
from autograder.cli import main  # noqa: E402
from autograder.errors import UsageError  # noqa: E402
from autograder.runner import GradeOptions  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BATCH = ROOT / "examples" / "mle_batch"


def gmgrade(*args):
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def cluster():
    """A 2-CPU Ray head in this process, on 127.0.0.1; gmgrade joins it with --address."""
    old = os.environ.get(RAY_LOOPBACK_ENV)
    os.environ[RAY_LOOPBACK_ENV] = "0"
    ctx = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ctx.address_info["address"]
    finally:
        ray.shutdown()
        if old is None:
            os.environ.pop(RAY_LOOPBACK_ENV, None)
        else:
            os.environ[RAY_LOOPBACK_ENV] = old


@pytest.fixture(scope="module")
def both(cluster, tmp_path_factory):
    local, remote = tmp_path_factory.mktemp("local"), tmp_path_factory.mktemp("ray")
    r = gmgrade("grade", "mle", str(BATCH), "--out", str(local), "--jobs", "2")
    assert r.returncode == 0, r.stderr
    r = gmgrade("grade", "mle", str(BATCH), "--out", str(remote), "--executor", "ray",
                "--address", cluster)
    assert r.returncode == 0, r.stderr
    return local, remote


def _comparable(results_json: Path) -> dict:
    d = json.loads(results_json.read_text())
    d.pop("execution_time")
    return d


def test_ray_grades_like_local(both):
    local, remote = both
    assert (remote / "grades.csv").read_text() == (local / "grades.csv").read_text()
    students = sorted(p.parent.name for p in local.glob("*/results.json"))
    assert students == ["alice", "bob", "carol", "dave", "erin", "frank"]
    for s in students:  # folder, notebook, zip and a wrong file type all ship to the task
        assert _comparable(remote / s / "results.json") == _comparable(local / s / "results.json"), s
    a = json.loads((local / "summary.json").read_text())
    b = json.loads((remote / "summary.json").read_text())
    assert a == b


def test_resume_is_the_same_for_both_executors(both, cluster):
    local, remote = both
    r = gmgrade("grade", "mle", str(BATCH), "--out", str(remote))  # local executor, ray's output
    assert r.returncode == 0 and "6 submission(s) already graded" in r.stderr, r.stderr
    r = gmgrade("grade", "mle", str(BATCH), "--out", str(local), "--executor", "ray", "--address", cluster)
    assert r.returncode == 0 and "6 submission(s) already graded" in r.stderr, r.stderr


def test_cuda_on_a_cluster_without_gpus_fails_before_submitting(cluster, tmp_path):
    r = gmgrade("grade", "mle", str(BATCH), "--out", str(tmp_path), "--executor", "ray",
                "--address", cluster, "--device", "cuda")
    assert r.returncode == 3 and "has no GPUs" in r.stderr, r.stderr
    assert not list(tmp_path.glob("*/results.json"))


def test_an_address_where_nothing_answers_fails_fast(tmp_path):
    r = gmgrade("grade", "mle", str(BATCH), "--out", str(tmp_path), "--executor", "ray",
                "--address", "127.0.0.1:1")
    assert r.returncode == 3 and "cannot connect to the Ray cluster at 127.0.0.1:1" in r.stderr, r.stderr


def test_cluster_check():
    with pytest.raises(UsageError, match="no GPUs"):
        check_cluster({"CPU": 8.0}, GradeOptions(device="cuda"), 0.25)
    with pytest.raises(UsageError, match="no CPUs"):
        check_cluster({"GPU": 1.0}, GradeOptions(), 0.25)
    check_cluster({"CPU": 8.0, "GPU": 1.0}, GradeOptions(device="cuda"), 0.25)


def test_one_grader_per_live_node_with_a_slot_per_cpu_or_gpu_share():
    nodes = [{"NodeID": "a", "Alive": True, "Resources": {"CPU": 16.0, "GPU": 1.0}},
             {"NodeID": "b", "Alive": True, "Resources": {"CPU": 8.0}},
             {"NodeID": "c", "Alive": False, "Resources": {"CPU": 8.0}},
             {"NodeID": "d", "Alive": True, "Resources": {"CPU": 0.5}}]
    assert node_slots(nodes, GradeOptions(), 0.25) == [("a", 16, 0.0), ("b", 8, 0.0)]
    assert node_slots(nodes, GradeOptions(device="cuda"), 0.25) == [("a", 4, 1.0)]
    assert node_slots(nodes, GradeOptions(device="cuda"), 1.0) == [("a", 1, 1.0)]


def test_address_needs_the_ray_executor(tmp_path, capsys):
    assert main(["grade", "mle", str(BATCH), "--out", str(tmp_path), "--address", "x:1"]) == 3
    assert "--address needs --executor ray" in capsys.readouterr().err


def test_submissions_ship_as_load_sees_them(tmp_path):
    src = tmp_path / "src"
    (src / "carol" / "deep" / "a" / "b" / "c").mkdir(parents=True)
    (src / "carol" / "mle.py").write_text("x = 1\n")
    (src / "carol" / "deep" / "a" / "b" / "c" / "too_deep.py").write_text("")
    (src / "carol" / "link.py").symlink_to(src / "carol" / "mle.py")
    (src / "eve.py").symlink_to(src / "carol" / "mle.py")
    dst = tmp_path / "dst"
    dst.mkdir()
    carol = unpack_submission(pack_submission(src / "carol"), dst)
    assert sorted(p.relative_to(carol).as_posix() for p in carol.rglob("*") if p.is_file()) == ["mle.py"]
    eve = unpack_submission(pack_submission(src / "eve.py"), dst)
    assert eve.is_symlink() and not eve.exists()  # graded as "a symbolic link", as locally
