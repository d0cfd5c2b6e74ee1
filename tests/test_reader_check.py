"""tools/reader_check.py: its verdicts and its command line (the venv run itself is `make reader-check`)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

spec = importlib.util.spec_from_file_location("reader_check", ROOT / "tools" / "reader_check.py")
reader_check = importlib.util.module_from_spec(spec)
sys.modules["reader_check"] = reader_check
spec.loader.exec_module(reader_check)


def cells(*pairs):
    return {"fatal": None, "cells": [{"source": s, "error": e} for s, e in pairs]}


CHAPTER = Path("notebooks/principles/01_x.ipynb")
EXERCISE = Path("exercises/01_x.ipynb")
STUB = "def f():\n    # your code here\n    raise NotImplementedError"


def test_a_chapter_passes_only_when_every_cell_runs():
    assert reader_check.judge(CHAPTER, cells(("a = 1", None), ("b = 2", None)))[0]
    ok, detail = reader_check.judge(
        CHAPTER, cells(("a = 1", None), ("1/0", "ZeroDivisionError: x"))
    )
    assert not ok and "code cell 2" in detail and "ZeroDivisionError" in detail


def test_an_exercise_may_fail_from_its_first_stub_on_but_not_before():
    ok, _ = reader_check.judge(
        EXERCISE, cells(("import tying", None), (STUB, None), ("f()", "NotImplementedError: "))
    )
    assert ok
    ok, detail = reader_check.judge(
        EXERCISE, cells(("import missing", "ModuleNotFoundError: missing"), (STUB, None))
    )
    assert not ok and "code cell 1" in detail


def test_a_dead_kernel_fails_the_notebook():
    report = cells(("a = 1", None))
    report["fatal"] = "DeadKernelError: Kernel died"
    ok, detail = reader_check.judge(CHAPTER, report)
    assert not ok and "DeadKernelError" in detail


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--jobs", "2.5"], "--jobs must be a positive whole number"),
        (["--timeout", "0"], "--timeout must be a positive whole number"),
        (["--python", "no-such-python-3.99"], "is not an interpreter"),
        (["--torch", "numpy==2.0"], "--torch must be a pip requirement for torch"),
        (["--report", "/no/such/folder/out.md"], "does not exist"),
        (["README.md"], "neither a notebook nor a folder"),
        (["--as-is"], "--as-is needs --venv"),
    ],
)
def test_a_bad_command_line_gets_one_clear_line_and_exit_2(argv, message):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "reader_check.py"), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
