"""Grade exercise notebooks from the command line: ``python -m tying.grade NOTEBOOK...``.

Each notebook runs in a fresh kernel, with a per-cell time limit and errors
allowed, and is then graded by the checks of its exercise.  See
:mod:`tying.grading.cli` for the options, the JSON format and the exit status.
"""

from __future__ import annotations

import sys

from tying.grading.cli import main

if __name__ == "__main__":
    sys.exit(main())
