"""HashedLinear (HashedNets): the hash, the layer, its gradient, and the chapter's experiment at a tiny size."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tying.layers import HashedLinear, hash_indices, hash_signs, hashed_linear
from tying.layers.hashed import mix32


def _lowbias32(x: int) -> int:
    """Plain-Python reference of the mixer, with unbounded integers."""
    m = 0xFFFFFFFF
    x &= m
    x ^= x >> 16
    x = (x * 0x7FEB352D) & m
    x ^= x >> 15
    x = (x * 0x846CA68B) & m
    return x ^ (x >> 16)


def test_mix32_matches_the_reference_on_the_whole_range():
    xs = torch.cat(
        [torch.tensor([0, 1, 2**31 - 1, 2**31, 2**32 - 1]), torch.randint(0, 2**32, (2000,))]
    )
    assert [_lowbias32(int(x)) for x in xs] == mix32(xs).tolist()


def test_hash_is_deterministic_seeded_and_in_range():
    a = hash_indices(30, 20, 37, seed=5)
    assert a.shape == (30, 20) and a.dtype == torch.int64
    assert torch.equal(a, hash_indices(30, 20, 37, seed=5))
    assert not torch.equal(a, hash_indices(30, 20, 37, seed=6))
    assert int(a.min()) >= 0 and int(a.max()) < 37
    # A regression pin: the hash must never change, or saved models would load scrambled.
    assert hash_indices(2, 3, 1000, seed=0).tolist() == [[0, 952, 905], [133, 806, 568]]
    assert hash_signs(2, 3, seed=0).tolist() == [[1, 1, 1], [1, 1, -1]]
    with pytest.raises(ValueError):
        hash_indices(3, 3, 0)


def test_buckets_are_used_evenly_and_signs_are_balanced():
    idx = hash_indices(200, 100, 250, seed=1)
    counts = torch.bincount(idx.flatten(), minlength=250).double()
    expected = idx.numel() / 250  # 80 per bucket
    chi2 = ((counts - expected) ** 2 / expected).sum().item()
    assert 150 < chi2 < 360, "chi-square with 249 degrees of freedom"
    signs = hash_signs(200, 100, seed=1)
    assert set(signs.unique().tolist()) == {-1.0, 1.0}
    assert abs(signs.mean().item()) < 0.03
    # The sign hash is independent of the bucket hash.
    assert (
        abs(torch.corrcoef(torch.stack([signs.flatten(), (idx.flatten() % 2).double()]))[0, 1])
        < 0.03
    )


def test_layer_matches_an_explicit_matrix():
    layer = HashedLinear(7, 5, num_buckets=9, seed=3)
    v = torch.empty(5, 7)
    for i in range(5):
        for j in range(7):
            v[i, j] = layer.sign[i, j] * layer.weight[layer.index[i, j]]
    torch.testing.assert_close(layer.virtual_weight(), v)
    x = torch.randn(4, 7)
    torch.testing.assert_close(layer(x), x @ v.T + layer.bias)
    torch.testing.assert_close(layer(x[0]), layer(x)[0])
    torch.testing.assert_close(layer(x.reshape(2, 2, 7)), layer(x).reshape(2, 2, 5))


def test_gradient_of_a_shared_weight_is_the_signed_sum_over_its_uses():
    layer = HashedLinear(6, 4, num_buckets=5, seed=2, dtype=torch.float64)
    x = torch.randn(3, 6, dtype=torch.float64)
    target = torch.randn(3, 4, dtype=torch.float64)
    ((layer(x) - target) ** 2).sum().backward()
    # Gradient with respect to the virtual matrix, computed as for an untied Linear.
    v = layer.virtual_weight().detach().requires_grad_(True)
    ((x @ v.T + layer.bias.detach() - target) ** 2).sum().backward()
    expected = torch.zeros(5, dtype=torch.float64)
    for (i, j), k in np.ndenumerate(layer.index.numpy()):
        expected[k] += layer.sign[i, j] * v.grad[i, j]
    torch.testing.assert_close(layer.weight.grad, expected)


def test_gradcheck_float64():
    layer = HashedLinear(5, 3, num_buckets=4, dtype=torch.float64)
    x = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)
    fn = lambda x, w, b: hashed_linear(x, w, layer.index, layer.sign, b)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, layer.weight, layer.bias))


def test_unsigned_layer_and_full_width_buckets():
    layer = HashedLinear(4, 3, num_buckets=12, signed=False, bias=False)
    assert layer.sign is None and layer.bias is None
    torch.testing.assert_close(layer.virtual_weight(), layer.weight[layer.index])
    # Even K = in * out leaves collisions: the hash is random, not a permutation.
    used = (layer.bucket_sizes() > 0).sum().item()
    assert used <= 12 and layer.bucket_sizes().sum().item() == 12


@settings(max_examples=25, deadline=None)
@given(
    n_in=st.integers(1, 40),
    n_out=st.integers(1, 40),
    compression=st.floats(0.001, 1.0),
    batch=st.integers(1, 4),
)
def test_shapes_and_parameter_counts(n_in, n_out, compression, batch):
    layer = HashedLinear(n_in, n_out, compression=compression)
    k = max(1, math.ceil(compression * n_in * n_out))
    assert layer.num_buckets == k == layer.weight.numel()
    assert sum(p.numel() for p in layer.parameters()) == k + n_out
    assert layer(torch.randn(batch, n_in)).shape == (batch, n_out)
    assert int(layer.bucket_sizes().sum()) == n_in * n_out


def test_state_dict_holds_only_the_real_weights_and_reloads_exactly():
    layer = HashedLinear(32, 16, compression=1 / 8, seed=4)
    state = layer.state_dict()
    assert set(state) == {"weight", "bias"} and state["weight"].numel() == 64
    twin = HashedLinear(32, 16, compression=1 / 8, seed=4)
    twin.load_state_dict(state)
    x = torch.randn(3, 32)
    torch.testing.assert_close(twin(x), layer(x))


def test_dtype_device_conversion_and_repr():
    layer = HashedLinear(8, 4, compression=0.5, seed=1, device="cpu", dtype=torch.float64)
    assert layer.weight.dtype == torch.float64 and layer.sign.dtype == torch.float64
    layer = layer.float()
    assert layer.sign.dtype == torch.float32 and layer.index.dtype == torch.int64
    assert layer(torch.randn(2, 8)).dtype == torch.float32
    text = repr(HashedLinear(8, 4, num_buckets=3, seed=2, signed=False, bias=False))
    for part in (
        "in_features=8",
        "out_features=4",
        "num_buckets=3",
        "signed=False",
        "seed=2",
        "bias=False",
    ):
        assert part in text


def test_bad_arguments_and_bad_inputs_raise():
    with pytest.raises(ValueError, match="exactly one"):
        HashedLinear(4, 4)
    with pytest.raises(ValueError, match="exactly one"):
        HashedLinear(4, 4, 3, compression=0.5)
    with pytest.raises(ValueError, match="compression"):
        HashedLinear(4, 4, compression=1.5)
    with pytest.raises(ValueError, match="at least 1"):
        HashedLinear(4, 4, 0)
    with pytest.raises(ValueError, match="positive"):
        HashedLinear(0, 4, 3)
    layer = HashedLinear(4, 3, 5)
    with pytest.raises(ValueError, match=r"\(\*, 4\)"):
        layer(torch.randn(2, 5))
    with pytest.raises(TypeError):
        layer(torch.ones(2, 4, dtype=torch.int64))


def test_initialisation_matches_linear_bounds():
    layer = HashedLinear(100, 50, compression=0.5)
    bound = 1 / math.sqrt(100)
    assert layer.weight.abs().max() <= bound
    assert layer.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.1)
