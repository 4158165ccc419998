"""The liveness check itself: an attack defused by an API change must fail it.

test_redteam.py proves every attack ran (``harness.missing_proofs``). This file grades a
few attacks next to copies defused the ways an API change defuses them — the hostile
function renamed, its signature changed, the engine name it patches gone — and checks that
each original shows its proofs while each copy is reported. One small batch on one backend
(the check reads only the results, which both backends write alike).
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from autograder import report, sandbox, submission
from tests.redteam import harness

pytestmark = pytest.mark.slow

# (attack, text of it, what replaces that text): each leaves the file valid Python but harmless
DEFUSALS = [
    ("sleep_forever", "def bernoulli_mle(x):", "def bernoulli_mle_v1(x):"),  # renamed
    ("crash_native", "def gaussian_mle(x):", "def gaussian_mle(x, y):"),  # signature changed
    ("lie_partial", "def bernoulli_mle(x):", "def bernoulli_mle(x, y):"),  # honest half broken
    ("forge_worker_replies", "worker.call = _forged", "worker.call_v1 = _forged"),  # engine renamed
]


def _defused(attack: harness.Attack, old: str, new: str) -> harness.Attack:
    assert attack.source.count(old) == 1, f"{attack.name} no longer holds {old!r} once"
    name = f"{attack.name}_defused"
    return dataclasses.replace(attack, name=name, entries=[f"{name}.py"],
                               source=attack.source.replace(old, new))


@pytest.fixture(scope="module")
def graded():
    """attack name -> (attack, [(entry, results.json)], staff logs) for the originals and their copies."""
    by_name = {a.name: a for a in harness.all_attacks()}
    originals = [by_name[name] for name, _, _ in DEFUSALS]
    attacks = originals + [_defused(by_name[name], old, new) for name, old, new in DEFUSALS]
    backend = "bwrap" if sandbox.bwrap_works() else "process"
    run = harness.prepare(backend, attacks)
    try:
        harness.execute(run)
        assert run.proc.returncode == 0, run.proc.stderr[-3000:]
        rows: dict[str, list] = {}
        logs: dict[str, str] = {}
        for sid, path in submission.batch_entries(run.ctx.batch):
            f = run.ctx.out / sid / "results.json"
            data = json.loads(f.read_text()) if f.exists() else None
            rows.setdefault(run.entry_to_attack[path.name], []).append((path.name, data))
            log = report.staff_file(run.ctx.out, sid, ".log")
            logs[run.entry_to_attack[path.name]] = logs.get(run.entry_to_attack[path.name], "") + (
                f"--- {log.name}\n{log.read_text()[-3000:]}\n" if log.exists() else "")
        yield {a.name: (a, rows.get(a.name, []), logs.get(a.name, "")) for a in attacks}
    finally:
        harness.cleanup(run)


@pytest.mark.parametrize("name", [name for name, _, _ in DEFUSALS])
def test_the_original_shows_its_proofs(graded, name):
    attack, rows, logs = graded[name]
    missing = harness.missing_proofs(attack, rows)
    assert missing == [], f"{missing}\nthe grader's staff log:\n{logs}"


@pytest.mark.parametrize("name", [name for name, _, _ in DEFUSALS])
def test_a_defused_copy_is_reported(graded, name):
    attack, rows, _ = graded[f"{name}_defused"]
    missing = harness.missing_proofs(attack, rows)
    assert missing, f"{attack.name} was defused, yet the liveness check found every proof"
    assert all(line.startswith(f"{attack.name}.py: ") for line in missing), missing
