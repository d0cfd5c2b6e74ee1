"""ProjectorLinear, the Projector parametrization and the closed forms of Part I, section 10."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils import parametrize

from tying.layers import Projector, ProjectorLinear, random_projector
from tying.theory import (
    projector_frobenius_sq,
    projector_rank,
    projector_singular_values,
    projector_spectral_measure,
    retained_energy,
)

F64 = torch.float64


def _check_projector(P: torch.Tensor, rank: int, atol: float) -> None:
    assert torch.allclose(P, P.T, atol=atol), "symmetric"
    assert torch.allclose(P @ P, P, atol=atol), "idempotent"
    assert torch.linalg.matrix_rank(P, atol=1e-3).item() == rank


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 12), data=st.data())
def test_weight_is_a_projector_of_the_right_rank(n, data):
    rank = data.draw(st.integers(0, n))
    P = ProjectorLinear(n, rank, dtype=F64).weight.detach()
    _check_projector(P, rank, 1e-12)
    sv = torch.linalg.svdvals(P).numpy()
    assert np.allclose(sv, projector_singular_values(n, rank), atol=1e-10)
    assert abs(torch.linalg.matrix_norm(P).item() ** 2 - projector_frobenius_sq(rank)) < 1e-10
    assert abs(torch.trace(P).item() - rank) < 1e-10


def test_parametrization_structure_and_state_dict():
    layer = ProjectorLinear(5, 2, dtype=F64)
    assert parametrize.is_parametrized(layer, "weight")
    assert isinstance(layer.parametrizations.weight[0], Projector)
    assert [n for n, _ in layer.named_parameters()] == ["parametrizations.weight.original"]
    assert layer.parametrizations.weight.original.shape == (5, 2)
    other = ProjectorLinear(5, 2, dtype=F64)
    other.load_state_dict(layer.state_dict())
    assert torch.allclose(other.weight, layer.weight)
    assert "5, rank=2" in repr(layer)


def test_right_inverse_round_trip():
    target = random_projector(7, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    layer = ProjectorLinear(7, 3, dtype=F64)
    layer.weight = target
    assert torch.allclose(layer.weight, target, atol=1e-12)


def test_only_the_column_space_matters():
    A = torch.randn(6, 2, dtype=F64)
    G = torch.tensor([[2.0, 1.0], [0.5, -1.0]], dtype=F64)  # invertible
    assert torch.allclose(Projector(2)(A), Projector(2)(A @ G), atol=1e-12)
    Q, _ = torch.linalg.qr(A)
    assert torch.allclose(Projector(2)(A), Q @ Q.T, atol=1e-12)


def test_forward_bias_and_shapes():
    layer = ProjectorLinear(4, 2, bias=True, dtype=F64)
    with torch.no_grad():
        layer.bias.fill_(0.5)
    x = torch.randn(3, 4, dtype=F64)
    assert torch.allclose(layer(x), x @ layer.weight.T + 0.5)
    assert layer(x[0]).shape == (4,)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        layer(torch.randn(3, 5, dtype=F64))
    with pytest.raises(ValueError):
        ProjectorLinear(3, 4)
    with pytest.raises(ValueError):
        Projector(2)(torch.randn(5, 3))


def test_gradient_flows_to_the_free_matrix_and_gradcheck():
    layer = ProjectorLinear(5, 2, dtype=F64)
    x = torch.randn(8, 5, dtype=F64)
    (layer(x) - x).pow(2).sum().backward()
    grad = layer.parametrizations.weight.original.grad
    assert grad is not None and grad.abs().max() > 0
    A = torch.randn(5, 2, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: Projector(2)(a), (A,))


def test_training_keeps_a_projector_and_finds_pca():
    g = torch.Generator().manual_seed(3)
    scales = torch.tensor([3.0, 2.0, 1.5] + [0.1] * 9, dtype=F64)
    basis, _ = torch.linalg.qr(torch.randn(12, 12, generator=g, dtype=F64))
    data = (torch.randn(200, 12, generator=g, dtype=F64) * scales) @ basis.T
    torch.manual_seed(0)
    layer = ProjectorLinear(12, 3, dtype=F64)
    opt = torch.optim.SGD(layer.parameters(), lr=0.2)
    losses = []
    for _ in range(200):
        opt.zero_grad()
        loss = (layer(data) - data).pow(2).sum(dim=1).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    P = layer.weight.detach()
    _check_projector(P, 3, 1e-10)
    assert losses[-1] < 0.5 * losses[0]
    _, vecs = torch.linalg.eigh(data.T @ data / len(data))
    assert (P - vecs[:, -3:] @ vecs[:, -3:].T).abs().max() < 0.02


def test_deep_tied_stack_equals_one_layer():
    layer = ProjectorLinear(6, 4, dtype=F64)
    eye = torch.eye(6, dtype=F64)
    with torch.no_grad():
        for depth in (1, 2, 5):
            assert torch.allclose(nn.Sequential(*[layer] * depth)(eye), layer.weight, atol=1e-12)


def test_device_and_dtype():
    layer = ProjectorLinear(4, 1, device="cpu", dtype=F64)
    assert layer.weight.dtype == F64 and layer.weight.device.type == "cpu"
    assert random_projector(4, 2, dtype=torch.float32).dtype == torch.float32


# -- closed forms ------------------------------------------------------------------


def test_projector_rank_and_measure():
    assert (
        projector_rank(0.25, 24) == 6
        and projector_rank(1.0, 3) == 3
        and projector_rank(0.0, 5) == 0
    )
    with pytest.raises(ValueError, match="not an integer"):
        projector_rank(0.3, 24)
    with pytest.raises(ValueError):
        projector_rank(1.5, 4)
    assert projector_spectral_measure(0.25) == {0.0: 0.75, 1.0: 0.25}
    assert projector_singular_values(4, 1).tolist() == [1.0, 0.0, 0.0, 0.0]


def test_retained_energy_against_monte_carlo():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(40_000, 16, generator=g, dtype=F64)
    for r in (2, 8, 12):
        P = random_projector(16, r, generator=g, dtype=F64)
        kept = ((x @ P).pow(2).sum() / x.pow(2).sum()).item()
        assert abs(kept - retained_energy(r / 16)) < 0.01
