"""SoftTie, its schedules, and the curriculum experiment of Part I, section 8."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

from tying.layers import (
    ConstantSchedule,
    CosineRamp,
    ExponentialRamp,
    LinearRamp,
    SoftTie,
    soft_tie_gradient,
    soft_tie_penalty,
)


def _group(k, shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [
        nn.Parameter(torch.randn(tuple(shape), generator=g, dtype=torch.float64)) for _ in range(k)
    ]


# -- the penalty --------------------------------------------------------------


@pytest.mark.parametrize("k, shape", [(2, (3,)), (3, (2, 4)), (5, ()), (4, (1, 2, 3))])
def test_pairs_penalty_is_the_sum_over_pairs(k, shape):
    params = _group(k, shape)
    lam = 0.37
    expected = lam * sum(
        ((params[i] - params[j]) ** 2).sum() for i, j in itertools.combinations(range(k), 2)
    )
    assert torch.allclose(soft_tie_penalty(params, lam), expected, rtol=1e-12)
    assert torch.allclose(SoftTie(params, lam)(), expected, rtol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 6])
def test_mean_penalty_is_spread_around_the_mean_and_k_times_smaller(k):
    params = _group(k, (4,), seed=k)
    mean = torch.stack(params).mean(0)
    expected = 1.5 * sum(((p - mean) ** 2).sum() for p in params)
    got = soft_tie_penalty(params, 1.5, reduction="mean")
    assert torch.allclose(got, expected, rtol=1e-12)
    assert torch.allclose(k * got, soft_tie_penalty(params, 1.5, reduction="pairs"), rtol=1e-12)


def test_two_parameters_closed_form():
    a, b = torch.tensor([0.0, 1.0]), torch.tensor([2.0, 1.0])
    assert soft_tie_penalty([a, b], 0.5).item() == pytest.approx(2.0)
    assert soft_tie_penalty([a, b], 0.5, reduction="mean").item() == pytest.approx(1.0)


@pytest.mark.parametrize("reduction", ["pairs", "mean"])
@pytest.mark.parametrize("k", [2, 3, 5])
def test_closed_form_gradient_matches_autograd(reduction, k):
    params = _group(k, (2, 3), seed=10 + k)
    penalty = soft_tie_penalty(params, 0.8, reduction)
    grads = torch.autograd.grad(penalty, params)
    for g, expected in zip(grads, soft_tie_gradient(params, 0.8, reduction)):
        assert torch.allclose(g, expected, rtol=1e-12, atol=1e-14)


def test_gradcheck_in_float64():
    params = [p.detach().requires_grad_(True) for p in _group(3, (3,), seed=4)]
    assert torch.autograd.gradcheck(lambda *ps: soft_tie_penalty(list(ps), 0.3), tuple(params))


def test_tensor_strength_acts_element_by_element():
    a = torch.zeros(3, 2)
    b = torch.ones(3, 2)
    lam = torch.tensor([[0.0], [1.0], [2.0]])
    # Row r costs lam_r * 2 (two elements, each a squared difference of 1).
    assert soft_tie_penalty([a, b], lam).item() == pytest.approx(0 + 2 + 4)


def test_penalty_is_zero_when_tied_and_gradient_pulls_towards_mean():
    p = nn.Parameter(torch.tensor([1.0, -2.0]))
    assert soft_tie_penalty([p, p.detach().clone()], 3.0).item() == 0.0
    a, b = nn.Parameter(torch.tensor(0.0)), nn.Parameter(torch.tensor(1.0))
    ga, gb = soft_tie_gradient([a, b], 1.0)
    assert ga.item() < 0 < gb.item()  # descent moves a up and b down


# -- the module ---------------------------------------------------------------


def test_soft_tie_holds_references_and_trains_them_together():
    a, b = nn.Linear(3, 2, bias=False), nn.Linear(3, 2, bias=False)
    tie = SoftTie([a.weight, b.weight], strength=1.0)
    assert tie.params[0] is a.weight and tie.params[1] is b.weight
    before = tie.distance().item()
    mean_before = (a.weight + b.weight).detach() / 2
    for _ in range(50):
        loss = tie()
        a.weight.grad = b.weight.grad = None
        loss.backward()
        with torch.no_grad():
            a.weight -= 0.05 * a.weight.grad
            b.weight -= 0.05 * b.weight.grad
    assert tie.distance().item() < 1e-3 * before
    # The penalty's gradients sum to zero, so descent on it alone keeps the mean.
    assert torch.allclose((a.weight + b.weight) / 2, mean_before, atol=1e-6)
    model = nn.ModuleDict({"a": a, "b": b, "tie": tie})
    assert len(list(model.parameters())) == 2  # each tied parameter is yielded once


def test_schedule_counter_and_state_dict():
    params = _group(2, (3,))
    tie = SoftTie(params, strength=LinearRamp(2.0, steps=10))
    assert tie().item() == 0.0 and tie.strength == 0.0
    for _ in range(5):
        tie.step()
    assert tie.strength == 1.0
    assert torch.allclose(tie(), soft_tie_penalty(params, 1.0))
    assert torch.allclose(tie(step=10), soft_tie_penalty(params, 2.0))
    other = SoftTie(params, strength=LinearRamp(2.0, steps=10))
    other.load_state_dict(tie.state_dict())
    assert other.step_count == 5


def test_repr_and_validation():
    params = _group(3, (2, 2))
    text = repr(SoftTie(params, strength=CosineRamp(1.0, 5), reduction="mean"))
    assert "group=3 x (2, 2)" in text and "CosineRamp" in text and "'mean'" in text
    with pytest.raises(ValueError, match="at least two"):
        SoftTie(params[:1])
    with pytest.raises(ValueError, match="same shape"):
        SoftTie([params[0], nn.Parameter(torch.zeros(3))])
    with pytest.raises(ValueError, match="reduction"):
        SoftTie(params, reduction="sum")
    with pytest.raises(TypeError, match="nn.Parameter"):
        SoftTie([torch.zeros(2), torch.ones(2)])
    with pytest.raises(ValueError, match="non-negative"):
        SoftTie(params, strength=-1.0)


def test_soft_tie_follows_its_parameters_to_another_dtype():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    model = nn.ModuleDict({"a": a, "b": b, "tie": SoftTie([a.weight, b.weight])})
    model.to(torch.float64)
    assert model["tie"]().dtype == torch.float64
    assert model["tie"].params[0] is a.weight


# -- schedules ----------------------------------------------------------------


def test_schedule_values():
    assert ConstantSchedule(0.3)(0) == ConstantSchedule(0.3)(10**6) == 0.3
    lin = LinearRamp(2.0, steps=100)
    assert [lin(t) for t in (0, 25, 100, 500)] == [0.0, 0.5, 2.0, 2.0]
    cos = CosineRamp(2.0, steps=100)
    assert cos(0) == 0.0 and cos(50) == pytest.approx(1.0) and cos(100) == 2.0
    assert cos(25) == pytest.approx(1.0 - math.cos(math.pi / 4))
    exp = ExponentialRamp(1.0, steps=4, lambda_start=1e-4)
    assert [exp(t) for t in range(5)] == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    assert ExponentialRamp(2.0, steps=10).lambda_start == pytest.approx(2e-3)
    warm = LinearRamp(1.0, steps=10, warmup=5)
    assert [warm(t) for t in (0, 4, 5, 10, 15)] == [0.0, 0.0, 0.0, 0.5, 1.0]
    assert LinearRamp(3.0, steps=0)(0) == 3.0  # a ramp of length 0 is a constant
    assert len(lin.values(7)) == 7


def test_ramps_are_monotone_and_bounded():
    for schedule in (LinearRamp(1.5, 40), CosineRamp(1.5, 40), ExponentialRamp(1.5, 40)):
        values = schedule.values(60)
        assert np.all(np.diff(values) >= -1e-15) and max(values) == pytest.approx(1.5)


def test_schedule_validation():
    with pytest.raises(ValueError):
        LinearRamp(-1.0, 10)
    with pytest.raises(ValueError):
        LinearRamp(1.0, 10)(-1)
    with pytest.raises(ValueError):
        ExponentialRamp(1.0, 10, lambda_start=0.0)
    assert "LinearRamp(lambda_max=2, steps=10)" == repr(LinearRamp(2.0, 10))
