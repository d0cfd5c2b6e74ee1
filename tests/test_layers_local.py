"""LocallyConnected2d against a slow per-position reference, forward and backward."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.modules.utils import _pair

from tying.device import get_device
from tying.layers import (
    LocallyConnected2d,
    conv2d_output_size,
    locally_connected2d,
    locally_connected2d_loop,
)


def random_case(seed, n, c_in, c_out, size, kernel, stride, padding, dilation, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    h_out, w_out = conv2d_output_size(
        _pair(size), _pair(kernel), _pair(stride), _pair(padding), _pair(dilation)
    )
    x = torch.randn(n, c_in, *_pair(size), generator=gen, dtype=dtype)
    w = torch.randn(h_out, w_out, c_out, c_in, *_pair(kernel), generator=gen, dtype=dtype)
    b = torch.randn(c_out, h_out, w_out, generator=gen, dtype=dtype)
    return x, w, b


CASES = [
    # n, c_in, c_out, size, kernel, stride, padding, dilation
    (2, 3, 4, 8, 3, 1, 0, 1),
    (1, 1, 2, (7, 9), (2, 3), (1, 2), (1, 0), 1),
    (3, 2, 3, 10, 3, 2, 1, 2),
    (2, 4, 1, 6, 1, 1, 0, 1),
]


@pytest.mark.parametrize("case", CASES)
def test_matches_reference_forward(case):
    x, w, b = random_case(0, *case)
    stride, padding, dilation = case[5:]
    fast = locally_connected2d(x, w, b, stride, padding, dilation)
    slow = locally_connected2d_loop(x, w, b, stride, padding, dilation)
    torch.testing.assert_close(fast, slow, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_matches_reference_gradients(case):
    x, w, b = random_case(1, *case)
    stride, padding, dilation = case[5:]
    grads = []
    for fn in (locally_connected2d, locally_connected2d_loop):
        leaves = [t.clone().requires_grad_() for t in (x, w, b)]
        out = fn(*leaves, stride, padding, dilation)
        (
            out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)
        ).sum().backward()
        grads.append([leaf.grad for leaf in leaves])
    for fast, slow in zip(*grads):
        torch.testing.assert_close(fast, slow, rtol=1e-12, atol=1e-12)


def test_gradcheck_float64():
    x, w, b = random_case(2, 1, 2, 2, 5, 3, 1, 1, 1)
    leaves = [t.requires_grad_() for t in (x, w, b)]
    assert torch.autograd.gradcheck(lambda *a: locally_connected2d(*a, 1, 1, 1), leaves)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    c_in=st.integers(1, 3),
    c_out=st.integers(1, 3),
    size=st.integers(3, 9),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
    padding=st.integers(0, 1),
    seed=st.integers(0, 2**16),
)
def test_matches_reference_on_random_shapes(n, c_in, c_out, size, kernel, stride, padding, seed):
    x, w, b = random_case(seed, n, c_in, c_out, size, kernel, stride, padding, 1)
    torch.testing.assert_close(
        locally_connected2d(x, w, b, stride, padding),
        locally_connected2d_loop(x, w, b, stride, padding),
        rtol=1e-12,
        atol=1e-12,
    )


def test_untied_copy_of_a_convolution_computes_the_convolution():
    conv = nn.Conv2d(3, 5, 3, stride=2, padding=1, dilation=1).double()
    local = LocallyConnected2d.from_conv2d(conv, in_size=(11, 9))
    x = torch.randn(4, 3, 11, 9, dtype=torch.float64)
    torch.testing.assert_close(local(x), conv(x))
    # ...and it really is untied: one position's kernel can change alone.
    with torch.no_grad():
        local.weight[0, 0].zero_()
    assert not torch.allclose(local(x), conv(x))


def test_parameter_count_is_positions_times_conv():
    local = LocallyConnected2d(3, 8, 5, in_size=32)
    conv = nn.Conv2d(3, 8, 5)
    n_local = sum(p.numel() for p in local.parameters())
    n_conv = sum(p.numel() for p in conv.parameters())
    assert (n_local, n_conv) == (476_672, 608)
    assert n_local == 28 * 28 * n_conv


def test_unbatched_input_like_conv2d():
    layer = LocallyConnected2d(2, 3, 3, in_size=(5, 6))
    x = torch.randn(2, 5, 6)
    assert layer(x).shape == (3, 3, 4)
    torch.testing.assert_close(layer(x), layer(x.unsqueeze(0)).squeeze(0))


@pytest.mark.parametrize(
    "shape, message",
    [
        (
            (4, 2, 32, 32),
            r"expected input of shape \(N, 3, 32, 32\) or \(3, 32, 32\), got \(4, 2, 32, 32\)",
        ),
        ((4, 3, 28, 28), r"expected input of shape \(N, 3, 32, 32\).*got \(4, 3, 28, 28\)"),
        ((32, 32), r"expected input of shape \(N, 3, 32, 32\).*got \(32, 32\)"),
        ((1, 1, 3, 32, 32), r"expected input of shape \(N, 3, 32, 32\)"),
    ],
)
def test_bad_shapes_name_the_expected_shape(shape, message):
    layer = LocallyConnected2d(3, 8, 5, in_size=32)
    with pytest.raises(ValueError, match=message):
        layer(torch.randn(*shape))


def test_non_tensor_and_integer_inputs_are_rejected():
    layer = LocallyConnected2d(1, 1, 3, in_size=4)
    with pytest.raises(TypeError, match="torch.Tensor"):
        layer([[1.0]])
    with pytest.raises(TypeError, match="floating-point"):
        layer(torch.ones(1, 1, 4, 4, dtype=torch.int64))


def test_kernel_larger_than_input_is_rejected_at_construction():
    with pytest.raises(ValueError, match="does not fit"):
        LocallyConnected2d(1, 1, 7, in_size=5)


def test_device_and_dtype_arguments():
    device = get_device()
    dtype = torch.float64 if device.type != "mps" else torch.float32
    layer = LocallyConnected2d(2, 3, 3, in_size=6, device=device, dtype=dtype)
    assert layer.weight.device.type == device.type and layer.weight.dtype == dtype
    assert layer(torch.randn(1, 2, 6, 6, device=device, dtype=dtype)).device.type == device.type


def test_repr_and_reset():
    layer = LocallyConnected2d(3, 8, 5, in_size=32, stride=1, padding=2, bias=False)
    text = repr(layer)
    assert "in_size=(32, 32)" in text and "out_size=(32, 32)" in text and "bias=False" in text
    before = layer.weight.detach().clone()
    layer.reset_parameters()
    assert not torch.equal(before, layer.weight)
    bound = 1 / (3 * 5 * 5) ** 0.5
    assert layer.weight.abs().max() <= bound


@pytest.mark.parametrize(
    "shape, message",
    [
        ((2, 4, 8, 8), r"expected an input of shape \(N, 3, H, W\), got \(2, 4, 8, 8\)"),
        ((3, 8, 8), r"expected an input of shape \(N, 3, H, W\)"),
        ((2, 3, 9, 8), r"spatial size \(9, 8\) gives 7x6 output positions but the weight has 6x6"),
    ],
)
def test_functional_form_checks_input_against_the_weight(shape, message):
    weight = torch.randn(6, 6, 2, 3, 3, 3)
    with pytest.raises(ValueError, match=message):
        locally_connected2d(torch.randn(*shape), weight)


def test_one_layer_serves_different_batch_sizes_and_matches_the_loop():
    # The gather index is cached per geometry; the batch size must not leak into it.
    x, w, b = random_case(7, 5, 2, 3, 6, 3, 1, 1, 1)
    for n in (5, 1, 3):
        torch.testing.assert_close(
            locally_connected2d(x[:n], w, b, padding=1),
            locally_connected2d_loop(x[:n], w, b, padding=1),
        )


def test_second_derivatives_and_vmap():
    # The layer is built from differentiable ops plus one identity autograd.Function;
    # both double backward and torch.func transforms must see through it.
    layer = LocallyConnected2d(2, 3, 3, in_size=5, padding=1, dtype=torch.float64)
    x = torch.randn(4, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(layer, (x,))
    per_sample = torch.func.vmap(layer)(x.detach().unsqueeze(1))
    torch.testing.assert_close(per_sample.squeeze(1), layer(x.detach()))
