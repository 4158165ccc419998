"""``--lang ja`` end to end: ``check`` and ``grade`` speak Japanese with the same scores,
English output is as it was, and the Japanese bundle's notebooks, README and ``check`` are
Japanese."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import mistakes
from autograder.course import Course
from autograder.release import leaks, release
from tests.material import correct, mistake

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
WRONG = mistake("mle", "unbiased_variance")
HINT_EN = "looks like the unbiased N−1 variance"
HINT_JA = "不偏分散"


def gmgrade(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=cwd, capture_output=True,
                          text=True, env=env)


def test_check_speaks_japanese_and_english_is_unchanged():
    default, en, ja = (gmgrade("check", "mle", str(WRONG), *lang) for lang in ((), ("--lang", "en"),
                                                                               ("--lang", "ja")))
    assert default.returncode == en.returncode == ja.returncode == 1
    assert default.stdout == en.stdout  # English is the default and what it always was
    assert HINT_EN in en.stdout and not CJK.search(en.stdout)
    assert HINT_JA in ja.stdout and HINT_EN not in ja.stdout
    score = re.compile(r"^mle: (\d+) / (\d+)", re.M)
    assert score.search(en.stdout).groups() == score.search(ja.stdout).groups()
    assert "[不合格]" in ja.stdout and "[合格]" in ja.stdout


# four English words in a row with no Japanese on the line: a message left in English. Lines
# of code, values and Python's own exceptions are the student's and stay as they are.
ENGLISH = re.compile(r"\b[A-Za-z]{2,}\b(?:[ ,;:'-]+\b[A-Za-z]{2,}\b){3,}")
CODE = re.compile(r"^(?:[\w.]*(?:Error|Exception|Warning)\b|File \"|return |\w+ = |[\w.]+\(.*\)$)|tensor\(")


CALL = re.compile(r"^[\w.]+\(")  # a failure's first line says what was called: code first


@pytest.mark.parametrize("name", Course(ROOT).assignments())
def test_every_assignment_gives_its_failures_in_japanese(course, name):
    """The first known mistake of each assignment that the public tests catch: its failures
    and hints come out in Japanese."""
    for m in mistakes.load(course.mistakes_file(name)):
        r = gmgrade("check", name, str(mistake(name, m.id)), "--lang", "ja")
        if r.returncode == 1:
            break
    assert "[不合格]" in r.stdout, r.stdout + r.stderr
    english = []
    for block in r.stdout.split("[不合格]")[1:]:
        lines = [x.strip() for x in block.splitlines()[1:]]
        if lines and CALL.match(lines[0]):
            lines = lines[1:]
        english += [x for x in lines if ENGLISH.search(x) and not CJK.search(x) and not CODE.search(x)]
    assert english == [], "\n".join(english[:5])


def test_grade_in_japanese_scores_the_same(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "wrong.py").write_text(WRONG.read_text())
    (subs / "right.py").write_text(correct("mle", "loops.py").read_text())
    out = tmp_path / "out"
    scores = {}
    for lang in ("ja", "en"):  # the same folder: a change of language grades again
        r = gmgrade("grade", "mle", str(subs), "--out", str(out), "--lang", lang, "--jobs", "1")
        assert r.returncode == 0, r.stdout + r.stderr
        data = {s: json.loads((out / s / "results.json").read_text()) for s in ("wrong", "right")}
        scores[lang] = {s: [t["score"] for t in d["tests"]] for s, d in data.items()}
        html = (out / "wrong" / "feedback.html").read_text()
        if lang == "ja":
            assert 'lang="ja"' in html and HINT_JA in html and HINT_EN not in html
            assert "平均" in r.stdout  # the class summary
            summary = json.loads((out / "summary.json").read_text())
            assert CJK.search(summary["tests"]["test_gaussian_mle_shapes"]["name"])
        else:
            assert 'lang="en"' in html and HINT_EN in html
    assert scores["ja"] == scores["en"]


def test_the_japanese_bundle(course, tmp_path):
    en_out, ja_out = tmp_path / "en", tmp_path / "ja"
    release(course, en_out, ["mle"])
    release(course, ja_out, ["mle"], lang="ja")
    assert leaks(course, ja_out) == []
    assert CJK.search((ja_out / "README.md").read_text(encoding="utf-8"))
    assert 'lang = "ja"' in (ja_out / "pyproject.toml").read_text()
    en_nb, ja_nb = (json.loads((o / "assignments" / "mle" / "mle.ipynb").read_text(encoding="utf-8"))
                    for o in (en_out, ja_out))
    assert [c["cell_type"] for c in en_nb["cells"]] == [c["cell_type"] for c in ja_nb["cells"]]
    assert all(CJK.search("".join(c["source"])) for c in ja_nb["cells"] if c["cell_type"] == "markdown")
    # a student of the Japanese bundle gets Japanese feedback without asking for it
    env = {k: v for k, v in os.environ.items() if not k.startswith("GMGRADE_") and k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(ja_out), LANG="C.UTF-8")
    r = subprocess.run([sys.executable, "-m", "autograder.cli", "check", "mle", str(WRONG)],
                       cwd=ja_out / "assignments" / "mle", env=env, capture_output=True, text=True)
    assert r.returncode == 1 and HINT_JA in r.stdout, r.stdout + r.stderr
