"""``python -m tying.grade`` against careless and mischievous submissions (real kernels).

One folder of submissions, built from exercise 1's solution and exercise
notebooks, is graded once, in-process, through the folder interface (gradebook
and feedback files), with a short cell time limit:

- ``noisy``: a malformed widget message and 2 MB of printed output, otherwise right;
- ``deaf``: a cell that ignores interrupts and loops, after question 1's answers;
- ``killer``: question 2's function kills the kernel, question 3's ``forward``
  cancels the check's alarm, ignores interrupts and loops; the rest is right;
- ``thief``: the unanswered exercise with star imports from ``tying`` and an
  ``import matplotlib``, next to a planted ``matplotlib/`` package that would
  pass every check if a kernel imported it;
- ``forger``: replaces the grader's ``run_check`` to report 1000 points;
- ``pipe.ipynb``: a FIFO, not a file.

``Kernel.execute`` and ``Output.add`` are wrapped to log when each cell started
and when each notebook's record was written, to measure the time after a hang.
"""

from __future__ import annotations

import csv
import json
import os
import time

import nbformat
import pytest
from conftest import ROOT

from tying.grading import cli, runner

SOLUTION = ROOT / "solutions" / "01_counting_tied_layers.ipynb"
EXERCISE = ROOT / "exercises" / "01_counting_tied_layers.ipynb"
CELL_TIMEOUT = 10.5  # not a whole number on purpose: nbclient's Integer trait rejected it
GRACE = 2.0


def _submission(path):
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if "solution-only" not in c.metadata.get("tags", [])]
    return nb


def _index(nb, text):
    matches = [i for i, c in enumerate(nb.cells) if text in c.source]
    assert len(matches) == 1, text
    return matches[0]


def _replace(nb, old, new):
    cell = nb.cells[_index(nb, old)]
    cell.source = cell.source.replace(old, new)


def _insert_after(nb, text, source):
    nb.cells.insert(_index(nb, text) + 1, nbformat.v4.new_code_cell(source))


WIDGET = """\
from ipykernel.comm import Comm

Comm(target_name="jupyter.widget", data={"state": None, "buffer_paths": 5})
"""

DEAF = """\
import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
"""

FORGER = """\
import tying.grading.core as core
import tying.grading.grader as grader

def run_check(spec, answers):
    return core.CheckResult(spec.question, spec.name, "passed", 1000, 1, "", 0.0)

core.run_check = grader.run_check = run_check
"""

PLANTED_MATPLOTLIB = """\
# Planted next to the submissions: every check passes if a kernel imports this.
import tying.grading.core as core
import tying.grading.grader as grader

_real = core.run_check

def _always(spec, answers):
    result = _real(spec, answers)
    result.status, result.points, result.message = "passed", result.max_points, ""
    return result

core.run_check = grader.run_check = _always
"""


def _noisy():
    nb = _submission(SOLUTION)
    _insert_after(nb, "n_conv = 16", WIDGET)
    _insert_after(nb, "class SharedTwoLayer", 'print("x" * 2_000_000)')
    return nb


def _deaf():
    nb = _submission(SOLUTION)
    _insert_after(nb, "n_conv = 16", DEAF)
    return nb


def _killer():
    nb = _submission(SOLUTION)
    _replace(
        nb,
        "return sum(p.numel() for p in module.parameters())",
        "import os\n    os._exit(1)",
    )
    _replace(
        nb,
        "return self.layer2(torch.relu(self.layer1(x)))",
        "import signal\n"
        "        signal.setitimer(signal.ITIMER_REAL, 0)\n"
        "        signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "        while True:\n"
        "            pass",
    )
    return nb


def _thief():
    nb = nbformat.read(EXERCISE, as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import matplotlib\n"
            "from tying.grading import *\n"
            "from tying.layers import *\n"
            "from tying.ties import *\n"
            "from tying.theory import *"
        )
    )
    return nb


def _forger():
    nb = nbformat.read(EXERCISE, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(FORGER))
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    folder = base / "submissions"
    folder.mkdir()
    for name, build in [
        ("noisy", _noisy),
        ("deaf", _deaf),
        ("killer", _killer),
        ("thief", _thief),
        ("forger", _forger),
    ]:
        nbformat.write(build(), folder / f"{name}.ipynb")
    (folder / "matplotlib").mkdir()
    (folder / "matplotlib" / "__init__.py").write_text(PLANTED_MATPLOTLIB)
    os.mkfifo(folder / "pipe.ipynb")

    log = {"cells": [], "written": {}}
    execute, add = runner.Kernel.execute, cli.Output.add

    def logged_execute(self, code, timeout, deadline):
        started = time.monotonic()
        run = execute(self, code, timeout, deadline)
        log["cells"].append((code, started, run.state))
        return run

    def logged_add(self, index, record):
        add(self, index, record)
        log["written"][os.path.basename(record["notebook"])] = time.monotonic()

    out = base / "out"
    out.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner.Kernel, "execute", logged_execute)
        mp.setattr(cli.Output, "add", logged_add)
        mp.setattr(runner, "INTERRUPT_GRACE", GRACE)
        mp.setenv("OMP_NUM_THREADS", "1")
        mp.chdir(out)
        code = cli.main(
            [str(folder), "--timeout", str(CELL_TIMEOUT), "--jobs", "2", "--json", "all.json"]
        )
    records = {
        os.path.basename(r["notebook"]): r for r in json.loads((out / "all.json").read_text())
    }
    return code, records, out, log


def _checks(record):
    return {c["check"]: c for c in record["checks"]}


def test_one_bad_file_costs_only_itself_and_exit_status_is_1(graded):
    code, records, _, _ = graded
    assert code == 1  # the FIFO could not be graded ...
    assert "not a regular file" in records["pipe.ipynb"]["error"]
    # ... and every other notebook was graded
    assert all("error" not in r for name, r in records.items() if name != "pipe.ipynb")


def test_malformed_widget_message_and_huge_output(graded):
    record = graded[1]["noisy.ipynb"]
    assert record["score"] == record["max_score"] == 10
    assert record["cell_errors"] == []
    assert any("printed more than" in note and "cut" in note for note in record["notes"])


def test_a_kernel_that_ignores_interrupts_is_killed_in_bounded_time(graded):
    _, records, _, log = graded
    record = records["deaf.ipynb"]
    hang = [(start, state) for code, start, state in log["cells"] if code == DEAF]
    assert [state for _, state in hang] == ["killed"]
    assert log["written"]["deaf.ipynb"] - hang[0][0] <= 2 * CELL_TIMEOUT + 30
    by_cell = {e["ename"] for e in record["cell_errors"]}
    assert runner.KILLED_ENAME in by_cell and runner.NOT_RUN_ENAME in by_cell
    assert "CellTimeoutError" not in by_cell  # cells that never ran are "not run"
    # Question 1 was answered before the hang and is graded after the restart.
    checks = _checks(record)
    assert checks["conv_count"]["status"] == checks["locally_connected_count"]["status"] == "passed"
    assert checks["counts_untied_modules"]["status"] == "not attempted"


def test_checks_that_kill_or_hang_the_kernel_cost_only_themselves(graded):
    checks = _checks(graded[1]["killer.ipynb"])
    assert checks["conv_count"]["status"] == "passed"  # earned before the kernel died
    for name in ("counts_untied_modules", "counts_shared_tensor_once"):
        assert checks[name]["status"] == "error" and "kernel died" in checks[name]["message"]
    assert checks["shared_layer_count_and_forward"]["status"] == "timeout"
    assert checks["layers_share_one_weight"]["status"] == "passed"
    assert checks["autoencoder_decodes_with_transpose"]["status"] == "passed"
    assert checks["autoencoder_parameter_count"]["status"] == "passed"


def test_planted_package_and_library_star_imports_earn_nothing(graded):
    record = graded[1]["thief.ipynb"]
    assert record["score"] == 0
    assert record["cell_errors"] == []  # the real matplotlib was imported, not the planted one
    message = _checks(record)["counts_untied_modules"]["message"]
    assert "imported from the library" in message


def test_the_parent_does_not_trust_the_kernels_points(graded):
    record = graded[1]["forger.ipynb"]
    assert all(c["points"] <= c["max_points"] for c in record["checks"])
    assert record["score"] <= record["max_score"] == 10


def test_gradebook_and_feedback_for_a_folder(graded):
    _, records, out, _ = graded
    with open(out / "gradebook.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [os.path.basename(r["submission"]) for r in rows] == sorted(records)
    assert {"q1", "q2", "q3", "q4", "total", "max_total"} <= set(rows[0])
    noisy = next(r for r in rows if r["submission"].endswith("noisy.ipynb"))
    assert (noisy["q1"], noisy["q2"], noisy["q3"], noisy["q4"], noisy["total"]) == (
        "2",
        "2",
        "3",
        "3",
        "10",
    )
    pipe = next(r for r in rows if r["submission"].endswith("pipe.ipynb"))
    assert pipe["total"] == "" and "not a regular file" in pipe["note"]
    feedback = sorted(p.name for p in (out / "feedback").iterdir())
    assert feedback == sorted(f"{name[:-6]}.txt" for name in records)
    assert "Total: 10/10 points" in (out / "feedback" / "noisy.txt").read_text()
