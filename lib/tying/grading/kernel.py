"""The code ``python -m tying.grade`` runs *inside* the graded kernel.

The command line (:mod:`tying.grading.runner`) sends two kinds of cells of its
own to the kernel: :func:`prepare` before the reader's first cell, and one
:func:`grade_check` call per check after the reader's last cell.  Each check
runs in a cell of its own, so that a check whose code kills or hangs the
kernel costs only that check: the parent has every earlier result already.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

__all__ = ["prepare", "grade_check"]


def prepare(exercise_id: str, *folders: str) -> None:
    """Load the grader and the exercise's checks; take ``folders`` off ``sys.path``.

    ``folders`` are the submissions' folders.  The kernel already runs in a
    fresh, empty temporary directory; this also makes sure nothing planted next
    to a submission (a ``matplotlib/`` folder, say) can shadow a real package.
    Loading the checks now keeps their import time out of the first check's limit.
    """
    import tying.grading  # noqa: F401  (captures the numpy/torch references first)

    tying.grading.load_exercise(exercise_id)

    banned = {os.path.realpath(f) for f in folders}
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) not in banned]


def grade_check(exercise_id: str, check_name: str, out_path: str) -> None:
    """Run one check against the notebook's namespace; write its result as JSON to ``out_path``."""
    from .core import Answers, load_exercise, run_check
    from .grader import _ipython_namespace

    namespace = _ipython_namespace()
    if namespace is None:  # pragma: no cover - always IPython under the command line
        namespace = sys._getframe(1).f_globals
    exercise = load_exercise(exercise_id)
    spec = next(s for s in exercise.checks if s.name == check_name)
    result = run_check(spec, Answers(namespace))
    Path(out_path).write_text(json.dumps(result.to_dict()), encoding="utf-8")
