"""What a careless or mischievous submission can do without a kernel running.

Checks and helpers in-process (exceptions that are not ``Exception``, library
names passed off as answers, tensor subclasses, sparse tensors, empty values),
files that are not notebooks, a wrong command line, and the bookkeeping that
keeps every result already earned.  Kernels are replaced by a fake where one
would be started.
"""

from __future__ import annotations

import csv
import json
import numbers
import re
import time
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from conftest import ROOT

from tying.grading import (
    ERROR,
    NOT_ATTEMPTED,
    PASSED,
    CheckFailed,
    Exercise,
    Grader,
    Question,
    check,
    cli,
    expect_close,
    expect_integer,
    expect_scalar,
    load_exercise,
    runner,
)

SOLUTION_01 = ROOT / "solutions" / "01_counting_tied_layers.ipynb"

# -- checks and helpers ----------------------------------------------------------


def _exercise() -> Exercise:
    module = types.ModuleType("fake_exercise")
    module.QUESTIONS = {"q1": Question("a function", "hint"), "q2": Question("a value", "hint")}

    @check("q1", points=1, timeout=2)
    def function_works(answers):
        expect_scalar(answers.call("f", 2.0), 4.0, name="f(2)")

    @check("q1", points=1, timeout=2)
    def calls_the_reader_directly(answers):
        expect_scalar(answers.get("f")(2.0), 4.0, name="f(2)")

    @check("q2", points=1, timeout=2)
    def value_is_right(answers):
        expect_close(answers.get("y"), torch.arange(3.0), name="y")

    for function in (function_works, calls_the_reader_directly, value_is_right):
        setattr(module, function.__name__, function)
    return Exercise.from_module(module)


def _grade(source: str) -> dict[str, tuple[str, str]]:
    namespace: dict = {"torch": torch, "np": np}
    exec(source, namespace)
    return {r.check: (r.status, r.message) for r in Grader(_exercise(), namespace).run()}


@pytest.mark.parametrize(
    "raise_it",
    ["raise KeyboardInterrupt", "raise SystemExit(2)", "raise Custom('mine')"],
    ids=["KeyboardInterrupt", "SystemExit", "custom-BaseException"],
)
def test_base_exceptions_from_reader_code_are_that_checks_error(raise_it):
    results = _grade(
        "class Custom(BaseException):\n    pass\n"
        f"def f(x):\n    {raise_it}\n"
        "y = torch.arange(3.0)\n"
    )
    for name in ("function_works", "calls_the_reader_directly"):
        assert results[name][0] == ERROR, results[name]
    assert results["value_is_right"][0] == PASSED  # grading went on


def test_library_names_are_not_answers():
    results = _grade(
        "def f(x):\n    raise NotImplementedError\n"
        "from tying.grading import *\n"
        "from tying.grading import count_parameters as f\n"
        "y = torch.arange(3.0)\n"
    )
    status, message = results["function_works"]
    assert status == NOT_ATTEMPTED
    assert "imported from the library" in message and "tying.grading" in message
    # Defined in the notebook, even with library parts, is an answer.
    results = _grade(
        "from tying.grading import count_parameters\n"
        "def f(x):\n    return x * x\n"
        "y = torch.arange(3.0)\n"
    )
    assert results["function_works"][0] == PASSED


class Sneaky(torch.Tensor):
    """A tensor subclass whose every operation returns the 'right' value."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return torch.arange(3.0, dtype=torch.float64)


def test_tensor_subclasses_other_than_parameter_are_rejected():
    sneaky = torch.zeros(3).as_subclass(Sneaky)
    with pytest.raises(CheckFailed, match="subclass Sneaky"):
        expect_close(sneaky, torch.arange(3.0), name="y")
    with pytest.raises(CheckFailed, match="subclass Sneaky"):
        expect_scalar(torch.tensor(4.0).as_subclass(Sneaky), 4.0)
    with pytest.raises(CheckFailed, match="subclass Sneaky"):
        expect_integer(torch.tensor(4).as_subclass(Sneaky), 4)
    expect_close(torch.nn.Parameter(torch.arange(3.0)), torch.arange(3.0))  # a Parameter is fine
    with pytest.raises(CheckFailed, match="plain numpy array"):
        expect_close(np.ma.masked_array(np.arange(3.0)), np.arange(3.0))


def test_sparse_answers_are_a_failure_that_asks_for_to_dense():
    results = _grade("def f(x):\n    return x * x\ny = torch.arange(3.0).to_sparse()\n")
    status, message = results["value_is_right"]
    assert status == "failed" and ".to_dense()" in message
    with pytest.raises(CheckFailed, match=r"\.to_dense\(\)"):
        expect_scalar(torch.tensor(4.0).to_sparse(), 4.0)


class EmptyNumber(numbers.Real):
    """Says it is a number, becomes an empty array under np.asarray."""

    def __array__(self, dtype=None, copy=None):
        return np.array([])

    def __float__(self):
        return 5.0  # the wrong number

    # the abstract methods of numbers.Real, none of them used
    __abs__ = __add__ = __ceil__ = __eq__ = __floor__ = __floordiv__ = __le__ = __lt__ = None
    __mod__ = __mul__ = __neg__ = __pos__ = __pow__ = __radd__ = __rfloordiv__ = None
    __rmod__ = __rmul__ = __round__ = __rpow__ = __rtruediv__ = __truediv__ = __trunc__ = None


class ShapelessArray(np.ndarray):
    """An empty array that claims the shape () of a single number."""

    @property
    def shape(self):
        return ()


def test_empty_values_are_not_scalars():
    with pytest.raises(CheckFailed):
        expect_scalar(EmptyNumber(), 4.0, name="x")
    with pytest.raises(CheckFailed):
        expect_scalar(np.array([]).view(ShapelessArray), 4.0, name="x")
    for empty in (np.array([]), torch.tensor([]), np.zeros((1, 0))):
        with pytest.raises(CheckFailed):
            expect_scalar(empty, 4.0)


# -- files that are not notebooks -------------------------------------------------


def _main(capsys, *args):
    code = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _no_kernel(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("no kernel should start for this input")

    monkeypatch.setattr(runner, "grade_notebook", refuse)


def _notebook(tmp_path, name="nb.ipynb", **metadata):
    nb = nbformat.read(SOLUTION_01, as_version=4)
    nb.metadata.update(metadata)
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize(
    "text, reason",
    [
        ("[" * 100_000 + "]" * 100_000, "nested"),
        ('{"cells": [], "nbformat": 4, "metadata": {"x": ' + "7" * 5000 + "}}", "digits"),
        (
            json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}),
            "convert it with `jupyter nbconvert --to notebook",
        ),
    ],
    ids=["deep-json", "huge-integer", "nbformat-3"],
)
def test_unreadable_json_is_one_clear_line(tmp_path, capsys, monkeypatch, text, reason):
    _no_kernel(monkeypatch)
    path = tmp_path / "bad.ipynb"
    path.write_text(text)
    code, _, err = _main(capsys, path, "--json", tmp_path / "out.json")
    assert code == 1
    assert err.count("\n") == 1 and str(path) in err and reason in err and "Traceback" not in err
    assert reason in json.loads((tmp_path / "out.json").read_text())["error"]


def test_a_pipe_is_not_read(tmp_path, capsys, monkeypatch):
    _no_kernel(monkeypatch)
    import os

    os.mkfifo(tmp_path / "x.ipynb")
    code, _, err = _main(capsys, tmp_path / "x.ipynb")  # the old grader blocked here forever
    assert code == 1 and "not a regular file" in err


@pytest.mark.parametrize(
    "metadata, grader_call, reason",
    [
        ("__init__", 'Grader("__init__")', "unknown exercise id '__init__'"),
        ("02_tied_gradient", None, "metadata names exercise '02_tied_gradient'"),
        (None, 'Grader("_refs")', "unknown exercise id '_refs'"),
    ],
    ids=["dunder-id", "mismatch", "private-module"],
)
def test_exercise_ids_that_do_not_fit(tmp_path, capsys, monkeypatch, metadata, grader_call, reason):
    _no_kernel(monkeypatch)
    nb = nbformat.read(SOLUTION_01, as_version=4)
    if metadata is None:
        del nb.metadata["tying"]
    else:
        nb.metadata["tying"]["exercise"] = metadata
    if grader_call:
        for cell in nb.cells:
            cell.source = cell.source.replace('Grader("01_counting_tied_layers")', grader_call)
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    code, _, err = _main(capsys, path)
    assert code == 1 and reason in err and err.count("\n") == 1


# -- the command line ----------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--timeout", "0"], "positive"),
        (["--timeout", "nan"], "positive"),
        (["--timeout", "soon"], "number of seconds"),
        (["--notebook-timeout", "-1"], "positive"),
        (["--jobs", "0"], "at least 1"),
        (["--json", "{missing}/out.json"], "does not exist"),
        (["--gradebook", "{missing}/book.csv"], "does not exist"),
        (["--json", "{tmp}"], "is a folder"),
    ],
)
def test_bad_command_lines_exit_2_before_grading(tmp_path, capsys, monkeypatch, args, message):
    _no_kernel(monkeypatch)
    path = _notebook(tmp_path)
    args = [a.format(missing=tmp_path / "nowhere", tmp=tmp_path) for a in args]
    with pytest.raises(SystemExit) as info:
        cli.main([str(path), *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_fractional_timeout_is_accepted():
    options = cli.build_parser().parse_args(["x.ipynb", "--timeout", "2.5"])
    assert options.timeout == 2.5


# -- results are kept as they are earned ---------------------------------------------------


def _fake_grading(fail_on: str | None = None, interrupt_on: str | None = None):
    """A stand-in for the kernel: every check passes, or the run breaks on one notebook."""

    def fake(grading, sources, **kwargs):
        name = grading.notebook
        if interrupt_on and name.endswith(interrupt_on):
            raise KeyboardInterrupt
        for spec in grading.exercise.checks:
            if fail_on and name.endswith(fail_on) and spec.question == "q2":
                raise TypeError("a bug while grading")
            grading.checks.append(runner._result(spec, PASSED, "", 0.1))

    return fake


def test_a_crash_in_one_notebook_keeps_its_earned_checks_and_the_others(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(runner, "grade_notebook", _fake_grading(fail_on="b.ipynb"))
    paths = [_notebook(tmp_path, f"{n}.ipynb") for n in "abc"]
    out = tmp_path / "out.json"
    code, _, _ = _main(capsys, *paths, "--json", out)
    records = json.loads(out.read_text())
    assert code == 0 and [r["score"] for r in records] == [10, 2, 10]
    broken = {c["check"]: c for c in records[1]["checks"]}
    assert broken["conv_count"]["status"] == PASSED  # q1 was earned before the crash
    assert broken["counts_untied_modules"]["status"] == ERROR
    assert "grader failed" in broken["counts_untied_modules"]["message"]


def test_ctrl_c_keeps_what_was_graded(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(runner, "grade_notebook", _fake_grading(interrupt_on="b.ipynb"))
    paths = [_notebook(tmp_path, f"{n}.ipynb") for n in "abc"]
    out, book = tmp_path / "out.json", tmp_path / "book.csv"
    code, _, err = _main(capsys, *paths, "--json", out, "--gradebook", book)
    assert code == 130 and "interrupted" in err
    assert [r["notebook"] for r in json.loads(out.read_text())] == [str(paths[0])]
    with open(book, newline="") as handle:
        assert [row["total"] for row in csv.DictReader(handle)] == ["10"]


def test_the_parent_validates_what_the_kernel_reports():
    spec = load_exercise("01_counting_tied_layers").checks[0]
    forged = {
        "question": spec.question,
        "check": spec.name,
        "status": PASSED,
        "points": 1000,
        "max_points": 1,
        "message": "",
    }
    assert runner._validated(spec, forged, 0.1)["points"] == spec.points
    assert runner._validated(spec, {**forged, "check": "bonus"}, 0.1) is None
    assert runner._validated(spec, {**forged, "status": "excellent"}, 0.1) is None
    assert runner._validated(spec, [forged], 0.1) is None


def test_progress_is_shown_for_several_notebooks(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(runner, "grade_notebook", _fake_grading())
    folder = tmp_path / "class"
    folder.mkdir()
    for n in "ab":
        _notebook(folder, f"{n}.ipynb")
    monkeypatch.chdir(tmp_path)
    code, _, err = _main(capsys, folder)
    assert code == 0
    assert "[1/2]" in err and "[2/2]" in err and "10/10 points" in err
    assert (tmp_path / "gradebook.csv").exists() and (tmp_path / "feedback" / "a.txt").exists()


# -- the runner's bookkeeping, with a stand-in for the kernel ---------------------------------


class FakeKernel:
    """Answers the runner like a kernel would: cells take ``cell_seconds``; checks follow ``plan``."""

    plan: dict = {}
    cell_seconds = 0.0
    started = 0

    def __init__(self, cwd, env, deadline):
        type(self).started += 1

    def kill(self):
        pass

    def execute(self, code, timeout, deadline):
        if "grade_check(" not in code:
            if "prepare(" not in code:
                time.sleep(min(self.cell_seconds, max(0.0, deadline - time.monotonic())))
            return runner.CellRun("ok")
        exercise_id, name, out = re.findall(r"'([^']*)'", code)
        action = self.plan.get(name, "pass")
        if action == "died":
            return runner.CellRun("died", runner.DIED_ENAME)
        spec = next(s for s in load_exercise(exercise_id).checks if s.name == name)
        if action == "garbage":
            Path(out).write_text("{not json")
        else:
            result = runner._result(spec, PASSED, "", 0.0)
            Path(out).write_text(json.dumps(result))
        return runner.CellRun("ok")


def _run_fake(monkeypatch, plan, cell_seconds=0.0, notebook_timeout=60.0):
    monkeypatch.setattr(runner, "Kernel", FakeKernel)
    monkeypatch.setattr(FakeKernel, "plan", plan)
    monkeypatch.setattr(FakeKernel, "cell_seconds", cell_seconds)
    monkeypatch.setattr(FakeKernel, "started", 0)
    exercise = load_exercise("01_counting_tied_layers")
    grading = runner.NotebookGrading("nb.ipynb", exercise, 5.0)
    sources = [(n, f"cell_{n} = {n}", False) for n in range(1, 6)]
    runner.grade_notebook(grading, sources, folders=[], notebook_timeout=notebook_timeout, env={})
    return grading, {c["check"]: c for c in grading.checks}


def test_a_garbled_result_costs_only_its_check(monkeypatch):
    grading, checks = _run_fake(monkeypatch, {"counts_untied_modules": "garbage"})
    assert checks["counts_untied_modules"]["status"] == ERROR
    assert "no valid result" in checks["counts_untied_modules"]["message"]
    assert grading.to_record()["score"] == 9


def test_a_dead_kernel_is_restarted_and_grading_goes_on(monkeypatch):
    grading, checks = _run_fake(
        monkeypatch, {"conv_count": "died", "counts_untied_modules": "died"}
    )
    assert FakeKernel.started == 3  # the first kernel and one restart per death
    assert [checks[n]["status"] for n in ("conv_count", "counts_untied_modules")] == [ERROR] * 2
    assert grading.to_record()["score"] == 8


def test_the_notebook_time_budget_bounds_everything(monkeypatch):
    start = time.monotonic()
    grading, checks = _run_fake(monkeypatch, {}, cell_seconds=0.4, notebook_timeout=1.0)
    assert time.monotonic() - start < 3
    record = grading.to_record()
    assert record["score"] == 0 and {c["status"] for c in record["checks"]} == {"timeout"}
    assert any("time budget" in n for n in record["notes"])
    assert any(e["ename"] == runner.NOT_RUN_ENAME for e in record["cell_errors"])
