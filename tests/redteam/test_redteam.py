"""The red team: hostile ``mle`` submissions graded as one batch must not get through.

Every attack in ``attacks/`` (and every entry ``generated.py`` builds) is graded together,
by the real engine, once per sandbox backend. Then, for every attack: its score is no
higher than the honest part of it earns, it did not report getting through
(``RT-ESCAPED``), and it demonstrably ran — its results show the proofs its docstring names
and exactly its honest part (``harness.missing_proofs``), so that an attack an API change
has defused fails instead of passing quietly; for the batch: it finished, every student
has results, no hidden text reached an output file, no line of ``solutions/`` reached a
student's folder (which holds only what the student may see), nothing outside the output
folder changed, other students' files are untouched, no process of an attack is still
running, nothing reached the loopback listener, and memory, shared memory and disk are
back where they were. ``test_liveness.py`` shows that the liveness check catches defused
attacks.

The process backend (no bubblewrap) is weaker by design (SECURITY.md): the attacks it
cannot stop are skipped there, each with the reason (``PROCESS_SKIPS``); so are the entries
rejected while the batch is read, before any sandbox exists (``SANDBOX_FREE``).

Runtime: each backend's batch takes about 400–550 CPU-seconds (2–5 minutes on two idle
cores); ``RT_WALL_LIMIT`` (default 900 s) bounds each batch's wall time.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from autograder import sandbox, submission
from autograder.report import STAFF_DIR as STAFF
from tests.redteam import generated, harness

pytestmark = pytest.mark.slow

# What the process backend does not stop (SECURITY.md, "The process fallback").
PROCESS_SKIPS = {
    "read_hidden_walk": "the fallback does not hide the file system: the course folder is readable",
    "read_hidden_import": "the fallback does not hide the file system: the course folder is readable",
    "fake_result_files": "the fallback does not hide the file system: world-writable folders "
                         "(/tmp, the canary folder) can be written",
    "network": "the fallback has no network isolation",
    "disk_and_output_bomb": "the fallback writes to the host's /tmp: only the size of each file "
                            "is limited, not their number",
    "shm_bomb": "the fallback shares the host's /tmp and /dev/shm (RAM-backed on most systems): "
                "files there are neither limited nor removed",
    "read_proc_env": "the fallback shares the host's /proc: /proc/PID/root leads to the readable "
                     "course folder",
}
# Entries rejected or renamed while the batch is read, before any sandbox starts: the same
# code runs for both backends, so the bwrap run covers them (and the suite stays short).
SANDBOX_FREE = {b.__name__ for b in generated.BUILDERS}

# Without root (or when the unprivileged uid cannot run Python) the fallback runs student
# code with the grader's own rights: these attacks would then really hurt (kill(-1) would
# end the test run, files would be changed), so they are not run at all.
NO_DROP = not (os.geteuid() == 0 and sandbox._process_backend_can_drop())
NO_DROP_REASON = "the fallback runs student code as the grader's own user here (not root)"
NO_DROP_SKIPS = {"fd_and_signals", "escape_limits", "daemon_child", "fork_bomb", "read_proc_env",
                 "atexit_del", "changing_answers"}


def process_skip(name: str) -> str | None:
    if name in PROCESS_SKIPS:
        return PROCESS_SKIPS[name]
    if name in SANDBOX_FREE:
        return "reading the batch does not depend on the backend: covered by the bwrap run"
    if NO_DROP and name in NO_DROP_SKIPS:
        return NO_DROP_REASON
    return None


ATTACKS = harness.all_attacks()
NAMES = [a.name for a in ATTACKS]
BACKENDS = [pytest.param("bwrap", marks=pytest.mark.skipif(
    not sandbox.bwrap_works(), reason="bubblewrap is not usable on this machine")), "process"]


@pytest.fixture(scope="module", params=BACKENDS)
def run(request):
    attacks = [a for a in harness.all_attacks()
               if request.param != "process" or not process_skip(a.name)]
    r = harness.prepare(request.param, attacks)
    try:
        harness.execute(r)
        r.results = _results(r)
        yield r
    finally:
        harness.cleanup(r)


def _results(r) -> dict:
    """student id -> (attack name, entry name, results.json or None)."""
    out = {}
    for sid, path in submission.batch_entries(r.ctx.batch):
        f = r.ctx.out / sid / "results.json"
        data = json.loads(f.read_text()) if f.exists() else None
        out.setdefault(sid, []).append((r.entry_to_attack.get(path.name, "?"), path.name, data))
    return out


def _by_attack(r, name):
    return [(sid, entry, data) for sid, rows in r.results.items() for (a, entry, data) in rows
            if a == name]


# --------------------------------------------------------------------------- the batch


def test_batch_completed(run):
    detail = (run.proc.stderr or "")[-3000:]
    assert not run.timed_out, f"the batch did not finish within {harness.WALL_LIMIT} s\n{detail}"
    assert run.proc.returncode == 0, detail
    print(f"\n{run.backend}: {len(run.attacks)} attacks graded in {run.seconds:.0f} s "
          f"({run.cpu_seconds:.0f} CPU-seconds)")


def test_every_student_has_results(run):
    entries = submission.batch_entries(run.ctx.batch)
    ids = [sid for sid, _ in entries]
    assert len(set(ids)) == len(ids), f"two entries share a student id: {sorted(ids)}"
    missing = [sid for sid in ids if not (run.ctx.out / sid / "results.json").exists()]
    assert not missing, f"no results for {missing}"
    rows = (run.ctx.out / "grades.csv").read_text().splitlines()[1:]
    assert sorted(r.split(",")[0] for r in rows) == sorted(ids)


def test_only_expected_files_in_the_output_folder(run):
    allowed_top = {"grades.csv", "summary.json"}
    allowed_student = {"results.json", "feedback.html"}  # what the student may see, nothing else
    ids = {sid for sid, _ in submission.batch_entries(run.ctx.batch)}
    allowed_staff = {f"{sid}{suffix}" for sid in ids for suffix in (".log", ".fingerprint")}
    odd = []
    for p in run.ctx.out.rglob("*"):
        rel = p.relative_to(run.ctx.out).parts
        if len(rel) == 1 and (rel[0] in allowed_top or (rel[0] in ids | {STAFF} and p.is_dir())):
            continue
        if len(rel) == 2 and rel[0] in ids and rel[1] in allowed_student and p.is_file():
            continue
        if len(rel) == 2 and rel[0] == STAFF and rel[1] in allowed_staff and p.is_file():
            continue
        odd.append("/".join(rel))
    assert not odd, f"unexpected files in the output folder: {odd[:20]}"
    big = [str(p) for p in harness.output_files(run) if p.stat().st_size > 2 * 2 ** 20]
    assert not big, f"output files over 2 MB (an output bomb got through): {big}"


def test_no_hidden_text_in_any_output(run):
    needles = harness.leak_needles(run)
    assert len(needles) > 10
    found = []
    for p in harness.output_files(run):
        text = harness.readable_text(p)
        # staff-only: tracebacks of grader faults show test code, never the secret
        staff = p.relative_to(run.ctx.out).parts[0] == STAFF
        for n in needles:
            if n in text and (not staff or n == run.ctx.secret):
                found.append(f"{p.relative_to(run.ctx.out)}: {n[:60]}")
    assert not found, "hidden material reached the outputs:\n" + "\n".join(found[:20])


def test_student_folders_quote_no_line_of_hidden_material(run):
    """An instructor hands each student their folder as it is: no file in it may quote a
    line of solutions/ (hidden tests, reference) that the student did not have already."""
    hidden = harness.hidden_lines(run)
    assert len(hidden) > 20
    found = []
    for sid, _ in submission.batch_entries(run.ctx.batch):
        for p in sorted((run.ctx.out / sid).rglob("*")):
            if p.is_file():
                text = harness.readable_text(p)
                found += [f"{p.relative_to(run.ctx.out)} quotes {where}: {line[:80]}"
                          for line, where in hidden.items() if line in text]
    assert not found, "student folders quote hidden material:\n" + "\n".join(found[:20])


def test_no_attack_reports_getting_through(run):
    hits = []
    for p in harness.output_files(run):
        for m in re.finditer(harness.ESCAPED + r".{0,160}", p.read_text(errors="replace")):
            hits.append(f"{p.relative_to(run.ctx.out)}: {m.group(0)}")
    assert not hits, "\n".join(hits[:20])


def test_nothing_outside_the_output_folder_changed(run):
    before, after = run.canaries_before, run.canaries_after
    changed = {}
    for key in before:
        if before[key] != after[key]:
            if isinstance(before[key], dict):
                keys = set(before[key]) | set(after[key])
                changed[key] = sorted(k for k in keys if before[key].get(k) != after[key].get(k))[:10]
            else:
                changed[key] = (before[key], after[key])
    assert not changed, f"changed outside the output folder: {changed}"


def test_no_attack_process_left_running(run):
    assert not run.leftover, f"still running after the batch: {run.leftover}"


def test_nothing_reached_the_network(run):
    assert not run.net_hits, run.net_hits


def test_memory_and_disk_are_back(run):
    # other work on the machine moves these too: the tolerances are generous
    assert run.mem_after > run.mem_before - 2048, (run.mem_before, run.mem_after)
    assert run.shm_after < run.shm_before + 64, (run.shm_before, run.shm_after)
    assert run.disk_after > run.disk_before - 1024, (run.disk_before, run.disk_after)


# --------------------------------------------------------------------------- each attack


@pytest.mark.parametrize("name", NAMES)
def test_attack_gains_nothing(run, name):
    if run.backend == "process" and process_skip(name):
        pytest.skip(f"process backend: {process_skip(name)}")
    attack = next(a for a in run.attacks if a.name == name)
    rows = _by_attack(run, name)
    assert len(rows) == len(attack.entries), f"entries {attack.entries}, results for {rows}"
    for sid, entry, data in rows:
        assert data is not None, f"{entry}: no results.json for {sid}"
        if entry == harness.BYSTANDER:  # the innocent bystander: its own, correct work was graded
            assert data["score"] >= 1, f"victim lost its results: {data['extra_data']}"
            continue
        assert data["score"] <= attack.honest + 1e-9, (
            f"{entry} scored {data['score']}, more than its honest part ({attack.honest}):\n"
            + "\n".join(f"  {t['name']}: {t['status']}" for t in data["tests"] if t["score"] > 0))
        assert harness.ESCAPED not in json.dumps(data)


@pytest.mark.parametrize("name", NAMES)
def test_attack_ran(run, name):
    """Its hostile part executed and was judged as the attack expects: a renamed function,
    a changed signature or an engine name that no longer exists would leave it harmless
    and scoring nothing, which test_attack_gains_nothing alone would count as stopped."""
    if run.backend == "process" and process_skip(name):
        pytest.skip(f"process backend: {process_skip(name)}")
    attack = next(a for a in run.attacks if a.name == name)
    rows = [(entry, data) for _, entry, data in _by_attack(run, name)]
    missing = harness.missing_proofs(attack, rows)
    assert not missing, (f"{name} did not show that it ran on the {run.backend} backend (is it "
                         f"out of date with the API it attacks?):\n" + "\n".join(missing))


def test_every_attack_is_documented():
    assert len(ATTACKS) >= 30
    for a in ATTACKS:
        assert a.doc.startswith("ATTACK:"), a.name
        assert a.proofs, f"{a.name}: its docstring names no proof that it ran (a 'proof:' line)"
    unknown = set(PROCESS_SKIPS) - set(NAMES)
    assert not unknown, unknown
