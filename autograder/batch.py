"""Grading a folder of submissions in parallel, resumably, here or on a Ray cluster.

Each submission is graded by a fresh trusted process (a fork of a pre-warmed template,
``autograder.warm``, or ``python -m autograder.runner``) with its own sandboxed worker, so
students never share state. A student is done once ``DIR/STUDENT/results.json`` and its
fingerprint ``DIR/staff/STUDENT.fingerprint`` (hash of the submission, the tests and the
options) are written; re-running skips done students unless ``regrade``, so an
interrupted batch (Ctrl-C, ``kill -9``) finishes the rest without losing or
duplicating anything. ``grades.csv`` and ``summary.json`` are rebuilt from the
per-student results after every student.

Executors: ``local`` runs ``jobs`` trusted processes on this machine; ``ray`` starts one
actor per node of a Ray cluster (:class:`NodeGrader`, holding the node's CPUs and, with
``--device cuda``, its GPUs) with a warm template of its own, and sends it the
submissions' bytes, one per free CPU (with ``--device cuda``, one per GPU fraction). The
actor gets the course material of the assignment once, so worker nodes need gmgrade
installed but no shared file system; on each node the same trusted processes and sandbox
grade it. Fingerprints, skipping and the
output folder are the same for both: only where ``grade_one_isolated`` runs differs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Any, Callable, TextIO

from autograder import i18n, lms, report, submission
from autograder.course import MARKER, Course
from autograder.errors import UsageError
from autograder.results import Status, SubmissionResult, TestResult
from autograder.options import GradeOptions
from autograder.runner import request_json
from autograder.warm import WarmRunner, WorkerPlan, course_imports

FINGERPRINT = ".fingerprint"  # DIR/staff/STUDENT.fingerprint
# where earlier versions kept the staff files, inside DIR/STUDENT/ (moved out by grade_batch)
OLD_LAYOUT = {"staff.log": ".log", ".gmgrade-fingerprint": FINGERPRINT}
SUBMISSION_WALL_LIMIT = 1800.0
EXECUTORS = ("local", "ray")
RAY_GPU_FRACTION_ENV = "GMGRADE_RAY_GPU_FRACTION"  # GPU share of one submission with --device cuda
RAY_GPU_FRACTION = 0.25
RAY_SHIP_LIMIT = 256 * 2**20  # bytes of one submission sent to a Ray node
RAY_LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": a single-machine Ray on 127.0.0.1


def _hash_path(h: "hashlib._Hash", path: Path) -> None:
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and not p.is_symlink():
                h.update(str(p.relative_to(path)).encode())
                h.update(p.read_bytes())
    elif path.is_file():
        h.update(path.read_bytes())


def fingerprint(course: Course, assignment: str, path: Path, opts: GradeOptions) -> str:
    h = hashlib.sha256()
    try:
        _hash_path(h, path)
    except OSError:
        h.update(b"unreadable")
    for f in course.grading_files(assignment):
        h.update(f.relative_to(course.root).as_posix().encode())
        h.update(f.read_bytes())
    h.update(json.dumps(asdict(opts), sort_keys=True).encode())
    h.update(i18n.current().encode())  # the feedback's language: results in another are redone
    return h.hexdigest()


def _done(out_dir: Path, student: str, fp: str) -> SubmissionResult | None:
    try:
        if report.staff_file(out_dir, student, FINGERPRINT).read_text() != fp:
            return None
        return SubmissionResult.from_dict(json.loads((out_dir / student / "results.json").read_text()))
    except (OSError, ValueError, KeyError):
        return None


def _move_staff_files_out(out_dir: Path, student: str) -> None:
    """An output folder written by an earlier version kept the staff log and the fingerprint
    in the student's folder: move them to ``DIR/staff/`` (resuming still sees the fingerprint,
    and the student's folder holds only what they may see)."""
    for name, suffix in OLD_LAYOUT.items():
        old = out_dir / student / name
        if old.is_file():
            new = report.staff_file(out_dir, student, suffix)
            new.parent.mkdir(exist_ok=True)
            os.replace(old, new)


def load_results(out_dir: Path, students: list[str]) -> list[SubmissionResult]:
    results = []
    for s in students:
        try:
            results.append(SubmissionResult.from_dict(json.loads((out_dir / s / "results.json").read_text())))
        except (OSError, ValueError, KeyError):
            pass
    return results


def grade_one_isolated(course: Course, assignment: str, student: str, path: Path,
                       opts: GradeOptions, warm: WarmRunner | None = None) -> tuple[SubmissionResult, str]:
    """Grade in a separate trusted process; a crash there becomes an error result.

    With ``warm``, that process is a fork of the batch's pre-warmed template instead of a
    fresh ``python -m autograder.runner`` (same code, imports already paid).
    """
    with tempfile.TemporaryDirectory(prefix="gmgrade-req-") as tmp:
        out = Path(tmp) / "result.json"
        req = Path(tmp) / "request.json"
        req.write_text(request_json(course, assignment, path, student, opts, out))
        try:
            if warm is not None:
                err = Path(tmp) / "stderr.txt"
                code = warm.run(req, err, SUBMISSION_WALL_LIMIT)
                detail = err.read_text(errors="replace")[-6000:] if err.exists() else ""
            else:
                env = dict(os.environ)
                env["PYTHONDONTWRITEBYTECODE"] = "1"
                proc = subprocess.run([sys.executable, "-m", "autograder.runner", str(req)],
                                      capture_output=True, text=True, timeout=SUBMISSION_WALL_LIMIT,
                                      env=env, stdin=subprocess.DEVNULL)
                code, detail = proc.returncode, proc.stderr[-6000:]
        except (subprocess.TimeoutExpired, TimeoutError):
            return _grader_failure(student, assignment, "grading took longer than "
                                   f"{SUBMISSION_WALL_LIMIT:g} s and was stopped",
                                   Status.TIMEOUT), ""
        if code != 0 or not out.exists():
            return _grader_failure(student, assignment, "the autograder failed on this submission "
                                   "— your instructor has the details", Status.ERROR), detail
        data = json.loads(out.read_text())
        return SubmissionResult.from_dict(data["result"]), data.get("staff_log", "")


def _grader_failure(student: str, assignment: str, message: str, status: Status) -> SubmissionResult:
    return SubmissionResult(student=student, assignment=assignment, status=status, tests=(),
                            max_score=0.0, execution_time=0.0, error=message)


class Progress:
    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.skipped = 0
        self.start = time.monotonic()
        self.stream = stream
        self.tty = stream.isatty()
        self.lock = threading.Lock()

    def skip(self, n: int) -> None:
        self.skipped += n
        self.done += n

    def update(self, r: SubmissionResult) -> None:
        with self.lock:
            self.done += 1
            graded = self.done - self.skipped
            elapsed = time.monotonic() - self.start
            left = self.total - self.done
            eta = elapsed / graded * left if graded else 0.0
            width = 24
            filled = int(width * self.done / max(1, self.total))
            bar = "#" * filled + "-" * (width - filled)
            line = (f"[{bar}] {self.done}/{self.total}  eta {int(eta) // 60}m{int(eta) % 60:02d}s  "
                    f"{r.student}: {r.score:g}/{r.max_score:g} {r.status.value}")
            if self.tty:
                self.stream.write("\r\033[K" + line)
                if self.done == self.total:
                    self.stream.write("\n")
            else:
                self.stream.write(line + "\n")
            self.stream.flush()


def grade_batch(course: Course, assignment: str, folder: Path, out_dir: Path, opts: GradeOptions,
                *, jobs: int = 1, regrade: bool = False, progress_stream: TextIO | None = None,
                grade_fn: Callable[..., tuple[SubmissionResult, str]] = grade_one_isolated,
                executor: str = "local", address: str | None = None) -> dict:
    """Grade every entry of ``folder`` not yet graded into ``out_dir``; return the class summary.

    ``executor="ray"`` grades on a Ray cluster (``address``, else ``$RAY_ADDRESS``, else a
    Ray instance started here with ``jobs`` CPUs); ``grade_fn`` is for the local executor.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, not {executor!r}")
    entries = lms.batch_entries(folder, out_dir)  # an LMS's "download all submissions"
    if entries is None:
        entries = submission.batch_entries(folder)
    if not entries:
        raise submission.SubmissionError(
            f"{folder} holds no submissions; it should hold one entry per student: STUDENT/ (a "
            f"folder with {assignment}.py or {assignment}.ipynb), STUDENT.py, STUDENT.ipynb or STUDENT.zip")
    out_dir.mkdir(parents=True, exist_ok=True)
    students = [s for s, _ in entries]
    progress = Progress(len(entries), progress_stream or sys.stderr)
    todo, rejected = [], []
    for sid, path in entries:
        _move_staff_files_out(out_dir, sid)
        fp = fingerprint(course, assignment, path, opts)
        if not regrade and _done(out_dir, sid, fp) is not None:
            progress.skip(1)
            continue
        problem = rejection(path, assignment)
        if problem is None:
            todo.append((sid, path, fp))
        else:
            rejected.append((sid, path, fp, problem))
    if progress.skipped:
        progress.stream.write(f"{progress.skipped} submission(s) already graded; skipping them "
                              "(use --regrade to grade them again)\n")
    lock = threading.Lock()

    def finish(sid: str, fp: str, result: SubmissionResult, log: str) -> None:
        result = i18n.localize(result, course)
        with lock:
            report.write_student(out_dir, result, log)
            report.atomic_write(report.staff_file(out_dir, sid, FINGERPRINT), fp)
            report.write_class(out_dir, load_results(out_dir, students))
        progress.update(result)

    if executor == "ray":
        if todo:
            _run_ray(course, assignment, todo, opts, finish, jobs=jobs, address=address,
                     stream=progress.stream)
    else:
        _run_local(course, assignment, todo, opts, finish, jobs=jobs, grade_fn=grade_fn,
                   note=lambda m: print(m, file=progress.stream))
    if rejected:  # after the executor: a cluster that cannot grade leaves nothing written
        from autograder.otter import collect_tests  # the tests' names and points; none runs

        tests = collect_tests(course, assignment)
        for sid, _, fp, problem in rejected:
            finish(sid, fp, _not_a_submission(sid, assignment, problem, tests), "")
    results = load_results(out_dir, students)
    summary = report.write_class(out_dir, results)
    summary["students_text"] = report.students_text(results)
    summary["rejected"] = [f"{path.name}: {problem}" for _, path, _, problem in rejected]
    return summary


def _not_a_submission(student: str, assignment: str, problem: str, tests: list[dict]) -> SubmissionResult:
    """An entry that is no submission: status ``error`` with the reason, and every test failed
    without running, so that its row in grades.csv has the points and columns of any other."""
    return SubmissionResult(
        student=student, assignment=assignment, status=Status.ERROR,
        tests=tuple(TestResult(test_id=t["test_id"], name=t["name"], score=0.0,
                               max_score=t["points"], passed=False, hidden=t["hidden"],
                               output="not run: no submission could be read (see above)")
                    for t in tests),
        max_score=sum(t["points"] for t in tests), execution_time=0.0, error=problem)


def rejection(path: Path, assignment: str) -> str | None:
    """Why a batch entry is no submission of ``assignment`` (a wrong kind of file, no
    ``NAME.py`` in a folder, a broken notebook), or None. A rejected entry is recorded with
    status ``error`` and that reason, without starting anything to grade it."""
    try:
        submission.load(path, assignment)
    except submission.SubmissionError as e:
        return str(e)
    return None


Finish = Callable[[str, str, SubmissionResult, str], None]


def _run_local(course: Course, assignment: str, todo: list[tuple[str, Path, str]], opts: GradeOptions,
               finish: Finish, *, jobs: int, grade_fn: Callable[..., tuple[SubmissionResult, str]],
               note: Callable[[str], None]) -> None:
    warm = (WarmRunner(course_imports(course, [assignment]), WorkerPlan.of(opts, course, [assignment]), note)
            if grade_fn is grade_one_isolated and len(todo) > 1 else None)
    extra = {"warm": warm} if warm is not None else {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        pending = {pool.submit(grade_fn, course, assignment, sid, path, opts, **extra): (sid, fp)
                   for sid, path, fp in todo}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    sid, fp = pending.pop(fut)
                    result, log = fut.result()
                    finish(sid, fp, result, log)
        except KeyboardInterrupt:
            for fut in pending:
                fut.cancel()
            raise
        finally:
            if warm is not None:
                warm.close()


# ------------------------------------------------------------------ the Ray executor


def pack_course(course: Course, assignment: str) -> bytes:
    """The course material grading ``assignment`` needs (:meth:`Course.grading_files`), as zip
    bytes (the assignment's helpers among them); the engine comes from gmgrade installed on
    each node."""
    members = [(p, p.relative_to(course.root).as_posix()) for p in course.grading_files(assignment)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{MARKER}/{assignment}/tests/", "")
        for p, arc in members:
            z.write(p, arc)
    return buf.getvalue()


def pack_submission(path: Path) -> dict:
    """A submission entry as plain data, read the way ``submission.load`` would see it."""
    if path.is_symlink():
        return {"name": path.name, "kind": "symlink"}
    if path.is_dir():
        files: list[tuple[str, bytes]] = []
        total = 0
        for p in sorted(path.rglob("*")):
            rel = p.relative_to(path)
            if len(rel.parts) > 4 or p.is_symlink() or not p.is_file():
                continue  # submission.load never reads these either
            total += p.stat().st_size
            if total > RAY_SHIP_LIMIT or len(files) > submission.MAX_ZIP_MEMBERS:
                return {"name": path.name, "kind": "too-large"}
            files.append((rel.as_posix(), p.read_bytes()))
        return {"name": path.name, "kind": "dir", "files": files}
    try:
        if path.stat().st_size > RAY_SHIP_LIMIT:
            return {"name": path.name, "kind": "too-large"}
        return {"name": path.name, "kind": "file", "data": path.read_bytes()}
    except OSError:
        return {"name": path.name, "kind": "missing"}


def unpack_submission(packed: dict, where: Path) -> Path:
    path = where / PurePosixPath(packed["name"]).name
    kind = packed["kind"]
    if kind == "file":
        path.write_bytes(packed["data"])
    elif kind == "dir":
        path.mkdir()
        for rel, data in packed["files"]:
            parts = PurePosixPath(rel).parts
            if rel.startswith("/") or ".." in parts:
                continue
            target = path.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    elif kind == "symlink":
        path.symlink_to(where / ".gmgrade-not-followed")
    return path  # "missing": a path that does not exist


class NodeGrader:
    """A Ray actor, one per node: the assignment's course material unpacked once, and a
    warm template (with its zygote) grading that node's share of the batch, several
    submissions at a time, exactly as the local executor grades on this machine."""

    def __init__(self, course_zip: bytes, assignment: str, options: dict) -> None:
        self._tmp = tempfile.mkdtemp(prefix="gmgrade-ray-")
        root = Path(self._tmp) / "course"
        with zipfile.ZipFile(io.BytesIO(course_zip)) as z:
            z.extractall(root)
        self._course = Course(root)
        self._assignment = assignment
        self._opts = GradeOptions(**options)
        self._warm = WarmRunner(course_imports(self._course, [assignment]),
                                WorkerPlan.of(self._opts, self._course, [assignment]))

    def grade(self, student: str, packed: dict) -> dict:
        """Unpack one submission in a private folder and grade it there."""
        if packed["kind"] == "too-large":
            result = _grader_failure(student, self._assignment, f"the submission is larger than "
                                     f"{RAY_SHIP_LIMIT // 2**20} MB and was not graded", Status.ERROR)
            return {"result": result.to_dict(), "log": ""}
        with tempfile.TemporaryDirectory(dir=self._tmp) as tmp:
            path = unpack_submission(packed, Path(tmp))
            result, log = grade_one_isolated(self._course, self._assignment, student, path,
                                             self._opts, self._warm)
        return {"result": result.to_dict(), "log": log}

    def close(self) -> None:
        self._warm.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


def _ray_module() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray: pip install 'gmgrade[ray]' (or: pip install "
                           "'ray>=2.9'), on this machine and on every node of the cluster") from None
    return ray


def connect_ray(address: str | None, jobs: int, stream: TextIO) -> bool:
    """Join the cluster at ``address`` (or ``$RAY_ADDRESS``), else start Ray here with ``jobs``
    CPUs on loopback. Returns True when this call initialised Ray (and so must shut it down)."""
    ray = _ray_module()
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    kw = dict(log_to_driver=False, logging_level="warning", configure_logging=True)
    try:
        if address:
            _probe(address)
            ray.init(address=address, **kw)
        else:
            stream.write(f"starting a local Ray instance with {jobs} CPU(s)\n")
            # Ray binds a local instance to the machine's routable address unless told that
            # this is no cluster; it stays on loopback then.
            os.environ.setdefault(RAY_LOOPBACK_ENV, "0")
            ray.init(num_cpus=max(1, jobs), include_dashboard=False, **kw)
    except ConnectionError as e:
        raise UsageError(f"--executor ray: cannot connect to the Ray cluster at {address}: {e}. "
                           "Start it with `ray start --head` (same Ray version, same auth token "
                           "on every node)") from None
    return True


def _probe(address: str, timeout: float = 10.0) -> None:
    """Fail fast when HOST:PORT does not answer (``ray.init`` would retry for minutes)."""
    import socket

    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return  # "auto", "ray://…": Ray resolves those itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise ConnectionError(f"nothing answers at {address} ({e.strerror or e})") from None


def check_cluster(resources: dict, opts: GradeOptions, gpu_fraction: float) -> None:
    """Fail before submitting anything that the cluster could never schedule (Ray would wait forever)."""
    if resources.get("CPU", 0) < 1:
        raise UsageError("--executor ray: the Ray cluster has no CPUs to run grading tasks on "
                           f"(ray.cluster_resources() = {resources})")
    if opts.device == "cuda":
        gpus = resources.get("GPU", 0)
        if gpus <= 0:
            raise UsageError("--device cuda with --executor ray: the Ray cluster has no GPUs "
                               "(ray.cluster_resources() lists none), so no task could ever be "
                               "scheduled; add GPU nodes (`ray start --num-gpus N`) or use --device cpu")
        if not 0 < gpu_fraction <= 1:
            raise UsageError(f"{RAY_GPU_FRACTION_ENV}={gpu_fraction}: must be in (0, 1]")


def node_slots(nodes: list[dict], opts: GradeOptions, gpu_fraction: float) -> list[tuple[str, int, float]]:
    """``(node id, submissions graded at once, GPUs)`` for each live node of ``ray.nodes()``
    that can grade: one per CPU, and with ``--device cuda`` at most one per ``gpu_fraction``
    of its GPUs."""
    out = []
    for n in nodes:
        res = n.get("Resources", {})
        slots, gpus = int(res.get("CPU", 0)), float(res.get("GPU", 0)) if opts.device == "cuda" else 0.0
        if opts.device == "cuda":
            slots = min(slots, int(gpus / gpu_fraction + 1e-9))
        if n.get("Alive") and slots >= 1:
            out.append((n["NodeID"], slots, gpus))
    return out


def _run_ray(course: Course, assignment: str, todo: list[tuple[str, Path, str]], opts: GradeOptions,
             finish: Finish, *, jobs: int, address: str | None, stream: TextIO) -> None:
    ray = _ray_module()
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    gpu_fraction = float(os.environ.get(RAY_GPU_FRACTION_ENV, RAY_GPU_FRACTION))
    owned = connect_ray(address, jobs, stream)
    pending: dict[Any, tuple[str, str, Any]] = {}
    graders: dict[Any, int] = {}  # each node's grader -> how many more submissions it may take
    try:
        check_cluster(ray.cluster_resources(), opts, gpu_fraction)
        slots = node_slots(ray.nodes(), opts, gpu_fraction)
        if not slots:
            raise UsageError("--executor ray: no node of the Ray cluster has a CPU free for grading"
                               + (" and enough GPU" if opts.device == "cuda" else ""))
        course_ref = ray.put(pack_course(course, assignment))
        options = asdict(opts)
        for node, n, gpus in slots:
            actor = ray.remote(NodeGrader).options(
                num_cpus=n, num_gpus=gpus, max_concurrency=n, max_restarts=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
            ).remote(course_ref, assignment, options)
            graders[actor] = n
        queue = list(todo)
        while queue or pending:
            for actor in graders:
                while queue and graders[actor] > 0:
                    sid, path, fp = queue.pop(0)
                    pending[actor.grade.remote(sid, pack_submission(path))] = (sid, fp, actor)
                    graders[actor] -= 1
            if not pending:  # every node's grader is gone: the rest cannot be graded
                for sid, _, fp in queue:
                    finish(sid, fp, _grader_failure(sid, assignment, "the autograder failed on this "
                                                    "submission — your instructor has the details",
                                                    Status.ERROR), "no Ray node is left to grade on")
                break
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                sid, fp, actor = pending.pop(ref)
                try:
                    out = ray.get(ref)
                    result, log = SubmissionResult.from_dict(out["result"]), out["log"]
                    graders[actor] += 1
                except ray.exceptions.RayError as e:  # a lost node or worker: its students only
                    result = _grader_failure(sid, assignment, "the autograder failed on this "
                                             "submission — your instructor has the details", Status.ERROR)
                    log = f"Ray failed: {type(e).__name__}: {e}"[-6000:]
                    if isinstance(e, ray.exceptions.RayActorError):
                        graders.pop(actor, None)
                    else:
                        graders[actor] += 1
                finish(sid, fp, result, log)
        for actor in graders:
            ray.get(actor.close.remote())
    except KeyboardInterrupt:
        for actor in graders:  # ends its warm template, its zygote and their sandboxes
            ray.kill(actor)
        raise
    finally:
        if owned:
            ray.shutdown()
