"""The grader in-process (no kernel): helpers, time limits, statuses, Grader, monkeypatches."""

from __future__ import annotations

import math
import threading
import time
import types

import numpy as np
import pytest
import torch
from torch import nn

import tying.grading as grading
from tying.grading import (
    CHECK_ERROR,
    ERROR,
    FAILED,
    NOT_ATTEMPTED,
    PASSED,
    TIMEOUT,
    CheckFailed,
    CheckTimeout,
    Exercise,
    ExerciseDefinitionError,
    Grader,
    Question,
    UnknownExercise,
    check,
    count_parameters,
    expect_close,
    expect_dtype,
    expect_finite,
    expect_integer,
    expect_parameter_count,
    expect_same_parameter,
    expect_scalar,
    expect_shape,
    load_exercise,
    same_tensor,
    shares_storage,
    time_limit,
)
from tying.grading.timeouts import signals_available

# -- helpers -----------------------------------------------------------------


def failure(function, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as info:
        function(*args, **kwargs)
    return str(info.value)


def test_expect_shape_names_both_shapes():
    assert failure(expect_shape, torch.zeros(8, 3), (3, 8), name="y") == (
        "`y`: expected a tensor of shape (3, 8), got (8, 3)"
    )
    expect_shape(np.zeros((3, 8)), (3, 8))
    assert "expected a tensor or numpy array, got list" in failure(expect_shape, [1, 2], (2,))


def test_expect_dtype_compares_torch_and_numpy_by_name():
    expect_dtype(torch.zeros(2, dtype=torch.float64), np.float64)
    expect_dtype(np.zeros(2), torch.float64)
    assert (
        failure(expect_dtype, torch.zeros(2), torch.float64)
        == "expected dtype float64, got float32"
    )


def test_expect_finite_counts_nan_and_inf():
    message = failure(
        expect_finite, torch.tensor([1.0, float("nan"), float("inf"), float("nan")]), name="g"
    )
    assert message == "`g`: expected finite numbers, got 2 NaN values and 1 infinite value"
    assert "NaN" in failure(expect_finite, float("nan"))
    expect_finite(np.ones(3))


@pytest.mark.parametrize("kind", ["tensor", "array"])
def test_expect_close_accepts_tensors_and_arrays(kind):
    expected = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3)
    actual = expected + 1e-9
    if kind == "array":
        actual = actual.numpy()
    expect_close(actual, expected, atol=1e-8)
    expect_close(expected.numpy(), torch.as_tensor(actual), atol=1e-8)  # either side may be either


def test_expect_close_reports_the_error_but_not_the_answer():
    expected = torch.tensor([[1.234567, 2.0], [3.0, 4.0]])
    actual = expected.clone()
    actual[1, 0] += 0.31
    message = failure(expect_close, actual, expected, name="y", atol=1e-5, rtol=0)
    assert message == (
        "`y`: value differs from the expected one (max abs error 0.31 > tol 1e-05, worst at index (1, 0))"
    )
    assert "1.23" not in message and "3.31" not in message and "3.0" not in message


def test_expect_close_checks_in_order_shape_dtype_finite_value():
    e = torch.zeros(2, 2, dtype=torch.float64)
    assert "shape" in failure(expect_close, torch.zeros(2), e)
    assert "dtype float64, got float32" in failure(
        expect_close, torch.zeros(2, 2), e, dtype=torch.float64
    )
    assert "NaN" in failure(expect_close, torch.full((2, 2), float("nan"), dtype=torch.float64), e)
    expect_close(torch.zeros(2, 2, requires_grad=True), e)  # requires_grad is fine


def test_expect_close_rejects_a_non_finite_expected_value_as_a_check_bug():
    with pytest.raises(ValueError):
        expect_close(torch.zeros(2), torch.tensor([0.0, float("nan")]))


def test_expect_scalar():
    expect_scalar(torch.tensor(2.0), 2.0)
    expect_scalar(np.float32(2.0), 2.0)
    expect_scalar(2, 2.0)
    assert "single number" in failure(expect_scalar, torch.tensor([2.0]), 2.0)
    assert "expected a number, got str" in failure(expect_scalar, "2", 2.0)
    assert "max abs error 0.5" in failure(expect_scalar, 2.5, 2.0, rtol=0)


def test_expect_integer():
    expect_integer(608, 608)
    expect_integer(np.int64(608), 608)
    expect_integer(608.0, 608)
    expect_integer(torch.tensor(608), 608)
    assert (
        failure(expect_integer, 600, 608, name="n", what="count")
        == "`n = 600` is not the right count"
    )
    assert "expected an integer, got 2.5" in failure(expect_integer, 2.5, 2)
    assert "expected an integer" in failure(expect_integer, True, 1)


def _tied_pair():
    model = nn.Module()
    model.a = nn.Linear(4, 4)
    model.b = nn.Linear(4, 4)
    model.b.weight = model.a.weight
    return model


def test_same_parameter_helpers():
    model = _tied_pair()
    expect_same_parameter(model.a.weight, model.b.weight, module=model)
    assert same_tensor(model.a.weight, model.b.weight)
    assert count_parameters(model) == 16 + 4 + 4
    expect_parameter_count(model, 24)
    assert "24 parameters" in failure(expect_parameter_count, model, 40)


def test_same_parameter_detects_shared_memory_without_tying():
    model = nn.Module()
    model.a = nn.Linear(4, 4)
    model.b = nn.Linear(4, 4)
    model.b.weight.data = model.a.weight.data
    assert shares_storage(model.a.weight, model.b.weight) and not same_tensor(
        model.a.weight, model.b.weight
    )
    message = failure(expect_same_parameter, model.a.weight, model.b.weight, module=model)
    assert "share memory but are two different Parameter objects" in message
    assert count_parameters(model) == 40


def test_same_parameter_detects_copies_and_unregistered_tensors():
    a = nn.Parameter(torch.ones(3))
    message = failure(expect_same_parameter, a, nn.Parameter(a.detach().clone()))
    assert "two separate tensors (different storage)" in message
    assert "not registered" in failure(expect_same_parameter, a, a, module=nn.Linear(2, 2))
    assert (
        failure(expect_same_parameter, a, None)
        == "expected the second weight to be a tensor, got None"
    )


def test_count_parameters_ignores_buffers():
    assert count_parameters(nn.BatchNorm1d(5)) == 10


# -- time limits -----------------------------------------------------------------


def _spin():
    while True:
        pass


@pytest.mark.parametrize("use_signals", [True, False], ids=["sigalrm", "async-exception"])
def test_time_limit_stops_an_infinite_loop(use_signals):
    if use_signals and not signals_available():
        pytest.skip("no SIGALRM here")
    start = time.perf_counter()
    with pytest.raises(CheckTimeout), time_limit(0.2, use_signals=use_signals):
        _spin()
    assert time.perf_counter() - start < 2


def test_time_limit_repeats_when_a_bare_except_swallows_it():
    def stubborn():
        for _ in range(3):
            try:
                _spin()
            except BaseException:
                pass
        _spin()

    with pytest.raises(CheckTimeout), time_limit(0.1, repeat=0.02):
        stubborn()


def test_time_limit_works_off_the_main_thread():
    outcome = {}

    def worker():
        try:
            with time_limit(0.2):
                _spin()
        except CheckTimeout:
            outcome["stopped"] = True

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(5)
    assert outcome == {"stopped": True}


def test_time_limit_leaves_no_alarm_behind():
    with time_limit(0.2):
        pass
    time.sleep(0.3)  # an alarm left armed would raise here


# -- statuses, through a checks module made on the fly --------------------------------


def _exercise() -> Exercise:
    module = types.ModuleType("fake_exercise")
    module.QUESTIONS = {
        "q1": Question("a value", "hint one"),
        "q2": Question("a function", "hint two"),
    }

    @check("q1", points=2, timeout=1)
    def value_is_right(answers):
        expect_close(answers.get("y"), torch.arange(3.0), name="y")

    @check("q2", points=1, timeout=0.3)
    def function_works(answers):
        expect_scalar(answers.call("f", 2.0), 4.0, name="f(2)")

    @check("q2", points=1, timeout=1)
    def buggy_check(answers):
        answers.get("f")
        return 1 / 0  # a bug in the check itself

    @check("q2", points=1, timeout=1)
    def calls_the_reader_directly(answers):
        answers.get("f")(-1.0)

    for function in (value_is_right, function_works, buggy_check, calls_the_reader_directly):
        setattr(module, function.__name__, function)
    return Exercise.from_module(module)


def _grade(source: str) -> dict[str, tuple[str, str]]:
    namespace: dict = {"torch": torch}
    exec(source, namespace)
    grader = Grader(_exercise(), namespace)
    return {r.check: (r.status, r.message) for r in grader.run()}


def test_statuses_of_a_good_answer():
    results = _grade(
        "y = torch.arange(3.0)\ndef f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x * x\n"
    )
    assert results["value_is_right"][0] == PASSED
    assert results["function_works"][0] == PASSED
    assert results["buggy_check"][0] == CHECK_ERROR
    assert (
        "bug in the grader" in results["buggy_check"][1]
        and "ZeroDivisionError" in results["buggy_check"][1]
    )
    # Called without Answers.run, the exception is still recognised as the reader's.
    status, message = results["calls_the_reader_directly"]
    assert status == ERROR and "ValueError: negative" in message and "`f`" in message


def test_statuses_of_missing_and_stubbed_answers():
    results = _grade("y = ...\ndef f(x):\n    # your code here\n    raise NotImplementedError\n")
    assert results["value_is_right"] == (
        NOT_ATTEMPTED,
        "`y` is still `...`: replace it with your answer",
    )
    assert results["function_works"][0] == NOT_ATTEMPTED
    assert results["calls_the_reader_directly"][0] == NOT_ATTEMPTED
    results = _grade("")
    assert (
        results["value_is_right"][0] == NOT_ATTEMPTED
        and "not defined" in results["value_is_right"][1]
    )


def test_statuses_of_wrong_raising_and_looping_answers():
    results = _grade("y = torch.arange(4.0)\ndef f(x):\n    while True:\n        pass\n")
    assert results["value_is_right"] == (FAILED, "`y`: expected a tensor of shape (3,), got (4,)")
    assert results["function_works"][0] == TIMEOUT
    results = _grade("y = torch.zeros(3)\ndef f(x):\n    return [x]\n")
    assert (
        results["value_is_right"][0] == FAILED and "max abs error 2" in results["value_is_right"][1]
    )
    assert results["function_works"] == (FAILED, "`f(2)`: expected a number, got list")


def test_exercise_definition_errors():
    module = types.ModuleType("broken")
    module.QUESTIONS = {"q1": Question("t", "h")}

    @check("q2")
    def orphan(answers):
        pass

    module.orphan = orphan
    with pytest.raises(ExerciseDefinitionError, match="not in QUESTIONS"):
        Exercise.from_module(module)
    del module.orphan
    with pytest.raises(ExerciseDefinitionError, match="has no check"):
        Exercise.from_module(module)


def test_unknown_exercise_lists_the_known_ones():
    with pytest.raises(UnknownExercise, match="known exercises: 01_counting_tied_layers"):
        load_exercise("99_nothing")
    with pytest.raises(UnknownExercise, match="not a valid exercise id"):
        load_exercise("../secrets")


def test_every_question_of_the_real_exercises_has_a_hint_and_points():
    for exercise_id in grading.list_exercises():
        exercise = load_exercise(exercise_id)
        assert 3 <= len(exercise.questions) <= 6
        for question, spec in exercise.questions.items():
            assert len(spec.hint) > 20, (exercise_id, question)
        assert all(s.points > 0 and s.timeout <= 10 for s in exercise.checks)


# -- the Grader as a reader sees it ---------------------------------------------------


def test_grader_prints_check_hint_and_report(capsys):
    namespace: dict = {}
    exec("import torch\ny = torch.arange(3.0)\ndef f(x):\n    return x + 1\n", namespace)
    grader = Grader(_exercise(), namespace)
    grader.check("q1")
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "q1: a value (2/2 points)"
    assert "passed" in out and "hint" not in out
    grader.check("q2")
    out = capsys.readouterr().out
    assert "failed" in out and 'Stuck? grader.hint("q2")' in out
    grader.hint("q2")
    assert capsys.readouterr().out.strip() == "Hint for q2 (a function): hint two"
    grader.report()
    out = capsys.readouterr().out
    assert "question" in out and "Total: 3/5 points (60%)" in out
    assert grader.score() == (3, 5)
    with pytest.raises(KeyError, match="q1, q2"):
        grader.check("q9")


def test_grader_reads_the_callers_globals_outside_ipython():
    grader = Grader("01_counting_tied_layers")
    assert grader.namespace is globals()


def test_grader_defers_to_the_command_line(monkeypatch, capsys):
    monkeypatch.setenv("TYING_GRADING_DEFERRED", "1")
    grader = Grader(_exercise(), {})
    grader.check("q1")
    grader.report()
    assert "deferred" in capsys.readouterr().out and grader.results == {}


# -- monkeypatches cannot pass a check ----------------------------------------------------


def test_monkeypatched_numpy_and_torch_do_not_pass_a_wrong_answer(monkeypatch):
    always = lambda *args, **kwargs: True  # noqa: E731
    monkeypatch.setattr(np, "allclose", always)
    monkeypatch.setattr(np, "array_equal", always)
    monkeypatch.setattr(np, "isclose", always)
    monkeypatch.setattr(np, "isfinite", always)
    monkeypatch.setattr(np, "abs", lambda x: 0 * x)
    monkeypatch.setattr(torch, "allclose", always)
    monkeypatch.setattr(torch, "equal", always)
    monkeypatch.setattr(torch.Tensor, "allclose", always, raising=False)
    monkeypatch.setattr(torch.Tensor, "numpy", lambda self, *a, **k: np.zeros(self.shape))
    monkeypatch.setattr(math, "isclose", always)
    assert np.allclose(1, 2) and torch.allclose(torch.zeros(1), torch.ones(1))
    results = _grade("y = torch.tensor([5.0, 6.0, 7.0])\ndef f(x):\n    return float('nan')\n")
    assert (
        results["value_is_right"][0] == FAILED and "max abs error 5" in results["value_is_right"][1]
    )
    assert results["function_works"][0] == FAILED and "NaN" in results["function_works"][1]
    expect_close(torch.arange(3.0), torch.arange(3.0))  # a right answer still passes


def test_a_patch_made_before_import_is_noticed(monkeypatch):
    import importlib.util

    monkeypatch.setattr(np, "allclose", lambda *args, **kwargs: True)
    spec = importlib.util.spec_from_file_location("fresh_refs", grading._refs.__file__)
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    assert fresh.SUSPICIOUS == ["np_allclose"]
    assert grading._refs.SUSPICIOUS == []  # the real capture happened before the patch


def test_sys_exit_in_reader_code_is_an_error_not_the_end_of_grading():
    results = _grade("import sys\ny = torch.arange(3.0)\ndef f(x):\n    sys.exit(3)\n")
    assert results["function_works"][0] == ERROR and "SystemExit" in results["function_works"][1]
    assert results["value_is_right"][0] == PASSED
