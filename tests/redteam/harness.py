"""Running the red-team batch: a private course, canaries, a loopback listener, the batch
itself (graded by the real engine in a subprocess), and what the checks need afterwards.

Each attack also proves that it ran (:func:`missing_proofs`): its docstring names text that
its results must show — the grader's own verdict on its hostile call ("bernoulli_mle() timed
out"), or the message it raises once its hostile part has finished and got nothing
(``RT-RAN``) — and it must score exactly its honest part. An attack defused by an API change
(a renamed function, a new signature, an engine name it patches that no longer exists)
shows neither, and the suite says so instead of counting it as stopped.

Nothing here trusts the attacks to behave: every attack is told the real paths (course,
batch, output folder, canary folder, the listener's port, the name of a secret in the
grader's environment), so the suite plays the strongest student, one who knows the layout.
"""

from __future__ import annotations

import ast
import hashlib
import html
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.redteam import generated
from tests.material import correct

HERE = Path(__file__).resolve().parent
ATTACKS = HERE / "attacks"
ROOT = HERE.parents[1]
MARK = "rtmark"  # attacks name the processes they start with this
ESCAPED = "RT-ESCAPED"  # attacks put this in their feedback when they got through
BYSTANDER = "victim.py"  # an innocent, correct submission among the attacks (colliding_names)
SECRET_NAME = "GMGRADE_RT_SECRET"
HONEST = re.compile(r"honest part:\s*(\d+(?:\.\d+)?)\s*points?", re.IGNORECASE)
# ``proof: TEXT`` (every entry of the attack) or ``proof (ENTRY): TEXT``, one a line;
# ``A | B`` accepts either text (where a busy machine may turn a stop into a timeout)
PROOF = re.compile(r"^\s*proof(?: \((?P<entry>[^)]+)\))?:\s*(?P<text>.+?)\s*$", re.MULTILINE)

# Options for the batch: short time limits and a reduced memory limit keep the run short. Loading
# gets more room than a test (20 s): four submissions start at once on a CI machine of two cores,
# and an attack's honest part is only reached once its file has loaded.
OPTIONS = dict(timeout=3.0, memory_mb=1536, device="cpu", load_timeout=20.0, cell_timeout=3.0,
               max_examples=10)
JOBS = 4
WALL_LIMIT = int(os.environ.get("RT_WALL_LIMIT", "900"))  # the whole batch: a hang fails the suite


@dataclass
class Attack:
    name: str
    doc: str
    honest: float
    entries: list[str]  # file names in the batch folder
    source: str = ""  # the text (for .py / .ipynb attacks)
    proofs: list[tuple[str | None, str]] = field(default_factory=list)  # (entry or every one, text)


def _docstring(path: Path) -> str:
    text = path.read_text()
    if path.suffix == ".py":
        return ast.get_docstring(ast.parse(text)) or ""
    nb = json.loads(text)
    for cell in nb["cells"]:
        if cell.get("cell_type") == "code":
            src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            return ast.get_docstring(ast.parse(src)) or ""
    return ""


def honest_points(doc: str) -> float:
    m = HONEST.search(doc)
    if not m:
        raise ValueError(f"attack docstring does not state its honest part: {doc[:80]!r}")
    return float(m.group(1))


def proofs(doc: str) -> list[tuple[str | None, str]]:
    return [(m.group("entry"), m.group("text")) for m in PROOF.finditer(doc)]


def all_attacks() -> list[Attack]:
    out = []
    for p in sorted(ATTACKS.iterdir()):
        if p.suffix in (".py", ".ipynb"):
            doc = _docstring(p)
            out.append(Attack(p.stem, doc, honest_points(doc), [p.name], p.read_text(),
                              proofs(doc)))
    for b in generated.BUILDERS:
        doc = b.__doc__ or ""
        out.append(Attack(b.__name__, doc, honest_points(doc), [], proofs=proofs(doc)))
    return out


def missing_proofs(attack: Attack, rows: list[tuple[str, dict | None]]) -> list[str]:
    """What the results of ``attack`` (``(entry, results.json)`` for each of its entries) fail
    to show, one line each; empty when it demonstrably ran: every proof text is in the
    feedback of its entry (a test's output or the submission's), and every entry other than
    the bystander scored exactly the honest part (the score pattern, not only its bound)."""
    results = dict(rows)
    missing = [f"{entry}: no results" for entry, data in rows if data is None]
    for entry, text in attack.proofs:
        if entry is not None and entry not in results:
            missing.append(f"a proof names {entry}, which is not an entry of this attack")
        for e in [entry] if entry is not None else attack.entries:
            data = results.get(e)
            shown = "\n".join(_strings(data)) if data is not None else ""
            if data is not None and not any(alt in shown for alt in text.split(" | ")):
                missing.append(f"{e}: its feedback does not show {text!r}")
    for entry, data in rows:
        if data is not None and entry != BYSTANDER and abs(data["score"] - attack.honest) > 1e-9:
            passed = [t["name"] for t in data["tests"] if t["score"] > 0]
            why = next((t["output"] for t in data["tests"] if t["score"] == 0 and t.get("output")), "")
            extra = data.get("extra_data", {})  # results.json is in Gradescope's format
            missing.append(f"{entry}: scored {data['score']}, not exactly its honest part "
                           f"({attack.honest}); tests that scored: {passed}; status "
                           f"{extra.get('status')!r}, error {extra.get('error')!r}, notes "
                           f"{extra.get('notes')!r}, {data.get('execution_time')} s; first failure: "
                           f"{why[:400]!r}")
    return missing


# --------------------------------------------------------------------------- snapshots


def snapshot(path: Path) -> dict[str, tuple]:
    """Every entry under ``path`` (not following links): type, mode, size, content hash."""
    snap: dict[str, tuple] = {}
    if not path.exists() and not path.is_symlink():
        return snap
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(path))
            st = p.lstat()
            if p.is_symlink():
                snap[rel] = ("link", os.readlink(p))
            elif p.is_file():
                snap[rel] = ("file", st.st_mode, st.st_size, hashlib.sha256(p.read_bytes()).hexdigest())
            elif p.is_dir():
                snap[rel] = ("dir", st.st_mode)
            else:
                snap[rel] = ("other", st.st_mode)
    return snap


def names_in(folder: str, pattern: str) -> set[str]:
    try:
        return {n for n in os.listdir(folder) if re.search(pattern, n)}
    except OSError:
        return set()


def mem_available_mb() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return 0.0


def disk_free_mb(path: str) -> float:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize / 2 ** 20


def shm_used_mb() -> float:
    st = os.statvfs("/dev/shm")
    return (st.f_blocks - st.f_bfree) * st.f_frsize / 2 ** 20


# --------------------------------------------------------------------------- processes


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(200_000)
    except OSError:
        return b""


def attack_processes(run_root: str) -> dict[int, str]:
    """Live processes an attack started: named with the marker, or (under the process
    backend, where the sandbox shares our pid namespace) still holding this run's paths."""
    found = {}
    me = os.getpid()
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == me:
            continue
        comm = _read(f"/proc/{p}/comm").decode("latin-1").strip()
        cmd = _read(f"/proc/{p}/cmdline").replace(b"\0", b" ").decode("latin-1")
        if MARK in comm or MARK in cmd:
            found[int(p)] = f"{comm}: {cmd[:120]}"
            continue
        try:
            uid = os.stat(f"/proc/{p}").st_uid
        except OSError:
            continue
        if uid == 0:
            continue
        env = _read(f"/proc/{p}/environ").decode("latin-1")
        try:
            cwd = os.readlink(f"/proc/{p}/cwd")
        except OSError:
            cwd = ""
        if run_root in env or cwd.startswith(run_root):
            found[int(p)] = f"uid {uid} {comm}: {cmd[:120]} (cwd {cwd})"
    return found


def kill_all(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# --------------------------------------------------------------------------- listener


class Listener:
    """TCP and UDP on 127.0.0.1: records anything that reaches it from a sandbox."""

    def __init__(self) -> None:
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(16)
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.hits: list[str] = []
        self.stop = False
        for target in (self._tcp, self._udp):
            threading.Thread(target=target, daemon=True).start()

    def _tcp(self) -> None:
        self.tcp.settimeout(0.5)
        while not self.stop:
            try:
                conn, addr = self.tcp.accept()
            except OSError:
                continue
            self.hits.append(f"tcp from {addr}")
            conn.close()

    def _udp(self) -> None:
        self.udp.settimeout(0.5)
        while not self.stop:
            try:
                data, addr = self.udp.recvfrom(4096)
            except OSError:
                continue
            self.hits.append(f"udp from {addr}: {data[:60]!r}")

    def close(self) -> None:
        self.stop = True
        self.tcp.close()
        self.udp.close()


# --------------------------------------------------------------------------- the run


@dataclass
class Ctx:
    root: Path
    course: Path
    batch: Path
    out: Path
    canary: Path
    tmp: Path
    skeleton: str
    victim: str
    secret: str
    port: int


@dataclass
class Run:
    backend: str
    ctx: Ctx
    attacks: list[Attack]
    entry_to_attack: dict[str, str]
    proc: subprocess.CompletedProcess | None = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # the batch's CPU time, all processes together
    timed_out: bool = False
    canaries_before: dict = field(default_factory=dict)
    canaries_after: dict = field(default_factory=dict)
    leftover: dict = field(default_factory=dict)
    net_hits: list = field(default_factory=list)
    mem_before: float = 0.0
    mem_after: float = 0.0
    disk_before: float = 0.0
    disk_after: float = 0.0
    shm_before: float = 0.0
    shm_after: float = 0.0


def _make_course(dest: Path, secret: str) -> None:
    (dest / "assignments").mkdir(parents=True)
    shutil.copytree(ROOT / "assignments" / "mle", dest / "assignments" / "mle",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "solutions" / "tests").mkdir(parents=True)
    sol = (ROOT / "solutions" / "mle.py").read_text()
    (dest / "solutions" / "mle.py").write_text(f"# RT-SOLUTION-SECRET {secret}\n" + sol)
    shutil.copytree(ROOT / "solutions" / "tests" / "mle", dest / "solutions" / "tests" / "mle",
                    ignore=shutil.ignore_patterns("__pycache__"))
    hidden = dest / "solutions" / "tests" / "mle" / "test_hidden.py"
    hidden.write_text(f"# RT-HIDDEN-SECRET {secret}\n" + hidden.read_text())
    for dirpath, dirnames, filenames in os.walk(dest):  # readable like a real course folder
        os.chmod(dirpath, 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)


def _template(text: str, ctx: Ctx) -> str:
    for key, value in (("@@OUT@@", ctx.out), ("@@BATCH@@", ctx.batch), ("@@COURSE@@", ctx.course),
                       ("@@CANARY@@", ctx.canary), ("@@PORT@@", ctx.port),
                       ("@@SECRET_NAME@@", SECRET_NAME)):
        text = text.replace(key, str(value))
    return text


def canary_state(ctx: Ctx) -> dict:
    home = os.path.expanduser("~")
    return {
        "course": snapshot(ctx.course),
        "batch": snapshot(ctx.batch),
        "canary": snapshot(ctx.canary),
        "/tmp": names_in("/tmp", r"^(rt-|results\.json|grades\.csv|summary\.json|fill$|pwned)"),
        "/dev/shm": names_in("/dev/shm", r"."),
        "home": names_in(home, r"^(rt-|results\.json)"),
        "/autograder": os.path.exists("/autograder"),
    }


def prepare(backend: str, attacks: list[Attack]) -> Run:
    """A private course, canaries and the listener, and a batch folder holding ``attacks``
    (a file attack's ``source`` with the run's paths filled in, or its builder's entries)."""
    root = Path(tempfile.mkdtemp(prefix="gmgrade-redteam-"))
    os.chmod(root, 0o755)
    secret = "rt" + secrets.token_hex(12)
    ctx = Ctx(root=root, course=root / "course", batch=root / "batch", out=root / "out",
              canary=root / "canary", tmp=root / "tmp", skeleton="", victim="", secret=secret,
              port=0)
    _make_course(ctx.course, secret)
    ctx.skeleton = (ctx.course / "assignments" / "mle" / "mle.py").read_text()
    ctx.victim = (correct("mle", "other_formulas.py")).read_text()
    for d, mode in ((ctx.batch, 0o755), (ctx.canary, 0o777), (ctx.tmp, 0o755)):
        d.mkdir()
        os.chmod(d, mode)
    (ctx.canary / "canary.txt").write_text("do not touch\n")
    os.chmod(ctx.canary / "canary.txt", 0o666)
    listener = Listener()
    ctx.port = listener.port
    entry_to_attack = {}
    for a in attacks:
        if a.entries:
            (ctx.batch / a.entries[0]).write_text(_template(a.source, ctx))
        else:
            builder = next(b for b in generated.BUILDERS if b.__name__ == a.name)
            a.entries = builder(ctx.batch, ctx)
        for e in a.entries:
            entry_to_attack[e] = a.name
    run = Run(backend, ctx, attacks, entry_to_attack)
    run._listener = listener  # type: ignore[attr-defined]
    return run


DRIVER = """
import sys
from pathlib import Path
from autograder.batch import grade_batch
from autograder.course import Course
from autograder.runner import GradeOptions
course, batch, out, backend, jobs, opts = sys.argv[1:7]
opts = GradeOptions(sandbox=backend, **eval(opts))
grade_batch(Course(Path(course)), "mle", Path(batch), Path(out), opts, jobs=int(jobs), regrade=True)
"""


def execute(run: Run) -> Run:
    ctx = run.ctx
    run.canaries_before = canary_state(ctx)
    run.mem_before, run.disk_before, run.shm_before = (
        mem_available_mb(), disk_free_mb("/tmp"), shm_used_mb())
    env = dict(os.environ)
    env[SECRET_NAME] = ctx.secret
    env["TMPDIR"] = str(ctx.tmp)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    cmd = [sys.executable, "-c", DRIVER, str(ctx.course), str(ctx.batch), str(ctx.out), run.backend,
           str(JOBS), repr(OPTIONS)]
    start = time.monotonic()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=WALL_LIMIT)
    except subprocess.TimeoutExpired:
        run.timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and every grader it started
        out, err = proc.communicate()
    except BaseException:  # e.g. Ctrl-C: never leave the batch running
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    run.proc = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    run.seconds = time.monotonic() - start
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.cpu_seconds = (cpu.ru_utime + cpu.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    # let killed sandboxes finish dying, then look for anything an attack left running
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and attack_processes(str(ctx.root)):
        time.sleep(0.5)
    run.leftover = attack_processes(str(ctx.root))
    kill_all(run.leftover)  # never leave them on the machine, even when the check fails
    listener = run._listener  # type: ignore[attr-defined]
    time.sleep(0.5)
    run.net_hits = list(listener.hits)
    listener.close()
    run.canaries_after = canary_state(ctx)
    run.mem_after, run.disk_after, run.shm_after = (
        mem_available_mb(), disk_free_mb("/tmp"), shm_used_mb())
    return run


def cleanup(run: Run) -> None:
    for stray in ("/tmp/rt-state", "/tmp/results.json", "/tmp/rt-pwned"):
        if stray not in run.canaries_before.get("/tmp", set()):
            try:
                os.unlink(stray)
            except OSError:
                pass
    shutil.rmtree(run.ctx.root, ignore_errors=True)


# --------------------------------------------------------------------------- reading the outputs


def output_files(run: Run) -> list[Path]:
    return [p for p in run.ctx.out.rglob("*") if p.is_file()]


def readable_text(path: Path) -> str:
    """An output file as a reader sees it: the raw text, the HTML unescaped, and every
    string of a JSON file decoded (escaped quotes and newlines would hide a quoted line)."""
    text = path.read_text(errors="replace")
    parts = [text, html.unescape(text)]
    if path.suffix == ".json":
        try:
            parts += list(_strings(json.loads(text)))
        except ValueError:
            pass
    return "\n".join(parts)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _public_text(run: Run) -> str:
    """What students have anyway: the skeleton and notebook, the public tests, the engine
    (public: it ships to students), and what the batch's students wrote themselves."""
    course = run.ctx.course
    files = [*(course / "assignments" / "mle").rglob("*"), *(ROOT / "autograder").rglob("*.py"),
             *ATTACKS.iterdir(), HERE / "generated.py"]
    return "".join(p.read_text() for p in files if p.is_file()) + run.ctx.victim


_TRIVIAL = re.compile(r"""^(import\s|from\s+\S+\s+import\s|[rbuf]*(\"\"\"|\'\'\')\s*$)""")


def hidden_lines(run: Run) -> dict[str, str]:
    """Every distinctive line of the course's hidden material (each file under solutions/:
    reference and hidden tests), stripped, 25 characters or more, neither an import nor a
    docstring delimiter, and found nowhere public -> ``FILE:LINE`` where it is."""
    course = run.ctx.course
    public = _public_text(run)
    out: dict[str, str] = {}
    for f in sorted((course / "solutions").rglob("*")):
        if not f.is_file() or "__pycache__" in f.parts:
            continue
        for i, line in enumerate(f.read_text().splitlines(), 1):
            s = line.strip()
            if len(s) >= 25 and not _TRIVIAL.match(s) and s not in public:
                out.setdefault(s, f"{f.relative_to(course)}:{i}")
    return out


def leak_needles(run: Run) -> list[str]:
    """Text that must never appear in a student-visible output: secrets and lines of code
    from the reference solution and the hidden tests that appear nowhere public."""
    course = run.ctx.course
    public = (course / "assignments" / "mle" / "mle.py").read_text()
    public += "".join(p.read_text() for p in (course / "assignments" / "mle" / "tests").glob("*.py"))
    public += "".join(p.read_text() for p in ATTACKS.iterdir()) + run.ctx.victim
    needles = [run.ctx.secret]
    sol = (course / "solutions" / "mle.py").read_text().splitlines()
    inside = False
    for line in sol:
        s = line.strip()
        if s == "# BEGIN SOLUTION":
            inside = True
        elif s == "# END SOLUTION":
            inside = False
        elif inside and len(s) >= 12 and not s.startswith("#") and s not in public:
            needles.append(s)
    for p in (course / "solutions" / "tests" / "mle").glob("*.py"):
        for line in p.read_text().splitlines():
            s = line.strip()
            if len(s) >= 30 and not any(q in s for q in "\"'") and s not in public:
                needles.append(s)
    return needles
