"""A small grader for the book's exercise notebooks (Part III).

The pieces, and where each lives:

- ``solutions/<id>.ipynb`` (repository): the single source of an exercise, with
  the answers marked ``# BEGIN SOLUTION`` / ``# END SOLUTION`` (a block) or
  ``name = value  # SOLUTION`` (one line).
- :mod:`tying.grading.generate` writes ``exercises/<id>.ipynb`` from it:
  ``python -m tying.grading.generate [--check]``.
- ``tying/grading/checks/<id>.py``: the checks, plain Python: ``QUESTIONS``
  (title and hint per question) and one function per check, decorated with
  :func:`check` (points and a timeout).  :mod:`tying.grading.core` explains the
  statuses; :mod:`tying.grading.helpers` has the comparisons.
- :class:`Grader` (:mod:`tying.grading.grader`): ``grader.check("q1")``,
  ``grader.hint("q1")``, ``grader.report()`` in the notebook.
- ``python -m tying.grade NOTEBOOK_OR_FOLDER... [--json OUT]`` (:mod:`tying.grading.cli`):
  runs notebooks in fresh kernels and grades them, one check per cell
  (:mod:`tying.grading.runner` in the grader, :mod:`tying.grading.kernel` in the kernel);
  a folder gives a CSV gradebook and a feedback file per submission.

Importing this package captures private references to the numpy and torch
functions the helpers use (:mod:`tying.grading._refs`), so a reader's
monkeypatch of ``np.allclose`` cannot pass a check.  The checks are public:
grading is on trust, and is there to give feedback.

Adding an exercise is described in ``CONTRIBUTING.md`` at the repository's root.
"""

from __future__ import annotations

import warnings

from . import _refs  # first: capture numpy/torch references before anything else runs
from .core import (
    CHECK_ERROR,
    ERROR,
    FAILED,
    NOT_ATTEMPTED,
    PASSED,
    STATUSES,
    TIMEOUT,
    Answers,
    CheckFailed,
    CheckResult,
    Exercise,
    ExerciseDefinitionError,
    NotAttempted,
    Question,
    ReaderError,
    UnknownExercise,
    check,
    fail,
    list_exercises,
    load_exercise,
    run_check,
)
from .grader import Grader
from .helpers import (
    as_integer,
    as_numpy,
    attribute,
    build_module,
    case,
    count_parameters,
    expect_close,
    expect_dtype,
    expect_finite,
    expect_integer,
    expect_module,
    expect_parameter_count,
    expect_same_parameter,
    expect_scalar,
    expect_shape,
    expect_tensor,
    max_abs_difference,
    same_tensor,
    shares_storage,
)
from .timeouts import CheckTimeout, time_limit

if _refs.SUSPICIOUS:
    warnings.warn(
        "tying.grading was imported after these functions were replaced: "
        + ", ".join(_refs.SUSPICIOUS)
        + ". Import tying.grading before running other code, or restart the kernel.",
        stacklevel=2,
    )

__all__ = [
    "CHECK_ERROR",
    "ERROR",
    "FAILED",
    "NOT_ATTEMPTED",
    "PASSED",
    "STATUSES",
    "TIMEOUT",
    "Answers",
    "CheckFailed",
    "CheckResult",
    "CheckTimeout",
    "Exercise",
    "ExerciseDefinitionError",
    "Grader",
    "NotAttempted",
    "Question",
    "ReaderError",
    "UnknownExercise",
    "as_integer",
    "as_numpy",
    "attribute",
    "case",
    "check",
    "count_parameters",
    "expect_close",
    "expect_dtype",
    "expect_finite",
    "expect_integer",
    "build_module",
    "expect_module",
    "expect_parameter_count",
    "expect_same_parameter",
    "expect_scalar",
    "expect_shape",
    "expect_tensor",
    "fail",
    "list_exercises",
    "load_exercise",
    "max_abs_difference",
    "run_check",
    "same_tensor",
    "shares_storage",
    "time_limit",
]
