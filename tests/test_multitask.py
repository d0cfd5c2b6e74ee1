"""MultiTaskNet: hard sharing across tasks, as a layer."""

import pytest
import torch
from torch import nn

from tying.layers import MultiTaskNet


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("hidden", [3, (5, 4)])
def test_parameter_counts(hidden):
    d, t, o = 7, 6, 2
    widths = [hidden] if isinstance(hidden, int) else list(hidden)
    sizes = [d, *widths]
    trunk = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    heads = t * (widths[-1] * o + o)
    assert count(MultiTaskNet(d, hidden, t, o, shared=True)) == trunk + heads
    assert count(MultiTaskNet(d, hidden, t, o, shared=False)) == t * trunk + heads


def test_shapes_and_task_selection():
    net = MultiTaskNet(4, 3, num_tasks=5, out_features=2)
    x = torch.randn(6, 4)
    task = torch.tensor([0, 4, 2, 2, 1, 3])
    all_heads = net(x)
    assert all_heads.shape == (6, 5, 2)
    picked = net(x, task)
    assert picked.shape == (6, 2)
    assert torch.equal(picked, all_heads[torch.arange(6), task])
    assert net(x[0]).shape == (5, 2) and net(x[0], 3).shape == (2,)
    assert torch.allclose(net(x[0], 3), all_heads[0, 3])


def test_shared_forward_matches_hand_computation():
    net = MultiTaskNet(4, (3, 2), num_tasks=2, dtype=torch.float64)
    x = torch.randn(5, 4, dtype=torch.float64)
    (w1, w2), (b1, b2) = net.trunk_weights, net.trunk_biases
    h = torch.tanh(torch.tanh(x @ w1 + b1) @ w2 + b2)
    expected = torch.stack([h @ net.head_weight[t] + net.head_bias[t] for t in range(2)], dim=1)
    assert torch.allclose(net(x), expected)


def test_untied_net_is_independent_networks():
    t_count = 3
    net = MultiTaskNet(
        4, (5, 3), num_tasks=t_count, shared=False, activation="relu", dtype=torch.float64
    )
    x = torch.randn(7, 4, dtype=torch.float64)
    out = net(x)
    for t in range(t_count):
        ref = nn.Sequential(
            nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 1)
        ).double()
        with torch.no_grad():
            ref[0].weight.copy_(net.trunk_weights[0][t].T)
            ref[0].bias.copy_(net.trunk_biases[0][t])
            ref[2].weight.copy_(net.trunk_weights[1][t].T)
            ref[2].bias.copy_(net.trunk_biases[1][t])
            ref[4].weight.copy_(net.head_weight[t].T)
            ref[4].bias.copy_(net.head_bias[t])
        assert torch.allclose(out[:, t], ref(x))


def test_gradients_flow_only_where_parameters_are_used():
    x = torch.randn(8, 4)
    only_task_1 = torch.full((8,), 1)
    separate = MultiTaskNet(4, 3, num_tasks=3, shared=False)
    separate(x, only_task_1).sum().backward()
    grad = separate.trunk_weights[0].grad
    assert grad[1].abs().sum() > 0
    assert torch.count_nonzero(grad[0]) == 0 and torch.count_nonzero(grad[2]) == 0

    # Shared trunk: its gradient is the sum of the gradients of every task that uses it.
    shared = MultiTaskNet(4, 3, num_tasks=3, dtype=torch.float64)
    xd = x.double()
    per_task = []
    for t in range(3):
        shared.zero_grad()
        shared(xd, torch.full((8,), t)).sum().backward()
        per_task.append(shared.trunk_weights[0].grad.clone())
    shared.zero_grad()
    shared(xd).sum().backward()
    assert torch.allclose(shared.trunk_weights[0].grad, sum(per_task))


@pytest.mark.parametrize("shared", [True, False])
def test_gradcheck(shared):
    net = MultiTaskNet(3, 4, num_tasks=2, shared=shared, dtype=torch.float64)
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: net(inp), (x,))


def test_bad_inputs_raise():
    net = MultiTaskNet(4, 3, num_tasks=2)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        net(torch.randn(5, 3))
    with pytest.raises(ValueError, match="task indices"):
        net(torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(ValueError, match="shape"):
        net(torch.randn(5, 4), torch.tensor([0, 1]))
    with pytest.raises(TypeError):
        net(torch.ones(5, 4, dtype=torch.int64))
    with pytest.raises(ValueError):
        MultiTaskNet(4, 0, num_tasks=2)
    with pytest.raises(ValueError):
        MultiTaskNet(4, 3, num_tasks=2, activation="sigmoid")


def test_factory_kwargs_and_repr():
    net = MultiTaskNet(4, 3, num_tasks=2, shared=False, dtype=torch.float64, device="cpu")
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert "shared=False" in repr(net) and "num_tasks=2" in repr(net)
