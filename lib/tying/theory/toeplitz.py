r"""Sizes of the matrix that a 2-D convolution or locally connected layer multiplies by.

Flatten an input of shape :math:`(C_\text{in}, H, W)` and an output of shape
:math:`(C_\text{out}, H_\text{out}, W_\text{out})` in row-major order.  Both layers
are then a sparse matrix of shape :math:`(C_\text{out} H_\text{out} W_\text{out},\;
C_\text{in} H W)` with the same non-zero pattern.  The convolution fills that
pattern with the :math:`C_\text{out} C_\text{in} k_H k_W` kernel entries, each
repeated along a (block) diagonal; the locally connected layer fills every
non-zero with a value of its own.
"""

from __future__ import annotations

from torch.nn.modules.utils import _pair

__all__ = [
    "conv2d_matrix_shape",
    "conv2d_matrix_nnz",
    "conv2d_matrix_free_parameters",
    "locally_connected2d_matrix_free_parameters",
]


def _valid_offsets(size: int, out: int, k: int, s: int, p: int, d: int) -> int:
    """Number of (output position, kernel offset) pairs along one axis that land inside the input."""
    return sum(1 for i in range(out) for u in range(k) if 0 <= s * i + d * u - p < size)


def _out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def conv2d_matrix_shape(
    in_channels: int,
    out_channels: int,
    in_size,
    kernel_size,
    stride=1,
    padding=0,
    dilation=1,
) -> tuple[int, int]:
    r""":math:`(C_\text{out} H_\text{out} W_\text{out},\; C_\text{in} H W)`."""
    (h, w), (kh, kw) = _pair(in_size), _pair(kernel_size)
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    h_out, w_out = _out(h, kh, sh, ph, dh), _out(w, kw, sw, pw, dw)
    return out_channels * h_out * w_out, in_channels * h * w


def conv2d_matrix_nnz(
    in_channels: int,
    out_channels: int,
    in_size,
    kernel_size,
    stride=1,
    padding=0,
    dilation=1,
) -> int:
    r"""Structural non-zeros of the matrix.

    Without padding every output unit sees a full window, so this is
    :math:`H_\text{out} W_\text{out}\, C_\text{out} C_\text{in} k_H k_W`.  With zero
    padding the window entries that fall on padding have no column, which the
    count along each axis accounts for (the axes are independent).
    """
    (h, w), (kh, kw) = _pair(in_size), _pair(kernel_size)
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    h_out, w_out = _out(h, kh, sh, ph, dh), _out(w, kw, sw, pw, dw)
    rows = _valid_offsets(h, h_out, kh, sh, ph, dh)
    cols = _valid_offsets(w, w_out, kw, sw, pw, dw)
    return out_channels * in_channels * rows * cols


def conv2d_matrix_free_parameters(in_channels: int, out_channels: int, kernel_size) -> int:
    r""":math:`C_\text{out} C_\text{in} k_H k_W`: the distinct values of the convolution matrix, one per kernel entry."""
    kh, kw = _pair(kernel_size)
    return out_channels * in_channels * kh * kw


def locally_connected2d_matrix_free_parameters(
    in_channels: int,
    out_channels: int,
    in_size,
    kernel_size,
    stride=1,
    padding=0,
    dilation=1,
) -> int:
    r"""Free values of the locally connected layer's matrix: one per non-zero.

    Equal to :func:`conv2d_matrix_nnz`.  The layer itself stores
    :math:`H_\text{out} W_\text{out} C_\text{out} C_\text{in} k_H k_W` weights; with zero
    padding the ones that only ever multiply padding never reach the matrix.
    """
    return conv2d_matrix_nnz(
        in_channels, out_channels, in_size, kernel_size, stride, padding, dilation
    )
