"""Author a notebook as a jupytext "percent" script and write the ``.ipynb``.

The ``.ipynb`` in the repository is the single source; this helper only makes
writing one pleasant: ``python tools/py2nb.py draft.py notebooks/principles/x.ipynb``.
Outputs are never stored (the book executes notebooks), the kernel is
``python3`` and jupytext's own metadata is dropped.  Round trip with
``jupytext --to py:percent notebook.ipynb``.
"""

from __future__ import annotations

import sys

import jupytext
import nbformat


def convert(src: str, dst: str) -> None:
    nb = jupytext.read(src, fmt="py:percent")
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    nbformat.write(nb, dst)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python tools/py2nb.py SOURCE.py TARGET.ipynb")
    convert(sys.argv[1], sys.argv[2])
