"""Run one notebook in a Jupyter kernel and grade it, with bounded time and no lost results.

Used by ``python -m tying.grade`` (:mod:`tying.grading.cli`).  What it
guarantees, whatever the notebook's code does:

- **Isolation.** The kernel starts in a fresh, empty temporary directory, with
  the submissions' folders off ``sys.path``, and is killed at the end.
- **Bounded time.** Each cell may run ``cell_timeout`` seconds; then the kernel
  is interrupted, and if it is not idle :data:`INTERRUPT_GRACE` seconds later
  it is killed.  The whole notebook has ``notebook_timeout`` seconds.
- **Results kept as earned.** Every check runs in a cell of its own and its
  result is recorded in this process the moment it arrives.  A check that kills
  or hangs the kernel costs that check only: the kernel is restarted, the
  cells that ran are run again, and grading goes on.
- **Trust nothing from the kernel.** A result names a check of the exercise and
  a status, or it is discarded; points come from the exercise definition.
- **Bounded memory.** Printed output is kept up to :data:`OUTPUT_CAP` characters
  per cell; the rest is dropped and the record says so.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core import ERROR, PASSED, STATUSES, TIMEOUT, Exercise

__all__ = [
    "grade_notebook",
    "stop_all",
    "INTERRUPT_GRACE",
    "OUTPUT_CAP",
    "NotebookGrading",
]

INTERRUPT_GRACE = 5.0  # seconds an interrupted kernel has to become idle before it is killed
STARTUP_TIMEOUT = 60.0  # a kernel that is not ready by then is not coming
PRELOAD_TIMEOUT = 180.0  # importing torch on a cold, busy machine
CHECK_SLACK = 5.0  # a check cell may run this much longer than the check's own limit
OUTPUT_CAP = 100_000  # characters of printed output kept per cell
MESSAGE_CAP = 1_000  # characters of a check's message kept
RESULT_FILE_CAP = 1_000_000  # bytes: a larger result file is not a real result
MAX_RESTARTS = 3
TIMEOUT_ENAME = "CellTimeoutError"
KILLED_ENAME = "KernelKilled"
DIED_ENAME = "DeadKernel"
NOT_RUN_ENAME = "CellNotRun"


@dataclass
class CellRun:
    """What happened to one cell: ``state`` is ok, error, interrupted, killed or died."""

    state: str
    ename: str = ""
    evalue: str = ""
    output_cut: bool = False
    seconds: float = 0.0


class KernelGone(Exception):
    """The kernel could not be started (or prepared)."""


_LIVE: set[Kernel] = set()
_LIVE_LOCK = threading.Lock()
_STOP = threading.Event()


def allow_kernels() -> None:
    """Start kernels again: a new grading run after an interrupted one in the same process."""
    _STOP.clear()


def stop_all() -> None:
    """Kill every kernel this process started and start no more (Ctrl-C)."""
    _STOP.set()
    with _LIVE_LOCK:
        kernels = list(_LIVE)
    for kernel in kernels:
        kernel.kill()


class Kernel:
    """One Python kernel in its own empty temporary directory."""

    def __init__(self, cwd: Path, env: dict[str, str], deadline: float) -> None:
        from jupyter_client import KernelManager

        if _STOP.is_set():
            raise KernelGone("grading was interrupted")
        self.km = KernelManager(kernel_name="python3")
        self.kc = None
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            # The kernel's own stderr (and anything written to file descriptors 1 and 2)
            # would mix with the report; what a cell prints arrives as messages instead.
            self.km.start_kernel(
                cwd=str(cwd), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            self.kc = self.km.client()
            self.kc.start_channels()
            self.kc.wait_for_ready(
                timeout=max(1.0, min(STARTUP_TIMEOUT, deadline - time.monotonic()))
            )
        except Exception as err:
            self.kill()
            raise KernelGone(f"the kernel did not start ({type(err).__name__}: {err})") from None

    def alive(self) -> bool:
        try:
            return bool(self.km.is_alive())
        except Exception:
            return False

    def kill(self) -> None:
        with _LIVE_LOCK:
            _LIVE.discard(self)
        with contextlib.suppress(Exception):
            if self.kc is not None:
                self.kc.stop_channels()
        with contextlib.suppress(Exception):
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=True)
        with contextlib.suppress(Exception):
            self.km.cleanup_resources()

    def execute(self, code: str, timeout: float, deadline: float) -> CellRun:
        """Run ``code``; interrupt it after ``timeout`` s (or at ``deadline``), kill it if it stays busy."""
        start = time.monotonic()
        end = min(start + timeout, deadline)
        msg_id = self.kc.execute(code, allow_stdin=False, stop_on_error=False)
        run = CellRun("ok")
        printed = 0
        interrupted_at = None
        replied_at = None  # the shell's execute_reply: the cell is done even if iopub drops "idle"
        while True:
            now = time.monotonic()
            if replied_at is not None and now >= replied_at + 1.0:
                break
            if interrupted_at is None and replied_at is None and now >= end:
                interrupted_at = now
                with contextlib.suppress(Exception):
                    self.km.interrupt_kernel()
            if (
                interrupted_at is not None
                and replied_at is None
                and now >= interrupted_at + INTERRUPT_GRACE
            ):
                self.kill()
                run.state, run.ename = "killed", KILLED_ENAME
                break
            if replied_at is None and self._replied(msg_id, run):
                replied_at = time.monotonic()
            limit = (interrupted_at + INTERRUPT_GRACE) if interrupted_at is not None else end
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.01, min(0.5, limit - now)))
            except queue.Empty:
                if replied_at is None and not self.alive():
                    run.state, run.ename = "died", DIED_ENAME
                    break
                continue
            except Exception:  # a message that cannot be decoded: not ours to fail on
                continue
            try:
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg.get("msg_type"), msg.get("content") or {}
                if kind == "stream":
                    text = content.get("text") or ""
                    printed += len(text) if isinstance(text, str) else 0
                    if printed > OUTPUT_CAP:
                        run.output_cut = True
                elif kind == "error" and not run.ename:
                    run.ename = str(content.get("ename", ""))[:100]
                    run.evalue = str(content.get("evalue", ""))[:300]
                elif kind == "status" and content.get("execution_state") == "idle":
                    break
            except Exception:  # a malformed message (a widget's, say) is ignored
                continue
        self._drain_shell()
        if run.state == "ok" and interrupted_at is not None:
            run.state = "interrupted"
        elif run.state == "ok" and run.ename:
            run.state = "error"
        run.seconds = time.monotonic() - start
        return run

    def _replied(self, msg_id: str, run: CellRun) -> bool:
        """True once the shell channel has the reply to ``msg_id`` (its error noted in ``run``)."""
        try:
            while True:
                msg = self.kc.get_shell_msg(timeout=0)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                content = msg.get("content") or {}
                if content.get("status") == "error" and not run.ename:
                    run.ename = str(content.get("ename", ""))[:100]
                    run.evalue = str(content.get("evalue", ""))[:300]
                return True
        except Exception:  # queue.Empty, or a malformed message
            return False

    def _drain_shell(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                self.kc.get_shell_msg(timeout=0)


@dataclass
class NotebookGrading:
    """The record of one notebook, filled in as grading goes (so nothing earned is lost)."""

    notebook: str
    exercise: Exercise
    cell_timeout: float
    checks: list[dict[str, Any]] = field(default_factory=list)
    cell_errors: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_record(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook,
            "exercise": self.exercise.id,
            "score": sum(c["points"] for c in self.checks),
            "max_score": self.exercise.max_score,
            "checks": self.checks,
            "cell_errors": self.cell_errors,
            "notes": self.notes,
            "seconds": round(self.seconds, 2),
        }

    def finish_remaining(self, status: str, message: str) -> None:
        """Give every check without a result ``status`` with ``message`` (0 points)."""
        done = {c["check"] for c in self.checks}
        for spec in self.exercise.checks:
            if spec.name not in done:
                self.checks.append(_result(spec, status, message, 0.0))
        order = {s.name: i for i, s in enumerate(self.exercise.checks)}
        self.checks.sort(key=lambda c: order[c["check"]])


def _result(spec: Any, status: str, message: str, seconds: float) -> dict[str, Any]:
    return {
        "question": spec.question,
        "check": spec.name,
        "status": status,
        "points": spec.points if status == PASSED else 0,
        "max_points": spec.points,
        "message": message,
        "seconds": round(max(0.0, seconds), 4),
    }


def _validated(spec: Any, raw: Any, seconds: float) -> dict[str, Any] | None:
    """The kernel's result for ``spec`` checked against the exercise, or None if it is not one."""
    if not isinstance(raw, dict) or raw.get("check") != spec.name:
        return None
    if raw.get("question") != spec.question or raw.get("status") not in STATUSES:
        return None
    message = raw.get("message")
    message = message[:MESSAGE_CAP] if isinstance(message, str) else ""
    return _result(spec, raw["status"], message, seconds)


def _read_result(path: Path) -> Any:
    try:
        if not path.is_file() or path.stat().st_size > RESULT_FILE_CAP:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def grade_notebook(
    grading: NotebookGrading,
    sources: list[tuple[int, str, bool]],
    *,
    folders: list[str],
    notebook_timeout: float,
    env: dict[str, str],
) -> None:
    """Run the reader's code cells ``(number, source, expected_to_raise)`` and grade them.

    Fills ``grading`` as it goes; never raises for anything the notebook does.
    """
    exercise = grading.exercise
    cell_timeout = grading.cell_timeout
    start = time.monotonic()
    deadline = start + notebook_timeout
    scratch = Path(tempfile.mkdtemp(prefix="tying-grade-"))
    results_dir = scratch / "results"
    results_dir.mkdir()
    kernel: Kernel | None = None
    restarts = 0

    def over_budget() -> bool:
        return time.monotonic() >= deadline

    def budget_message() -> str:
        return f"not graded: the notebook used up its time budget of {notebook_timeout:g} s"

    def new_kernel() -> Kernel:
        # A fresh, empty working directory for every kernel: nothing a reader's code
        # (or a file next to the submissions) left behind can be imported.
        cwd = Path(tempfile.mkdtemp(prefix="work-", dir=scratch))
        k = Kernel(cwd, env, deadline)
        code = f'__import__("tying.grading.kernel", fromlist=["_"]).prepare({exercise.id!r}, *{folders!r})'
        run = k.execute(code, PRELOAD_TIMEOUT, deadline)
        if run.state != "ok":
            k.kill()
            raise KernelGone(
                f"the kernel could not load the grader ({run.ename or run.state}: {run.evalue})"
            )
        return k

    def restart(replay: list[tuple[int, str]]) -> Kernel | None:
        """A new kernel with the cells that ran so far run again; None if that fails."""
        nonlocal restarts
        if restarts >= MAX_RESTARTS or over_budget():
            return None
        restarts += 1
        try:
            k = new_kernel()
        except KernelGone:
            return None
        for _, source in replay:
            run = k.execute(source, cell_timeout, deadline)
            if run.state in ("killed", "died", "interrupted"):
                k.kill()
                return None
        return k

    try:
        try:
            kernel = new_kernel()
        except KernelGone as err:
            grading.finish_remaining(ERROR, f"could not grade: {err}")
            return

        # 1. The reader's cells, top to bottom.
        replay: list[tuple[int, str]] = []
        stopped_at = None
        for number, source, expected in sources:
            if stopped_at is not None:
                grading.cell_errors.append(
                    {
                        "cell": number,
                        "ename": NOT_RUN_ENAME,
                        "evalue": f"not run: the kernel was stopped at cell {stopped_at}",
                        "expected": expected,
                    }
                )
                continue
            if over_budget():
                stopped_at = number
                grading.notes.append(budget_message())
                grading.cell_errors.append(
                    {
                        "cell": number,
                        "ename": NOT_RUN_ENAME,
                        "evalue": budget_message(),
                        "expected": expected,
                    }
                )
                continue
            run = kernel.execute(source, cell_timeout, deadline)
            if run.output_cut:
                grading.notes.append(
                    f"cell {number} printed more than {OUTPUT_CAP:,} characters; the rest was cut"
                )
            if run.state in ("ok", "error"):
                replay.append((number, source))
            if run.state == "error":
                grading.cell_errors.append(
                    {"cell": number, "ename": run.ename, "evalue": run.evalue, "expected": expected}
                )
            elif run.state == "interrupted":
                grading.cell_errors.append(
                    {
                        "cell": number,
                        "ename": TIMEOUT_ENAME,
                        "evalue": f"interrupted after the cell time limit of {cell_timeout:g} s",
                        "expected": False,
                    }
                )
            elif run.state in ("killed", "died"):
                what = (
                    f"still running {INTERRUPT_GRACE:g} s after the interrupt at the cell time "
                    f"limit of {cell_timeout:g} s, so the kernel was killed"
                    if run.state == "killed"
                    else "the kernel died while running this cell"
                )
                grading.cell_errors.append(
                    {"cell": number, "ename": run.ename, "evalue": what, "expected": False}
                )
                stopped_at = number
                kernel = None
        if kernel is None and not over_budget():
            kernel = restart(replay)
            if kernel is None:
                grading.finish_remaining(
                    ERROR,
                    f"could not grade: the kernel stopped at cell {stopped_at} and could not "
                    "be restarted with the cells before it",
                )
                return

        # 2. The checks, one cell each, recorded as they finish.
        for index, spec in enumerate(exercise.checks):
            if over_budget():
                grading.finish_remaining(TIMEOUT, budget_message())
                if budget_message() not in grading.notes:
                    grading.notes.append(budget_message())
                return
            if kernel is None:
                kernel = restart(replay)
                if kernel is None:
                    grading.finish_remaining(
                        ERROR,
                        "not graded: an earlier check stopped the kernel and it could not be "
                        "restarted",
                    )
                    return
            out = results_dir / f"{index}.json"
            code = (
                '__import__("tying.grading.kernel", fromlist=["_"]).grade_check('
                f"{exercise.id!r}, {spec.name!r}, {str(out)!r})"
            )
            run = kernel.execute(code, spec.timeout + CHECK_SLACK, deadline)
            result = _validated(spec, _read_result(out), run.seconds)
            if run.output_cut:
                grading.notes.append(
                    f"check {spec.name} printed more than {OUTPUT_CAP:,} characters; "
                    "the rest was cut"
                )
            if result is None:
                if run.state in ("killed", "died"):
                    kernel = None
                    result = _result(
                        spec,
                        TIMEOUT if run.state == "killed" else ERROR,
                        "your code ignored the check's time limit and the interrupt, so the "
                        "kernel was restarted"
                        if run.state == "killed"
                        else "the kernel died during this check (did your code exit or crash "
                        "Python?); it was restarted for the other checks",
                        run.seconds,
                    )
                elif run.state == "interrupted":
                    result = _result(
                        spec,
                        TIMEOUT,
                        f"stopped after {spec.timeout:g} s (is there an infinite loop?)",
                        run.seconds,
                    )
                else:
                    detail = f" ({run.ename}: {run.evalue})" if run.ename else ""
                    result = _result(
                        spec,
                        ERROR,
                        "the check gave no valid result: code in the notebook interfered with "
                        f"the grader{detail}"[:MESSAGE_CAP],
                        run.seconds,
                    )
            elif run.state in ("killed", "died"):
                kernel = None
            grading.checks.append(result)
    except Exception as err:  # a bug here must not lose what was earned
        grading.finish_remaining(
            ERROR, f"not graded: the grader failed ({type(err).__name__}: {str(err)[:200]})"
        )
    finally:
        if kernel is not None:
            kernel.kill()
        grading.seconds = time.monotonic() - start
        shutil.rmtree(scratch, ignore_errors=True)
        grading.finish_remaining(ERROR, "not graded")
