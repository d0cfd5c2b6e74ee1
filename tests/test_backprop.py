"""Backpropagation with tied parameters (Part I, section 6)."""

from __future__ import annotations

import pytest
import torch

from tying.theory import shared_bias_forward, shared_bias_gradients

f64 = torch.float64


def autograd_reference(x, y, weight, bias, v, c):
    params = [t.clone().requires_grad_(True) for t in (weight, bias, v, c)]
    w_, b_, v_, c_ = params
    loss = 0.5 * ((torch.relu(x @ w_.T + b_) @ v_ + c_ - y) ** 2).mean()
    return dict(zip(("weight", "bias", "v", "c"), torch.autograd.grad(loss, params)))


@pytest.mark.parametrize("n, d, k", [(1, 3, 2), (7, 4, 3), (32, 2, 5)])
def test_hand_gradients_match_autograd(n, d, k):
    gen = torch.Generator().manual_seed(n * 100 + k)
    for _ in range(20):
        x, y = torch.randn(n, d, generator=gen, dtype=f64), torch.randn(n, generator=gen, dtype=f64)
        weight = torch.randn(k, d, generator=gen, dtype=f64)
        v = torch.randn(k, generator=gen, dtype=f64)
        bias, c = (
            torch.randn((), generator=gen, dtype=f64),
            torch.randn((), generator=gen, dtype=f64),
        )
        mine = shared_bias_gradients(x, y, weight, bias, v, c)
        ref = autograd_reference(x, y, weight, bias, v, c)
        for key, value in ref.items():
            assert torch.allclose(mine[key], value, rtol=1e-12, atol=1e-12), key
        assert torch.allclose(mine["bias_per_use"].sum(), mine["bias"])


def test_single_example_formula_and_unbatched_input():
    x = torch.tensor([1.0, -2.0, 0.5], dtype=f64)
    weight = torch.tensor([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0]], dtype=f64)
    v, b, c, y = torch.tensor([2.0, -3.0], dtype=f64), 0.25, 0.1, torch.tensor(1.0, dtype=f64)
    out = shared_bias_gradients(x, y, weight, b, v, c)
    z, y_hat = shared_bias_forward(x, weight, b, v, c)
    assert torch.equal(out["z"], z) and torch.allclose(z, torch.tensor([[1.25, 2.25]], dtype=f64))
    # Both units active: dL/db = (y_hat - y) (v_1 + v_2).
    assert torch.isclose(out["bias"], (y_hat[0] - 1.0) * (2.0 - 3.0))


def test_relu_derivative_at_zero_is_zero_like_torch():
    x = torch.zeros(1, 2, dtype=f64)
    weight = torch.ones(2, 2, dtype=f64)
    bias = torch.tensor(0.0, dtype=f64)
    v, c, y = (
        torch.tensor([1.0, 1.0], dtype=f64),
        torch.tensor(0.5, dtype=f64),
        torch.zeros(1, dtype=f64),
    )
    mine = shared_bias_gradients(x, y, weight, bias, v, c)
    ref = autograd_reference(x, y, weight, bias, v, c)
    assert mine["bias"].item() == ref["bias"].item() == 0.0


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r"\(K, d\)"):
        shared_bias_forward(torch.zeros(3), torch.zeros(3), 0.0, torch.zeros(2), 0.0)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        shared_bias_forward(torch.zeros(2, 4), torch.zeros(2, 3), 0.0, torch.zeros(2), 0.0)


def test_closed_form_matches_a_module_with_a_tied_bias():
    """The closed form against autograd on nn.Linear units that share one Parameter."""
    torch.manual_seed(0)
    units = [torch.nn.Linear(3, 1, dtype=f64) for _ in range(3)]
    for unit in units[1:]:
        unit.bias = units[0].bias
    v, c = torch.randn(3, dtype=f64), torch.randn((), dtype=f64)
    x, y = torch.randn(16, 3, dtype=f64), torch.randn(16, dtype=f64)
    z = torch.cat([unit(x) for unit in units], dim=-1)
    (0.5 * ((torch.relu(z) @ v + c - y) ** 2).mean()).backward()
    weight = torch.cat([unit.weight for unit in units]).detach()
    closed = shared_bias_gradients(x, y, weight, units[0].bias.detach()[0], v, c)
    assert torch.isclose(units[0].bias.grad[0], closed["bias"], rtol=1e-12)
    assert torch.isclose(closed["bias_per_use"].sum(), closed["bias"], rtol=1e-12)
