r"""How many directions in parameter space leave a tied linear autoencoder's function unchanged.

The tied autoencoder :math:`f_W(x) = W^\top W x`, :math:`W \in \mathbb{R}^{m \times n}`,
depends on :math:`W` only through the Gram map :math:`\Phi(W) = W^\top W`.
Moving :math:`W` along the kernel of the Jacobian :math:`d\Phi_W` changes the
function only to second order; these are the *degenerate* directions.

At a :math:`W` of rank :math:`r` (write it as :math:`U \operatorname{diag}(D, 0) V^\top`),
:math:`d\Phi_W(\Delta) = W^\top\Delta + \Delta^\top W` has an image made of an
arbitrary symmetric :math:`r \times r` block and an arbitrary
:math:`r \times (n - r)` block, so

.. math::
    \operatorname{rank} d\Phi_W = \frac{r(r+1)}{2} + r(n - r), \qquad
    \dim\ker d\Phi_W = mn - \operatorname{rank} d\Phi_W = (m - r)\,n + \frac{r(r-1)}{2}.

For a full-rank :math:`W`, :math:`r = \min(m, n)`:

* :math:`m \ge n` (overcomplete): :math:`mn - n(n+1)/2`, the formula usually quoted;
* :math:`m < n` (a bottleneck): :math:`m(m-1)/2 = \dim O(m)`. The quoted formula would
  give :math:`mn - n(n+1)/2`, which is smaller than this and negative once
  :math:`n \ge 2m`.

In both full-rank cases the kernel is exactly the tangent space of the orbit
:math:`\{QW : Q \in O(m)\}`, whose dimension is :math:`\dim O(m) - \dim O(m - r)`.
For rank-deficient :math:`W` the kernel is larger than the orbit.
"""

from __future__ import annotations

__all__ = [
    "orthogonal_group_dim",
    "gram_map_rank",
    "degeneracy_dim",
    "overcomplete_degeneracy_dim",
    "orbit_dim",
    "untied_degeneracy_dim",
]


def _check(m: int, n: int, rank: int | None) -> int:
    if m <= 0 or n <= 0:
        raise ValueError(f"m and n must be positive, got m={m}, n={n}")
    r = min(m, n) if rank is None else rank
    if not 0 <= r <= min(m, n):
        raise ValueError(f"rank must lie in [0, min(m, n)] = [0, {min(m, n)}], got {rank}")
    return r


def orthogonal_group_dim(m: int) -> int:
    r""":math:`\dim O(m) = m(m-1)/2`: the number of independent entries of a skew-symmetric :math:`m \times m` matrix."""
    if m < 0:
        raise ValueError(f"m must be non-negative, got {m}")
    return m * (m - 1) // 2


def gram_map_rank(m: int, n: int, rank: int | None = None) -> int:
    r"""Rank of the Jacobian of :math:`W \mapsto W^\top W` at a :math:`W \in \mathbb{R}^{m\times n}` of rank :math:`r`.

    :math:`r(r+1)/2 + r(n-r)`; ``rank=None`` means full rank, :math:`r = \min(m, n)`.
    For full rank this is also the dimension of the set of Gram matrices the
    model can produce near :math:`W`: all symmetric :math:`n \times n` matrices
    when :math:`m \ge n`, the rank-:math:`m` ones when :math:`m < n`.
    """
    r = _check(m, n, rank)
    return r * (r + 1) // 2 + r * (n - r)


def degeneracy_dim(m: int, n: int, rank: int | None = None) -> int:
    r"""Dimension of the kernel of the Jacobian of :math:`W \mapsto W^\top W`: :math:`(m - r)n + r(r-1)/2`.

    ``rank=None`` means a full-rank :math:`W`, which gives :math:`mn - n(n+1)/2`
    for :math:`m \ge n` and :math:`m(m-1)/2` for :math:`m < n`.

    Example:
        >>> degeneracy_dim(5, 3), degeneracy_dim(3, 5)
        (9, 3)
    """
    r = _check(m, n, rank)
    return m * n - gram_map_rank(m, n, r)


def overcomplete_degeneracy_dim(m: int, n: int) -> int:
    r""":math:`mn - n(n+1)/2`, the usual formula; valid for full-rank :math:`W` with :math:`m \ge n` only.

    Returned as written for any :math:`m, n` so that a chapter can show where
    it breaks; :func:`degeneracy_dim` is correct everywhere.
    """
    _check(m, n, None)
    return m * n - n * (n + 1) // 2


def orbit_dim(m: int, rank: int) -> int:
    r"""Dimension of the orbit :math:`\{QW : Q \in O(m)\}` of a :math:`W` with :math:`m` rows and rank :math:`r`.

    The orbit is :math:`O(m)` modulo the stabiliser of :math:`W`, the rotations
    of the :math:`m - r` directions that :math:`W^\top` does not see:
    :math:`\dim O(m) - \dim O(m - r) = mr - r(r+1)/2`.
    """
    if not 0 <= rank <= m:
        raise ValueError(f"need 0 <= rank <= m, got rank={rank}, m={m}")
    return orthogonal_group_dim(m) - orthogonal_group_dim(m - rank)


def untied_degeneracy_dim(m: int, n: int) -> int:
    r"""Degenerate directions of the *untied* autoencoder :math:`x \mapsto VWx`, :math:`V \in \mathbb{R}^{n\times m}`.

    At full-rank :math:`V, W` the product has rank :math:`r = \min(m, n)` and
    the rank-:math:`r` :math:`n \times n` matrices form a manifold of dimension
    :math:`r(2n - r)`, so :math:`2mn - r(2n - r)` of the :math:`2mn` directions
    are degenerate: :math:`m^2 = \dim GL(m)` for a bottleneck (:math:`V \to VG^{-1}`,
    :math:`W \to GW` for any invertible :math:`G`), and :math:`2mn - n^2` for
    :math:`m \ge n`.
    """
    _check(m, n, None)
    r = min(m, n)
    return 2 * m * n - r * (2 * n - r)
