r"""Closed forms for orthogonal projectors, the tied weights of Part I, section 10.

A matrix :math:`P \in \mathbb{R}^{n\times n}` with :math:`P = P^\top` and
:math:`P^2 = P` has eigenvalues :math:`\lambda` with :math:`\lambda^2 = \lambda`,
so every eigenvalue, and (being symmetric and positive semi-definite) every
singular value, is 0 or 1.  Hence

.. math::
    \lVert P \rVert_F^2 = \sum_i \sigma_i^2 = \#\{i : \sigma_i = 1\} = \operatorname{rank} P
    = \operatorname{tr} P,

and if :math:`\lVert P\rVert_F^2 = \alpha n` the rank is :math:`\alpha n`: the
empirical distribution of the singular values is
:math:`\alpha\,\delta_1 + (1 - \alpha)\,\delta_0`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "projector_rank",
    "projector_frobenius_sq",
    "projector_singular_values",
    "projector_spectral_measure",
    "retained_energy",
]


def projector_rank(alpha: float, n: int) -> int:
    r"""The rank :math:`\alpha n` of a projector on :math:`\mathbb{R}^n` with :math:`\lVert P\rVert_F^2 = \alpha n`.

    Raises:
        ValueError: if :math:`\alpha \notin [0, 1]` or :math:`\alpha n` is not an
            integer (no projector has that Frobenius norm).
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    r = alpha * n
    if not math.isclose(r, round(r), abs_tol=1e-9):
        raise ValueError(
            f"alpha * n = {r:.6g} is not an integer, so no projector has ||P||_F^2 = {r:.6g}"
        )
    return int(round(r))


def projector_frobenius_sq(rank: int) -> int:
    r""":math:`\lVert P\rVert_F^2 = \operatorname{rank} P`: each unit singular value contributes 1."""
    if rank < 0:
        raise ValueError(f"rank must be non-negative, got {rank}")
    return rank


def projector_singular_values(n: int, rank: int) -> np.ndarray:
    """Singular values of any rank-``rank`` orthogonal projector on R^n, in decreasing order."""
    if not 0 <= rank <= n:
        raise ValueError(f"need 0 <= rank <= n, got rank={rank}, n={n}")
    return np.concatenate([np.ones(rank), np.zeros(n - rank)])


def projector_spectral_measure(alpha: float) -> dict[float, float]:
    r"""The singular-value distribution :math:`\alpha\,\delta_1 + (1-\alpha)\,\delta_0` as ``{atom: weight}``."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    return {0.0: 1.0 - alpha, 1.0: alpha}


def retained_energy(alpha: float) -> float:
    r""":math:`\mathbb{E}\lVert P x\rVert^2 / \mathbb{E}\lVert x\rVert^2 = \alpha` for isotropic :math:`x`.

    Because :math:`\lVert Px\rVert^2 = x^\top P x` and
    :math:`\mathbb{E}[x^\top P x] = \sigma^2 \operatorname{tr} P = \sigma^2 \alpha n`
    when :math:`\operatorname{Cov}(x) = \sigma^2 I`.  For data that is *not*
    isotropic a well-chosen (learned) subspace keeps more than :math:`\alpha`.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    return float(alpha)
