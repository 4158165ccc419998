"""Feedback in Japanese: the catalogues are complete and keep the hidden tests' words apart;
the lookup translates what the engine and the tests render, and nothing graded changes."""

import json
import os
import re

import pytest

from autograder import catalogue, i18n
from autograder.config import load
from autograder.course import Course
from autograder.results import Status, SubmissionResult, TestResult

CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def test_every_student_facing_message_is_translated():
    assert catalogue.problems("ja") == []


def test_public_catalogues_hold_no_hidden_words(course: Course):
    """A public catalogue ships with the bundle: its messages are the engine's, the public
    tests', the assignment's helpers' and the notebook's only, never one found in the hidden
    tests alone."""
    engine = {m.text for m in catalogue.domains()[(catalogue.ROOT / "autograder" / "locale", "gmgrade")]}
    for name in course.assignments():
        home = course.root / "assignments" / name
        public = {m.text for p in sorted((home / "tests").glob("*.py"))
                  for m in catalogue.python_messages(p, titles=True)}
        public |= {m.text for p in course.helper_files(name) for m in catalogue.python_messages(p, titles=False)}
        public |= {m.text for p in home.glob("*.ipynb") for m in catalogue.notebook_messages(p)}
        cat = catalogue.read(catalogue.po_path(home / "locale", name, "ja"))
        assert cat is not None
        shipped = {m.id for m in cat if m.id}
        assert shipped <= public | engine, sorted(shipped - public - engine)[:3]


def test_the_extractor_collects_messages_not_code(tmp_path):
    src = tmp_path / "test_x.py"
    src.write_text('''"""A module docstring: the author's."""
from autograder.i18n import N_


def test_one(student):
    """f: gives the right answer
    more of the author's notes"""
    got = student.f(1)
    expect(got == 2, f"{call} returned {got!r}; expected 2 on this input", call=f"f(x={x}, y=[1, 2])")
    expect(got == 2, "a message", call=f"f(x={x}) on the lecture's example")
    label = N_(f"cell {i + 1}")
    names = {"x": "float32"}
''')
    texts = [m.text for m in catalogue.python_messages(src, titles=True)]
    assert texts[0] == "f: gives the right answer"
    assert "{call} returned {got}; expected 2 on this input" in texts
    assert "cell {i_1}" in texts  # one word, but marked
    assert "f(x={x}) on the lecture's example" in texts  # a call= that says more than the call
    assert not any(t.startswith("f(x={x}, y") or "docstring" in t or t == "float32" for t in texts)


JA = i18n.Translator([
    ("{call} returned {got}; expected {want}", "{call} は {got} を返しました。期待される値は {want} です"),
    ("Hint: {hint}", "ヒント: {hint}"),
    ("that is the sum, not the mean", "それは平均ではなく和です"),
    ("two lines\nof text", "二行の\nテキスト"),
    ("braces {{literal}} stay", "波括弧 {{literal}} はそのまま"),
])


@pytest.mark.parametrize("english, japanese", [
    ("f(x) returned 3; expected 2", "f(x) は 3 を返しました。期待される値は 2 です"),
    ("    Hint: that is the sum, not the mean", "    ヒント: それは平均ではなく和です"),  # nested, indented
    ("Hint: something unknown", "ヒント: something unknown"),  # an unknown value stays as it is
    ("tensor([1., 2.])", "tensor([1., 2.])"),
    ("two lines\nof text", "二行の\nテキスト"),
    ("a\n  that is the sum, not the mean\nb", "a\n  それは平均ではなく和です\nb"),  # line by line
    ("braces {literal} stay", "波括弧 {literal} はそのまま"),
])
def test_the_translator_looks_up_each_line(english, japanese):
    assert JA.translate(english) == japanese


def test_a_hostile_line_is_looked_up_in_linear_time():
    """A student controls part of what is rendered (an exception's message, a value's repr):
    matching never backtracks, so a long line full of a template's separators finishes."""
    tr = i18n.Translator([("{a} of {b} values differ (tolerance rtol={c}, atol={d}); the worst is at {e}: "
                           "got {f}, expected {g}; {h}", "{a}/{b} {c} {d} {e} {f} {g} {h}")])
    line = "x of " + "y values differ (tolerance rtol=, atol=); the worst is at : got , expected ; " * 5000 + "!"
    assert tr.translate(line).startswith("x/")


def test_a_placeholder_glued_to_a_name_holds_one_word():
    """Both messages match the whole line; the inner one only by taking a sentence for the
    assignment's name in "{assignment}.py"."""
    tr = i18n.Translator([("{path} does not exist; give the path of your {kinds}",
                           "{path} はありません。{kinds} を指定"),
                          ("{assignment}.py, {assignment_2}.ipynb, or a folder or .zip holding one",
                           "{assignment}.py、{assignment_2}.ipynb、またはフォルダか .zip")])
    line = "a.py does not exist; give the path of your mle.py, mle.ipynb, or a folder or .zip holding one"
    assert tr.translate(line) == "a.py はありません。mle.py、mle.ipynb、またはフォルダか .zip を指定"


def test_a_translation_may_reorder_placeholders():
    tr = i18n.Translator([("the gradient of {out} with respect to {a}", "{a} に関する {out} の勾配")])
    assert tr.translate("the gradient of loss with respect to mu") == "mu に関する loss の勾配"


def test_localize_translates_titles_outputs_and_notes_not_scores(monkeypatch, course: Course):
    t = TestResult(test_id="test_a[float32]", name="gaussian_mle: leaves its input as it was [float32]",
                   score=0.5, max_score=1.0, passed=False, hidden=False,
                   output="gaussian_mle(x)\n  Hint: looks like the unbiased N−1 variance; the MLE divides by N")
    r = SubmissionResult(student="s", assignment="mle", status=Status.GRADED, tests=(t,), max_score=1.0,
                         execution_time=0.1, notes=("this test did not run",))
    monkeypatch.setattr(i18n, "_current", "en")
    assert i18n.localize(r, course) is r
    monkeypatch.setattr(i18n, "_current", "ja")
    ja = i18n.localize(r, course)
    (jt,) = ja.tests
    assert (jt.score, jt.max_score, jt.passed, jt.test_id) == (0.5, 1.0, False, "test_a[float32]")
    assert jt.name.endswith(" [float32]") and CJK.search(jt.name)
    assert jt.output.splitlines()[0] == "gaussian_mle(x)" and CJK.search(jt.output.splitlines()[1])
    assert CJK.search(ja.notes[0])


@pytest.mark.parametrize("env, lang", [({"LANG": "ja_JP.UTF-8"}, "ja"), ({"LANG": "C.UTF-8"}, "en"),
                                       ({"LC_ALL": "en_US.UTF-8", "LANG": "ja_JP.UTF-8"}, "en"),
                                       ({"LC_MESSAGES": "ja_JP"}, "ja"), ({}, "en"), ({"LANG": "fr_FR"}, "en")])
def test_the_locale_chooses_where_nothing_else_does(env, lang):
    assert i18n.from_locale(env) == lang


def test_lang_precedence_cli_env_course_locale(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("GMGRADE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert load({}, tmp_path).language() == "en"
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert load({}, tmp_path).language() == "ja"
    (tmp_path / "pyproject.toml").write_text('[tool.gmgrade]\nlang = "en"\n')
    assert load({}, tmp_path).language() == "en"
    monkeypatch.setenv("GMGRADE_LANG", "ja")
    assert load({}, tmp_path).language() == "ja"
    assert load({"lang": "en"}, tmp_path).language() == "en"


@pytest.mark.parametrize("name", Course(catalogue.ROOT).assignments())
def test_a_japanese_notebook_grades_the_same_code(course: Course, name: str):
    text = course.notebook(name).read_text(encoding="utf-8")
    ja = json.loads(i18n.notebook(text, i18n.translator("ja", course.root, name, hidden=False)))
    en = json.loads(text)
    assert len(ja["cells"]) == len(en["cells"])
    for a, b in zip(en["cells"], ja["cells"]):
        if a["cell_type"] == "code":  # the code is the same, line for line; only comments change
            code = [(x, y) for x, y in zip("".join(a["source"]).splitlines(), "".join(b["source"]).splitlines())]
            assert all(x == y for x, y in code if not x.lstrip().startswith("#"))
        elif a["cell_type"] == "markdown":
            assert CJK.search("".join(b["source"])), "".join(a["source"])[:80]
