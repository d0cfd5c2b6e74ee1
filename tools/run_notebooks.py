"""Execute notebooks in fresh kernels and report how long each took.

Usage: ``python tools/run_notebooks.py NOTEBOOK_OR_FOLDER... [--timeout 300] [--write-dir DIR]``

Prints one line per notebook (seconds, status) and a table at the end; exits
non-zero if any notebook raised.  The book's budget is 60 s per notebook on
two CPU cores.  Executed copies are written to ``--write-dir`` when given (the
originals are never modified: notebooks are stored without outputs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from reader_check import collect  # same folder: notebooks under folders, or files


def run(path: Path, timeout: int, write_dir: Path | None) -> tuple[float, str]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    status = "ok"
    try:
        client.execute()
    except CellExecutionError as err:
        status = "ERROR: " + str(err).strip().splitlines()[-1][:200]
    except Exception as err:  # timeouts, dead kernels
        status = f"ERROR: {type(err).__name__}: {err}"[:200]
    seconds = time.perf_counter() - start
    if write_dir is not None:
        write_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, write_dir / path.name)
    return seconds, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    parser.add_argument("--write-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("TYING_PROGRESS", "0")
    rows = []
    for path in collect(args.paths):
        seconds, status = run(path, args.timeout, args.write_dir)
        print(f"{seconds:7.1f} s  {status:<6}  {path}", flush=True)
        rows.append((path, seconds, status))
    print("\n| notebook | seconds | status |\n|---|---:|---|")
    for path, seconds, status in rows:
        print(f"| {path} | {seconds:.1f} | {status} |")
    return 0 if all(s == "ok" for _, _, s in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
