"""The closed forms of tying.theory.hashing against the actual hash of HashedLinear."""

from __future__ import annotations

import math

import pytest
import torch

from tying.layers import HashedLinear, hash_indices
from tying.theory import (
    bucket_load_mean,
    bucket_load_variance,
    expected_unused_fraction,
    hashed_inner_product_mean,
)


def test_bucket_load_moments_match_the_hash():
    n_out, n_in, k = 300, 200, 500
    loads = torch.bincount(hash_indices(n_out, n_in, k, seed=7).flatten(), minlength=k).double()
    assert loads.mean().item() == pytest.approx(bucket_load_mean(n_out * n_in, k))
    assert loads.var().item() == pytest.approx(bucket_load_variance(n_out * n_in, k), rel=0.15)


@pytest.mark.parametrize(("n", "k"), [(256, 256), (256, 64), (100, 400)])
def test_unused_fraction_matches_the_hash(n, k):
    fractions = [
        (torch.bincount(hash_indices(1, n, k, seed=s).flatten(), minlength=k) == 0).double().mean()
        for s in range(300)
    ]
    simulated = torch.stack(fractions).mean().item()
    assert simulated == pytest.approx(expected_unused_fraction(n, k), abs=0.01)


def test_unused_fraction_limits():
    assert expected_unused_fraction(10_000, 10_000) == pytest.approx(math.exp(-1), rel=1e-3)
    assert expected_unused_fraction(5, 1) == 0.0
    assert expected_unused_fraction(0, 7) == 1.0


@pytest.mark.parametrize("signed", [True, False])
def test_hashed_inner_product_mean_matches_the_rows_of_a_layer(signed):
    # Every output unit of a hashed layer hashes the input with its own row of h and xi.
    n, k, rows = 20, 7, 20_000
    layer = HashedLinear(n, rows, num_buckets=k, signed=signed, seed=3, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    x, y = (
        torch.rand(n, generator=g, dtype=torch.float64),
        torch.rand(n, generator=g, dtype=torch.float64),
    )
    sign = layer.sign if signed else torch.ones(rows, n, dtype=torch.float64)
    phi_x = torch.zeros(rows, k, dtype=torch.float64).scatter_add_(1, layer.index, sign * x)
    phi_y = torch.zeros(rows, k, dtype=torch.float64).scatter_add_(1, layer.index, sign * y)
    samples = (phi_x * phi_y).sum(1)
    standard_error = samples.std().item() / math.sqrt(rows)
    expected = hashed_inner_product_mean(x, y, k, signed=signed)
    assert abs(samples.mean().item() - expected) < 4 * standard_error
    if not signed:
        assert expected - float(x @ y) > 20 * standard_error, "without signs the bias is large"
