"""Residual blocks tied across depth: the layers, the Lipschitz and fixed-point bounds."""

import math

import numpy as np
import pytest
import torch
from torch.func import jacrev, vmap

from tying.layers import (
    DampedBranch,
    MLPBranch,
    TiedResidualStack,
    UntiedResidualStack,
    residual_iterate,
)
from tying.theory import (
    ACTIVATION_LIPSCHITZ,
    a_priori_distance_bound,
    contraction_distance_bound,
    damped_contraction_factor,
    iterations_for_tolerance,
    mlp_lipschitz_bound,
    residual_lipschitz_bound,
    residual_stack_param_count,
)

F64 = {"dtype": torch.float64}


def make_branch(features, hidden_features, lipschitz, *, seed=0, dtype=torch.float64):
    """A default-initialised MLPBranch whose Lipschitz bound is rescaled (through W2) to ``lipschitz``."""
    torch.manual_seed(seed)
    branch = MLPBranch(features, hidden_features, dtype=dtype)
    with torch.no_grad():
        branch.second.weight.mul_(lipschitz / branch.lipschitz_bound())
    return branch


def jacobian_sensitivity(stack, inputs, max_depth):
    """Spectral norm of the Jacobian of h^k at every input, k = 0..K, by the chain rule."""
    block_jacobian = vmap(jacrev(lambda z: z + stack.branch(z)))
    with torch.no_grad():
        trajectory = stack.trajectory(inputs, depth=max_depth)
    n, d = inputs.shape
    product = torch.eye(d, dtype=inputs.dtype).expand(n, d, d)
    norms = [torch.ones(n, dtype=inputs.dtype)]
    for k in range(max_depth):
        product = block_jacobian(trajectory[k]) @ product
        norms.append(torch.linalg.matrix_norm(product, ord=2))
    return torch.stack(norms).detach().numpy()


def find_fixed_point(block, x, *, tol=1e-12, max_iter=10_000):
    """Banach iteration x <- block(x) until a step is shorter than ``tol``."""
    with torch.no_grad():
        for k in range(1, max_iter + 1):
            nxt = block(x)
            if (nxt - x).norm() <= tol:
                return nxt, k
            x = nxt
    raise RuntimeError("no fixed point")


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_forward_is_the_iterated_block():
    torch.manual_seed(0)
    stack = TiedResidualStack(5, depth=4, hidden_features=7, **F64)
    x = torch.randn(3, 5, **F64)
    expected = x
    for _ in range(4):
        expected = expected + stack.branch(expected)
    assert torch.allclose(stack(x), expected)
    assert torch.allclose(stack(x, depth=0), x)
    traj = stack.trajectory(x)
    assert traj.shape == (5, 3, 5) and torch.allclose(traj[-1], expected)
    assert torch.allclose(residual_iterate(x, stack.branch, 4), expected)
    assert torch.allclose(stack(x[0]), expected[0]), "unbatched input"


@pytest.mark.parametrize("d, m, K, bias", [(16, 32, 24, True), (3, 5, 1, True), (4, 4, 7, False)])
def test_parameter_counts(d, m, K, bias):
    tied = TiedResidualStack(d, K, branch=MLPBranch(d, m, bias=bias))
    untied = UntiedResidualStack.from_tied(tied)
    assert count(tied) == residual_stack_param_count(d, m, K, tied=True, bias=bias)
    assert (
        count(untied)
        == residual_stack_param_count(d, m, K, tied=False, bias=bias)
        == K * count(tied)
    )
    assert count(UntiedResidualStack(d, K, hidden_features=m)) == residual_stack_param_count(
        d, m, K, False
    )


def test_untying_keeps_the_function_and_splits_the_gradient():
    torch.manual_seed(1)
    tied = TiedResidualStack(6, depth=5, **F64)
    untied = UntiedResidualStack.from_tied(tied)
    x = torch.randn(4, 6, **F64)
    assert torch.allclose(tied(x), untied(x))
    tied(x).sum().backward()
    untied(x).sum().backward()
    for name, p in tied.branch.named_parameters():
        summed = sum(dict(b.named_parameters())[name].grad for b in untied.branches)
        assert torch.allclose(p.grad, summed), name
    # the copies are independent tensors: the ties are really cut
    assert untied.branches[0].first.weight.data_ptr() != untied.branches[1].first.weight.data_ptr()


def test_gradcheck_float64():
    torch.manual_seed(2)
    stack = TiedResidualStack(3, depth=3, hidden_features=4, **F64)
    x = torch.randn(2, 3, **F64, requires_grad=True)
    assert torch.autograd.gradcheck(stack, (x,))


def test_bad_inputs_raise_readable_errors():
    stack = TiedResidualStack(4, depth=2)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        stack(torch.randn(3, 5))
    with pytest.raises(ValueError):
        stack(torch.randn(2, 3, 4))
    with pytest.raises(ValueError):
        TiedResidualStack(4, depth=-1)
    with pytest.raises(ValueError):
        stack(torch.randn(2, 4), depth=-2)
    with pytest.raises(ValueError):
        MLPBranch(4, activation="swish")
    with pytest.raises(ValueError):
        DampedBranch(MLPBranch(4), beta=1.5)
    with pytest.raises(TypeError):
        stack(torch.ones(2, 4, dtype=torch.int64))


def test_device_dtype_and_repr():
    stack = TiedResidualStack(4, depth=3, device="cpu", dtype=torch.float64)
    assert stack.branch.first.weight.dtype == torch.float64
    assert "depth=3, tied=True" in repr(stack) and "tied=False" in repr(UntiedResidualStack(4, 2))
    assert "activation='tanh'" in repr(stack)
    before = stack.branch.first.weight.clone()
    stack.reset_parameters()
    assert not torch.equal(before, stack.branch.first.weight)


@pytest.mark.parametrize("activation", ["tanh", "relu", "gelu", "sigmoid"])
def test_activation_lipschitz_constants(activation):
    x = torch.linspace(-8, 8, 200_001, **F64, requires_grad=True)
    act = {
        "tanh": torch.tanh,
        "relu": torch.relu,
        "gelu": torch.nn.functional.gelu,
        "sigmoid": torch.sigmoid,
    }
    (slope,) = torch.autograd.grad(act[activation](x).sum(), x)
    assert abs(slope.abs().max().item() - ACTIVATION_LIPSCHITZ[activation]) < 1e-6


def test_mlp_lipschitz_bound_is_the_product_of_norms_and_bounds_the_jacobian():
    torch.manual_seed(3)
    branch = MLPBranch(5, 9, activation="gelu", **F64)
    w1, w2 = branch.first.weight, branch.second.weight
    product = torch.linalg.matrix_norm(w1, 2) * torch.linalg.matrix_norm(w2, 2)
    assert math.isclose(branch.lipschitz_bound(), product.item() * ACTIVATION_LIPSCHITZ["gelu"])
    assert math.isclose(mlp_lipschitz_bound([w1, w2], [0.5]), product.item() * 0.5)
    with pytest.raises(ValueError):
        mlp_lipschitz_bound([w1, w2], [1.0, 1.0])
    for x in torch.randn(50, 5, **F64):
        assert torch.linalg.matrix_norm(jacrev(branch)(x), 2) <= branch.lipschitz_bound() + 1e-12


def test_make_branch_sets_the_bound():
    branch = make_branch(6, 12, 0.37, seed=4, dtype=torch.float64)
    assert math.isclose(branch.lipschitz_bound(), 0.37)


def test_stack_sensitivity_never_exceeds_the_bound():
    torch.manual_seed(5)
    branch = make_branch(4, 8, 0.8, seed=5, dtype=torch.float64)
    stack = TiedResidualStack(4, 6, branch=branch)
    x = 3 * torch.randn(64, 4, **F64)
    norms = jacobian_sensitivity(stack, x, 6)
    bound = np.array([residual_lipschitz_bound(0.8, k) for k in range(7)])
    assert np.allclose(norms[0], 1.0) and np.all(norms <= bound[:, None] * (1 + 1e-9))
    # the chain-rule Jacobian agrees with autograd through the whole stack
    direct = torch.linalg.matrix_norm(jacrev(lambda z: stack(z, depth=6))(x[0]), 2).item()
    assert math.isclose(norms[6, 0], direct, rel_tol=1e-10)
    assert math.isclose(stack.lipschitz_bound(), 1.8**6)
    untied = UntiedResidualStack.from_tied(stack)
    assert math.isclose(untied.lipschitz_bound(), 1.8**6)


def test_damped_block_contracts_to_a_unique_fixed_point():
    g = make_branch(3, 10, 0.7, seed=6, dtype=torch.float64)
    branch = DampedBranch(g, beta=0.6)
    q = branch.contraction_factor()
    assert math.isclose(q, damped_contraction_factor(0.7, 0.6)) and math.isclose(q, 0.4 + 0.42)
    assert math.isclose(branch.lipschitz_bound(), 0.6 * 1.7)

    def block(z):
        return z + branch(z)

    x_star, _ = find_fixed_point(block, torch.zeros(3, **F64))
    assert torch.allclose(g(x_star), x_star, atol=1e-10), "fixed points of h are those of g"
    other, _ = find_fixed_point(block, torch.full((3,), 40.0, **F64))
    assert torch.allclose(other, x_star, atol=1e-10)
    stack = TiedResidualStack(3, 15, branch=branch)
    x0 = 5 * torch.randn(20, 3, **F64)
    traj = stack.trajectory(x0).detach()
    dist = (traj - x_star).norm(dim=-1).numpy()
    first = (traj[1] - traj[0]).norm(dim=-1).numpy()
    k = np.arange(16)[:, None]
    assert np.all(dist <= contraction_distance_bound(q, k, dist[0]) + 1e-12)
    assert np.all(dist <= a_priori_distance_bound(q, k, first) + 1e-12)


def test_iterations_for_tolerance():
    n = iterations_for_tolerance(0.5, 8.0, 1e-3)
    assert 8.0 * 0.5**n <= 1e-3 < 8.0 * 0.5 ** (n - 1)
    assert iterations_for_tolerance(0.9, 1e-4, 1e-3) == 0
    with pytest.raises(ValueError):
        iterations_for_tolerance(1.0, 1.0, 0.1)
    with pytest.raises(ValueError):
        a_priori_distance_bound(1.2, 3, 1.0)
