"""A permutation-equivariant layer by tying.

Checks of ``solutions/03_permutation_equivariant_layer.ipynb``: the matrix
``lam * I + gam * 11^T`` built from two scalars (values, and gradients that
reach both scalars), permutation matrices and an equivariance test, the
dimension of the space of matrices that commute with a group of permutations
(two for the symmetric group), the Deep Sets layer with features, and the
invariant model ``rho(sum_i phi(x_i))``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from tying.grading import (
    Question,
    as_integer,
    attribute,
    build_module,
    case,
    check,
    expect_close,
    expect_integer,
    expect_parameter_count,
    expect_scalar,
    expect_shape,
    fail,
    max_abs_difference,
)
from tying.theory.commutant import commutant_dimension, pair_orbits

TITLE = "A permutation-equivariant layer by tying"

QUESTIONS = {
    "q1": Question(
        "The tied matrix lam * I + gam * 11^T",
        "torch.eye(n) and torch.ones(n, n), created with the dtype of lam; then W = lam * I + gam * "
        "ones. Use lam and gam in the arithmetic as they are (no .item(), no torch.tensor(lam)), so "
        "that a gradient of W reaches both scalars.",
    ),
    "q2": Question(
        "Permutation matrices and an equivariance test",
        "Row i of P is row perm[i] of the identity: torch.eye(n, dtype=torch.float64)[perm], and "
        "then P @ x equals x[perm]. For the error, compute P @ (W @ x) and W @ (P @ x) and return "
        "the largest absolute difference as a float (.abs().max().item()).",
    ),
    "q3": Question(
        "How many free parameters a group of permutations leaves",
        "P W = W P is linear in W. Flatten W row by row, w = W.reshape(-1): then (P W).reshape(-1) "
        "= kron(P, I) @ w and (W P).reshape(-1) = kron(I, P.T) @ w. Stack kron(P, I) - kron(I, P.T) "
        "for every generator (torch.cat) and return n * n minus its rank "
        "(torch.linalg.matrix_rank, in float64), as an int. torch.kron may refuse the view P.T: "
        "pass P.T.contiguous().",
    ),
    "q4": Question(
        "The Deep Sets layer with features",
        "In __init__ create three nn.Parameter: lam and gam of shape (d_out, d_in), bias of shape "
        "(d_out,). In forward, x has shape (N, n, d_in): x @ self.lam.T is the per-element term, "
        "x.sum(dim=1, keepdim=True) @ self.gam.T the pooled one (it broadcasts over the n "
        "elements), then add the bias.",
    ),
    "q5": Question(
        "An invariant model rho(sum_i phi(x_i))",
        "self.phi acts on the last axis, so self.phi(x) has shape (N, n, hidden); sum over the set "
        "axis (dim=1), not over the features, and apply self.rho to the result: shape (N, 1).",
    ),
}


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _scalars(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = _g(seed)
    lam = torch.randn((), generator=g, dtype=torch.float64)
    gam = torch.randn((), generator=g, dtype=torch.float64)
    return lam, gam


def _reference_matrix(lam: torch.Tensor, gam: torch.Tensor, n: int) -> torch.Tensor:
    eye = torch.eye(n, dtype=torch.float64)
    return lam * eye + gam * torch.ones(n, n, dtype=torch.float64)


@check("q1", points=1, timeout=5)
def matrix_values(answers):
    build = answers.function("equivariant_matrix")
    for seed, n in [(1, 4), (2, 7), (3, 1)]:
        lam, gam = _scalars(seed)
        with case(f"n = {n}"):
            W = build(lam.clone(), gam.clone(), n)
            expect_close(
                W,
                _reference_matrix(lam, gam, n),
                name="equivariant_matrix(lam, gam, n)",
                atol=1e-12,
                dtype=torch.float64,
            )


@check("q1", points=1, timeout=5)
def matrix_is_tied_to_two_scalars(answers):
    build = answers.function("equivariant_matrix")
    lam, gam = _scalars(4)
    lam.requires_grad_(True)
    gam.requires_grad_(True)
    n = 5
    W = build(lam, gam, n)
    expect_shape(W, (n, n), name="equivariant_matrix(lam, gam, 5)")
    if not isinstance(W, torch.Tensor) or not W.requires_grad:
        fail(
            "`equivariant_matrix(lam, gam, 5)` is not connected to lam and gam by autograd "
            "(no gradient can flow back); build W from the tensors lam and gam themselves"
        )
    G = torch.randn(n, n, generator=_g(5), dtype=torch.float64)
    grads = torch.autograd.grad((W * G.to(W.dtype)).sum(), (lam, gam), allow_unused=True)
    for grad, label, expected in (
        (grads[0], "lam", torch.trace(G)),
        (grads[1], "gam", G.sum()),
    ):
        if grad is None:
            fail(f"no gradient reaches `{label}`: W does not depend on it through autograd")
        # Each scalar fills many entries; its gradient is the sum over the entries tied to it.
        expect_scalar(grad, expected.item(), name=f"the gradient of <W, G> with respect to {label}")


def _random_perm(n: int, seed: int) -> torch.Tensor:
    return torch.randperm(n, generator=_g(seed))


@check("q2", points=1, timeout=5)
def permutation_matrix_rows(answers):
    build = answers.function("permutation_matrix")
    for seed, n in [(10, 5), (11, 8), (12, 1)]:
        perm = _random_perm(n, seed)
        with case(f"n = {n}"):
            P = build(perm.clone())
            expected = torch.eye(n, dtype=torch.float64)[perm]
            expect_shape(P, (n, n), name="permutation_matrix(perm)")
            transposed = not torch.equal(expected, expected.T)  # perm is not its own inverse
            if transposed and max_abs_difference(P, expected.T) < 1e-12:
                fail(
                    "`permutation_matrix(perm)` is the transpose (the inverse) of the matrix asked "
                    "for: P @ x should equal x[perm], so row i of P picks entry perm[i]"
                )
            expect_close(P, expected, name="permutation_matrix(perm)", atol=1e-12)


@check("q2", points=1, timeout=5)
def equivariance_error_values(answers):
    error = answers.function("equivariance_error")
    n = 6
    lam, gam = _scalars(20)
    x = torch.randn(n, generator=_g(21), dtype=torch.float64)
    perm = _random_perm(n, 22)
    with case("an equivariant W = lam I + gam 11^T"):
        got = error(_reference_matrix(lam, gam, n), x.clone(), perm.clone())
        expect_scalar(got, 0.0, name="equivariance_error", atol=1e-10, rtol=0)
    W = torch.randn(n, n, generator=_g(23), dtype=torch.float64)
    P = torch.eye(n, dtype=torch.float64)[perm]
    expected = (P @ (W @ x) - W @ (P @ x)).abs().max().item()
    with case("a random, untied W"):
        got = error(W.clone(), x.clone(), perm.clone())
        expect_scalar(got, expected, name="equivariance_error", atol=1e-10)


def _perm_matrix(perm: list[int]) -> torch.Tensor:
    return torch.eye(len(perm), dtype=torch.float64)[perm]


def _swap_and_cycle(n: int) -> list[list[int]]:
    return [[1, 0, *range(2, n)], [(i + 1) % n for i in range(n)]]


def _expect_dimension(answers, generators: list[list[int]], label: str) -> None:
    dimension = answers.function("commutant_dimension")
    n = len(generators[0])
    # Two independent references: the null space of the constraints, the orbits of pairs.
    expected = commutant_dimension(generators, n)
    assert expected == int(pair_orbits(generators, n).max()) + 1
    got = dimension([_perm_matrix(g) for g in generators])
    with case(label):
        expect_integer(
            as_integer(got, name="commutant_dimension"),
            expected,
            name="commutant_dimension",
            what="dimension",
        )


@check("q3", points=1, timeout=10)
def symmetric_group_leaves_two(answers):
    for n in (2, 3, 5, 7):
        _expect_dimension(
            answers, _swap_and_cycle(n), f"all permutations of n = {n} (a swap and a cycle)"
        )


@check("q3", points=1, timeout=10)
def other_groups(answers):
    groups = {
        "the cyclic shifts of n = 5": [[(i + 1) % 5 for i in range(5)]],
        "the identity alone, n = 4": [list(range(4))],
        "swaps inside two blocks {0, 1} and {2, 3}": [[1, 0, 2, 3], [0, 1, 3, 2]],
        "the swap (0 1) and the cycle, n = 6": _swap_and_cycle(6),
    }
    for label, generators in groups.items():
        _expect_dimension(answers, generators, label)


def _device(module: nn.Module) -> torch.device:
    first = next(iter(module.parameters()), None)
    return first.device if first is not None else torch.device("cpu")


def _set_layer_reference(x, lam, gam, bias):
    return x @ lam.T + x.sum(dim=1, keepdim=True) @ gam.T + bias


@check("q4", points=1, timeout=5)
def set_layer_forward(answers):
    label = "SetLayer(3, 5)"
    model = copy.deepcopy(build_module(answers, "SetLayer", 3, 5))  # the check changes the weights
    params = {}
    for attr, shape in (("lam", (5, 3)), ("gam", (5, 3)), ("bias", (5,))):
        value = attribute(model, attr, name=label)
        expect_shape(value, shape, name=f"{label}.{attr}")
        if not isinstance(value, nn.Parameter):
            fail(f"`{label}.{attr}` should be an nn.Parameter, so that it is learned")
        params[attr] = value
    g = _g(30)
    with torch.no_grad():
        for value in params.values():
            value.copy_(torch.randn(value.shape, generator=g))
        x = torch.randn(2, 6, 3, generator=g).to(_device(model))
        expected = _set_layer_reference(x, params["lam"], params["gam"], params["bias"])
        got = answers.run(model, x, what=f"{label}(x)")
    expect_close(got, expected, name=f"{label}(x) for x of shape (2, 6, 3)", atol=1e-5)


@check("q4", points=1, timeout=5)
def set_layer_equivariant_any_size(answers):
    label = "SetLayer(3, 5)"
    model = build_module(answers, "SetLayer", 3, 5)
    expect_parameter_count(model, 2 * 3 * 5 + 5, name=label)
    device = _device(model)
    for n in (1, 4, 9):
        g = _g(40 + n)
        x = torch.randn(2, n, 3, generator=g).to(device)
        perm = torch.randperm(n, generator=g).to(device)
        with case(f"a set of n = {n} elements"), torch.no_grad():
            y = answers.run(model, x, what=f"{label}(x)")
            expect_shape(y, (2, n, 5), name=f"{label}(x)")
            y_perm = answers.run(model, x[:, perm], what=f"{label}(x[:, perm])")
            expect_close(y_perm, y[:, perm], name=f"{label}(x[:, perm])", atol=1e-5)


@check("q5", points=1, timeout=5)
def invariant_model_forward(answers):
    label = "SumInvariant(3, 8)"
    model = build_module(answers, "SumInvariant", 3, 8)
    phi = attribute(model, "phi", name=label)
    rho = attribute(model, "rho", name=label)
    x = torch.randn(4, 5, 3, generator=_g(50)).to(_device(model))
    with torch.no_grad():
        expected = rho(phi(x).sum(dim=1))
        got = answers.run(model, x, what=f"{label}(x)")
    expect_close(got, expected, name=f"{label}(x) for x of shape (4, 5, 3)", atol=1e-5)


@check("q5", points=1, timeout=5)
def invariant_model_is_invariant(answers):
    label = "SumInvariant(3, 8)"
    model = build_module(answers, "SumInvariant", 3, 8)
    device = _device(model)
    for n in (1, 6, 11):
        g = _g(60 + n)
        x = torch.randn(3, n, 3, generator=g).to(device)
        perm = torch.randperm(n, generator=g).to(device)
        with case(f"a set of n = {n} elements"), torch.no_grad():
            y = answers.run(model, x, what=f"{label}(x)")
            expect_shape(y, (3, 1), name=f"{label}(x)")
            y_perm = answers.run(model, x[:, perm], what=f"{label}(x[:, perm])")
            expect_close(y_perm, y, name=f"{label}(x[:, perm])", atol=1e-5)
