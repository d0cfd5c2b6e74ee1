"""Run every notebook as a reader would: alone, in an empty folder, on a reader's stack.

A reader who opens one chapter on Colab gets one notebook file, Colab's
Python and packages, and ``pip install tying``.  This script rebuilds that
situation and executes each notebook there:

1. builds the ``tying`` wheel from this checkout;
2. creates (or reuses) a throw-away virtual environment with ``--python``,
   installs ``--torch`` first (so nothing pulls another torch build), then
   the reader's stack pinned in ``tools/reader_stack.txt`` (Colab's
   versions, ipywidgets 7.7.1, or the oldest versions ``tying`` supports
   where those are stricter);
3. installs the wheel *with* its dependencies and fails unless that changed
   nothing but adding ``tying`` itself (``pip freeze`` before and after);
4. copies each notebook alone into an empty temporary folder and executes it
   there in a fresh kernel of that environment, without network where the
   machine allows it (``unshare -n``), several notebooks at a time.

A notebook passes when every cell runs.  An exercise passes when no cell
before its first unanswered stub (``raise NotImplementedError``) fails.

Usage::

    python tools/reader_check.py                       # Python 3 on PATH, torch==2.13.0
    python tools/reader_check.py --python python3.12 --torch torch==2.9.1
    python tools/reader_check.py --report out.md notebooks/principles

It prints one line per notebook, a table, and ``N passed, N failed``; the
exit status is 0 only when every notebook passed (2 for a bad command line).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACK = ROOT / "tools" / "reader_stack.txt"
DEFAULT_FOLDERS = ("notebooks", "solutions", "exercises")
STUB_LINE = "raise NotImplementedError"


class UsageError(Exception):
    """A command-line problem, reported in one line (exit status 2)."""


@dataclass
class Result:
    notebook: str
    passed: bool
    seconds: float
    detail: str


# -- command line -------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Execute notebooks alone, in empty folders, on a reader's package stack."
    )
    parser.add_argument(
        "paths", nargs="*", help="notebooks or folders (default: all of the book's)"
    )
    parser.add_argument(
        "--python", default="python3", help="interpreter for the venv (default: python3)"
    )
    parser.add_argument(
        "--torch", default="torch==2.13.0", help="pip requirement for torch, installed first"
    )
    parser.add_argument(
        "--stack", default=str(STACK), help="pinned reader packages (requirements file)"
    )
    parser.add_argument(
        "--venv", default=None, help="venv folder (default: .venv-reader/<python>-<torch>)"
    )
    parser.add_argument(
        "--as-is",
        action="store_true",
        help="use the --venv as it is (e.g. the project's .venv): no stack, no wheel install",
    )
    parser.add_argument("--jobs", default="2", help="notebooks executed at once (default 2)")
    parser.add_argument("--timeout", default="300", help="seconds per cell (default 300)")
    parser.add_argument("--report", default=None, help="also write the Markdown table to this file")
    args = parser.parse_args(argv)
    for name in ("jobs", "timeout"):
        value = getattr(args, name)
        if not re.fullmatch(r"[1-9][0-9]{0,4}", value):
            raise UsageError(f"--{name} must be a positive whole number, got {value!r}")
        setattr(args, name, int(value))
    if shutil.which(args.python) is None and not Path(args.python).is_file():
        raise UsageError(f"--python {args.python!r} is not an interpreter on this machine")
    if not re.fullmatch(r"torch(\[[\w,]+\])?\s*(==|>=|~=)\s*[\w.+]+|torch", args.torch.strip()):
        raise UsageError(
            f"--torch must be a pip requirement for torch, e.g. torch==2.13.0, got {args.torch!r}"
        )
    if args.as_is and (args.venv is None or not (Path(args.venv) / "bin" / "python").exists()):
        raise UsageError("--as-is needs --venv naming an existing virtual environment")
    if not Path(args.stack).is_file():
        raise UsageError(f"--stack {args.stack!r} does not exist")
    if args.report is not None:
        parent = Path(args.report).resolve().parent
        if not parent.is_dir():
            raise UsageError(f"--report: folder {parent} does not exist")
    args.notebooks = collect(args.paths or [str(ROOT / f) for f in DEFAULT_FOLDERS])
    if not args.notebooks:
        raise UsageError("no notebooks found in " + " ".join(args.paths))
    return args


def collect(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(
                sorted(
                    q
                    for q in p.rglob("*.ipynb")
                    if "_build" not in q.parts and ".ipynb_checkpoints" not in q.parts
                )
            )
        elif p.suffix == ".ipynb" and p.is_file():
            found.append(p)
        else:
            raise UsageError(f"{p} is neither a notebook nor a folder")
    return found


# -- the environment ----------------------------------------------------------
def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{tail}")
    return proc


def source_tree(dest: Path) -> Path:
    """Copy what git would ship (tracked and new, unignored files) into ``dest``.

    A reader installs from a clean clone; building in this checkout instead
    would pick up stale ``build/`` output (modules deleted since).
    """
    try:
        listed = run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT).stdout
    except (RuntimeError, OSError):
        listed = ""
    names = [n for n in listed.split("\0") if n]
    if not names:  # not a git checkout: copy the package's own files
        names = [str(p.relative_to(ROOT)) for p in ROOT.glob("lib/**/*") if p.is_file()]
        names += ["pyproject.toml", "README.md"]
    for name in names:
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def build_wheel(out: Path) -> Path:
    tree = source_tree(out / "src")
    # pip builds in an isolated environment with the setuptools pyproject.toml asks for.
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(tree)],
        timeout=600,
    )
    (wheel,) = out.glob("tying-*.whl")
    return wheel


def prepare_venv(args: argparse.Namespace) -> Path:
    """Create the venv once per (python, torch, stack); reuse it while they are unchanged."""
    stamp_text = f"{args.python}\n{args.torch}\n{Path(args.stack).read_text()}"
    stamp_id = hashlib.sha256(stamp_text.encode()).hexdigest()[:12]
    if args.venv is None:
        slug = re.sub(r"[^\w.]+", "_", f"{Path(args.python).name}-{args.torch}")
        venv = ROOT / ".venv-reader" / slug
    else:
        venv = Path(args.venv).resolve()
    stamp = venv / ".reader-stack"
    python = venv / "bin" / "python"
    if stamp.is_file() and stamp.read_text() == stamp_id and python.exists():
        return python
    if venv.exists():
        shutil.rmtree(venv)
    run([args.python, "-m", "venv", str(venv)])
    pip = [str(python), "-m", "pip", "install", "-q"]
    # torch first and alone, as a reader's machine already has it.
    run([*pip, args.torch], timeout=3600)
    run([*pip, "-r", args.stack], timeout=3600)
    stamp.write_text(stamp_id)
    return python


def freeze(python: Path) -> dict[str, str]:
    out = run([str(python), "-m", "pip", "freeze", "--all"]).stdout
    packages = {}
    for line in out.splitlines():
        name, _, version = line.partition("==")
        if not version:  # "name @ file://..." for local builds
            name, _, version = line.partition(" @ ")
        packages[name.strip().lower().replace("_", "-")] = version.strip()
    return packages


def install_wheel(python: Path, wheel: Path) -> list[str]:
    """Install ``tying`` with its dependencies; return what else it changed (should be nothing)."""
    subprocess.run(
        [str(python), "-m", "pip", "uninstall", "-y", "-q", "tying"], capture_output=True
    )
    before = freeze(python)
    run([str(python), "-m", "pip", "install", "-q", str(wheel)], timeout=1800)
    after = freeze(python)
    changed = []
    for name in sorted(set(before) | set(after)):
        if name == "tying":
            continue
        if before.get(name) != after.get(name):
            changed.append(f"{name}: {before.get(name, 'absent')} -> {after.get(name, 'absent')}")
    if "tying" not in after:
        changed.append("tying was not installed")
    return changed


def versions(python: Path) -> str:
    code = (
        "import sys, importlib.metadata as m\n"
        "names = ['torch', 'numpy', 'matplotlib', 'scikit-learn', 'ipywidgets', 'ipykernel', 'ipython']\n"
        "print('python ' + sys.version.split()[0] + ', ' + ', '.join(n + ' ' + m.version(n) for n in names))"
    )
    return run([str(python), "-c", code]).stdout.strip()


# -- executing one notebook -----------------------------------------------------
EXECUTE = r"""
import json, sys, time
import nbformat
from nbclient import NotebookClient

path, timeout = sys.argv[1], int(sys.argv[2])
nb = nbformat.read(path, as_version=4)
start = time.perf_counter()
error = None
try:
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": "."}}).execute()
except Exception as exc:  # the kernel died or a cell timed out
    error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
cells = []
for cell in nb.cells:
    if cell.cell_type != "code":
        continue
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    cells.append({"source": cell.source, "error": errors[0]["ename"] + ": " + errors[0]["evalue"] if errors else None})
print(json.dumps({"seconds": time.perf_counter() - start, "fatal": error, "cells": cells}))
"""


def no_network_prefix() -> list[str]:
    """``unshare -n`` with loopback up (kernels talk over 127.0.0.1), where the machine allows it."""
    if shutil.which("unshare") and shutil.which("ip"):
        probe = subprocess.run(
            ["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True
        )
        if probe.returncode == 0:
            return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
    return []


def judge(notebook: Path, report: dict) -> tuple[bool, str]:
    cells = report["cells"]
    is_exercise = "exercises" in notebook.parts
    first_stub = next((i for i, c in enumerate(cells) if STUB_LINE in c["source"]), None)
    for i, cell in enumerate(cells):
        if cell["error"] is None:
            continue
        if is_exercise and first_stub is not None and i >= first_stub:
            # From the first unanswered stub on, a student's notebook may fail.
            return True, f"ok up to the first stub (code cell {first_stub + 1})"
        return False, f"code cell {i + 1}: {cell['error'][:160]}"
    if report["fatal"]:
        return False, report["fatal"][:160]
    return True, "ok"


def execute_alone(python: Path, notebook: Path, timeout: int, prefix: list[str]) -> Result:
    name = (
        str(notebook.resolve().relative_to(ROOT))
        if notebook.resolve().is_relative_to(ROOT)
        else str(notebook)
    )
    with tempfile.TemporaryDirectory(prefix="reader-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        copy = work / notebook.name
        shutil.copyfile(notebook, copy)
        script = Path(tmp) / "execute.py"
        script.write_text(EXECUTE)
        env = {
            "PATH": f"{python.parent}:/usr/bin:/bin",
            "HOME": tmp,
            "MPLCONFIGDIR": str(Path(tmp) / "mpl"),
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "LANG": "C.UTF-8",
        }
        start = time.perf_counter()
        proc = subprocess.run(
            [*prefix, str(python), str(script), copy.name, str(timeout)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        if proc.returncode != 0 or not proc.stdout.strip():
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return Result(name, False, seconds, f"executor failed: {tail[:160]}")
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        passed, detail = judge(notebook, report)
        return Result(name, passed, report["seconds"], detail)


# -- main -----------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except UsageError as exc:
        print(f"reader_check: {exc}", file=sys.stderr)
        return 2
    try:
        if args.as_is:
            python, changed = Path(args.venv).resolve() / "bin" / "python", []
        else:
            with tempfile.TemporaryDirectory() as tmp:
                wheel = build_wheel(Path(tmp))
                python = prepare_venv(args)
                changed = install_wheel(python, wheel)
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
        print(f"reader_check: could not prepare the reader's environment: {exc}", file=sys.stderr)
        return 1
    stack = versions(python)
    print(f"reader's stack: {stack}")
    install_ok = not changed
    if args.as_is:
        print(f"environment used as it is: {args.venv}")
    else:
        print(
            "installing tying changed nothing else"
            if install_ok
            else "installing tying changed: " + "; ".join(changed)
        )
    prefix = no_network_prefix()
    print("network: " + ("none (unshare -n)" if prefix else "not isolated on this machine"))
    results: list[Result] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [
            pool.submit(execute_alone, python, nb, args.timeout, prefix) for nb in args.notebooks
        ]
        for future in concurrent.futures.as_completed(futures):
            r = future.result()
            results.append(r)
            print(
                f"{'PASS' if r.passed else 'FAIL'} {r.seconds:6.1f} s  {r.notebook}  {'' if r.passed else r.detail}",
                flush=True,
            )
    results.sort(key=lambda r: r.notebook)
    lines = [
        f"Reader's stack: {stack}. Each notebook alone in an empty folder"
        + (", no network." if prefix else "."),
        "",
        "| notebook | result | seconds |",
        "|---|---|---:|",
        *(
            f"| {r.notebook} | {'pass' if r.passed else 'FAIL: ' + r.detail} | {r.seconds:.1f} |"
            for r in results
        ),
    ]
    table = "\n".join(lines)
    print()
    print(table)
    if args.report:
        Path(args.report).write_text(table + "\n")
    install_checks = 0 if args.as_is else 1
    n_failed = sum(not r.passed for r in results) + (0 if install_ok else install_checks)
    n_passed = sum(r.passed for r in results) + (install_checks if install_ok else 0)
    print(f"\n{n_passed} passed, {n_failed} failed")
    return 0 if n_failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
