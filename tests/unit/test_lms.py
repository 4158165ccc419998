"""LMS exports in (Canvas, Moodle, Blackboard), the roster, grade-import files out.

Each layout is built here as the LMS makes its "download all submissions" archive
(docs/lms.md gives the sources); nothing is graded (the e2e test grades a Canvas export)."""

import ast
import csv
import io
import json
import re
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from autograder import config, gradebook, lms, report, similarity
from autograder.course import Course
from tests.material import correct
from autograder import results
from autograder.results import Status, SubmissionResult

ROOT = Path(__file__).resolve().parents[2]
V1, V2, HELPER = b"def f():\n    return 1\n", b"def f():\n    return 2\n", b"X = 3\n"


def canvas_files():
    # sortablename_[LATE_]userid_attachmentid_file; "mle-1.py" is mle.py uploaded again;
    # a text entry has no attachment id and nothing to grade
    return {"smithjane_101_5001_mle.py": V1, "smithjane_101_5007_mle-1.py": V2,
            "smithjane_101_5002_helper.py": HELPER, "doejohn_LATE_102_5003_mle.py": V1,
            "doejohn_LATE_102_text.html": b"<p>see my file</p>"}


def moodle_files():
    # "download submissions in folders" (Moodle 4: no "_" after the plugin) for Jane, the
    # flat naming for John; the online text is no file to grade
    return {"Jane Smith_101_assignsubmission_file/mle.py": V2,
            "Jane Smith_101_assignsubmission_file/helper.py": HELPER,
            "Jane Smith_101_assignsubmission_onlinetext/onlinetext.html": b"<p>hi</p>",
            "John Doe_102_assignsubmission_file_mle.py": V1,
            "John Doe_102_assignsubmission_onlinetext_onlinetext.html": b"<p>hi</p>"}


def bb_receipt(name, files):
    """A Blackboard receipt: each file's original name and its name in the archive."""
    listed = "".join(f"\tOriginal filename: {o}\n\tFilename: {s}\n\n" for o, s in files)
    return (f"Name: {name}\nAssignment: HW1\nDate Submitted: Tuesday, 3 November 2026 09:30:00 o'clock GMT\n"
            "Current Grade: Needs Grading\n\nSubmission Field:\nThere is no student submission text data "
            "for this assignment.\n\nComments:\nThere are no student comments for this assignment.\n\n"
            f"Files:\n{listed}").encode()


def blackboard_files():
    a1, a2 = "HW1_jsmith_attempt_2026-11-01-10-00-00", "HW1_jsmith_attempt_2026-11-03-09-30-00"
    b = "HW1_jdoe_attempt_2026-11-02-12-00-00"
    return {f"{a1}.txt": bb_receipt("Jane Smith (jsmith)", [("mle.py", f"{a1}_mle.py")]), f"{a1}_mle.py": V1,
            f"{a2}.txt": bb_receipt("Jane Smith (jsmith)", [("mle.py", f"{a2}_mle.py"),
                                                            ("helper.py", f"{a2}_helper.py")]),
            f"{a2}_mle.py": V2, f"{a2}_helper.py": HELPER,
            f"{b}.txt": b"Name: John Doe (jdoe)\nDate Submitted: Monday, 2 November 2026\n", f"{b}_mle.py": V1}


def as_zip(tmp_path, files):
    path = tmp_path / "submissions.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def as_folder(tmp_path, files):
    root = tmp_path / "export"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


LAYOUTS = {"canvas": (canvas_files, "101", "102"), "moodle": (moodle_files, "101", "102"),
           "blackboard": (blackboard_files, "jsmith", "jdoe")}


@pytest.mark.parametrize("packed", [as_zip, as_folder], ids=["zip", "folder"])
@pytest.mark.parametrize("name", LAYOUTS)
def test_each_lms_export_is_detected_and_read(tmp_path, name, packed):
    files, jane, john = LAYOUTS[name]
    export = lms.read(packed(tmp_path, files()))
    assert export is not None and export.lms == name
    assert set(export.students) == {jane, john}
    # the latest upload or attempt wins; the student's other files are kept under their names
    assert export.students[jane].files == {"mle.py": V2, "helper.py": HELPER}
    assert export.students[john].files == {"mle.py": V1}


def test_what_each_lms_says_about_names_and_time(tmp_path):
    canvas = lms.read(as_zip(tmp_path, canvas_files()))
    assert canvas.students["102"].late is True and canvas.students["101"].late is False
    assert canvas.students["101"].name == "smithjane"
    moodle = lms.read(as_folder(tmp_path, moodle_files()))
    assert moodle.students["101"].name == "Jane Smith" and moodle.students["101"].late is None
    bb = lms.read(as_zip(tmp_path, blackboard_files()))
    assert bb.students["jsmith"].name == "Jane Smith"
    assert bb.students["jsmith"].submitted == "2026-11-03T09:30:00"  # the latest attempt's


def test_a_folder_per_student_is_no_lms_export(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "mle.py").write_bytes(V1)
    (tmp_path / "bob.py").write_bytes(V1)
    assert lms.read(tmp_path) is None
    assert lms.batch_entries(tmp_path, tmp_path / "out") is None
    assert not (tmp_path / "out").exists()


def test_a_zip_that_is_no_lms_export_is_refused(tmp_path):
    with pytest.raises(lms.LmsError, match="no Canvas, Moodle or Blackboard"):
        lms.batch_entries(as_zip(tmp_path, {"alice/mle.py": V1}), tmp_path / "out")


def test_macos_unzip_leftovers_are_ignored(tmp_path):
    files = {**moodle_files(), "__MACOSX/._x": b"", ".DS_Store": b""}
    assert lms.read(as_folder(tmp_path, files)).lms == "moodle"


def test_a_mixed_folder_is_no_lms_export(tmp_path):
    files = {**canvas_files(), "notes.txt": b"x"}
    assert lms.read(as_folder(tmp_path, files)) is None


def test_batch_entries_stage_each_students_files_and_what_the_lms_said(tmp_path):
    out = tmp_path / "out"
    entries = lms.batch_entries(as_zip(tmp_path, canvas_files()), out)
    assert [s for s, _ in entries] == ["101", "102"]
    folder = dict(entries)["101"]
    assert (folder / "mle.py").read_bytes() == V2 and (folder / "helper.py").read_bytes() == HELPER
    info = lms.read_info(out)
    assert info["102"]["late"] == "yes" and info["101"]["late"] == "no"
    assert info["101"]["lms"] == "canvas" and info["101"]["files"] == "helper.py mle.py"


def test_blackboard_usernames_with_underscores_come_from_the_receipt(tmp_path):
    a = "Home_work 1_jane_smith_attempt_2026-11-01-10-00-00"
    files = {f"{a}.txt": b"Name: Jane Smith (jane_smith)\n", f"{a}_mle.py": V1,
             "Home_work 1_.._attempt_2026-11-01-10-00-00_mle.py": V2,
             "Home_work 1_._attempt_2026-11-01-10-00-00_mle.py": V2}
    export = lms.read(as_zip(tmp_path, files))
    assert export.students["jane_smith"].files == {"mle.py": V1}
    out = tmp_path / "out"
    entries = dict(lms.batch_entries(as_zip(tmp_path, files), out))
    # a username that is no folder name is made one; the LMS's own stays in lms.csv
    assert all(folder.parent == out / "staff" / "lms" for folder in entries.values())
    assert sorted(entries) == ["jane_smith", "student", "student~2"]  # "." and "..", kept apart
    assert {lms.read_info(out)[s]["id"] for s in ("student", "student~2")} == {".", ".."}


def test_canvas_names_lateness_groups_and_renamed_uploads(tmp_path):
    # Canvas keeps only letters, digits and "_" of the lower-cased sortable name (none may be
    # left; "_" may stay), names a group's submission after the group with one member's id,
    # writes LATE in upper case, and puts -N (-UUID after 7) after the base name of a file
    # whose name the student had used before; a text entry or URL has no attachment id
    files = {"_103_6001_mle.py": V1,
             "o_brienpat_LATE_104_6002_mle-2.py": V2,
             "group1_105_6003_model-1.tar.gz": HELPER,
             "leeann_106_6004_mle-0f8e2c1a-1b2c-4d3e-8f9a-0123456789ab.py": V1,
             "leeann_106_text.html": b"<p>x</p>", "kimsu_107_link.html": b"<a>x</a>"}
    s = lms.read(as_zip(tmp_path, files)).students
    assert set(s) == {"103", "104", "105", "106", "107"}
    assert s["103"].name == "" and s["103"].files == {"mle.py": V1} and s["103"].late is False
    assert s["104"].name == "o_brienpat" and s["104"].late is True and s["104"].files == {"mle.py": V2}
    assert s["105"].name == "group1" and s["105"].files == {"model.tar.gz": HELPER}
    assert s["106"].files == {"mle.py": V1} and s["107"].files == {}


def test_an_anonymised_canvas_download_is_refused(tmp_path):
    files = {"anon_aB3x9_5001_mle.py": V1, "LATE_anon_Qr7Zk_5002_mle.py": V1}
    with pytest.raises(lms.LmsError, match="anonymous grading"):
        lms.read(as_zip(tmp_path, files))


def test_moodle_3_folders_subfolders_blind_marking_and_no_file(tmp_path):
    # Moodle 3 ends a folder with "_"; a folder keeps the student's subfolders; blind marking
    # writes "Participant" for the name; online text alone is a submission without a file
    files = {"Jane Smith_101_assignsubmission_file_/mle.py": V1,
             "Jane Smith_101_assignsubmission_file_/utils/helper.py": HELPER,
             "Participant_102_assignsubmission_file_/mle.py": V2,
             "Ann Lee_103_assignsubmission_onlinetext_/onlinetext.html": b"<p>x</p>"}
    export = lms.read(as_folder(tmp_path, files))
    assert export.lms == "moodle"
    s = export.students
    assert s["101"].files == {"mle.py": V1, "utils/helper.py": HELPER}
    assert s["102"].name == "Participant" and s["102"].files == {"mle.py": V2}
    assert s["103"].files == {}


def test_blackboard_files_take_the_receipts_original_names(tmp_path):
    # the receipt pairs each original name with the name in the archive; a path in it is
    # never followed, and it renames only its own attempt's files (comments are free text)
    a, other = "HW1_jsmith_attempt_2026-11-03-09-30-00", "HW1_jdoe_attempt_2026-11-02-12-00-00"
    receipt = bb_receipt("Jane Smith (jsmith)", [("mle.py", f"{a}_mle_1_.py"), ("../../helper.py", f"{a}_h.py"),
                                                  ("stolen.py", f"{other}_mle.py")])
    files = {f"{a}.txt": receipt, f"{a}_mle_1_.py": V2, f"{a}_h.py": HELPER, f"{a}_notes.md": b"x",
             f"{other}.txt": b"Name: John Doe (jdoe)\n", f"{other}_mle.py": V1}
    s = lms.read(as_zip(tmp_path, files)).students
    assert s["jsmith"].files == {"mle.py": V2, "helper.py": HELPER, "notes.md": b"x"}
    assert s["jdoe"].files == {"mle.py": V1}


def test_unsafe_zip_members_are_never_staged(tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("smithjane_101_5001_mle.py", V1)
        z.writestr("../smithjane_101_5002_x.py", V1)
    export = lms.read(path)
    assert export.students["101"].files == {"mle.py": V1}


def write_roster(tmp_path, rows):
    path = tmp_path / "roster.csv"
    path.write_text("id,name,email,section\n" + "".join(",".join(r) + "\n" for r in rows))
    return path


def test_roster_adds_missing_students_and_reports_strangers(tmp_path):
    roster = lms.read_roster(write_roster(tmp_path, [("101", "Jane Smith", "j@u.edu", "A"),
                                                     ("103", "Ann Lee", "a@u.edu", "B")]))
    tests = [{"test_id": "test_a", "name": "a", "points": 2.0, "hidden": False}]
    out = tmp_path / "out"
    missing, unknown = lms.apply_roster(out, "mle", roster, ["101", "102"], tests)
    assert missing == ["103"] and unknown == ["102"]
    r = SubmissionResult.from_dict(json.loads((out / "103" / "results.json").read_text()))
    assert r.status is Status.MISSING and r.score == 0 and r.max_score == 2
    # the Gradescope schema: the status lives in extra_data, the rest is as for any result
    assert set(r.to_dict()) == {"score", "max_score", "execution_time", "output", "output_format",
                                "visibility", "stdout_visibility", "tests", "extra_data"}
    assert report.summary([r])["status"] == {"missing": 1}


def test_roster_needs_an_id_column(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("name,email\nJane,j@u.edu\n")
    with pytest.raises(lms.LmsError, match="'id'"):
        lms.read_roster(path)


def graded_folder(tmp_path, scores, assignment="mle"):
    out = tmp_path / "graded"
    for sid, score in scores.items():
        t = results.TestResult(test_id="t", name="t", score=score, max_score=4.0, passed=score == 4, output="",
                       hidden=False)
        report.write_student(out, SubmissionResult(student=sid, assignment=assignment, status=Status.GRADED,
                                                   tests=(t,), max_score=4.0, execution_time=0.0), "")
    return out


def rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_grade_import_files(tmp_path):
    out = graded_folder(tmp_path, {"101": 4.0, "102": 1.5})
    roster = lms.read_roster(write_roster(tmp_path, [("101", "Jane Smith", "j@u.edu", "A"),
                                                     ("102", "John Doe", "d@u.edu", "B")]))
    # Canvas: the student columns its importer requires (Student, ID, ... Section last), the
    # assignment's column, a "Points Possible" row; rows match on ID, Canvas's user id
    canvas = rows(lms.grade_import("canvas", "mle", out, roster))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "mle"]
    assert canvas[1][0].strip() == "Points Possible" and canvas[1][-1] == "4"
    assert canvas[2] == ["Jane Smith", "101", "", "", "A", "4"]
    # Moodle: the worksheet's columns, without "Feedback comments" (empty, it would erase
    # the comments); "Last modified (grade)", which Moodle requires, is the time of writing
    moodle = rows(lms.grade_import("moodle", "mle", out, roster))
    assert moodle[0] == ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                         "Grade can be changed", "Last modified (submission)", "Last modified (grade)"]
    assert moodle[2][:7] == ["Participant 102", "John Doe", "d@u.edu", "Submitted for grading", "1.5", "4", "Yes"]
    written = datetime.fromisoformat(moodle[2][8])
    assert written.utcoffset() == timedelta(0) and abs(datetime.now(timezone.utc) - written) < timedelta(minutes=5)
    # Blackboard: a new column (no "|ID" in its header), matched on Username, every value quoted
    text = lms.grade_import("blackboard", "mle", out, roster)
    assert text.splitlines()[:2] == ['"Last Name","First Name","Username","mle"', '"Smith","Jane","101","4"']


def test_grade_import_needs_results(tmp_path):
    with pytest.raises(lms.LmsError, match="gmgrade grade mle"):
        lms.grade_import("canvas", "mle", tmp_path)


# ------------------------------------------------------------------ late policy and gradebook

POLICY = """
[tool.gmgrade]
jobs = 1

[tool.gmgrade.late]
deadlines = { mle = "2026-11-02T12:00:00", gmm = 2026-11-09T12:00:00 }
grace_minutes = 30
penalty_per_day = 0.1
max_penalty = 0.3
extensions = { mle = { "jdoe" = 2 } }

[tool.gmgrade.gradebook]
weights = { mle = 1, gmm = 3 }
"""


def course_with(tmp_path, text):
    (tmp_path / "pyproject.toml").write_text(text)
    return tmp_path


def test_late_policy_from_pyproject(tmp_path):
    root = course_with(tmp_path, POLICY)
    config.load({}, root)  # the policy's tables are no unknown keys to the options
    policy, weights = gradebook.load(root)
    assert weights == {"mle": 1.0, "gmm": 3.0}
    days = lambda student, when, flag="": policy.days_late("mle", student, when, flag)  # noqa: E731
    assert days("jsmith", "2026-11-02T12:20:00") == 0  # within the grace period
    assert days("jsmith", "2026-11-02T12:40:00") == 1
    assert days("jsmith", "2026-11-04T00:00:00") == 2  # started days
    assert days("jdoe", "2026-11-04T12:20:00") == 0  # two days' extension
    assert days("101", "", "yes") == 1 and days("jdoe", "", "yes") == 0  # Canvas: only a flag
    assert days("101", "", "") == 0  # Moodle: nothing said
    assert policy.score(10.0, 2) == 8.0 and policy.score(10.0, 9) == 7.0  # the cap


@pytest.mark.parametrize("bad, message", [
    ('[tool.gmgrade.late]\ndeadlines = { mle = "next friday" }\n', "not a date"),
    ("[tool.gmgrade.late]\npenalty_per_day = 2\n", "from 0 to 1"),
    ("[tool.gmgrade.late]\nextensions = { mle = 2 }\n", "must be a table"),
])
def test_a_bad_policy_is_named(tmp_path, bad, message):
    with pytest.raises(config.ConfigError, match=message):
        gradebook.load(course_with(tmp_path, bad))


def test_gradebook_applies_policy_and_weights(tmp_path):
    policy, weights = gradebook.load(course_with(tmp_path, POLICY))
    mle = graded_folder(tmp_path / "mle", {"jsmith": 4.0, "jdoe": 2.0})
    (mle / "staff").mkdir()
    (mle / "staff" / lms.INFO).write_text(
        "student,id,name,lms,submitted,late,files\n"
        "jsmith,jsmith,Jane Smith,blackboard,2026-11-03T13:00:00,,mle.py\n"
        "jdoe,jdoe,John Doe,blackboard,2026-11-03T13:00:00,,mle.py\n")
    gmm = graded_folder(tmp_path / "gmm", {"jsmith": 2.0}, "gmm")
    roster = lms.read_roster(write_roster(tmp_path, [("jsmith", "Jane Smith", "", "A"), ("ann", "Ann Lee", "", "B")]))
    text, summary = gradebook.build([gradebook.read_column(mle), gradebook.read_column(gmm)], policy, weights, roster)
    table = {r["student"]: r for r in csv.DictReader(io.StringIO(text))}
    assert set(table) == {"jsmith", "jdoe", "ann"}
    # jsmith: 24.5 h late on mle, two started days (4 -> 3.2, raw kept); gmm 2/4; (0.8 + 3 * 0.5) / 4
    jane = table["jsmith"]
    assert (jane["mle raw"], jane["mle days late"], jane["mle score"]) == ("4", "2", "3.2")
    assert jane["total %"] == "57.5"
    assert table["jdoe"]["mle days late"] == "0" and table["jdoe"]["name"] == "John Doe"  # extension
    assert table["ann"]["total %"] == "0"
    assert summary["assignments"]["gmm"]["status"] == {"graded": 1, "missing": 2}
    assert summary["assignments"]["mle"]["late"] == 1 and summary["assignments"]["gmm"]["weight"] == 3


# ------------------------------------------------------------------ similarity


def planted_copy(src):
    """``src`` with its functions in reverse order and its variables renamed."""
    tree = ast.parse(src)
    tree.body = tree.body[:2] + tree.body[2:][::-1]  # the imports stay first
    copy = ast.unparse(tree)
    for old, new in {"total": "acc", "count": "k", "flat_out": "res", "half_logdet": "hld", "xi": "v"}.items():
        copy = re.sub(rf"\b{old}\b", new, copy)
    return copy


def test_similarity_ranks_a_planted_copy_first(tmp_path):
    pytest.importorskip("copydetect")
    batch = tmp_path / "batch"
    batch.mkdir()
    original = correct("mle", "loops.py").read_text()
    (batch / "ann.py").write_text(original)
    (batch / "bob.py").write_text(planted_copy(original))
    (batch / "cat.py").write_text(correct("mle", "other_formulas.py").read_text())
    (batch / "dan.py").write_text(correct("mle", "float64_internals.py").read_text())
    (batch / "eve.py").write_text((ROOT / "solutions" / "mle.py").read_text())
    (batch / "notes.txt").write_text("not code")
    out = tmp_path / "similar.html"
    pairs = similarity.run(Course(ROOT), "mle", batch, out)
    assert (pairs[0].a, pairs[0].b) == ("ann", "bob") and pairs[0].score > 0.5
    assert all(p.score < 0.5 for p in pairs[1:])
    page = out.read_text()
    assert page.index("ann — bob") < page.index("<h2") and "<mark>" in page and "notes" in page


def test_similarity_does_not_count_the_skeleton(tmp_path):
    pytest.importorskip("copydetect")
    skeleton = Course(ROOT).skeleton("mle").read_text()
    assert similarity.compare({"a": skeleton, "b": skeleton}, skeleton) == []
    assert similarity.compare({"a": skeleton, "b": skeleton}, "")[0].score == 1.0


def test_command_line_mistakes_stop_before_grading(tmp_path, capsys):
    from autograder.cli import main
    from autograder.results import ExitCode

    out = tmp_path / "out"
    not_lms = as_zip(tmp_path, {"alice/mle.py": V1})
    assert main(["grade", "mle", str(not_lms), "--out", str(out), "--course", str(ROOT)]) == ExitCode.USAGE_ERROR
    assert "no Canvas, Moodle or Blackboard" in capsys.readouterr().err and not out.exists()
    bad_roster = tmp_path / "roster.csv"
    bad_roster.write_text("name\nJane\n")
    export = as_folder(tmp_path, canvas_files())
    assert main(["grade", "mle", str(export), "--out", str(out), "--roster", str(bad_roster),
                 "--course", str(ROOT)]) == ExitCode.USAGE_ERROR
    assert "'id'" in capsys.readouterr().err and not out.exists()
    assert main(["export", "otter", "mle", "--results", str(out), "--out", str(tmp_path / "x.zip"),
                 "--course", str(ROOT)]) == ExitCode.USAGE_ERROR
    assert "--results and --roster are for the LMS exports" in capsys.readouterr().err
