"""Checks, questions and exercises, and how one check is run and classified.

A *checks module* ``tying/grading/checks/<exercise id>.py`` holds

- ``TITLE``: the exercise's title (optional; the docstring's first line otherwise);
- ``QUESTIONS``: an ordered ``dict`` from question id (``"q1"``) to
  :class:`Question` (a title and a hint);
- one function per check, decorated with :func:`check`, taking an
  :class:`Answers` (the reader's names) and returning nothing when the answer is
  right.  It fails by raising :class:`CheckFailed` (the helpers in
  :mod:`tying.grading.helpers` do that with a clear message).

Running a check (:func:`run_check`) gives one :class:`CheckResult` with one of
six statuses:

=================  ====================================================================
``passed``         the check returned
``failed``         the check raised :class:`CheckFailed`: the answer is wrong
``error``          the reader's code raised (a function, a ``forward``, ...)
``timeout``        the check ran longer than its ``timeout`` (an infinite loop, say)
``not attempted``  the name is missing, still ``...``, or the stub still raises
                   ``NotImplementedError``
``check error``    the check's own code raised: a bug in the check, not the reader's
=================  ====================================================================

Reader errors and check errors are told apart by *where* the exception was
raised: code whose globals are the reader's namespace (every function and class
defined in the notebook) is reader code, and so is anything called through
:meth:`Answers.run`.  Everything else that escapes a check is a check error.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import re
import traceback
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from . import _refs
from .timeouts import CheckTimeout, time_limit

__all__ = [
    "PASSED",
    "FAILED",
    "ERROR",
    "TIMEOUT",
    "NOT_ATTEMPTED",
    "CHECK_ERROR",
    "STATUSES",
    "CheckFailed",
    "NotAttempted",
    "ReaderError",
    "UnknownExercise",
    "ExerciseDefinitionError",
    "Question",
    "CheckSpec",
    "CheckResult",
    "Exercise",
    "Answers",
    "check",
    "fail",
    "run_check",
    "load_exercise",
    "list_exercises",
]

PASSED = "passed"
FAILED = "failed"
ERROR = "error"
TIMEOUT = "timeout"
NOT_ATTEMPTED = "not attempted"
CHECK_ERROR = "check error"
STATUSES = (PASSED, FAILED, ERROR, TIMEOUT, NOT_ATTEMPTED, CHECK_ERROR)

DEFAULT_TIMEOUT = 10.0
EXERCISE_ID = re.compile(r"^[A-Za-z0-9_]+$")
CHECKS_PACKAGE = "tying.grading.checks"


class CheckFailed(AssertionError):
    """The reader's answer is wrong; the message says what was expected and what was given."""


class NotAttempted(Exception):
    """The reader has not answered yet (missing name, ``...``, or a stub that raises)."""


class ReaderError(Exception):
    """The reader's code raised; ``__cause__`` is the original exception."""


class UnknownExercise(LookupError):
    """No checks module for this exercise id."""


class ExerciseDefinitionError(ValueError):
    """A checks module is malformed (a check names an undeclared question, ...)."""


def fail(message: str) -> None:
    """Fail the current check with ``message`` (say what was expected and what was given)."""
    raise CheckFailed(message)


@dataclasses.dataclass(frozen=True)
class Question:
    """A question of an exercise: a short title and the hint ``grader.hint(...)`` prints."""

    title: str
    hint: str


@dataclasses.dataclass(frozen=True)
class CheckSpec:
    """What :func:`check` attaches to a check function."""

    question: str
    name: str
    points: float
    timeout: float
    function: Callable[[Answers], None]


def check(
    question: str, *, points: float = 1, timeout: float = DEFAULT_TIMEOUT, name: str | None = None
) -> Callable[[Callable[[Answers], None]], Callable[[Answers], None]]:
    """Register a function as a check of ``question`` worth ``points``.

    The function takes an :class:`Answers` and returns nothing when the answer is
    right; it stops after ``timeout`` seconds with the status ``timeout``.

    Examples:
        >>> @check("q1", points=2, timeout=5)
        ... def counts_the_conv(answers):
        ...     expect_integer(answers.get("n_conv"), 608, name="n_conv")  # doctest: +SKIP
    """
    if points < 0:
        raise ValueError("points must be non-negative")
    if timeout <= 0:
        raise ValueError("timeout must be positive")

    def decorate(function: Callable[[Answers], None]) -> Callable[[Answers], None]:
        function.__tying_check__ = CheckSpec(  # type: ignore[attr-defined]
            question=question,
            name=name or function.__name__,
            points=points,
            timeout=float(timeout),
            function=function,
        )
        return function

    return decorate


@dataclasses.dataclass
class CheckResult:
    """The outcome of one check; ``to_dict()`` is the CLI's JSON record."""

    question: str
    check: str
    status: str
    points: float
    max_points: float
    message: str
    seconds: float

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Exercise:
    """The questions and checks of one exercise, read from its checks module."""

    def __init__(
        self,
        exercise_id: str,
        title: str,
        questions: Mapping[str, Question],
        checks: list[CheckSpec],
    ) -> None:
        self.id = exercise_id
        self.title = title
        self.questions = dict(questions)
        self.checks = checks
        for spec in checks:
            if spec.question not in self.questions:
                raise ExerciseDefinitionError(
                    f"exercise {exercise_id!r}: check {spec.name!r} belongs to question "
                    f"{spec.question!r}, which is not in QUESTIONS {list(self.questions)}"
                )
        for question in self.questions:
            if not any(spec.question == question for spec in checks):
                raise ExerciseDefinitionError(
                    f"exercise {exercise_id!r}: question {question!r} has no check"
                )
        names = [spec.name for spec in checks]
        duplicated = {n for n in names if names.count(n) > 1}
        if duplicated:
            raise ExerciseDefinitionError(
                f"exercise {exercise_id!r}: check names used twice: {sorted(duplicated)}"
            )
        # Checks in question order, then in the order they are defined.
        order = {q: i for i, q in enumerate(self.questions)}
        self.checks = sorted(checks, key=lambda s: order[s.question])

    @classmethod
    def from_module(cls, module: types.ModuleType, exercise_id: str | None = None) -> Exercise:
        """Collect ``QUESTIONS`` and every :func:`check`-decorated function of ``module``."""
        exercise_id = exercise_id or module.__name__.rsplit(".", 1)[-1]
        questions = getattr(module, "QUESTIONS", None)
        if not isinstance(questions, Mapping) or not questions:
            raise ExerciseDefinitionError(
                f"checks module {module.__name__} must define QUESTIONS = {{'q1': Question(...), ...}}"
            )
        for key, value in questions.items():
            if not isinstance(value, Question):
                raise ExerciseDefinitionError(
                    f"checks module {module.__name__}: QUESTIONS[{key!r}] must be a Question"
                )
        title = (
            getattr(module, "TITLE", None)
            or (module.__doc__ or exercise_id).strip().splitlines()[0]
        )
        specs = [
            value.__tying_check__
            for value in vars(module).values()
            if callable(value) and isinstance(getattr(value, "__tying_check__", None), CheckSpec)
        ]
        return cls(exercise_id, title, questions, specs)

    def question_checks(self, question: str) -> list[CheckSpec]:
        if question not in self.questions:
            raise KeyError(
                f"exercise {self.id!r} has no question {question!r}; its questions are "
                + ", ".join(self.questions)
            )
        return [spec for spec in self.checks if spec.question == question]

    @property
    def max_score(self) -> float:
        return sum(spec.points for spec in self.checks)


def list_exercises() -> list[str]:
    """Ids of every exercise with a checks module, sorted."""
    from . import checks

    return sorted(
        path.stem
        for directory in checks.__path__
        for path in Path(directory).glob("*.py")
        if not path.stem.startswith("_")
    )


def load_exercise(exercise_id: str) -> Exercise:
    """The :class:`Exercise` whose checks live in ``tying/grading/checks/<exercise_id>.py``.

    Raises :class:`UnknownExercise` (naming the known ids) when there is none.
    """
    if (
        not isinstance(exercise_id, str)
        or not EXERCISE_ID.match(exercise_id)
        or exercise_id.startswith("_")
    ):
        raise UnknownExercise(f"{exercise_id!r} is not a valid exercise id (letters, digits, _)")
    module_name = f"{CHECKS_PACKAGE}.{exercise_id}"
    if importlib.util.find_spec(module_name) is None:
        known = ", ".join(list_exercises()) or "none"
        raise UnknownExercise(f"unknown exercise id {exercise_id!r}; known exercises: {known}")
    return Exercise.from_module(importlib.import_module(module_name), exercise_id)


class Answers:
    """The reader's names, as a check sees them.

    Args:
        namespace: the notebook's global namespace (IPython's ``user_ns``).

    A check reads names with :meth:`get` and calls the reader's code through
    :meth:`call` or :meth:`run`, so that an exception there is reported as the
    reader's ``error`` (or ``not attempted`` for a stub) and never as a check error.
    """

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.namespace = namespace

    def __contains__(self, name: str) -> bool:
        return name in self.namespace

    def get(self, name: str) -> Any:
        """The value bound to ``name``; :class:`NotAttempted` if missing or still ``...``."""
        if name not in self.namespace:
            raise NotAttempted(
                f"`{name}` is not defined: write your answer and run its cell "
                "(was the cell deleted, or the name changed?)"
            )
        value = self.namespace[name]
        if value is Ellipsis:
            raise NotAttempted(f"`{name}` is still `...`: replace it with your answer")
        library = _library_origin(value)
        if library:
            raise NotAttempted(
                f"not attempted (imported from the library): `{name}` is `{library}`, "
                "not something defined in your notebook; write your own"
            )
        return value

    def function(self, name: str) -> Callable[..., Any]:
        """The reader's callable ``name``, wrapped so that calling it goes through :meth:`run`."""
        value = self.get(name)
        if not callable(value):
            raise CheckFailed(f"`{name}` should be a function (or class), got {_type_name(value)}")

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.run(value, *args, what=name, **kwargs)

        return call

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the reader's function ``name`` with these arguments (see :meth:`run`)."""
        return self.function(name)(*args, **kwargs)

    def run(
        self, function: Callable[..., Any], *args: Any, what: str | None = None, **kwargs: Any
    ) -> Any:
        """Call reader-supplied ``function`` (a function, a module, a bound method).

        ``NotImplementedError`` (the exercise's stub) and a result of ``...`` become
        :class:`NotAttempted`; any other exception becomes :class:`ReaderError`.
        """
        what = what or getattr(function, "__name__", None) or _type_name(function)
        try:
            result = function(*args, **kwargs)
        except NotImplementedError as err:
            raise NotAttempted(
                f"`{what}` still raises NotImplementedError: write your code"
            ) from err
        except CheckTimeout:
            raise
        except BaseException as err:  # noqa: B036 - sys.exit(), KeyboardInterrupt: theirs too
            raise ReaderError(f"`{what}` raised {_describe_exception(err)}") from err
        if result is Ellipsis:
            raise NotAttempted(f"`{what}` returned `...`: write your code")
        return result


def _library_origin(value: Any) -> str:
    """``"tying.x.name"`` when ``value`` is a function, class or module of the book's library.

    An answer must be defined in the notebook: a star import from ``tying``
    after the stubs would otherwise answer a question with the library's own code.
    """
    if isinstance(value, types.ModuleType):
        module, name = value.__name__, ""
    elif isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        module = getattr(value, "__module__", None)
        name = getattr(value, "__qualname__", None) or getattr(value, "__name__", "")
    else:
        return ""
    if not isinstance(module, str) or not (module == "tying" or module.startswith("tying.")):
        return ""
    return f"{module}.{name}" if name else module


def run_check(spec: CheckSpec, answers: Answers) -> CheckResult:
    """Run one check under its time limit and classify what happened."""
    start = _refs.perf_counter()
    status, message = PASSED, ""
    try:
        try:
            with time_limit(spec.timeout), torch.enable_grad():
                spec.function(answers)
        except CheckTimeout:
            status, message = (
                TIMEOUT,
                f"stopped after {spec.timeout:g} s (is there an infinite loop?)",
            )
        except CheckFailed as err:
            status, message = FAILED, str(err) or "the answer is not right"
        except NotAttempted as err:
            status, message = NOT_ATTEMPTED, str(err)
        except ReaderError as err:
            status, message = ERROR, str(err) + _reader_location(err.__cause__, answers.namespace)
        except BaseException as err:  # noqa: B036 - KeyboardInterrupt, SystemExit, custom ones
            status, message = _classify(err, answers.namespace)
    except CheckTimeout:  # the alarm fired again while the exception above was handled
        status, message = TIMEOUT, f"stopped after {spec.timeout:g} s (is there an infinite loop?)"
    seconds = _refs.perf_counter() - start
    return CheckResult(
        question=spec.question,
        check=spec.name,
        status=status,
        points=spec.points if status == PASSED else 0,
        max_points=spec.points,
        message=message,
        seconds=round(seconds, 4),
    )


def _classify(err: BaseException, namespace: Mapping[str, Any]) -> tuple[str, str]:
    """An exception escaped a check: the reader's (``error``) or the check's (``check error``)?"""
    frames = [frame for frame, _ in traceback.walk_tb(err.__traceback__)]
    reader_frames = [f for f in frames if f.f_globals is namespace]
    if reader_frames:
        if isinstance(err, NotImplementedError):
            return NOT_ATTEMPTED, "your code still raises NotImplementedError: write your code"
        innermost = reader_frames[-1]
        return (
            ERROR,
            f"your code raised {_describe_exception(err)} "
            f"(in `{innermost.f_code.co_name}`, line {innermost.f_lineno})",
        )
    if not isinstance(err, Exception):  # KeyboardInterrupt, SystemExit, ...: never a check bug
        return ERROR, f"interrupted by {_describe_exception(err)} while the check ran"
    last = traceback.extract_tb(err.__traceback__)[-1:]
    where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
    return (
        CHECK_ERROR,
        f"the check itself failed with {_describe_exception(err)}{where}. "
        "This is a bug in the grader, not in your answer: please report it.",
    )


def _reader_location(err: BaseException | None, namespace: Mapping[str, Any]) -> str:
    if err is None:
        return ""
    frames = [f for f, _ in traceback.walk_tb(err.__traceback__) if f.f_globals is namespace]
    if not frames:
        return ""
    return f" (in `{frames[-1].f_code.co_name}`, line {frames[-1].f_lineno})"


def _describe_exception(err: BaseException, limit: int = 200) -> str:
    text = str(err).strip().replace("\n", " ")
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _type_name(value: Any) -> str:
    if value is None:
        return "None"
    kind = type(value)
    return (
        f"{kind.__module__}.{kind.__qualname__}"
        if kind.__module__ not in ("builtins",)
        else kind.__name__
    )
