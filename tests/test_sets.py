"""Sets and graphs: Deep Sets layers, equivariance as a tying pattern, shared message passing."""

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tying.device import get_device
from tying.layers import DeepSets, PermEquivariant, SharedMessagePassing, perm_equivariant, set_pool
from tying.theory import (
    commutant_basis,
    commutant_dimension,
    cyclic_commutant_dimension,
    cyclic_group_generators,
    pair_orbits,
    permutation_matrix,
    symmetric_commutant_dimension,
    symmetric_group_generators,
    tied_matrix,
)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def random_graph(n, mean_degree, generator):
    """An Erdős–Rényi graph; edge_index (2, 2|E|) with both directions of every edge."""
    p = min(1.0, mean_degree / (n - 1))
    upper = torch.triu(torch.rand(n, n, generator=generator) < p, diagonal=1)
    i, j = upper.nonzero(as_tuple=True)
    return torch.stack([torch.cat([i, j]), torch.cat([j, i])])


def both_ways(pairs):
    src, dst = zip(*pairs)
    return torch.tensor([src + dst, dst + src])


# --- PermEquivariant and DeepSets -------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 9),
    d_in=st.integers(1, 4),
    d_out=st.integers(1, 4),
    pool=st.sampled_from(["sum", "mean"]),
    seed=st.integers(0, 2**16),
)
def test_perm_equivariant_commutes_with_every_permutation(n, d_in, d_out, pool, seed):
    torch.manual_seed(seed)
    layer = PermEquivariant(d_in, d_out, pool=pool).double()
    x = randn(3, n, d_in, seed=seed)
    perm = torch.randperm(n)
    torch.testing.assert_close(layer(x[:, perm]), layer(x)[:, perm])


def test_one_feature_equals_the_dense_matrix_lambda_i_plus_gamma_ones():
    layer = PermEquivariant(1, 1, bias=False).double()
    lam, gam = layer.lambda_.item(), layer.gamma.item()
    n = 6
    dense = lam * torch.eye(n, dtype=torch.float64) + gam * torch.ones(n, n, dtype=torch.float64)
    torch.testing.assert_close(layer.dense_matrix(n), dense)
    x = randn(4, n, 1)
    torch.testing.assert_close(layer(x)[..., 0], x[..., 0] @ dense.T)
    # the dense matrix has n^2 entries but only two distinct values
    assert len(torch.unique(layer.dense_matrix(n))) == 2


@pytest.mark.parametrize("pool", ["sum", "mean"])
def test_dense_matrix_with_features_matches_forward(pool):
    layer = PermEquivariant(3, 2, pool=pool).double()
    n = 5
    x = randn(2, n, 3)
    flat = x.reshape(2, n * 3) @ layer.dense_matrix(n).T + layer.bias.repeat(n)
    torch.testing.assert_close(layer(x), flat.reshape(2, n, 2))


def test_parameter_count_does_not_depend_on_the_set_size():
    layer = PermEquivariant(4, 7)
    assert sum(p.numel() for p in layer.parameters()) == 2 * 4 * 7 + 7
    for n in (1, 3, 100):
        assert layer(torch.randn(2, n, 4)).shape == (2, n, 7)
    # the untied equivalent grows with n^2
    assert layer.dense_matrix(10).numel() == 10 * 10 * 4 * 7


def test_mask_equals_dropping_the_padded_elements():
    layer = PermEquivariant(3, 2).double()
    x = randn(1, 4, 3)
    padded = torch.cat([x, randn(1, 2, 3, seed=9)], dim=1)
    mask = torch.tensor([[True] * 4 + [False] * 2])
    out = layer(padded, mask)
    torch.testing.assert_close(out[:, :4], layer(x))
    assert torch.all(out[:, 4:] == 0)
    torch.testing.assert_close(set_pool(padded, mask, "mean"), x.mean(dim=1))


def test_deepsets_is_invariant_and_handles_masks():
    torch.manual_seed(0)
    model = DeepSets(nn.Sequential(nn.Linear(3, 8), nn.Tanh()), nn.Linear(8, 2)).double()
    x = randn(4, 6, 3)
    for _ in range(3):
        torch.testing.assert_close(model(x[:, torch.randperm(6)]), model(x))
    mask = torch.ones(4, 6, dtype=torch.bool)
    mask[:, 4:] = False
    torch.testing.assert_close(model(x, mask), model(x[:, :4]))


def test_gradcheck_float64():
    x = randn(2, 4, 3).requires_grad_()
    lam, gam = randn(2, 3, seed=1).requires_grad_(), randn(2, 3, seed=2).requires_grad_()
    b = randn(2, seed=3).requires_grad_()
    assert torch.autograd.gradcheck(perm_equivariant, (x, lam, gam, b))


def test_set_layer_bad_inputs():
    layer = PermEquivariant(3, 2)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, n, 3\)"):
        layer(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match="boolean mask"):
        layer(torch.randn(2, 5, 3), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="pool"):
        PermEquivariant(3, 2, pool="max")
    with pytest.raises(ValueError, match="N, n"):
        DeepSets(nn.Identity(), nn.Identity())(torch.randn(5, 3))


def test_set_layer_device_dtype_repr_reset():
    device = get_device()
    dtype = torch.float64 if device.type != "mps" else torch.float32
    layer = PermEquivariant(3, 2, device=device, dtype=dtype)
    assert layer.lambda_.device.type == device.type and layer.gamma.dtype == dtype
    assert layer(torch.randn(4, 3, device=device, dtype=dtype)).shape == (4, 2)
    assert "pool='sum'" in repr(layer)
    before = layer.gamma.detach().clone()
    layer.reset_parameters()
    assert not torch.equal(before, layer.gamma)


# --- equivariance through parameter sharing ----------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7])
def test_commutant_of_the_symmetric_group_has_two_parameters(n):
    gens = symmetric_group_generators(n)
    assert commutant_dimension(gens) == symmetric_commutant_dimension(n) == 2
    assert int(pair_orbits(gens).max()) + 1 == 2
    # the basis spans exactly {lambda I + gamma 11^T}
    basis = commutant_basis(gens).reshape(2, -1)
    target = torch.stack([torch.eye(n), torch.ones(n, n)]).reshape(2, -1).double()
    assert torch.linalg.matrix_rank(torch.cat([basis, target])) == 2


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_commutant_of_the_cyclic_group_is_the_circulants(n):
    gens = cyclic_group_generators(n)
    assert commutant_dimension(gens) == cyclic_commutant_dimension(n) == n
    labels = pair_orbits(gens)
    for i, j in itertools.product(range(n), repeat=2):
        assert labels[i, j] == labels[0, (j - i) % n]


def test_commutant_equals_group_average_for_small_symmetric_group():
    """Projecting onto the commutant = averaging P W P^T over all 24 permutations of S4."""
    n = 4
    w = randn(n, n)
    basis = commutant_basis(symmetric_group_generators(n))
    projected = torch.einsum("kij,kab,ab->ij", basis, basis, w)
    average = (
        sum(
            permutation_matrix(p) @ w @ permutation_matrix(p).T
            for p in itertools.permutations(range(n))
        )
        / 24
    )
    torch.testing.assert_close(projected, average)
    # ... and to averaging the entries tied together
    labels = pair_orbits(symmetric_group_generators(n))
    means = torch.stack([w[labels == k].mean() for k in range(2)])
    torch.testing.assert_close(projected, tied_matrix(labels, means))


def test_orbits_of_a_graph_automorphism_group():
    # the 4-cycle 0-1-2-3-0 has the dihedral symmetry group: rotation and reflection
    gens = [[1, 2, 3, 0], [0, 3, 2, 1]]
    assert (
        commutant_dimension(gens) == int(pair_orbits(gens).max()) + 1 == 3
    )  # self, adjacent, opposite


def test_tied_matrix_gradient_sums_over_tied_entries():
    labels = pair_orbits(symmetric_group_generators(3))
    values = torch.tensor([1.0, 2.0], requires_grad=True)
    tied_matrix(labels, values).sum().backward()
    torch.testing.assert_close(values.grad, torch.tensor([3.0, 6.0]))
    with pytest.raises(ValueError, match="one value per label"):
        tied_matrix(labels, torch.ones(1))


def test_permutation_matrix_convention_and_errors():
    p = permutation_matrix([2, 0, 1])
    x = torch.tensor([10.0, 20.0, 30.0], dtype=torch.float64)
    torch.testing.assert_close(p @ x, torch.tensor([20.0, 30.0, 10.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="not a permutation"):
        permutation_matrix([0, 0, 1])


# --- shared message passing --------------------------------------------------------------------


def relabel(x, edge_index, perm):
    """Node ``v`` becomes node ``perm[v]``."""
    inverse = torch.argsort(perm)
    return x[inverse], perm[edge_index]


@pytest.mark.parametrize("edge_features, aggregation", [(0, "sum"), (2, "sum"), (0, "mean")])
def test_message_passing_is_permutation_equivariant(edge_features, aggregation):
    torch.manual_seed(0)
    layer = SharedMessagePassing(
        3, 4, edge_features=edge_features, aggregation=aggregation
    ).double()
    gen = torch.Generator().manual_seed(1)
    edge_index = random_graph(9, 3.0, gen)
    x = randn(9, 3)
    attr = randn(edge_index.shape[1], edge_features) if edge_features else None
    perm = torch.randperm(9, generator=gen)
    x2, e2 = relabel(x, edge_index, perm)
    out = layer(x, edge_index, attr)
    out2 = layer(x2, e2, attr)  # edge order is unchanged, so edge_attr stays aligned
    torch.testing.assert_close(out2, out[torch.argsort(perm)])


def test_message_passing_parameters_do_not_depend_on_graph_size():
    layer = SharedMessagePassing(3, 5, edge_features=2, hidden=16)
    n_params = sum(p.numel() for p in layer.parameters())
    assert n_params == (2 * 3 + 2) * 16 + 16 + 16 * 16 + 16 + (3 + 16) * 16 + 16 + 16 * 5 + 5
    gen = torch.Generator().manual_seed(0)
    for n in (4, 40, 400):
        e = random_graph(n, 3.0, gen)
        assert layer(torch.randn(n, 3), e, torch.randn(e.shape[1], 2)).shape == (n, 5)


def test_message_passing_gradcheck_and_isolated_nodes():
    layer = SharedMessagePassing(2, 2, hidden=4).double()
    edge_index = torch.tensor([[0, 1], [1, 0]])  # node 2 is isolated
    x = randn(3, 2).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: layer(v, edge_index), (x,))
    # an isolated node receives no message: its output depends on its own features only
    out = layer(x, edge_index)
    torch.testing.assert_close(
        out[2], layer.update(torch.cat([x[2], torch.zeros(4, dtype=torch.float64)]))
    )


def test_message_passing_bad_inputs():
    layer = SharedMessagePassing(3, 2, edge_features=1)
    x, e = torch.randn(4, 3), torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="edge_features=1"):
        layer(x, e)
    with pytest.raises(ValueError, match=r"edge_attr of shape \(2, 1\)"):
        layer(x, e, torch.randn(3, 1))
    with pytest.raises(ValueError, match="outside"):
        layer(x, torch.tensor([[0, 5], [1, 2]]), torch.randn(2, 1))
    with pytest.raises(ValueError, match=r"\(2, E\)"):
        layer(x, torch.tensor([0, 1]), torch.randn(2, 1))
    with pytest.raises(ValueError, match=r"expected input of shape \(3\)|\(N, 3\)"):
        layer(torch.randn(4, 5), e, torch.randn(2, 1))
    assert "aggregation='sum'" in repr(layer)


def test_message_passing_cannot_tell_hexagon_from_two_triangles():
    torch.manual_seed(0)
    round1, round2 = SharedMessagePassing(1, 8, hidden=8), SharedMessagePassing(8, 2, hidden=8)

    def model(x, edge_index):
        return round2(torch.relu(round1(x, edge_index)), edge_index)

    hexagon = both_ways([(k, (k + 1) % 6) for k in range(6)])
    triangles = both_ways([(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3)])
    x = torch.ones(6, 1)
    torch.testing.assert_close(model(x, hexagon), model(x, triangles))
    # although the triangle counts differ: trace(A^3)/6 is 0 and 2
    for e, expected in ((hexagon, 0), (triangles, 2)):
        a = torch.zeros(6, 6)
        a[e[1], e[0]] = 1
        assert round(float(torch.trace(a @ a @ a)) / 6) == expected
