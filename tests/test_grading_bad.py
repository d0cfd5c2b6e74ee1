"""Bad submissions: each gets its expected status and a clear message.

The submissions are built from the solution notebooks in a temporary folder.
Faults that need a kernel are combined, one fault per question, into two
notebooks that are graded once (session fixture); the unreadable-file cases
need no kernel and call the command line in-process.

Cases: a function that raises, a wrong shape, a wrong dtype, NaN, a wrong value
under a monkeypatched ``np.allclose``/``torch.allclose``, an infinite loop in a
function (check timeout) and in a cell (cell timeout; the rest is still graded),
a missing variable, a deleted cell; a truncated, empty, non-JSON or non-notebook
file, an unknown exercise id, and a notebook that names no exercise.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import nbformat
import pytest
from conftest import ROOT

from tying.grading import cli

SOLUTION_01 = ROOT / "solutions" / "01_counting_tied_layers.ipynb"
SOLUTION_02 = ROOT / "solutions" / "02_tied_gradient.ipynb"
CELL_TIMEOUT = 5


def _submission(path):
    """The solution as a reader would hand it in: the solution-only demonstration cells removed."""
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if "solution-only" not in c.metadata.get("tags", [])]
    return nb


def _cell(nb, text):
    matches = [i for i, c in enumerate(nb.cells) if text in c.source]
    assert len(matches) == 1, f"{text!r} found in {len(matches)} cells"
    return matches[0]


def _replace(nb, old, new):
    index = _cell(nb, old)
    nb.cells[index].source = nb.cells[index].source.replace(old, new)


def _bad_01():
    nb = _submission(SOLUTION_01)
    # q1: a wrong count (weights without biases) and a renamed variable (missing name).
    _replace(nb, "n_conv = 16 * (5 * 5 * 3 + 1)", "n_conv = 16 * 5 * 5 * 3")
    _replace(nb, "n_local = 24 * 24", "n_locl = 24 * 24")
    # q2: the reader's function raises.
    _replace(nb, "return sum(p.numel() for p in module.parameters())", 'raise ValueError("oops")')
    # q3: an infinite loop in forward (only the second q3 check calls forward).
    _replace(
        nb,
        "return self.layer2(torch.relu(self.layer1(x)))",
        "while True:\n            pass",
    )
    # q4: the cell that defines TiedAutoencoder is deleted.
    del nb.cells[_cell(nb, "class TiedAutoencoder")]
    # An infinite loop at the top level of a cell, interrupted at the cell time limit.
    grader_cell = _cell(nb, "grader = Grader(")
    nb.cells.insert(grader_cell + 1, nbformat.v4.new_code_cell("while True:\n    pass"))
    return nb


MONKEYPATCH = """\
import math

import numpy as np
import torch

always = lambda *args, **kwargs: True  # noqa: E731
np.allclose = np.array_equal = always
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
torch.allclose = torch.equal = always
torch.Tensor.allclose = torch.Tensor.equal = always
torch.isclose = lambda a, b, *args, **kwargs: torch.ones(torch.broadcast_shapes(a.shape, b.shape), dtype=torch.bool)
math.isclose = always
assert np.allclose(1, 2) and torch.allclose(torch.zeros(1), torch.ones(1))
"""


def _bad_02():
    nb = _submission(SOLUTION_02)
    grader_cell = _cell(nb, "grader = Grader(")
    nb.cells.insert(grader_cell + 1, nbformat.v4.new_code_cell(MONKEYPATCH))
    # q1: a wrong value, graded while np.allclose and torch.allclose always say True.
    _replace(
        nb,
        "return (y_hat - y) * (v * (z > 0)).sum()",
        "return 2 * (y_hat - y) * (v * (z > 0)).sum()",
    )
    # q2: the wrong shape, (1, K) instead of (K,).
    _replace(
        nb, "return (y_hat - y) * v * (z > 0)", "return ((y_hat - y) * v * (z > 0)).unsqueeze(0)"
    )
    # q3: the wrong dtype.
    _replace(nb, "return outer_use + inner_use", "return (outer_use + inner_use).float()")
    # q4: NaN everywhere; theta is left alone, so that check still passes.
    _replace(nb, "    return grad\n", "    return grad * float('nan')\n")
    return nb


@pytest.fixture(scope="session")
def bad(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    paths = [folder / "bad_01.ipynb", folder / "bad_02.ipynb"]
    nbformat.write(_bad_01(), paths[0])
    nbformat.write(_bad_02(), paths[1])
    out = folder / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tying.grade",
            *map(str, paths),
            "--json",
            str(out),
            "--timeout",
            str(CELL_TIMEOUT),
            "--jobs",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = json.loads(out.read_text())
    by_check = {(r["exercise"], c["check"]): c for r in records for c in r["checks"]}
    return proc, records, by_check


def _status(bad, exercise, check):
    c = bad[2][(exercise, check)]
    return c["status"], c["message"]


def test_wrong_count_fails_with_a_targeted_message(bad):
    status, message = _status(bad, "01_counting_tied_layers", "conv_count")
    assert status == "failed" and "biases" in message
    assert "1,216" not in message  # never the answer


def test_missing_variable_is_not_attempted(bad):
    status, message = _status(bad, "01_counting_tied_layers", "locally_connected_count")
    assert status == "not attempted"
    assert "`n_local` is not defined" in message


def test_reader_exception_is_an_error_not_a_check_error(bad):
    for check in ("counts_untied_modules", "counts_shared_tensor_once"):
        status, message = _status(bad, "01_counting_tied_layers", check)
        assert status == "error"
        assert "ValueError: oops" in message and "count_parameters" in message


def test_infinite_loop_in_a_function_times_out_and_the_rest_is_graded(bad):
    status, message = _status(bad, "01_counting_tied_layers", "shared_layer_count_and_forward")
    assert status == "timeout" and "stopped after" in message
    # The other q3 check does not call forward and passes: the session survived.
    assert _status(bad, "01_counting_tied_layers", "layers_share_one_weight")[0] == "passed"


def test_deleted_cell_is_not_attempted(bad):
    for check in ("autoencoder_decodes_with_transpose", "autoencoder_parameter_count"):
        status, message = _status(bad, "01_counting_tied_layers", check)
        assert status == "not attempted" and "`TiedAutoencoder` is not defined" in message


def test_infinite_loop_in_a_cell_is_interrupted_and_later_cells_run(bad):
    record = next(r for r in bad[1] if r["exercise"] == "01_counting_tied_layers")
    timeouts = [e for e in record["cell_errors"] if e["ename"] == "CellTimeoutError"]
    assert len(timeouts) == 1 and f"{CELL_TIMEOUT:g} s" in timeouts[0]["evalue"]
    # Cells after the loop ran: q3's weight sharing was graded as passed above, and the
    # printed report lists the interrupted cell.
    assert "CellTimeoutError" in bad[0].stdout
    assert record["score"] == 2  # layers_share_one_weight only


def test_monkeypatched_allclose_cannot_pass_a_wrong_value(bad):
    for check in ("shared_bias_both_active", "shared_bias_any_activity"):
        status, message = _status(bad, "02_tied_gradient", check)
        assert status == "failed"
        assert re.search(
            r"value differs from the expected one \(max abs error \S+ > tol \S+", message
        )


def test_wrong_shape_fails_naming_both_shapes(bad):
    status, message = _status(bad, "02_tied_gradient", "untied_biases")
    assert status == "failed"
    assert "expected a tensor of shape (2,), got (1, 2)" in message


def test_wrong_dtype_fails_naming_both_dtypes(bad):
    for check in ("weight_used_twice_small", "weight_used_twice_random"):
        status, message = _status(bad, "02_tied_gradient", check)
        assert status == "failed" and "expected dtype float64, got float32" in message


def test_nan_fails_and_other_checks_still_pass_under_the_monkeypatch(bad):
    status, message = _status(bad, "02_tied_gradient", "finite_differences_match")
    assert status == "failed" and "NaN" in message
    assert _status(bad, "02_tied_gradient", "finite_differences_leave_theta_alone")[0] == "passed"
    record = next(r for r in bad[1] if r["exercise"] == "02_tied_gradient")
    assert record["score"] == 1
    assert record["cell_errors"] == []


def test_no_check_errors_and_summary_line(bad):
    proc, records, by_check = bad
    assert all(c["status"] != "check error" for c in by_check.values())
    passed = sum(c["status"] == "passed" for c in by_check.values())
    assert (
        proc.stdout.strip().splitlines()[-1] == f"{passed} passed, {len(by_check) - passed} failed"
    )


# Files that cannot be graded: no kernel needed, exit status 1, the file named.


def _run_cli(capsys, *args):
    code = cli.main([*map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_truncated_notebook(tmp_path, capsys):
    path = tmp_path / "truncated.ipynb"
    text = SOLUTION_01.read_text()
    path.write_text(text[: len(text) // 2])
    code, out, err = _run_cli(capsys, path)
    assert code == 1
    assert str(path) in err and "not valid JSON" in err and "truncated" in err
    assert out.strip().splitlines()[-1] == "0 passed, 0 failed"


@pytest.mark.parametrize(
    "content, reason",
    [
        ("this is not a notebook\n", "not valid JSON"),
        ("", "the file is empty"),
        ('{"hello": 1}', "not a Jupyter notebook"),
        (
            '{"cells": "nope", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}',
            "not a valid notebook",
        ),
    ],
    ids=["text", "empty", "other-json", "invalid-notebook"],
)
def test_unreadable_files(tmp_path, capsys, content, reason):
    path = tmp_path / "bad.ipynb"
    path.write_text(content)
    code, _, err = _run_cli(capsys, path)
    assert code == 1 and str(path) in err and reason in err


def test_missing_file(tmp_path, capsys):
    code, _, err = _run_cli(capsys, tmp_path / "nowhere.ipynb")
    assert code == 1 and "nowhere.ipynb: no such file" in err


def test_unknown_exercise_id_in_metadata(tmp_path, capsys):
    nb = nbformat.read(SOLUTION_01, as_version=4)
    nb.metadata["tying"]["exercise"] = "99_no_such_exercise"
    path = tmp_path / "unknown.ipynb"
    nbformat.write(nb, path)
    code, _, err = _run_cli(capsys, path, "--json", tmp_path / "out.json")
    assert code == 1
    assert str(path) in err and "unknown exercise id '99_no_such_exercise'" in err
    assert "01_counting_tied_layers" in err  # the known ids are listed
    record = json.loads((tmp_path / "out.json").read_text())
    assert record["notebook"] == str(path) and "unknown exercise id" in record["error"]


def test_unknown_exercise_id_in_grader_call(tmp_path, capsys):
    nb = nbformat.read(SOLUTION_01, as_version=4)
    del nb.metadata["tying"]
    _replace(nb, 'Grader("01_counting_tied_layers")', 'Grader("nope")')
    path = tmp_path / "unknown.ipynb"
    nbformat.write(nb, path)
    code, _, err = _run_cli(capsys, path)
    assert code == 1 and "unknown exercise id 'nope' (from Grader(...))" in err


def test_notebook_naming_no_exercise(tmp_path, capsys):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    path = tmp_path / "plain.ipynb"
    nbformat.write(nb, path)
    code, _, err = _run_cli(capsys, path)
    assert code == 1 and "cannot tell which exercise" in err


def test_exercise_id_falls_back_to_the_grader_call():
    nb = nbformat.read(SOLUTION_02, as_version=4)
    del nb.metadata["tying"]
    assert cli.find_exercise_id(nb, SOLUTION_02) == "02_tied_gradient"


def test_bad_command_line(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--timeout", "0", "x.ipynb"])
    assert info.value.code == 2
