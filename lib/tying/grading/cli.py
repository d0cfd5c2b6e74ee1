"""``python -m tying.grade NOTEBOOK... [--json OUT] [--timeout SECONDS_PER_CELL]``

Grade exercise notebooks, each in a fresh Jupyter kernel:

1. The notebook is read and its exercise found: ``metadata.tying.exercise``
   (set by the generator), else the id in its ``Grader("...")`` call.
2. A first cell is added that imports :mod:`tying.grading` before any of the
   notebook's code runs (so its references to numpy and torch are pristine).
3. Every cell runs with a per-cell time limit and errors allowed: a broken cell
   does not hide the rest, and a cell still running at the limit is interrupted
   and the next one runs.  ``grader.check(...)`` calls inside the notebook are
   skipped (``TYING_GRADING_DEFERRED=1``), since everything is graded once at the end.
   ``--jobs N`` runs N notebooks (kernels) at a time.
4. A last cell runs every check of the exercise in that kernel, against the
   notebook's own namespace, and hands the results back as JSON.

Printed: a table per notebook (question, check, status, points, message), the
cells that raised, the total, and as the last line ``N passed, N failed``, where
*failed* counts every check that did not pass (statuses ``failed``, ``error``,
``timeout``, ``not attempted`` and ``check error``; the line before it gives the
breakdown).

``--json OUT`` writes, per notebook::

    {"notebook": ..., "exercise": ..., "score": ..., "max_score": ...,
     "checks": [{"question", "check", "status", "points", "max_points",
                 "message", "seconds"}, ...],
     "cell_errors": [{"cell", "ename", "evalue", "expected"}, ...], "seconds": ...}

and a list of those when several notebooks are given.

Exit status: 0 whenever grading ran, whatever the score (a kernel that died
counts as graded: every check gets ``error``); 1 when some notebook could not be
graded: unreadable, not JSON (truncated?), not a notebook, or naming an
exercise with no checks module; the message names the file and the reason.
2 for a wrong command line.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["main", "grade_notebook", "read_notebook", "find_exercise_id", "GradingInputError"]

DEFAULT_CELL_TIMEOUT = 60
PRELOAD_TIMEOUT = 180  # importing torch on a cold, busy machine
GRADER_CALL = re.compile(r"""Grader\(\s*(['"])(?P<id>[^'"]*)\1""")
TIMEOUT_ENAME = "CellTimeoutError"


class GradingInputError(Exception):
    """A notebook that cannot be graded; the message names the file and why."""


def read_notebook(path: Path) -> Any:
    """Read and validate ``path`` as a Jupyter notebook, or raise :class:`GradingInputError`."""
    import nbformat

    if not path.exists():
        raise GradingInputError(f"{path}: no such file")
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise GradingInputError(f"{path}: cannot read the file ({err})") from None
    if not text.strip():
        raise GradingInputError(f"{path}: the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise GradingInputError(
            f"{path}: not valid JSON, so not a readable notebook (truncated or corrupt?): "
            f"{err.msg} at line {err.lineno}, column {err.colno}"
        ) from None
    if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
        raise GradingInputError(
            f"{path}: valid JSON but not a Jupyter notebook (no 'cells' or 'nbformat')"
        )
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise GradingInputError(f"{path}: not a valid notebook: {message[:300]}") from None
    return nb


def find_exercise_id(nb: Any, path: Path) -> str:
    """``metadata.tying.exercise``, else the id in the notebook's ``Grader("...")`` call."""
    meta = nb.metadata.get("tying", {})
    exercise_id = meta.get("exercise") if isinstance(meta, dict) else None
    if exercise_id:
        return str(exercise_id)
    for cell in nb.cells:
        if cell.cell_type == "code":
            match = GRADER_CALL.search(cell.source)
            if match:
                return match.group("id")
    raise GradingInputError(
        f"{path}: cannot tell which exercise this is: no metadata.tying.exercise and no "
        'Grader("...") call in the notebook'
    )


def _check_exercise_exists(exercise_id: str, path: Path, where: str) -> None:
    from .core import EXERCISE_ID, list_exercises

    if EXERCISE_ID.match(exercise_id) and importlib.util.find_spec(
        f"tying.grading.checks.{exercise_id}"
    ):
        return
    raise GradingInputError(
        f"{path}: unknown exercise id {exercise_id!r} (from {where}): no checks module "
        f"tying/grading/checks/{exercise_id}.py; known exercises: {', '.join(list_exercises()) or 'none'}"
    )


@contextlib.contextmanager
def _environment(**values: str):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _grade_in_kernel(exercise_id: str, out_path: str) -> None:
    """Run inside the graded kernel by the appended cell: grade and write JSON to ``out_path``."""
    from .grader import Grader, _ipython_namespace

    namespace = _ipython_namespace()
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    grader = Grader(exercise_id, namespace)
    results = grader.run()
    payload = {
        "exercise": exercise_id,
        "title": grader.exercise.title,
        "checks": [r.to_dict() for r in results],
    }
    Path(out_path).write_text(json.dumps(payload), encoding="utf-8")


def _all_checks_error(exercise_id: str, message: str) -> list[dict[str, Any]]:
    from .core import ERROR, load_exercise

    exercise = load_exercise(exercise_id)
    return [
        {
            "question": s.question,
            "check": s.name,
            "status": ERROR,
            "points": 0,
            "max_points": s.points,
            "message": message,
            "seconds": 0.0,
        }
        for s in exercise.checks
    ]


def grade_notebook(nb: Any, path: Path, exercise_id: str, cell_timeout: float) -> dict[str, Any]:
    """Execute ``nb`` in a fresh kernel and grade it; returns the JSON record."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from .core import load_exercise

    exercise = load_exercise(exercise_id)
    nb = copy.deepcopy(nb)
    n_reader_cells = len(nb.cells)
    with tempfile.TemporaryDirectory(prefix="tying-grade-") as tmp:
        out_path = Path(tmp) / "results.json"
        preload = nbformat.v4.new_code_cell('__import__("tying.grading")\npass')
        grading = nbformat.v4.new_code_cell(
            f'__import__("tying.grading.cli", fromlist=["_"])._grade_in_kernel({exercise_id!r}, {str(out_path)!r})'
        )
        nb.cells = [preload, *nb.cells, grading]
        grading_timeout = sum(s.timeout for s in exercise.checks) + 60
        timed_out: set[int] = set()

        def timeout_for(cell: Any) -> float:
            if cell is preload:
                return max(PRELOAD_TIMEOUT, cell_timeout)
            if cell is grading:
                return grading_timeout
            return cell_timeout

        running: dict[str, int] = {}

        def on_cell_start(cell: Any, cell_index: int, **_: Any) -> None:
            running["cell"] = cell_index

        def on_cell_executed(
            cell: Any, cell_index: int, execute_reply: dict[str, Any], **_: Any
        ) -> None:
            if execute_reply.get("content", {}).get("ename") == TIMEOUT_ENAME:
                timed_out.add(cell_index)

        client = NotebookClient(
            nb,
            timeout=cell_timeout,
            timeout_func=timeout_for,
            kernel_name="python3",
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={
                "ename": TIMEOUT_ENAME,
                "evalue": f"interrupted after the cell time limit of {cell_timeout:g} s",
                "traceback": [],
            },
            on_cell_start=on_cell_start,
            on_cell_executed=on_cell_executed,
            resources={"metadata": {"path": str(path.parent.resolve())}},
        )
        start = time.perf_counter()
        died = None
        try:
            client.execute()
        except (DeadKernelError, CellTimeoutError) as err:
            cell = running.get("cell")
            where = (
                f"in cell {cell}"
                if cell is not None and 1 <= cell <= n_reader_cells
                else "while grading"
            )
            died = f"{type(err).__name__} {where}"
        seconds = time.perf_counter() - start

        cell_errors = []
        for index, cell in enumerate(nb.cells[1 : 1 + n_reader_cells]):
            if cell.cell_type != "code":
                continue
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if index + 1 in timed_out:
                cell_errors.append(
                    {
                        "cell": index + 1,
                        "ename": TIMEOUT_ENAME,
                        "evalue": f"interrupted after the cell time limit of {cell_timeout:g} s",
                        "expected": False,
                    }
                )
            elif errors:
                cell_errors.append(
                    {
                        "cell": index + 1,
                        "ename": errors[0].get("ename", ""),
                        "evalue": str(errors[0].get("evalue", ""))[:300],
                        "expected": "raises-exception" in cell.metadata.get("tags", []),
                    }
                )
        if out_path.exists():
            payload = json.loads(out_path.read_text(encoding="utf-8"))
            checks = payload["checks"]
        else:
            grading_errors = [
                o for o in nb.cells[-1].get("outputs", []) if o.get("output_type") == "error"
            ]
            if len(nb.cells) - 1 in timed_out:
                died = f"the checks did not finish within {grading_timeout:g} s"
            if died is None and grading_errors:
                e = grading_errors[0]
                raise GradingInputError(
                    f"{path}: the grading cell failed: {e.get('ename')}: {e.get('evalue')}"
                )
            reason = died or "the kernel stopped before grading"
            checks = _all_checks_error(
                exercise_id, f"could not grade: the kernel died or hung ({reason})"
            )
    return {
        "notebook": str(path),
        "exercise": exercise_id,
        "score": sum(c["points"] for c in checks),
        "max_score": sum(c["max_points"] for c in checks),
        "checks": checks,
        "cell_errors": cell_errors,
        "seconds": round(seconds, 2),
    }


def _print_record(record: dict[str, Any]) -> None:
    from .core import CheckResult
    from .grader import format_table

    print(
        f"== {record['notebook']} (exercise {record['exercise']}, ran in {record['seconds']:.1f} s)"
    )
    print(format_table([CheckResult(**c) for c in record["checks"]]))
    unexpected = [e for e in record["cell_errors"] if not e["expected"]]
    if unexpected:
        print(f"cells that raised ({len(unexpected)}):")
        for e in unexpected:
            print(f"  cell {e['cell']}: {e['ename']}: {e['evalue'][:160]}")
    print()


def _prepare(path: Path, cell_timeout: float) -> dict[str, Any]:
    """Read, identify and grade one notebook; a :class:`GradingInputError` becomes an error record."""
    try:
        nb = read_notebook(path)
        exercise_id = find_exercise_id(nb, path)
        meta = nb.metadata.get("tying", {})
        where = (
            "metadata.tying.exercise"
            if isinstance(meta, dict) and meta.get("exercise")
            else "Grader(...)"
        )
        _check_exercise_exists(exercise_id, path, where)
        return grade_notebook(nb, path, exercise_id, cell_timeout)
    except GradingInputError as err:
        return {
            "notebook": str(path),
            "error": str(err),
            "score": None,
            "max_score": None,
            "checks": [],
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tying.grade",
        description="Run exercise notebooks in fresh kernels and grade them.",
        epilog="'failed' in the last line counts every check that did not pass "
        "(failed, error, timeout, not attempted, check error). Exit status 0 when grading ran, "
        "1 when a notebook could not be graded.",
    )
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebooks (.ipynb) to grade")
    parser.add_argument(
        "--json", type=Path, default=None, metavar="OUT", help="write the results as JSON"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_CELL_TIMEOUT,
        metavar="SECONDS_PER_CELL",
        help=f"interrupt a cell after this many seconds (default {DEFAULT_CELL_TIMEOUT})",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="grade N notebooks at a time (default 1)"
    )
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")

    from .core import PASSED, STATUSES
    from .grader import format_points

    # Kernels inherit this environment: checks in the notebook are deferred to the end,
    # and parallel kernels get one math thread each (two threads per kernel on a
    # two-core machine made small models ten times slower).
    threads = (
        {"OMP_NUM_THREADS": "1"} if args.jobs > 1 and "OMP_NUM_THREADS" not in os.environ else {}
    )
    with _environment(TYING_GRADING_DEFERRED="1", TYING_PROGRESS="0", **threads):
        if args.jobs == 1 or len(args.notebooks) == 1:
            records = [_prepare(path, args.timeout) for path in args.notebooks]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=args.jobs) as pool:
                records = list(pool.map(lambda p: _prepare(p, args.timeout), args.notebooks))

    failures = 0
    for record in records:
        if "error" in record:
            failures += 1
            print(f"error: {record['error']}", file=sys.stderr)
        else:
            _print_record(record)

    graded = [r for r in records if "error" not in r]
    checks = [c for r in graded for c in r["checks"]]
    counts = {s: sum(c["status"] == s for c in checks) for s in STATUSES}
    if len(graded) > 1:
        score = sum(r["score"] for r in graded)
        max_score = sum(r["max_score"] for r in graded)
        print(
            f"Total over {len(graded)} notebooks: {format_points(score)}/{format_points(max_score)} points"
        )
    if failures:
        print(f"{failures} notebook(s) could not be graded (see the errors above)")
    if args.json is not None:
        payload: Any = records[0] if len(records) == 1 else records
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    not_passed = len(checks) - counts[PASSED]
    breakdown = ", ".join(f"{counts[s]} {s}" for s in STATUSES if s != PASSED)
    print(f"('failed' counts every check that did not pass: {breakdown})")
    print(f"{counts[PASSED]} passed, {not_passed} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
