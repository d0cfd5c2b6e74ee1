"""Grade exercise notebooks from the command line: ``python -m tying.grade NOTEBOOK_OR_FOLDER...``.

Each notebook runs in a fresh kernel in an empty temporary directory, with a
per-cell and a per-notebook time limit, and is then graded check by check; a
folder of submissions also gives a CSV gradebook and a feedback file per
submission.  Grading runs the notebooks' code with your permissions: grade
other people's work in an isolated container (see the book's page "How grading
works").  :mod:`tying.grading.cli` documents the options, the JSON format and
the exit status.
"""

from __future__ import annotations

import sys

from tying.grading.cli import main

if __name__ == "__main__":
    sys.exit(main())
