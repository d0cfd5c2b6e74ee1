r"""Which weight matrices commute with a group of permutations, and how many parameters they have.

A linear layer :math:`y = Wx` on :math:`\mathbb{R}^n` is equivariant to a group
:math:`G` of permutations when :math:`P_g W = W P_g` for every :math:`g \in G`.
Those :math:`W` form a vector space, the *commutant*.  Entry-wise the condition
reads :math:`W_{g(i), g(j)} = W_{ij}`: the weight may only depend on the orbit
of the pair :math:`(i, j)` under :math:`G`.  So equivariance is exactly a
parameter-tying pattern (Ravanbakhsh, Schneider & Póczos, 2017), and

.. math::
    \dim \{W : P_g W = W P_g\ \forall g\} = \#\text{orbits of } G \text{ on } [n] \times [n].

Two ways to compute the left-hand side are here, independent of each other:
:func:`commutant_basis` solves the linear constraints numerically (a null
space), and :func:`pair_orbits` counts orbits combinatorially.  For the
symmetric group the answer is 2 (diagonal, off-diagonal: :math:`\lambda I +
\gamma \mathbf{1}\mathbf{1}^\top`), for the cyclic group :math:`n` (circulant
matrices).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = [
    "permutation_matrix",
    "symmetric_group_generators",
    "cyclic_group_generators",
    "commutant_basis",
    "commutant_dimension",
    "pair_orbits",
    "tied_matrix",
    "symmetric_commutant_dimension",
    "cyclic_commutant_dimension",
]


def permutation_matrix(perm: Sequence[int], dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The matrix ``P`` with ``(P x)[perm[i]] = x[i]``: it moves entry ``i`` to place ``perm[i]``."""
    perm = torch.as_tensor(list(perm), dtype=torch.long)
    n = len(perm)
    if sorted(perm.tolist()) != list(range(n)):
        raise ValueError(f"{perm.tolist()} is not a permutation of 0..{n - 1}")
    p = torch.zeros(n, n, dtype=dtype)
    p[perm, torch.arange(n)] = 1.0
    return p


def symmetric_group_generators(n: int) -> list[list[int]]:
    """Two permutations that generate all of :math:`S_n`: a swap ``(0 1)`` and the cycle ``i -> i+1``."""
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    swap = [1, 0, *range(2, n)]
    return [swap, [(i + 1) % n for i in range(n)]]


def cyclic_group_generators(n: int) -> list[list[int]]:
    """The single cycle ``i -> i+1 (mod n)`` that generates the cyclic group :math:`C_n`."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    return [[(i + 1) % n for i in range(n)]]


def commutant_basis(generators: Sequence[Sequence[int]], n: int | None = None) -> torch.Tensor:
    r"""An orthonormal basis of :math:`\{W : P W = W P \text{ for every generator } P\}`.

    Commuting with the generators is the same as commuting with the whole group
    they generate.  Each constraint :math:`PW - WP = 0` is linear in
    :math:`\mathrm{vec}(W)`: stacking them gives a matrix whose null space is the
    commutant, found from a singular value decomposition in float64.

    Returns:
        ``(k, n, n)``, ``k`` the dimension of the commutant.
    """
    generators = [list(g) for g in generators]
    if n is None:
        if not generators:
            raise ValueError("give at least one generator, or n")
        n = len(generators[0])
    eye = torch.eye(n, dtype=torch.float64)
    if not generators:
        return eye.reshape(n * n, n, n)  # every matrix commutes with the identity alone
    rows = []
    for g in generators:
        p = permutation_matrix(g)
        # vec(PW - WP) = (I (x) P - P^T (x) I) vec(W) in column-major vec; any consistent
        # ordering works because we only need the null space.
        rows.append(torch.kron(eye, p) - torch.kron(p.T.contiguous(), eye))
    constraints = torch.cat(rows)
    _, s, vh = torch.linalg.svd(constraints)
    tol = max(constraints.shape) * torch.finfo(torch.float64).eps * (s.max() if s.numel() else 1.0)
    rank = int((s > tol).sum())
    null = vh[rank:]  # (k, n*n), orthonormal rows
    return null.reshape(-1, n, n).transpose(-1, -2)  # undo the column-major vec


def commutant_dimension(generators: Sequence[Sequence[int]], n: int | None = None) -> int:
    """How many free parameters a linear layer equivariant to the group keeps (numerically)."""
    return commutant_basis(generators, n).shape[0]


def pair_orbits(generators: Sequence[Sequence[int]], n: int | None = None) -> torch.Tensor:
    r"""Label each entry :math:`(i, j)` of an :math:`n \times n` matrix by its orbit under the group.

    Two entries get the same label exactly when some group element maps one pair
    of indices onto the other, :math:`(g(i), g(j))`.  Tying all entries with the
    same label is the parameter-sharing scheme that makes :math:`W` equivariant.
    Computed by a union–find over the generators (no group elements are listed).

    Returns:
        ``(n, n)`` integer labels ``0 .. k-1``, numbered in order of first appearance
        when the matrix is read row by row.
    """
    generators = [list(g) for g in generators]
    if n is None:
        n = len(generators[0])
    parent = list(range(n * n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for g in generators:
        if sorted(g) != list(range(n)):
            raise ValueError(f"{g} is not a permutation of 0..{n - 1}")
        for i in range(n):
            for j in range(n):
                a, b = find(i * n + j), find(g[i] * n + g[j])
                if a != b:
                    parent[a] = b
    labels: dict[int, int] = {}
    out = torch.empty(n * n, dtype=torch.long)
    for k in range(n * n):
        out[k] = labels.setdefault(find(k), len(labels))
    return out.reshape(n, n)


def tied_matrix(labels: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Fill a matrix from a tying pattern: entry ``(i, j)`` is ``values[labels[i, j]]``.

    Differentiable in ``values``; the gradient of each value is the sum over the
    entries tied to it.
    """
    if values.dim() != 1 or int(labels.max()) >= values.numel():
        raise ValueError(
            f"need one value per label (0..{int(labels.max())}), got shape {tuple(values.shape)}"
        )
    return values[labels]


def symmetric_commutant_dimension(n: int) -> int:
    r"""Closed form for :math:`S_n`: pairs :math:`(i, i)` and pairs :math:`(i, j \ne i)` are two orbits."""
    return 1 if n == 1 else 2


def cyclic_commutant_dimension(n: int) -> int:
    r"""Closed form for :math:`C_n`: the orbit of :math:`(i, j)` is fixed by :math:`j - i \bmod n`."""
    return n
