"""The object a reader talks to in an exercise notebook.

.. code-block:: python

    from tying.grading import Grader

    grader = Grader("01_counting_tied_layers")
    ...
    grader.check("q1")   # runs q1's checks now and prints status, points and a message
    grader.hint("q1")    # prints the hint
    grader.report()      # runs every check and prints a table with the total

The grader reads the reader's answers by name from the notebook's namespace:
IPython's ``user_ns`` in Jupyter, Colab or VS Code, or the caller's module
globals in a plain Python script.  It is pure Python and needs no server.

When ``python -m tying.grade`` executes a notebook it sets the environment
variable ``TYING_GRADING_DEFERRED=1`` in the kernel; ``check`` and ``report``
then only say so, and the command line grades every question once at the end.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from .core import (
    PASSED,
    STATUSES,
    Answers,
    CheckResult,
    Exercise,
    load_exercise,
    run_check,
)

__all__ = ["Grader", "format_points", "format_table", "summary_counts"]

DEFERRED_ENV = "TYING_GRADING_DEFERRED"


def _ipython_namespace() -> dict[str, Any] | None:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        shell = ipython.get_ipython()
    except Exception:  # a half-imported IPython
        return None
    return getattr(shell, "user_ns", None)


def format_points(points: float) -> str:
    """``2`` for 2.0, ``1.5`` for 1.5."""
    return f"{points:g}"


class Grader:
    """Check the answers of one exercise, question by question.

    Args:
        exercise: the exercise id (the name of its checks module and of its
            notebook, e.g. ``"01_counting_tied_layers"``) or an :class:`Exercise`.
        namespace: where to read the reader's names; by default the IPython
            namespace, or the globals of the code that creates the grader.

    Attributes:
        exercise: the :class:`Exercise` (questions, hints, checks).
        results: the latest :class:`CheckResult` of every check run so far, by check name.
    """

    def __init__(
        self, exercise: str | Exercise, namespace: Mapping[str, Any] | None = None
    ) -> None:
        self.exercise = load_exercise(exercise) if isinstance(exercise, str) else exercise
        if namespace is None:
            namespace = _ipython_namespace()
        if namespace is None:
            namespace = sys._getframe(1).f_globals
        self.namespace = namespace
        self.results: dict[str, CheckResult] = {}

    def __repr__(self) -> str:
        return (
            f"Grader({self.exercise.id!r}: {len(self.exercise.questions)} questions, "
            f"{format_points(self.exercise.max_score)} points)"
        )

    @property
    def deferred(self) -> bool:
        return os.environ.get(DEFERRED_ENV, "") not in ("", "0")

    def run(self, question: str | None = None) -> list[CheckResult]:
        """Run the checks of ``question`` (all questions when ``None``) and return the results."""
        specs = (
            self.exercise.checks if question is None else self.exercise.question_checks(question)
        )
        answers = Answers(self.namespace)
        out = []
        for spec in specs:
            result = run_check(spec, answers)
            self.results[spec.name] = result
            out.append(result)
        return out

    def check(self, question: str) -> None:
        """Run the checks of one question and print status, points and a message for each."""
        if self.deferred:
            print(f"{question}: grading deferred to the command line (python -m tying.grade)")
            return
        results = self.run(question)
        title = self.exercise.questions[question].title
        got = sum(r.points for r in results)
        total = sum(r.max_points for r in results)
        lines = [f"{question}: {title} ({format_points(got)}/{format_points(total)} points)"]
        for r in results:
            line = f"  {r.status:<14} {r.check} ({format_points(r.points)}/{format_points(r.max_points)})"
            if r.message:
                line += f": {r.message}"
            lines.append(line)
        if any(r.status != PASSED for r in results):
            lines.append(f'  Stuck? grader.hint("{question}")')
        print("\n".join(lines))

    def hint(self, question: str) -> None:
        """Print the hint of ``question``."""
        if question not in self.exercise.questions:
            self.exercise.question_checks(question)  # raises a KeyError that lists the questions
        q = self.exercise.questions[question]
        print(f"Hint for {question} ({q.title}): {q.hint}")

    def score(self) -> tuple[float, float]:
        """(points, maximum) over the checks run so far (all of them after :meth:`report`)."""
        results = list(self.results.values())
        return sum(r.points for r in results), self.exercise.max_score

    def report(self) -> None:
        """Run every check and print a per-question table and the total."""
        if self.deferred:
            print("report: grading deferred to the command line (python -m tying.grade)")
            return
        results = self.run()
        print(f"Exercise {self.exercise.id}: {self.exercise.title}")
        print(format_table(results))


def format_table(results: list[CheckResult]) -> str:
    """A plain-text table of check results, one row per check, and the total."""
    headers = ("question", "check", "status", "points", "message")
    rows = [
        (
            r.question,
            r.check,
            r.status,
            f"{format_points(r.points)}/{format_points(r.max_points)}",
            r.message,
        )
        for r in results
    ]
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers[:-1])]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells[:-1], widths)) + "  " + cells[-1]

    out = [line(headers).rstrip(), line(tuple("-" * w for w in widths) + ("-------",))]
    out += [line(row).rstrip() for row in rows]
    got = sum(r.points for r in results)
    total = sum(r.max_points for r in results)
    percent = f" ({100 * got / total:.0f}%)" if total else ""
    out.append(f"Total: {format_points(got)}/{format_points(total)} points{percent}")
    return "\n".join(out)


def summary_counts(results: list[CheckResult]) -> dict[str, int]:
    """How many checks ended in each status."""
    return {status: sum(r.status == status for r in results) for status in STATUSES}
