r"""Rotation-equivariant convolutions for the group C4, built by tying rotated filters.

A convolution ties one kernel across all *translations*; a group convolution
(Cohen & Welling, 2016) also ties it across *rotations* by multiples of 90°.
Each learnable filter is used four times, rotated by 0°, 90°, 180° and 270°,
and the four responses are kept as an extra "orientation" axis of the feature
map.  Rotating the input then rotates every feature map and cyclically shifts
the orientation axis, so the network knows *that* something turned without
having to learn the turned version separately.

Feature maps on the group are tensors of shape ``(N, C, 4, H, W)``: channel,
orientation :math:`r \in \{0, 1, 2, 3\}` (rotation by :math:`r \cdot 90°`),
then space.  Rotations are :func:`torch.rot90` over the last two axes
(counter-clockwise as an array is printed), and
:func:`rotate_c4` applies the group action to such a tensor.

Three layers:

* :class:`LiftingConv2d` maps an ordinary image ``(N, C, H, W)`` to the group
  (:math:`\mathbb{Z}^2 \to` p4): four rotated copies of each filter;
* :class:`GroupConv2d` maps group features to group features (p4 → p4): each
  filter has its own orientation axis, and the copy for output orientation
  :math:`r` is rotated spatially *and* shifted cyclically along that axis;
* :class:`RotationPool` pools over the orientation axis (max or mean), which
  makes the result invariant to the orientation shift, i.e. an ordinary
  feature map that rotates with the input.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._validation import check_trailing_shape

__all__ = [
    "C4_ORDER",
    "rotate_c4",
    "lifting_filter_bank",
    "group_filter_bank",
    "lifting_conv2d",
    "group_conv2d",
    "LiftingConv2d",
    "GroupConv2d",
    "RotationPool",
]

#: Number of rotations in C4.
C4_ORDER = 4


def rotate_c4(x: torch.Tensor, k: int = 1) -> torch.Tensor:
    """The action of a rotation by ``k * 90°`` on an image or on a feature map on C4.

    * ``(..., H, W)`` with no orientation axis (``dim() <= 4``): the image is rotated,
      ``torch.rot90(x, k, dims=(-2, -1))``.
    * ``(N, C, 4, H, W)`` (``dim() == 5``): every map is rotated *and* the
      orientation axis is rolled by ``k``, because the response that orientation
      ``r`` gave before the turn is now given by orientation ``r + k``.
    """
    k = k % C4_ORDER
    out = torch.rot90(x, k, dims=(-2, -1))
    if x.dim() == 5:
        if x.shape[2] != C4_ORDER:
            raise ValueError(f"a feature map on C4 has shape (N, C, 4, H, W), got {tuple(x.shape)}")
        out = torch.roll(out, shifts=k, dims=2)
    return out


def lifting_filter_bank(weight: torch.Tensor) -> torch.Tensor:
    r"""The four rotated copies of each lifting filter, as one ``conv2d`` weight.

    Args:
        weight: ``(C_out, C_in, k, k)``, the learnable filters :math:`\psi`.

    Returns:
        ``(C_out * 4, C_in, k, k)``: row ``o * 4 + r`` is :math:`\psi_o` rotated by
        :math:`r \cdot 90°`.  Every entry is a copy of a parameter: the bank has four
        times as many entries and exactly as many free parameters as ``weight``.
    """
    if weight.dim() != 4 or weight.shape[-1] != weight.shape[-2]:
        raise ValueError(f"expected square filters (C_out, C_in, k, k), got {tuple(weight.shape)}")
    bank = torch.stack([torch.rot90(weight, r, dims=(-2, -1)) for r in range(C4_ORDER)], dim=1)
    return bank.flatten(0, 1)


def group_filter_bank(weight: torch.Tensor) -> torch.Tensor:
    r"""The filter bank of a p4 → p4 convolution, as one ``conv2d`` weight.

    The copy used for output orientation :math:`r` is the filter rotated by
    :math:`r \cdot 90°` in space and rolled by :math:`r` along its own
    orientation axis: :math:`\psi_r(q, s) = \psi(R^{-r} q,\, s - r)`.

    Args:
        weight: ``(C_out, C_in, 4, k, k)``.

    Returns:
        ``(C_out * 4, C_in * 4, k, k)``, ordered to match inputs reshaped from
        ``(N, C_in, 4, H, W)`` to ``(N, C_in * 4, H, W)``.
    """
    if weight.dim() != 5 or weight.shape[2] != C4_ORDER or weight.shape[-1] != weight.shape[-2]:
        raise ValueError(
            f"expected square filters on C4 (C_out, C_in, 4, k, k), got {tuple(weight.shape)}"
        )
    copies = [
        torch.roll(torch.rot90(weight, r, dims=(-2, -1)), shifts=r, dims=2) for r in range(C4_ORDER)
    ]
    bank = torch.stack(copies, dim=1)  # (C_out, 4, C_in, 4, k, k)
    return bank.flatten(0, 1).flatten(1, 2)


def lifting_conv2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    padding: int = 0,
) -> torch.Tensor:
    """Correlate an image with the four rotations of every filter.

    Args:
        input: ``(N, C_in, H, W)``.
        weight: ``(C_out, C_in, k, k)``.
        bias: ``(C_out,)``, shared by the four orientations (otherwise the
            orientations would not be interchangeable).
        padding: zero padding on every side; ``k // 2`` keeps the size.

    Returns:
        ``(N, C_out, 4, H_out, W_out)``.
    """
    c_out = weight.shape[0]
    out = F.conv2d(input, lifting_filter_bank(weight), padding=padding)
    out = out.unflatten(1, (c_out, C4_ORDER))
    if bias is not None:
        out = out + bias[:, None, None, None]
    return out


def group_conv2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    padding: int = 0,
) -> torch.Tensor:
    """Correlate a feature map on C4 with rotated, cyclically shifted filters.

    Args:
        input: ``(N, C_in, 4, H, W)``.
        weight: ``(C_out, C_in, 4, k, k)``.
        bias: ``(C_out,)``, shared by the four orientations.
        padding: zero padding on every side.

    Returns:
        ``(N, C_out, 4, H_out, W_out)``.
    """
    c_out = weight.shape[0]
    out = F.conv2d(input.flatten(1, 2), group_filter_bank(weight), padding=padding)
    out = out.unflatten(1, (c_out, C4_ORDER))
    if bias is not None:
        out = out + bias[:, None, None, None]
    return out


def _check_square_input(input: torch.Tensor, layer: str) -> None:
    # rot90 maps an H x W grid onto a W x H grid: equivariance needs H == W.
    if input.shape[-1] != input.shape[-2]:
        raise ValueError(
            f"{layer} needs square inputs so that a 90° rotation maps the grid onto itself, "
            f"got spatial size {tuple(input.shape[-2:])}"
        )


class _C4ConvBase(nn.Module):
    """What the lifting and the group convolution share: arguments, init, repr."""

    _group_axis: int  # 1 if the filters have an orientation axis, else 0

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        padding: int | str = "same",
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(
                f"channel counts must be positive, got in={in_channels}, out={out_channels}"
            )
        if not isinstance(kernel_size, int) or kernel_size <= 0:
            raise ValueError(f"kernel_size must be a positive int (square), got {kernel_size!r}")
        if padding == "same":
            if kernel_size % 2 == 0:
                raise ValueError("padding='same' needs an odd kernel_size")
            padding = kernel_size // 2
        if not isinstance(padding, int) or padding < 0:
            raise ValueError(f"padding must be 'same' or a non-negative int, got {padding!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.padding = padding
        factory = {"device": device, "dtype": dtype}
        orientation = (C4_ORDER,) if self._group_axis else ()
        self.weight = nn.Parameter(
            torch.empty(
                out_channels, in_channels, *orientation, kernel_size, kernel_size, **factory
            )
        )
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    @property
    def fan_in(self) -> int:
        return self.weight[0].numel()

    def reset_parameters(self) -> None:
        """Uniform in ``±1/sqrt(fan_in)``, the bound ``Conv2d`` uses, with the true fan-in."""
        bound = 1.0 / math.sqrt(self.fan_in)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"padding={self.padding}, group=C4"
        )
        if self.bias is None:
            s += ", bias=False"
        return s


class LiftingConv2d(_C4ConvBase):
    r"""Lift an image to a feature map on the rotation group C4 (:math:`\mathbb{Z}^2 \to` p4).

    Each output channel :math:`o` has one learnable filter :math:`\psi_o`; it is
    correlated with the input in four orientations,

    .. math::
        y_{o,r}(p) = b_o + \sum_{c}\sum_{q} (R^{r}\psi_{o,c})(q)\, x_c(p + q),
        \qquad r = 0, 1, 2, 3,

    where :math:`R^r \psi` is the filter rotated by :math:`r \cdot 90°`.  The four
    copies are tied: they are views of one parameter, so the gradient of
    :math:`\psi_o` is the sum of the gradients of its four uses.  Rotating the input
    rotates every output map and rolls the orientation axis by one:
    ``layer(rotate_c4(x)) == rotate_c4(layer(x))``.

    Args:
        in_channels: channels :math:`C_\text{in}` of the input image.
        out_channels: channels :math:`C_\text{out}` of the output (each with 4 orientations).
        kernel_size: side :math:`k` of the square filters.
        padding: ``"same"`` (default, :math:`k/2` rounded down, odd :math:`k` only) or an int.
            Zero padding is the same on every side, so it commutes with rotations.
        bias: if ``True`` (default), one bias per output channel, shared by the orientations.
        device, dtype: where and how to allocate the parameters, as in torch's own layers.

    Shape:
        - Input: :math:`(N, C_\text{in}, H, H)` or :math:`(C_\text{in}, H, H)` (square).
        - Output: :math:`(N, C_\text{out}, 4, H_\text{out}, H_\text{out})` or
          :math:`(C_\text{out}, 4, H_\text{out}, H_\text{out})`, with
          :math:`H_\text{out} = H + 2p - k + 1`.

    Attributes:
        weight: learnable, shape :math:`(C_\text{out}, C_\text{in}, k, k)`.
        bias: learnable, shape :math:`(C_\text{out},)`.

    Examples:
        >>> layer = LiftingConv2d(1, 8, kernel_size=3)
        >>> x = torch.randn(2, 1, 8, 8)
        >>> layer(x).shape
        torch.Size([2, 8, 4, 8, 8])
        >>> torch.allclose(layer(rotate_c4(x)), rotate_c4(layer(x)), atol=1e-6)
        True
    """

    _group_axis = 0

    def filter_bank(self) -> torch.Tensor:
        """The ``(C_out * 4, C_in, k, k)`` tied filter bank actually applied."""
        return lifting_filter_bank(self.weight)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        unbatched = check_trailing_shape(
            input,
            (self.in_channels, None, None),
            layer=type(self).__name__,
            symbols=("C", "H", "H"),
        )
        _check_square_input(input, type(self).__name__)
        if unbatched:
            input = input.unsqueeze(0)
        out = lifting_conv2d(input, self.weight, self.bias, self.padding)
        return out.squeeze(0) if unbatched else out


class GroupConv2d(_C4ConvBase):
    r"""Convolution on the rotation–translation group p4: C4 feature maps in, C4 feature maps out.

    Each learnable filter :math:`\psi_{o,c}` now has an orientation axis of its own,
    :math:`\psi_{o,c}(q, s)` with :math:`s \in \{0,1,2,3\}`.  For output orientation
    :math:`r` it is used rotated in space *and* shifted along that axis,

    .. math::
        y_{o,r}(p) = b_o + \sum_{c}\sum_{s}\sum_{q}
            \psi_{o,c}\big(R^{-r} q,\, s - r\big)\, x_{c,s}(p + q),

    (indices mod 4), which is the group correlation of Cohen & Welling (2016) for
    p4.  Again the four copies are tied to one parameter tensor, and the layer
    commutes with the group action: ``layer(rotate_c4(x)) == rotate_c4(layer(x))``.

    Args:
        in_channels: channels :math:`C_\text{in}` of the input (each with 4 orientations).
        out_channels: channels :math:`C_\text{out}` of the output.
        kernel_size: side :math:`k` of the square filters.
        padding: ``"same"`` (default) or an int, zero padding on every side.
        bias: if ``True`` (default), one bias per output channel, shared by the orientations.
        device, dtype: where and how to allocate the parameters, as in torch's own layers.

    Shape:
        - Input: :math:`(N, C_\text{in}, 4, H, H)` or :math:`(C_\text{in}, 4, H, H)`.
        - Output: :math:`(N, C_\text{out}, 4, H_\text{out}, H_\text{out})` or unbatched,
          with :math:`H_\text{out} = H + 2p - k + 1`.

    Attributes:
        weight: learnable, shape :math:`(C_\text{out}, C_\text{in}, 4, k, k)`.
        bias: learnable, shape :math:`(C_\text{out},)`.

    Examples:
        >>> layer = GroupConv2d(8, 16, kernel_size=3)
        >>> x = torch.randn(2, 8, 4, 8, 8)
        >>> layer(x).shape
        torch.Size([2, 16, 4, 8, 8])
        >>> torch.allclose(layer(rotate_c4(x)), rotate_c4(layer(x)), atol=1e-5)
        True
    """

    _group_axis = 1

    def filter_bank(self) -> torch.Tensor:
        """The ``(C_out * 4, C_in * 4, k, k)`` tied filter bank actually applied."""
        return group_filter_bank(self.weight)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        unbatched = check_trailing_shape(
            input,
            (self.in_channels, C4_ORDER, None, None),
            layer=type(self).__name__,
            symbols=("C", "4", "H", "H"),
        )
        _check_square_input(input, type(self).__name__)
        if unbatched:
            input = input.unsqueeze(0)
        out = group_conv2d(input, self.weight, self.bias, self.padding)
        return out.squeeze(0) if unbatched else out


class RotationPool(nn.Module):
    r"""Pool a C4 feature map over its orientation axis: :math:`y_c(p) = \max_r x_{c,r}(p)`.

    The orientation axis is the only place where a rotation of the input shows up
    other than in space, so pooling it away leaves ordinary feature maps that
    simply rotate with the input.  Follow it with a global spatial pooling and
    the result is *invariant* to rotations by multiples of 90°.

    Args:
        mode: ``"max"`` (default) or ``"mean"``.

    Shape:
        - Input: :math:`(N, C, 4, H, W)` or :math:`(C, 4, H, W)`.
        - Output: :math:`(N, C, H, W)` or :math:`(C, H, W)`.

    Examples:
        >>> pool = RotationPool()
        >>> x = torch.randn(2, 3, 4, 5, 5)
        >>> torch.equal(pool(rotate_c4(x)), torch.rot90(pool(x), 1, dims=(-2, -1)))
        True
    """

    def __init__(self, mode: str = "max") -> None:
        super().__init__()
        if mode not in ("max", "mean"):
            raise ValueError(f"mode must be 'max' or 'mean', got {mode!r}")
        self.mode = mode

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        check_trailing_shape(
            input,
            (None, C4_ORDER, None, None),
            layer=type(self).__name__,
            symbols=("C", "4", "H", "W"),
        )
        if self.mode == "max":
            return input.amax(dim=-3)
        return input.mean(dim=-3)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"
