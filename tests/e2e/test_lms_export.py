"""`gmgrade grade` on a Canvas export of `mle` with a roster, then `gmgrade export canvas`
and `gmgrade gradebook` on its results."""

import csv
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.material import correct, mistake

ROOT = Path(__file__).resolve().parents[2]


def gmgrade(*args):
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=ROOT,
                          capture_output=True, text=True)


def test_canvas_export_with_roster_grades_and_exports(tmp_path):
    wrong = mistake("mle", "loglik_sum").read_bytes()
    export = tmp_path / "submissions.zip"
    with zipfile.ZipFile(export, "w") as z:
        # 101 uploaded a wrong mle.py, then a correct one (Canvas names it mle-1.py)
        z.writestr("smithjane_101_5001_mle.py", wrong)
        z.writestr("smithjane_101_5009_mle-1.py", correct("mle", "loops.py").read_bytes())
        z.writestr("doejohn_LATE_102_5002_mle.py", wrong)
        z.writestr("doejohn_LATE_102_text.html", b"<p>my answer is in the file</p>")  # a text entry too
        z.writestr("leeann_103_5003_mle.py", correct("mle", "other_formulas.py").read_bytes())
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email,section\n101,Jane Smith,j@u.edu,A\n102,John Doe,d@u.edu,A\n"
                      "104,Bo Chen,b@u.edu,B\n")
    out = tmp_path / "out"
    r = gmgrade("grade", "mle", str(export), "--out", str(out), "--roster", str(roster), "--jobs", "1")
    assert r.returncode == 0, r.stderr
    grades = {row["student"]: row for row in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}
    assert set(grades) == {"101", "102", "103", "104"}
    assert grades["101"]["score"] == grades["101"]["max_score"]  # the latest upload was graded
    assert grades["103"]["score"] == grades["103"]["max_score"]
    assert 0 < float(grades["102"]["score"]) < float(grades["102"]["max_score"])
    assert grades["104"]["status"] == "missing" and grades["104"]["score"] == "0"
    assert "not on the roster" in r.stdout and "103" in r.stdout.split("not on the roster")[1]
    assert json.loads((out / "summary.json").read_text())["status"] == {"graded": 3, "missing": 1}

    csv_out = tmp_path / "canvas.csv"
    r = gmgrade("export", "canvas", "mle", "--results", str(out), "--roster", str(roster),
                "--out", str(csv_out))
    assert r.returncode == 0, r.stderr
    rows = {row[1]: row for row in csv.reader(io.StringIO(csv_out.read_text()))}
    assert rows["101"][0] == "Jane Smith" and rows["101"][-1] == grades["101"]["score"]
    assert rows["104"][-1] == "0" and rows["103"][0] == "leeann"  # off the roster: Canvas's name

    book = tmp_path / "gradebook.csv"
    r = gmgrade("gradebook", str(out), "--roster", str(roster), "--out", str(book))
    assert r.returncode == 0, r.stderr
    table = {row["student"]: row for row in csv.DictReader(io.StringIO(book.read_text()))}
    assert table["101"]["total %"] == "100" and table["104"]["total %"] == "0"
    assert table["102"]["mle days late"] == "1"  # Canvas's LATE flag; the course sets no penalty
    assert json.loads((tmp_path / "gradebook-summary.json").read_text())["students"] == 4
