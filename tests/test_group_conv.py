"""C4 group convolutions: equivariance, tying, gradients, shapes."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tying.device import get_device
from tying.layers import (
    GroupConv2d,
    LiftingConv2d,
    RotationPool,
    group_conv2d,
    lifting_conv2d,
    rotate_c4,
)
from tying.layers.group_conv import group_filter_bank, lifting_filter_bank


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def c4_net(dtype=None):
    """The rotation-invariant network of Part II, chapter 1, built from the layers."""
    return nn.Sequential(
        LiftingConv2d(1, 8, 3, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool3d(kernel_size=(1, 2, 2)),
        GroupConv2d(8, 16, 3, dtype=dtype),
        nn.ReLU(),
        RotationPool("max"),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10, dtype=dtype),
    )


def plain_net(dtype=None):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, dtype=dtype),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10, dtype=dtype),
    )


@pytest.mark.parametrize("k", [0, 1, 2, 3])
@pytest.mark.parametrize("kernel, padding, size", [(3, 1, 9), (5, 2, 8), (3, 0, 7), (1, 0, 6)])
def test_lifting_is_equivariant(k, kernel, padding, size):
    layer = LiftingConv2d(3, 5, kernel, padding=padding, dtype=torch.float64)
    x = randn(2, 3, size, size, seed=k)
    torch.testing.assert_close(layer(rotate_c4(x, k)), rotate_c4(layer(x), k))


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("kernel, padding, size", [(3, 1, 9), (5, 2, 8), (3, 0, 7)])
def test_group_conv_is_equivariant(k, kernel, padding, size):
    layer = GroupConv2d(4, 6, kernel, padding=padding, dtype=torch.float64)
    x = randn(2, 4, 4, size, size, seed=k)
    torch.testing.assert_close(layer(rotate_c4(x, k)), rotate_c4(layer(x), k))


def test_rotating_the_input_permutes_the_orientation_channels_cyclically():
    layer = LiftingConv2d(1, 2, 3, dtype=torch.float64)
    x = randn(1, 1, 8, 8)
    y, y_rot = layer(x), layer(torch.rot90(x, 1, dims=(-2, -1)))
    for r in range(4):
        # orientation r of the rotated input = orientation r-1 of the original, rotated
        torch.testing.assert_close(
            y_rot[:, :, r], torch.rot90(y[:, :, (r - 1) % 4], 1, dims=(-2, -1))
        )


def test_whole_network_is_invariant_and_a_plain_cnn_is_not():
    torch.manual_seed(0)
    c4 = c4_net(dtype=torch.float64)
    plain = plain_net(dtype=torch.float64)
    x = randn(5, 1, 8, 8)
    for k in (1, 2, 3):
        xr = torch.rot90(x, k, dims=(-2, -1))
        torch.testing.assert_close(c4(xr), c4(x))
        assert (plain(xr) - plain(x)).abs().max() > 1e-3


def test_a_wrong_tying_breaks_equivariance():
    """Rotating the filters without shifting their orientation axis is not a group convolution."""
    weight = randn(3, 2, 4, 3, 3)
    x = randn(1, 2, 4, 8, 8, seed=1)
    naive = torch.stack([torch.rot90(weight, r, dims=(-2, -1)) for r in range(4)], 1)
    naive = naive.flatten(0, 1).flatten(1, 2)

    def conv(bank, inp):
        return F.conv2d(inp.flatten(1, 2), bank, padding=1).unflatten(1, (3, 4))

    assert (conv(naive, rotate_c4(x)) - rotate_c4(conv(naive, x))).abs().max() > 1e-3
    good = group_filter_bank(weight)
    torch.testing.assert_close(conv(good, rotate_c4(x)), rotate_c4(conv(good, x)))


def test_filter_bank_holds_rotated_copies_of_one_parameter():
    layer = LiftingConv2d(2, 3, 3)
    bank = layer.filter_bank().reshape(3, 4, 2, 3, 3)
    for r in range(4):
        torch.testing.assert_close(bank[:, r], torch.rot90(layer.weight, r, dims=(-2, -1)))
    # one parameter, four uses: the gradient of the weight is the sum of the four copies' gradients
    x = randn(2, 2, 6, 6).float()
    bank_leaf = lifting_filter_bank(layer.weight).detach().requires_grad_()
    F.conv2d(x, bank_leaf, padding=1).square().sum().backward()
    layer(x).sub(layer.bias[:, None, None, None]).square().sum().backward()
    g = bank_leaf.grad.reshape(3, 4, 2, 3, 3)
    expected = sum(torch.rot90(g[:, r], -r, dims=(-2, -1)) for r in range(4))
    torch.testing.assert_close(layer.weight.grad, expected, rtol=1e-4, atol=1e-4)


def test_parameter_counts():
    lift = LiftingConv2d(3, 8, 5)
    group = GroupConv2d(8, 16, 3)
    assert sum(p.numel() for p in lift.parameters()) == 8 * 3 * 25 + 8
    assert sum(p.numel() for p in group.parameters()) == 16 * 8 * 4 * 9 + 16
    # the filter bank the convolution applies has four times as many entries
    assert lift.filter_bank().numel() == 4 * lift.weight.numel()
    assert group.filter_bank().numel() == 4 * group.weight.numel()
    # the two networks of the chapter have about the same budget
    n_plain = sum(p.numel() for p in plain_net().parameters())
    n_c4 = sum(p.numel() for p in c4_net().parameters())
    assert (n_plain, n_c4) == (5_130, 4_874)


def test_gradcheck_float64():
    x = randn(1, 2, 5, 5).requires_grad_()
    w = randn(2, 2, 3, 3, seed=1).requires_grad_()
    b = randn(2, seed=2).requires_grad_()
    assert torch.autograd.gradcheck(lambda *a: lifting_conv2d(*a, padding=1), (x, w, b))
    h = randn(1, 2, 4, 4, 4, seed=3).requires_grad_()
    v = randn(2, 2, 4, 3, 3, seed=4).requires_grad_()
    assert torch.autograd.gradcheck(lambda *a: group_conv2d(*a, padding=1), (h, v, b))


def test_rotation_pool_is_invariant_to_the_orientation_shift():
    x = randn(2, 3, 4, 5, 5)
    for mode in ("max", "mean"):
        pool = RotationPool(mode)
        torch.testing.assert_close(pool(rotate_c4(x)), torch.rot90(pool(x), 1, dims=(-2, -1)))
    assert pool(x[0]).shape == (3, 5, 5)


def test_unbatched_inputs():
    lift, group = LiftingConv2d(2, 3, 3), GroupConv2d(3, 2, 3)
    x = torch.randn(2, 6, 6)
    torch.testing.assert_close(lift(x), lift(x[None])[0])
    h = lift(x)
    assert h.shape == (3, 4, 6, 6)
    torch.testing.assert_close(group(h), group(h[None])[0])


@pytest.mark.parametrize(
    "layer, shape, message",
    [
        (LiftingConv2d(3, 4, 3), (2, 2, 8, 8), r"expected input of shape \(N, 3, H, H\)"),
        (LiftingConv2d(3, 4, 3), (2, 3, 8, 6), r"square inputs"),
        (GroupConv2d(3, 4, 3), (2, 3, 8, 8), r"expected input of shape \(N, 3, 4, H, H\)"),
        (GroupConv2d(3, 4, 3), (2, 3, 3, 8, 8), r"expected input of shape \(N, 3, 4, H, H\)"),
        (RotationPool(), (2, 3, 8, 8), r"expected input of shape \(N, C, 4, H, W\)"),
    ],
)
def test_bad_shapes_name_the_expected_shape(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer(torch.randn(*shape))


def test_bad_arguments():
    with pytest.raises(ValueError, match="odd kernel_size"):
        LiftingConv2d(1, 1, 4)
    with pytest.raises(ValueError, match="positive"):
        GroupConv2d(0, 1, 3)
    with pytest.raises(ValueError, match="mode"):
        RotationPool("min")
    with pytest.raises(ValueError, match=r"\(N, C, 4, H, W\)"):
        rotate_c4(torch.randn(1, 2, 3, 5, 5))


def test_device_dtype_repr_and_reset():
    device = get_device()
    dtype = torch.float64 if device.type != "mps" else torch.float32
    layer = GroupConv2d(2, 3, 3, device=device, dtype=dtype)
    assert layer.weight.device.type == device.type and layer.weight.dtype == dtype
    out = layer(torch.randn(1, 2, 4, 6, 6, device=device, dtype=dtype))
    assert out.device.type == device.type
    assert "group=C4" in repr(layer) and "padding=1" in repr(layer)
    before = layer.weight.detach().clone()
    layer.reset_parameters()
    assert not torch.equal(before, layer.weight)
    assert layer.weight.abs().max() <= 1 / (2 * 4 * 9) ** 0.5
    assert "bias=False" in repr(LiftingConv2d(1, 1, 3, bias=False))
