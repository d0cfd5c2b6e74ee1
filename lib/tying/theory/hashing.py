"""Closed forms for random weight sharing by hashing (HashedNets).

A hash sends each of ``n`` virtual weights to one of ``K`` buckets.  Treating
the hash as uniformly random gives the load of a bucket, the share of buckets
nobody uses, and, for a hashed inner product, the bias that the sign hash
removes (Weinberger et al., 2009).  The tests compare each formula with the
actual hash of :mod:`tying.layers.hashed`.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "bucket_load_mean",
    "bucket_load_variance",
    "expected_unused_fraction",
    "hashed_inner_product_mean",
]


def bucket_load_mean(n_virtual: int, num_buckets: int) -> float:
    """Mean number of virtual weights per bucket, ``n / K`` (exact for any hash)."""
    return n_virtual / num_buckets


def bucket_load_variance(n_virtual: int, num_buckets: int) -> float:
    """Variance of one bucket's load under a uniform hash: binomial, ``n (1/K)(1 - 1/K)``."""
    p = 1.0 / num_buckets
    return n_virtual * p * (1.0 - p)


def expected_unused_fraction(n_virtual: int, num_buckets: int) -> float:
    """Expected share of buckets that no virtual weight reads: ``(1 - 1/K)^n``, about ``exp(-n/K)``.

    With ``K = n`` (no compression at all) about ``1/e``, 37%, of the real
    weights are never used: a random hash is not a permutation.
    """
    return math.exp(n_virtual * math.log1p(-1.0 / num_buckets)) if num_buckets > 1 else 0.0


def hashed_inner_product_mean(
    x: torch.Tensor, y: torch.Tensor, num_buckets: int, *, signed: bool
) -> float:
    r"""Expected inner product of two hashed feature vectors, over a uniform random hash.

    Hashing ``x`` into ``K`` buckets gives :math:`\phi(x)_k = \sum_{j: h(j)=k} \xi(j) x_j`.
    A hashed layer computes exactly such inner products, between the input and its real
    weights.  Two different coordinates collide with probability :math:`1/K`, so

    .. math::
        \mathbb{E}\,\langle\phi(x), \phi(y)\rangle = \langle x, y\rangle
        + \frac{c}{K}\Big(\sum_j x_j \sum_{j'} y_{j'} - \langle x, y\rangle\Big),

    with :math:`c = 0` when the random signs :math:`\xi` are used (they cancel in
    expectation) and :math:`c = 1` without them.
    """
    inner = float(torch.dot(x.double(), y.double()))
    if signed:
        return inner
    cross = float(x.double().sum() * y.double().sum()) - inner
    return inner + cross / num_buckets
