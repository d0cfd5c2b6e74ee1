"""Backpropagation with tied parameters (Part I, section 6)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from tying.experiments.backprop import (
    SharedBiasNet,
    make_regression_data,
    per_use_gradients,
    run_tied_vs_copies,
    tied_gradient,
)
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


def test_shared_bias_net_tie_and_closed_form():
    torch.manual_seed(0)
    net = SharedBiasNet(3, hidden=3, dtype=f64)
    assert net.units[0].bias is net.units[1].bias is net.units[2].bias
    assert len(list(net.parameters())) == 3 + 1 + 2
    x, y = make_regression_data(n=16, in_features=3, hidden=3)
    loss = 0.5 * ((net(x) - y) ** 2).mean()
    loss.backward()
    closed = shared_bias_gradients(x, y, **net.closed_form_parameters())
    assert torch.isclose(net.units[0].bias.grad[0], closed["bias"])
    untied = net.untied_copy()
    assert len(list(untied.parameters())) == 3 + 3 + 2
    assert torch.equal(untied(x), net(x))
    assert all(untied.units[k].bias is not untied.units[0].bias for k in (1, 2))
    with pytest.raises(ValueError, match="untied"):
        untied.closed_form_parameters()


def test_per_use_gradients_sum_to_the_tied_gradient():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(4, 4, generator=gen, dtype=f64)
    x = torch.randn(4, generator=gen, dtype=f64)

    def loss(p, q, r):
        return (torch.sin(p @ x) * (q @ torch.tanh(r @ x))).sum()

    uses = per_use_gradients(loss, a, 3)
    assert len(uses) == 3
    assert torch.allclose(sum(uses), tied_gradient(loss, a, 3), atol=1e-13)
    assert min((u - uses[0]).norm() for u in uses[1:]) > 1e-3  # the uses really differ


def test_run_tied_vs_copies_tiny():
    sgd = run_tied_vs_copies(steps=6, lr=0.2, optimizer="sgd", n=16)
    tied = sgd["tied"]["params"]
    assert tied.shape == (7, 2 * 3 + 1 + 2 + 1)
    assert np.abs(sgd["sum"]["params"] - tied).max() < 1e-13
    assert np.abs(sgd["mean_rescaled"]["params"] - tied).max() < 1e-13
    assert np.abs(sgd["mean"]["params"] - tied).max() > 1e-6
    assert np.abs(sgd["mean"]["params"] - sgd["resync"]["params"]).max() < 1e-13
    assert np.abs(sgd["tied"]["per_use"].sum(1) - sgd["tied"]["autograd"]).max() < 1e-14
    adam = run_tied_vs_copies(steps=6, lr=0.01, optimizer="adam", n=16, modes=("sum", "mean"))
    assert np.abs(adam["sum"]["params"] - adam["tied"]["params"]).max() < 1e-13
    assert np.abs(adam["mean"]["params"] - adam["tied"]["params"]).max() < 1e-6
    assert adam["tied"]["n_optimizer_states"] == 5 and adam["sum"]["n_optimizer_states"] == 6
    assert set(adam) >= {"tied", "sum", "mean", "steps"} and "free" not in adam


def test_run_tied_vs_copies_rejects_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        run_tied_vs_copies(steps=1, modes=("median",))
    with pytest.raises(ValueError, match="optimizer"):
        run_tied_vs_copies(steps=1, optimizer="lbfgs")


def test_plots_draw():
    from tying.viz.backprop import plot_bias_trajectories, plot_per_use_gradients

    results = run_tied_vs_copies(steps=4, n=8)
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    plot_per_use_gradients(results, ax1)
    plot_bias_trajectories(results, ax2)
    assert len(ax1.lines) >= 4 and len(ax2.lines) >= 4
