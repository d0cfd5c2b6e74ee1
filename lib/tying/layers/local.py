"""Locally connected layers: convolution's geometry without its weight sharing.

A locally connected layer looks at the same small patch of the input as a
convolution does, but every output position owns its kernel.  Comparing the
two isolates the effect of tying: the receptive fields are identical, only the
sharing differs.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair

from ._validation import check_trailing_shape

__all__ = [
    "LocallyConnected2d",
    "locally_connected2d",
    "locally_connected2d_loop",
    "conv2d_output_size",
]


def conv2d_output_size(
    in_size: tuple[int, int],
    kernel_size: tuple[int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> tuple[int, int]:
    """Spatial output size of a convolution, ``floor((H + 2p - d(k-1) - 1)/s) + 1`` per axis."""
    out = tuple(
        (size + 2 * p - d * (k - 1) - 1) // s + 1
        for size, k, s, p, d in zip(in_size, kernel_size, stride, padding, dilation)
    )
    return out  # type: ignore[return-value]


class _ContiguousGrad(torch.autograd.Function):
    """Identity whose backward hands on a contiguous gradient.

    The output of :func:`locally_connected2d` keeps positions innermost, so
    its gradient reaches the batched product with a batch stride of 1, and
    ``bmm``'s backward then falls back to one small product per position
    (measured 1.5-2x slower for forward+backward).  One copy of the small
    output gradient avoids that.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        pass

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.contiguous()


@functools.lru_cache(maxsize=16)
def _patch_index(
    in_channels: int,
    in_size: tuple[int, int],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    device: torch.device,
) -> torch.Tensor:
    """Where each receptive-field element lives in the flattened, zero-padded input.

    Entry ``[l, c, u, v]`` (flattened, ``l`` = output position) is the offset of
    ``x[c, s i + d u, s j + d v]`` in a ``(C_in, H + 2p, W + 2p)`` tensor.  It
    depends only on the geometry, so it is built once per geometry and device
    and reused; a layer calls it with the same arguments every step.
    """
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = in_size, kernel_size, stride, padding, dilation
    h_out, w_out = conv2d_output_size(in_size, kernel_size, stride, padding, dilation)
    padded_w = w + 2 * pw
    plane = (h + 2 * ph) * padded_w
    rows = (torch.arange(h_out) * sh)[:, None] + torch.arange(kh) * dh  # (H_out, kH)
    cols = (torch.arange(w_out) * sw)[:, None] + torch.arange(kw) * dw  # (W_out, kW)
    index = (
        rows.view(h_out, 1, 1, kh, 1) * padded_w
        + cols.view(1, w_out, 1, 1, kw)
        + torch.arange(in_channels).view(1, 1, in_channels, 1, 1) * plane
    )
    return index.reshape(-1).to(device)


def locally_connected2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> torch.Tensor:
    """Apply an untied 2-D "convolution": a different kernel at every output position.

    .. math::
        y_{o,i,j} = b_{o,i,j} + \\sum_{c,u,v} W_{i,j,o,c,u,v}\\,
                    x_{c,\\, s i + d u - p,\\, s j + d v - p}

    Vectorised over positions, with no Python loop.  The input is turned
    (a small copy) into rows of ``N`` values, one row per input element;
    one ``index_select`` gathers the rows of every receptive field into
    ``patches`` of shape ``(H_out·W_out, C_in·kH·kW, N)``, already in the
    order the product needs; and one batched matrix product applies each
    position's kernel, read as the contiguous view
    ``(H_out·W_out, C_out, C_in·kH·kW)`` of the stored weight, to its own
    patch.  The layer is memory-bound: the large untied weight is streamed
    once, and nothing of its size is copied.  (``F.unfold`` would give the
    patches as ``(N, C_in·kH·kW, L)``, and transposing those to the batched
    layout costs more than the product itself; ``benchmarks/`` measures both.)

    Args:
        input: ``(N, C_in, H, W)``.
        weight: ``(H_out, W_out, C_out, C_in, kH, kW)``; ``weight[i, j]`` is the
            kernel used at output position ``(i, j)``.
        bias: ``(C_out, H_out, W_out)`` or ``None``.

    Returns:
        ``(N, C_out, H_out, W_out)``.
    """
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    h_out, w_out, c_out, c_in, kh, kw = weight.shape
    if input.dim() != 4 or input.shape[1] != c_in:
        raise ValueError(f"expected an input of shape (N, {c_in}, H, W), got {tuple(input.shape)}")
    in_size = tuple(input.shape[-2:])
    expected = conv2d_output_size(in_size, (kh, kw), (sh, sw), (ph, pw), (dh, dw))
    if expected != (h_out, w_out):
        raise ValueError(
            f"an input of spatial size {in_size} gives {expected[0]}x{expected[1]} "
            f"output positions but the weight has {h_out}x{w_out}"
        )
    batch = input.shape[0]
    index = _patch_index(c_in, in_size, (kh, kw), (sh, sw), (ph, pw), (dh, dw), input.device)
    rows = F.pad(input, (pw, pw, ph, ph)).reshape(batch, -1).T.contiguous()  # (C_in·H_p·W_p, N)
    patches = rows.index_select(0, index).view(h_out * w_out, c_in * kh * kw, batch)
    kernels = weight.reshape(h_out * w_out, c_out, c_in * kh * kw)
    out = _ContiguousGrad.apply(torch.bmm(kernels, patches))  # (L, C_out, N)
    out = out.permute(2, 1, 0).reshape(batch, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias
    return out


def locally_connected2d_loop(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> torch.Tensor:
    """Reference implementation: a Python loop over output positions.

    Deliberately slow and obviously correct.  The tests compare
    :func:`locally_connected2d` with it, and the benchmarks time both.
    Same arguments and shapes as :func:`locally_connected2d`.
    """
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    h_out, w_out, c_out, _, kh, kw = weight.shape
    x = F.pad(input, (pw, pw, ph, ph))
    out = input.new_zeros(input.shape[0], c_out, h_out, w_out)
    for i in range(h_out):
        for j in range(w_out):
            rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
            cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
            patch = x[:, :, rows, cols]  # (N, C_in, kH, kW)
            out[:, :, i, j] = torch.einsum("ncuv,ocuv->no", patch, weight[i, j])
    if bias is not None:
        out = out + bias
    return out


class LocallyConnected2d(nn.Module):
    r"""A 2-D layer with local receptive fields and **no** weight sharing.

    It computes the same kind of sum as :class:`torch.nn.Conv2d`,

    .. math::
        y_{o,i,j} = b_{o,i,j} + \sum_{c,u,v} W_{i,j,o,c,u,v}\, x_{c,\,si+du-p,\,sj+dv-p},

    but the kernel :math:`W_{i,j}` and the bias :math:`b_{\cdot,i,j}` belong to
    output position :math:`(i, j)` alone.  A convolution is the special case in
    which all :math:`H_\text{out} W_\text{out}` kernels are tied to one, so this
    layer has exactly :math:`H_\text{out} W_\text{out}` times as many parameters
    as the matching ``Conv2d``.  Because the number of kernels depends on the
    output size, the input size must be given when the layer is built.

    Args:
        in_channels: channels :math:`C_\text{in}` of the input.
        out_channels: channels :math:`C_\text{out}` of the output.
        kernel_size: receptive field ``kH x kW`` (an int means square).
        in_size: spatial size ``(H, W)`` of the inputs the layer will see.
        stride, padding, dilation: as in :class:`torch.nn.Conv2d` (zero padding).
        bias: if ``True`` (default), learn one bias per output unit.
        device, dtype: where and how to allocate the parameters, as in torch's own layers.

    Shape:
        - Input: :math:`(N, C_\text{in}, H, W)` or :math:`(C_\text{in}, H, W)`.
        - Output: :math:`(N, C_\text{out}, H_\text{out}, W_\text{out})` or
          :math:`(C_\text{out}, H_\text{out}, W_\text{out})`, with
          :math:`H_\text{out} = \lfloor (H + 2p - d(k_H - 1) - 1)/s \rfloor + 1`
          and likewise for :math:`W_\text{out}`.

    Attributes:
        weight: learnable, shape :math:`(H_\text{out}, W_\text{out}, C_\text{out}, C_\text{in}, k_H, k_W)`.
        bias: learnable, shape :math:`(C_\text{out}, H_\text{out}, W_\text{out})`.

    Examples:
        >>> layer = LocallyConnected2d(3, 8, kernel_size=5, in_size=(32, 32))
        >>> layer(torch.randn(4, 3, 32, 32)).shape
        torch.Size([4, 8, 28, 28])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        in_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(
                f"channel counts must be positive, got in={in_channels}, out={out_channels}"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.in_size = _pair(in_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.dilation = _pair(dilation)
        self.out_size = conv2d_output_size(
            self.in_size, self.kernel_size, self.stride, self.padding, self.dilation
        )
        if min(self.out_size) <= 0:
            raise ValueError(
                f"kernel {self.kernel_size} with padding {self.padding} and dilation {self.dilation} "
                f"does not fit an input of size {self.in_size}"
            )
        h_out, w_out = self.out_size
        self.weight = nn.Parameter(
            torch.empty(h_out, w_out, out_channels, in_channels, *self.kernel_size, **factory)
        )
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, h_out, w_out, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise every position's kernel as ``Conv2d`` initialises its single kernel."""
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        bound = 1.0 / math.sqrt(fan_in)  # what kaiming_uniform_(a=sqrt(5)) gives Conv2d
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    @classmethod
    def from_conv2d(cls, conv: nn.Conv2d, in_size: int | tuple[int, int]) -> LocallyConnected2d:
        """Untie a convolution: copy its kernel and bias to every output position.

        The new layer computes exactly what ``conv`` computes on inputs of size
        ``in_size``, but each position can now drift away during training.
        """
        if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError("from_conv2d supports groups=1, numeric zero padding only")
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            in_size,
            stride=conv.stride,
            padding=conv.padding,
            dilation=conv.dilation,
            bias=conv.bias is not None,
            device=conv.weight.device,
            dtype=conv.weight.dtype,
        )
        with torch.no_grad():
            layer.weight.copy_(conv.weight.expand(*layer.out_size, *conv.weight.shape))
            if conv.bias is not None:
                layer.bias.copy_(conv.bias[:, None, None].expand_as(layer.bias))
        return layer

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        unbatched = check_trailing_shape(
            input, (self.in_channels, *self.in_size), layer=type(self).__name__
        )
        if unbatched:
            input = input.unsqueeze(0)
        out = locally_connected2d(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation
        )
        return out.squeeze(0) if unbatched else out

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"in_size={self.in_size}, out_size={self.out_size}"
        )
        if self.stride != (1, 1):
            s += f", stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.bias is None:
            s += ", bias=False"
        return s
