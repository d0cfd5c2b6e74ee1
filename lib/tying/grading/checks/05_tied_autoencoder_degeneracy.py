"""The degeneracy of a tied autoencoder.

Checks of ``solutions/05_tied_autoencoder_degeneracy.ipynb``.  The tied linear
autoencoder ``f_W(x) = W^T W x`` with ``W`` of shape ``(m, n)`` (``m`` hidden
units, ``n`` inputs): its output, a random orthogonal matrix from a QR
decomposition, the Jacobian of ``W -> W^T W``, the dimension of that Jacobian's
null space (measured, for full-rank and rank-deficient ``W``), and the closed
form for a full-rank ``W`` in both regimes, ``m >= n`` and ``m < n``.
"""

from __future__ import annotations

import torch

from tying.grading import (
    Question,
    as_integer,
    case,
    check,
    expect_close,
    expect_dtype,
    expect_integer,
    expect_shape,
    fail,
    max_abs_difference,
)
from tying.theory import degeneracy_dim, overcomplete_degeneracy_dim

TITLE = "The degeneracy of a tied autoencoder"

QUESTIONS = {
    "q1": Question(
        "The tied linear autoencoder",
        "Each row x of the batch is encoded as h = W x and decoded as W^T h. For a batch of rows, "
        "h = x @ W.T has shape (N, m) and the reconstruction is h @ W, of shape (N, n).",
    ),
    "q2": Question(
        "A random orthogonal matrix",
        "Draw A = torch.randn(m, m, generator=generator, dtype=torch.float64) and take Q from "
        "torch.linalg.qr(A). Multiplying column j of Q by the sign of R[j, j] makes the "
        "distribution uniform over O(m); orthogonality holds either way.",
    ),
    "q3": Question(
        "The Jacobian of W -> W^T W",
        "torch.func.jacrev(lambda w: w.T @ w)(W) has shape (n, n, m, n): one entry per entry of "
        "W^T W and per entry of W. Reshape it to (n * n, m * n).",
    ),
    "q4": Question(
        "The null space of the Jacobian",
        "The null space of a matrix with m * n columns has dimension m * n minus its rank. Use "
        "torch.linalg.matrix_rank on gram_jacobian(W) (keep float64, so that zero and non-zero "
        "singular values are far apart) and return an int.",
    ),
    "q5": Question(
        "The closed form, for m >= n and for m < n",
        "For m >= n the Gram matrices W^T W fill all n(n+1)/2 dimensions of the symmetric n x n "
        "matrices, so m n - n(n+1)/2 directions are lost. For m < n the null space is the tangent "
        "space of {QW : Q orthogonal}, of the dimension of O(m): m(m-1)/2. Compare with "
        "null_space_dim on a few random W before answering.",
    ),
}


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _random_w(m: int, n: int, seed: int, rank: int | None = None) -> torch.Tensor:
    g = _g(seed)
    if rank is None:
        return torch.randn(m, n, generator=g, dtype=torch.float64)
    return torch.randn(m, rank, generator=g, dtype=torch.float64) @ torch.randn(
        rank, n, generator=g, dtype=torch.float64
    )


@check("q1", points=1, timeout=5)
def autoencoder_output(answers):
    autoencoder = answers.function("tied_autoencoder")
    for m, n, seed in [(3, 5, 1), (5, 3, 2), (1, 4, 3)]:
        W = _random_w(m, n, seed)
        x = torch.randn(6, n, generator=_g(seed + 100), dtype=torch.float64)
        with case(f"W of shape ({m}, {n}), x of shape (6, {n})"):
            got = autoencoder(W.clone(), x.clone())
            expect_close(got, x @ W.T @ W, name="tied_autoencoder(W, x)", atol=1e-10)


def _sample(answers, m: int, seed: int):
    sample = answers.function("random_orthogonal")
    # A reader's function that ignores `generator` draws from the global generator: keep theirs.
    with torch.random.fork_rng(devices=[]):
        return sample(m, _g(seed))


@check("q2", points=1, timeout=5)
def orthogonal_matrix(answers):
    for m in (1, 3, 6):
        with case(f"m = {m}"):
            Q = _sample(answers, m, 10 + m)
            expect_shape(Q, (m, m), name=f"random_orthogonal({m}, generator)")
            expect_dtype(Q, torch.float64, name=f"random_orthogonal({m}, generator)")
            expect_close(
                Q.T @ Q,
                torch.eye(m, dtype=torch.float64),
                name="Q.T @ Q",
                atol=1e-10,
            )


@check("q2", points=1, timeout=5)
def random_and_reproducible(answers):
    m = 5
    first = _sample(answers, m, 20)
    again = _sample(answers, m, 20)
    other = _sample(answers, m, 21)
    for value in (first, again, other):
        expect_shape(value, (m, m), name=f"random_orthogonal({m}, generator)")
    if max_abs_difference(first, again) > 1e-12:
        fail(
            "two generators with the same seed gave different matrices: draw the random numbers "
            "from the `generator` argument"
        )
    if max_abs_difference(first, other) < 1e-3:
        fail(
            "two generators with different seeds gave the same matrix: draw a random Gaussian "
            "matrix from the `generator` argument (not from the global random state)"
        )
    if float(first.abs().max()) > 1 - 1e-6:
        fail(
            "Q has an entry of absolute value 1, so it is a signed permutation: a random "
            "orthogonal matrix mixes all coordinates"
        )


def _reference_jacobian(W: torch.Tensor) -> torch.Tensor:
    m, n = W.shape
    jac = torch.autograd.functional.jacobian(lambda w: w.T @ w, W)
    return jac.reshape(n * n, m * n)


@check("q3", points=1, timeout=10)
def jacobian_shape(answers):
    jacobian = answers.function("gram_jacobian")
    W = _random_w(3, 4, 30)
    J = jacobian(W.clone())
    expect_shape(J, (16, 12), name="gram_jacobian(W) for W of shape (3, 4)")
    expect_dtype(J, torch.float64, name="gram_jacobian(W)")


@check("q3", points=1, timeout=10)
def jacobian_values(answers):
    jacobian = answers.function("gram_jacobian")
    for m, n, seed in [(2, 3, 31), (4, 2, 32), (3, 3, 33)]:
        W = _random_w(m, n, seed)
        with case(f"W of shape ({m}, {n})"):
            expect_close(
                jacobian(W.clone()),
                _reference_jacobian(W),
                name="gram_jacobian(W)",
                atol=1e-10,
            )


def _expect_null_dims(answers, cases) -> None:
    null_dim = answers.function("null_space_dim")
    for m, n, rank, seed in cases:
        W = _random_w(m, n, seed, rank)
        label = f"W of shape ({m}, {n})" + ("" if rank is None else f" and rank {rank}")
        with case(label):
            got = as_integer(null_dim(W.clone()), name="null_space_dim(W)")
            expect_integer(
                got, degeneracy_dim(m, n, rank), name="null_space_dim(W)", what="dimension"
            )


@check("q4", points=1, timeout=10)
def null_dim_wide_code(answers):
    _expect_null_dims(
        answers, [(3, 2, None, 40), (4, 3, None, 41), (5, 5, None, 42), (6, 3, None, 43)]
    )


@check("q4", points=1, timeout=10)
def null_dim_bottleneck(answers):
    _expect_null_dims(answers, [(1, 3, None, 44), (2, 5, None, 45), (3, 4, None, 46)])


@check("q4", points=1, timeout=10)
def null_dim_rank_deficient(answers):
    _expect_null_dims(answers, [(4, 3, 1, 47), (5, 4, 2, 48), (3, 5, 2, 49), (2, 3, 0, 50)])


def _expect_formula(answers, pairs) -> None:
    formula = answers.function("degeneracy_formula")
    for m, n in pairs:
        with case(f"m = {m}, n = {n}"):
            got = as_integer(formula(m, n), name=f"degeneracy_formula({m}, {n})")
            if m < n and got == overcomplete_degeneracy_dim(m, n):
                fail(
                    f"`degeneracy_formula({m}, {n})` uses m n - n(n+1)/2, which holds only for "
                    "m >= n; measure null_space_dim for a bottleneck (m < n) and compare"
                )
            expect_integer(
                got, degeneracy_dim(m, n), name=f"degeneracy_formula({m}, {n})", what="dimension"
            )


@check("q5", points=1, timeout=5)
def formula_wide_code(answers):
    _expect_formula(answers, [(1, 1), (3, 2), (5, 5), (10, 4), (100, 20)])


@check("q5", points=1, timeout=5)
def formula_bottleneck(answers):
    _expect_formula(answers, [(1, 2), (2, 5), (3, 4), (8, 100), (20, 21)])
