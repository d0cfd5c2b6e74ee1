"""``python -m tying.grade`` on the real notebooks: solutions score 100 %, exercises 0.

Grading a notebook starts a kernel (seconds), so every solution and exercise
notebook is graded once, in one command, by a session-scoped fixture, and the
tests below read its JSON and printed output.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import nbformat
import pytest
from conftest import ROOT

from tying.grading import STATUSES, list_exercises, load_exercise

SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
RECORD_KEYS = {
    "notebook",
    "exercise",
    "score",
    "max_score",
    "checks",
    "cell_errors",
    "notes",
    "seconds",
}
CHECK_KEYS = {"question", "check", "status", "points", "max_points", "message", "seconds"}


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("grading") / "results.json"
    notebooks = [str(p.relative_to(ROOT)) for p in [*SOLUTIONS, *EXERCISES]]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tying.grade",
            *notebooks,
            "--json",
            str(out),
            "--timeout",
            "120",
            "--jobs",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    records = json.loads(out.read_text()) if out.exists() else None
    return proc, records


def _record(records, path):
    rel = str(path.relative_to(ROOT))
    matches = [r for r in records if r["notebook"] == rel]
    assert len(matches) == 1, f"{rel} missing from the JSON report"
    return matches[0]


def test_every_exercise_has_a_solution_and_checks():
    assert [p.name for p in SOLUTIONS] == [p.name for p in EXERCISES]
    assert [p.stem for p in SOLUTIONS] == list_exercises()
    assert len(SOLUTIONS) >= 2


def test_cli_exits_zero_and_writes_a_list(graded):
    proc, records = graded
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert isinstance(records, list) and len(records) == len(SOLUTIONS) + len(EXERCISES)


def test_json_schema(graded):
    _, records = graded
    for record in records:
        assert set(record) == RECORD_KEYS, record.keys()
        exercise = load_exercise(record["exercise"])
        assert record["max_score"] == exercise.max_score
        assert [c["check"] for c in record["checks"]] == [s.name for s in exercise.checks]
        for c in record["checks"]:
            assert set(c) == CHECK_KEYS
            assert c["status"] in STATUSES
            assert isinstance(c["message"], str)
            assert 0 <= c["points"] <= c["max_points"]
            assert c["seconds"] >= 0
        assert record["score"] == sum(c["points"] for c in record["checks"])


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_scores_full_marks(graded, path):
    record = _record(graded[1], path)
    assert record["score"] == record["max_score"] > 0, [
        (c["check"], c["status"], c["message"]) for c in record["checks"] if c["status"] != "passed"
    ]
    assert record["cell_errors"] == [], "a solution notebook must run without errors"


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_exercise_scores_zero_without_check_errors(graded, path):
    record = _record(graded[1], path)
    assert record["score"] == 0
    statuses = {c["status"] for c in record["checks"]}
    assert statuses == {"not attempted"}, [
        (c["check"], c["status"], c["message"]) for c in record["checks"]
    ]
    # Exercises run to the end: only cells tagged raises-exception may raise.
    assert all(e["expected"] for e in record["cell_errors"]), record["cell_errors"]


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_exercise_notebook_names_its_exercise(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["tying"]["exercise"] == path.stem
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_printed_summary(graded):
    proc, records = graded
    lines = proc.stdout.strip().splitlines()
    n_solution_checks = sum(len(load_exercise(p.stem).checks) for p in SOLUTIONS)
    n_exercise_checks = sum(len(load_exercise(p.stem).checks) for p in EXERCISES)
    assert lines[-1] == f"{n_solution_checks} passed, {n_exercise_checks} failed"
    assert lines[-2].startswith("('failed' counts every check that did not pass")
    assert f"{n_exercise_checks} not attempted" in lines[-2]
    for path in [*SOLUTIONS, *EXERCISES]:
        assert f"== {path.relative_to(ROOT)} (exercise {path.stem}" in proc.stdout
    assert re.search(r"^Total: 10/10 points \(100%\)$", proc.stdout, re.M)
