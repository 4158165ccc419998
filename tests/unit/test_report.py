"""Writing results: the student's feedback (text and HTML, where whatever their code printed
must stay text), their folder and the staff folder, grades.csv and the class summary."""

import csv
import io
import json

from autograder import report
from autograder.results import Status, SubmissionResult, TestResult as Result

HOSTILE = '</pre><script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'


def _result(student="ada", tests=None, *, status=Status.GRADED, notes=(), error=None, max_score=None):
    if tests is None:
        tests = (Result("test_a", "public test", 1.0, 1.0, True, "", False),
                 Result("test_b", "hidden test", 0.0, 2.0, False, "got 1, expected 2", True))
    return SubmissionResult(student, "mle", status, tuple(tests),
                            sum(t.max_score for t in tests) if max_score is None else max_score, 0.5,
                            tuple(notes), error)


def test_feedback_html_escapes_everything_from_the_student():
    # the test's output quotes what the student's code printed or returned; the notes and
    # the error quote their file; the student's name comes from the submission's file name
    r = _result(student="<b>eve</b>", notes=(HOSTILE,), error=HOSTILE,
                tests=(Result("test_a", "shape of <x>", 0.0, 1.0, False, HOSTILE, False),))
    page = report.feedback_html(r)
    assert "<script>" not in page and "<img" not in page and "<b>eve</b>" not in page
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") == 3  # output, note, error
    assert "shape of &lt;x&gt;" in page and "&amp; &quot;quotes&quot;" in page
    assert page.count("<pre>") == page.count("</pre>") == 1  # the student's </pre> closes nothing


def test_feedback_html_opens_the_failed_tests_and_tags_the_hidden_ones():
    page = report.feedback_html(_result())
    assert '<details class="pass"><summary><b>✓</b> public test ' in page
    assert '<details class="fail" open><summary><b>✗</b> hidden test <span class="tag">hidden test</span>' in page
    assert "<pre>got 1, expected 2</pre>" in page  # only failed tests show their output
    assert "Score: <b>1 / 3</b>" in page


def test_feedback_text_and_check_text():
    r = _result(notes=("cell In [2] redefines mean",), error="loading took long")
    text = report.feedback_text(r)
    assert text.splitlines()[:3] == ["mle: 1 / 3 points", "! loading took long",
                                     "note: cell In [2] redefines mean"]
    assert "[PASS] public test (1/1)" in text and "[FAIL] hidden test (0/2)\n    got 1, expected 2" in text
    shown = report.check_text(r)  # check runs the public tests only: none hidden is shown
    assert "hidden test" not in shown
    assert "1/2 public tests passed" in shown


def test_write_student_keeps_staff_logs_out_of_the_students_folder(tmp_path):
    r = _result()
    report.write_student(tmp_path, r, "Traceback (hidden test source)")
    assert sorted(p.name for p in (tmp_path / "ada").iterdir()) == ["feedback.html", "results.json"]
    assert (tmp_path / "staff" / "ada.log").read_text() == "Traceback (hidden test source)"
    back = json.loads((tmp_path / "ada" / "results.json").read_text(encoding="utf-8"))
    assert SubmissionResult.from_dict(back) == r
    report.write_student(tmp_path, r, "")  # graded again without a fault: the old log goes
    assert not (tmp_path / "staff" / "ada.log").exists()
    assert not [p for p in tmp_path.rglob(".*tmp*")]  # atomic writes leave no temporary file


def test_grades_csv_has_a_column_per_test_and_blanks_for_tests_not_graded():
    only_a = _result("bob, jr.", (Result("test_a", "a", 0.5, 1.0, False, "", False),), status=Status.ERROR)
    rows = list(csv.reader(io.StringIO(report.grades_csv([_result("zoe"), only_a]))))
    assert rows == [["student", "score", "max_score", "status", "test_a", "test_b"],
                    ["bob, jr.", "0.5", "1", "error", "0.5", ""],  # sorted by student
                    ["zoe", "1", "3", "graded", "1", "0"]]


def test_summary_counts_statuses_pass_rates_and_the_histogram():
    rs = [_result("a"), _result("b", status=Status.TIMEOUT),
          _result("c", (Result("test_a", "public test", 1.0, 1.0, True, "", False),
                        Result("test_b", "hidden test", 2.0, 2.0, True, "", True)))]
    s = report.summary(rs)
    assert s["students"] == 3 and s["max_score"] == 3.0
    assert s["status"] == {"graded": 2, "timeout": 1}
    assert s["tests"]["test_a"]["pass_rate"] == 1.0 and s["tests"]["test_b"]["pass_rate"] == 0.3333
    assert s["score"]["full_marks"] == 1 and s["score"]["median"] == 1.0
    assert s["score"]["histogram"]["counts"] == [0, 0, 0, 2, 0, 0, 0, 0, 0, 1]  # 1/3 twice, 3/3 once
    text = report.summary_text(s)
    assert text.startswith("mle: 3 submission(s) graded — graded 2, timeout 1")
    assert text.index("hidden test (hidden)") < text.index("public test")  # hardest test first
    assert report.summary_text(report.summary([])) == "No submissions were graded."


def test_students_text_lists_the_lowest_scores_first():
    rs = [_result(f"s{i}", (Result("t", "t", float(i), 9.0, False, "", False),)) for i in range(5)]
    rs[0] = _result("s0", (), status=Status.ERROR, error="no mle.py in the folder", max_score=9.0)
    lines = report.students_text(rs, limit=3).splitlines()
    assert [x.split()[0] for x in lines[1:4]] == ["s0", "s1", "s2"]
    assert "(no mle.py in the folder)" in lines[1]
    assert lines[-1] == "… and 2 more in grades.csv"
