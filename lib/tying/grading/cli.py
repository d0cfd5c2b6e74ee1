"""``python -m tying.grade NOTEBOOK_OR_FOLDER... [--json OUT] [--gradebook CSV] [--feedback DIR]``

Grade exercise notebooks, each in a fresh Jupyter kernel:

1. The command line is checked (numbers, and that every output can be
   written) before anything is graded.  A folder stands for every ``.ipynb``
   file in it (and its subfolders); a folder also turns on the gradebook and
   the feedback files (defaults ``gradebook.csv`` and ``feedback/`` in the
   current directory).
2. Each notebook is read (a regular file, at most :data:`MAX_NOTEBOOK_BYTES`,
   nbformat 4) and its exercise found: ``metadata.tying.exercise``, else the id
   in its ``Grader("...")`` call; the two must agree.
3. It runs in a kernel of its own, in a fresh temporary directory
   (:mod:`tying.grading.runner`): every cell with a time limit, then each check
   in a cell of its own.  ``grader.check(...)`` calls in the notebook are
   skipped (``TYING_GRADING_DEFERRED=1``).  ``--jobs N`` runs N kernels at a time.
4. Each notebook's result is printed and written out the moment it is graded
   (``--json`` rewritten atomically, the gradebook row, the feedback file), so
   an interrupted run keeps everything graded before it.

Printed: a table per notebook (question, check, status, points, message), the
cells that raised, notes (output cut, time budget), the total, and as the last
line ``N passed, N failed``, where *failed* counts every check that did not pass.

``--json OUT`` writes, per notebook::

    {"notebook": ..., "exercise": ..., "score": ..., "max_score": ...,
     "checks": [{"question", "check", "status", "points", "max_points",
                 "message", "seconds"}, ...],
     "cell_errors": [{"cell", "ename", "evalue", "expected"}, ...],
     "notes": [...], "seconds": ...}

(``{"notebook", "error", "score": null, "max_score": null, "checks": []}`` for a
notebook that could not be graded) and a list of those when several notebooks
are given.

Exit status: 0 when every notebook was graded, whatever the scores; 1 when some
notebook could not be graded (the message names the file and the reason); 2
for a wrong command line (nothing is graded); 130 when interrupted with Ctrl-C
(what was graded is written).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import re
import stat
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

__all__ = ["main", "read_notebook", "find_exercise_id", "GradingInputError"]

DEFAULT_CELL_TIMEOUT = 60.0
DEFAULT_NOTEBOOK_TIMEOUT = 1800.0
MAX_NOTEBOOK_BYTES = 50 * 2**20
MAX_JSON_DEPTH = 64  # a real notebook is at most ~10 levels deep
GRADER_CALL = re.compile(r"""Grader\(\s*(['"])(?P<id>[^'"]*)\1""")


class GradingInputError(Exception):
    """A notebook that cannot be graded; the message names the file and why."""


# -- reading -----------------------------------------------------------------


def _json_depth_exceeds(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return False


def read_notebook(path: Path) -> Any:
    """Read and validate ``path`` as an nbformat-4 notebook, or raise :class:`GradingInputError`."""
    import nbformat

    try:
        info = path.stat()
    except FileNotFoundError:
        raise GradingInputError(f"{path}: no such file") from None
    except OSError as err:
        raise GradingInputError(f"{path}: cannot read the file ({err.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise GradingInputError(f"{path}: not a regular file (a folder, pipe or device?)")
    if info.st_size > MAX_NOTEBOOK_BYTES:
        raise GradingInputError(
            f"{path}: the file is {info.st_size / 2**20:.0f} MB; notebooks over "
            f"{MAX_NOTEBOOK_BYTES / 2**20:.0f} MB are not graded (clear the outputs?)"
        )
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_NOTEBOOK_BYTES + 1)
        text = raw.decode("utf-8")
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
    except RecursionError:
        raise GradingInputError(f"{path}: not a notebook: its JSON is nested too deeply") from None
    except ValueError as err:  # e.g. an integer with more digits than Python converts
        raise GradingInputError(f"{path}: not a readable notebook: {str(err)[:200]}") from None
    if _json_depth_exceeds(data, MAX_JSON_DEPTH):
        raise GradingInputError(
            f"{path}: not a notebook: its JSON is nested more than {MAX_JSON_DEPTH} levels deep"
        )
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise GradingInputError(
            f"{path}: valid JSON but not a Jupyter notebook (no 'cells' or 'nbformat')"
        )
    version = data.get("nbformat")
    if version != 4:
        if isinstance(version, int) and not isinstance(version, bool) and version < 4:
            raise GradingInputError(
                f"{path}: an nbformat {version} notebook; convert it with "
                f"`jupyter nbconvert --to notebook {path.name}` and grade the converted file"
            )
        raise GradingInputError(
            f"{path}: valid JSON but not a Jupyter notebook (no 'cells' or 'nbformat')"
            if version is None or "cells" not in data
            else f"{path}: unsupported nbformat {str(version)[:20]!s} (this grader reads nbformat 4)"
        )
    try:
        nb = nbformat.from_dict(data)
        nbformat.validate(nb)
        for cell in nb.cells:
            if not isinstance(cell.get("source", ""), str):  # validate allows a list of lines
                cell["source"] = "".join(cell["source"])
    except Exception as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise GradingInputError(f"{path}: not a valid notebook: {message[:300]}") from None
    return nb


def find_exercise_id(nb: Any, path: Path) -> str:
    """``metadata.tying.exercise``, else the id in the notebook's ``Grader("...")`` call.

    When both are there they must agree.
    """
    from .core import list_exercises

    meta = nb.metadata.get("tying", {})
    from_metadata = meta.get("exercise") if isinstance(meta, dict) else None
    if from_metadata is not None and not isinstance(from_metadata, str):
        raise GradingInputError(f"{path}: metadata.tying.exercise must be a string")
    in_code = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            in_code += [m.group("id") for m in GRADER_CALL.finditer(cell.source)]
    in_code = list(dict.fromkeys(in_code))
    known = list_exercises()
    if from_metadata and from_metadata not in known:
        raise GradingInputError(_unknown(path, from_metadata, "metadata.tying.exercise", known))
    if from_metadata:
        others = [i for i in in_code if i != from_metadata]
        if others:
            raise GradingInputError(
                f"{path}: the notebook's metadata names exercise {from_metadata!r} but its code "
                f"creates Grader({others[0]!r}); make them agree"
            )
        exercise_id, where = from_metadata, "metadata.tying.exercise"
    elif len(in_code) > 1:
        raise GradingInputError(
            f"{path}: the notebook creates graders for several exercises ({', '.join(in_code)})"
        )
    elif in_code:
        exercise_id, where = in_code[0], "Grader(...)"
    else:
        raise GradingInputError(
            f"{path}: cannot tell which exercise this is: no metadata.tying.exercise and no "
            'Grader("...") call in the notebook'
        )
    if exercise_id not in known:
        raise GradingInputError(_unknown(path, exercise_id, where, known))
    return exercise_id


def _unknown(path: Path, exercise_id: str, where: str, known: list[str]) -> str:
    return (
        f"{path}: unknown exercise id {exercise_id[:80]!r} (from {where}): no checks module "
        f"tying/grading/checks/<id>.py; known exercises: {', '.join(known) or 'none'}"
    )


# -- one notebook --------------------------------------------------------------


def _grade_one(path: Path, options: argparse.Namespace, folders: list[str]) -> dict[str, Any]:
    """Read, identify and grade one notebook; anything that goes wrong becomes its error record."""
    from .core import ERROR, load_exercise
    from .runner import NotebookGrading, grade_notebook

    grading = None
    try:
        nb = read_notebook(path)
        exercise_id = find_exercise_id(nb, path)
        try:
            exercise = load_exercise(exercise_id)
        except Exception as err:
            raise GradingInputError(
                f"{path}: the checks of exercise {exercise_id!r} cannot be loaded: {err}"
            ) from None
        sources = [
            (number, cell.source, "raises-exception" in (cell.metadata.get("tags") or []))
            for number, cell in enumerate(nb.cells, start=1)
            if cell.cell_type == "code"
        ]
        grading = NotebookGrading(str(path), exercise, options.timeout)
        grade_notebook(
            grading,
            sources,
            folders=folders,
            notebook_timeout=options.notebook_timeout,
            env=_kernel_environment(options.jobs),
        )
        return grading.to_record()
    except GradingInputError as err:
        return _error_record(path, str(err))
    except Exception as err:  # never a traceback, never the other notebooks' results
        if grading is not None:  # keep the checks already earned
            grading.finish_remaining(
                ERROR, f"not graded: the grader failed ({type(err).__name__}: {str(err)[:200]})"
            )
            return grading.to_record()
        return _error_record(
            path, f"{path}: could not be graded ({type(err).__name__}: {str(err)[:300]})"
        )


def _error_record(path: Path, message: str) -> dict[str, Any]:
    return {"notebook": str(path), "error": message, "score": None, "max_score": None, "checks": []}


def _kernel_environment(jobs: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(TYING_GRADING_DEFERRED="1", TYING_PROGRESS="0")
    # Parallel kernels get one math thread each (two threads per kernel on a
    # two-core machine made small models ten times slower).
    if jobs > 1 and "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = "1"
    env.pop("PYTHONSTARTUP", None)
    return env


# -- output --------------------------------------------------------------------


def format_record(record: dict[str, Any]) -> str:
    """The printed report of one graded notebook (also its feedback file)."""
    from .core import CheckResult
    from .grader import format_table

    lines = [
        f"== {record['notebook']} (exercise {record['exercise']}, ran in {record['seconds']:.1f} s)",
        format_table([CheckResult(**c) for c in record["checks"]]),
    ]
    unexpected = [e for e in record["cell_errors"] if not e["expected"]]
    if unexpected:
        lines.append(f"cells that raised or did not run ({len(unexpected)}):")
        lines += [f"  cell {e['cell']}: {e['ename']}: {e['evalue'][:160]}" for e in unexpected]
    lines += [f"note: {n}" for n in record.get("notes", [])]
    return "\n".join(lines) + "\n"


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _csv_cell(value: Any) -> Any:
    # A spreadsheet would run a cell starting with = + - @ as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def gradebook_csv(records: list[dict[str, Any]]) -> str:
    """One row per submission, one column per question, the total and the maximum."""
    from .core import load_exercise
    from .grader import format_points

    questions: list[str] = []
    for r in records:
        for c in r["checks"]:
            if c["question"] not in questions:
                questions.append(c["question"])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["submission", "exercise", *questions, "total", "max_total", "note"])
    for r in records:
        if "error" in r:
            writer.writerow(
                [
                    _csv_cell(r["notebook"]),
                    "",
                    *[""] * len(questions),
                    "",
                    "",
                    _csv_cell(r["error"]),
                ]
            )
            continue
        exercise = load_exercise(r["exercise"])
        per_question = {q: 0.0 for q in exercise.questions}
        for c in r["checks"]:
            per_question[c["question"]] = per_question.get(c["question"], 0.0) + c["points"]
        writer.writerow(
            [
                _csv_cell(r["notebook"]),
                r["exercise"],
                *[format_points(per_question[q]) if q in per_question else "" for q in questions],
                format_points(r["score"]),
                format_points(r["max_score"]),
                "; ".join(r.get("notes", [])),
            ]
        )
    return buffer.getvalue()


class Output:
    """Prints and writes each record the moment its notebook is graded (thread-safe)."""

    def __init__(self, paths: list[Path], options: argparse.Namespace, progress: bool) -> None:
        self.paths = paths
        self.options = options
        self.progress = progress
        self.records: dict[int, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.feedback_names = _feedback_names(paths)

    def add(self, index: int, record: dict[str, Any]) -> None:
        with self.lock:
            self.records[index] = record
            if "error" in record:
                print(f"error: {record['error']}", file=sys.stderr, flush=True)
            else:
                print(format_record(record), flush=True)
            done = [self.records[i] for i in sorted(self.records)]
            if self.options.json is not None:
                payload: Any = done[0] if len(self.paths) == 1 else done
                _atomic_write(self.options.json, json.dumps(payload, indent=2) + "\n")
            if self.options.gradebook is not None:
                _atomic_write(self.options.gradebook, gradebook_csv(done))
            if self.options.feedback is not None:
                text = (
                    f"== {record['notebook']}\ncould not be graded: {record['error']}\n"
                    if "error" in record
                    else format_record(record)
                )
                _atomic_write(self.options.feedback / self.feedback_names[index], text)
            if self.progress:
                what = (
                    "could not be graded"
                    if "error" in record
                    else f"{record['score']:g}/{record['max_score']:g} points in "
                    f"{record['seconds']:.0f} s"
                )
                print(
                    f"[{len(self.records)}/{len(self.paths)}] {record['notebook']}: {what}",
                    file=sys.stderr,
                    flush=True,
                )


def _feedback_names(paths: list[Path]) -> list[str]:
    names, seen = [], set()
    for path in paths:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem) or "notebook"
        name, n = f"{base}.txt", 1
        while name in seen:
            n += 1
            name = f"{base}-{n}.txt"
        seen.add(name)
        names.append(name)
    return names


# -- command line ----------------------------------------------------------------


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _writable_file(parser: argparse.ArgumentParser, option: str, path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        parser.error(f"{option} {path}: is a folder; give a file name")
    if not parent.is_dir():
        parser.error(f"{option} {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        parser.error(f"{option} {path}: cannot write there")


def _expand(parser: argparse.ArgumentParser, items: list[Path]) -> tuple[list[Path], list[Path]]:
    """Notebooks to grade (folders expanded) and the folders given."""
    paths, folders = [], []
    for item in items:
        if item.is_dir():
            found = sorted(
                p
                for p in item.rglob("*.ipynb")
                if not any(part.startswith(".") for part in p.relative_to(item).parts)
            )
            if not found:
                parser.error(f"{item}: the folder holds no .ipynb files")
            folders.append(item)
            paths += found
        else:
            paths.append(item)
    return list(dict.fromkeys(paths)), folders


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tying.grade",
        description="Run exercise notebooks in fresh kernels and grade them. Grading runs "
        "the notebooks' code with your permissions: see 'How grading works' before grading "
        "other people's work.",
        epilog="'failed' in the last line counts every check that did not pass "
        "(failed, error, timeout, not attempted, check error). Exit status 0 when every "
        "notebook was graded, 1 when some notebook could not be graded, 2 for a wrong "
        "command line, 130 when interrupted.",
    )
    parser.add_argument(
        "notebooks",
        nargs="+",
        type=Path,
        metavar="NOTEBOOK_OR_FOLDER",
        help="notebooks (.ipynb) to grade, or folders of them",
    )
    parser.add_argument(
        "--json", type=Path, default=None, metavar="OUT", help="write the results as JSON"
    )
    parser.add_argument(
        "--gradebook",
        type=Path,
        default=None,
        metavar="CSV",
        help="write a CSV gradebook, one row per notebook (default gradebook.csv when a "
        "folder is given)",
    )
    parser.add_argument(
        "--feedback",
        type=Path,
        default=None,
        metavar="DIR",
        help="write a feedback file per notebook into DIR (default feedback/ when a folder "
        "is given)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=DEFAULT_CELL_TIMEOUT,
        metavar="SECONDS_PER_CELL",
        help=f"interrupt a cell after this many seconds (default {DEFAULT_CELL_TIMEOUT:g})",
    )
    parser.add_argument(
        "--notebook-timeout",
        type=_positive_seconds,
        default=DEFAULT_NOTEBOOK_TIMEOUT,
        metavar="SECONDS",
        help="stop grading a notebook after this many seconds in all "
        f"(default {DEFAULT_NOTEBOOK_TIMEOUT:g})",
    )
    parser.add_argument(
        "--jobs",
        type=_positive_int,
        default=1,
        metavar="N",
        help="grade N notebooks at a time (default 1)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    paths, folders = _expand(parser, options.notebooks)
    if folders:
        if options.gradebook is None:
            options.gradebook = Path("gradebook.csv")
        if options.feedback is None:
            options.feedback = Path("feedback")
    for option, path in (("--json", options.json), ("--gradebook", options.gradebook)):
        if path is not None:
            _writable_file(parser, option, path)
    if options.feedback is not None:
        if options.feedback.exists() and not options.feedback.is_dir():
            parser.error(f"--feedback {options.feedback}: exists and is not a folder")
        try:
            options.feedback.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            parser.error(f"--feedback {options.feedback}: cannot create it ({err.strerror})")
        if not os.access(options.feedback, os.W_OK | os.X_OK):
            parser.error(f"--feedback {options.feedback}: cannot write there")

    from .core import PASSED, STATUSES
    from .grader import format_points
    from .runner import allow_kernels, stop_all

    # An earlier run in this process may have been interrupted (stop_all); this one is new.
    allow_kernels()
    submission_folders = sorted(
        {str(p.parent.resolve()) for p in paths} | {str(f.resolve()) for f in folders}
    )
    output = Output(paths, options, progress=len(paths) > 1)
    interrupted = False
    try:
        if options.jobs == 1 or len(paths) == 1:
            for index, path in enumerate(paths):
                output.add(index, _grade_one(path, options, submission_folders))
        else:
            from concurrent.futures import ThreadPoolExecutor, as_completed

            pool = ThreadPoolExecutor(max_workers=options.jobs)
            try:
                futures = {
                    pool.submit(_grade_one, path, options, submission_folders): index
                    for index, path in enumerate(paths)
                }
                for future in as_completed(futures):
                    output.add(futures[future], future.result())
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
    except KeyboardInterrupt:
        interrupted = True
        stop_all()
        print(
            f"interrupted: {len(output.records)} of {len(paths)} notebooks were graded and written",
            file=sys.stderr,
        )

    records = [output.records[i] for i in sorted(output.records)]
    graded = [r for r in records if "error" not in r]
    failures = len(records) - len(graded)
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
    not_passed = len(checks) - counts[PASSED]
    breakdown = ", ".join(f"{counts[s]} {s}" for s in STATUSES if s != PASSED)
    print(f"('failed' counts every check that did not pass: {breakdown})")
    print(f"{counts[PASSED]} passed, {not_passed} failed")
    if interrupted:
        return 130
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
