r"""Convolution and locally connected layers written out as the sparse matrices they multiply by.

Flatten an input :math:`x` of shape :math:`(C_\text{in}, H, W)` and the output of
shape :math:`(C_\text{out}, H_\text{out}, W_\text{out})` in row-major order (what
``tensor.flatten()`` does).  A 2-D convolution is then :math:`\operatorname{vec}(y) = A\,
\operatorname{vec}(x)` with

.. math::
    A_{(o,i,j),\,(c,r,q)} = \begin{cases}
        w_{o,c,u,v} & r = s_h i + d_h u - p_h,\; q = s_w j + d_w v - p_w \\
        0 & \text{otherwise.} \end{cases}

For one channel pair and stride 1, the entry depends on the position pair
only through the offsets :math:`r - i` and :math:`q - j`.  Grouped into
:math:`H_\text{out} \times H` blocks of size :math:`W_\text{out} \times W`, the matrix is
**block Toeplitz** (block :math:`(i, r)` depends only on :math:`r - i`) and each block
is itself **Toeplitz** (entry :math:`(j, q)` depends only on :math:`q - j`): doubly block
Toeplitz.  With several channels it is a :math:`C_\text{out} \times C_\text{in}` grid of
such matrices.  A locally connected layer has exactly the same non-zero
pattern, but its value also depends on :math:`(i, j)`, so nothing repeats.
"""

from __future__ import annotations

import warnings

import torch
from torch.nn.modules.utils import _pair

from .local import conv2d_output_size

__all__ = ["conv2d_as_matrix", "locally_connected2d_as_matrix", "toeplitz_defect"]


def _index_grid(
    c_out: int,
    c_in: int,
    kernel: tuple[int, int],
    in_size: tuple[int, int],
    out_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Row index, column index and validity of every (o, i, j, c, u, v) combination.

    All six index ranges are broadcast against each other, so the whole matrix is
    described by a handful of tensor operations and no Python loop over positions.
    Returned tensors have shape ``(C_out, H_out, W_out, C_in, kH, kW)``.
    """
    (kh, kw), (h, w), (h_out, w_out) = kernel, in_size, out_size
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation

    def axis(n: int, dim: int) -> torch.Tensor:
        shape = [1] * 6
        shape[dim] = n
        return torch.arange(n, device=device).reshape(shape)

    o, i, j = axis(c_out, 0), axis(h_out, 1), axis(w_out, 2)
    c, u, v = axis(c_in, 3), axis(kh, 4), axis(kw, 5)
    r = sh * i + dh * u - ph  # input row seen by output row i through kernel row u
    q = sw * j + dw * v - pw
    valid = (r >= 0) & (r < h) & (q >= 0) & (q < w)
    rows = (o * h_out + i) * w_out + j
    cols = (c * h + r) * w + q
    full = (c_out, h_out, w_out, c_in, kh, kw)
    return rows.expand(full), cols.expand(full), valid.expand(full)


def _assemble(
    values: torch.Tensor,
    rows: torch.Tensor,
    cols: torch.Tensor,
    valid: torch.Tensor,
    shape: tuple[int, int],
    layout: torch.layout,
) -> torch.Tensor:
    # Entries are generated row by row and, within a row, in increasing column
    # order (c, then u -> r, then v -> q), so they are already sorted and unique.
    rows, cols, values = rows[valid], cols[valid], values[valid]
    if layout == torch.sparse_coo:
        return torch.sparse_coo_tensor(
            torch.stack([rows, cols]), values, shape, is_coalesced=True, check_invariants=False
        )
    if layout == torch.sparse_csr:
        counts = torch.bincount(rows, minlength=shape[0])
        crow = torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])
        with warnings.catch_warnings():
            # torch labels its CSR support "beta"; the constructor is all this uses.
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(crow, cols, values, shape, check_invariants=False)
    raise ValueError(f"layout must be torch.sparse_coo or torch.sparse_csr, got {layout}")


def _geometry(kernel, in_size, stride, padding, dilation):
    kernel, in_size = _pair(kernel), _pair(in_size)
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    out_size = conv2d_output_size(in_size, kernel, stride, padding, dilation)
    if min(out_size) <= 0:
        raise ValueError(
            f"a {kernel[0]}x{kernel[1]} kernel with padding {padding} and dilation {dilation} "
            f"does not fit an input of size {in_size}"
        )
    return kernel, in_size, out_size, stride, padding, dilation


def conv2d_as_matrix(
    weight: torch.Tensor,
    in_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    layout: torch.layout = torch.sparse_coo,
) -> torch.Tensor:
    r"""The sparse matrix :math:`A` with :math:`\operatorname{vec}(\texttt{conv2d}(x, w)) = A\operatorname{vec}(x)`.

    Args:
        weight: a ``Conv2d`` kernel, shape :math:`(C_\text{out}, C_\text{in}, k_H, k_W)`
            (``groups=1``).  Gradients flow from the matrix back to it.
        in_size: spatial input size ``(H, W)``.
        stride, padding, dilation: as in :func:`torch.nn.functional.conv2d` (zero padding).
        layout: ``torch.sparse_coo`` (default) or ``torch.sparse_csr``.

    Returns:
        A sparse tensor of shape :math:`(C_\text{out} H_\text{out} W_\text{out},\; C_\text{in} H W)`
        on ``weight``'s device and dtype.  Rows and columns follow ``flatten()`` order
        of ``(C, H, W)``; a batch is multiplied as ``(A @ x.flatten(1).T).T``.
        The bias is not included (the layer is :math:`A x + b`).

    Examples:
        >>> w = torch.randn(2, 3, 3, 3)
        >>> A = conv2d_as_matrix(w, (5, 5), padding=1)
        >>> A.shape
        torch.Size([50, 75])
        >>> x = torch.randn(3, 5, 5)
        >>> y = (A @ x.flatten()).reshape(2, 5, 5)
        >>> torch.allclose(y, torch.nn.functional.conv2d(x[None], w, padding=1)[0], atol=1e-5)
        True
    """
    if weight.dim() != 4:
        raise ValueError(
            f"conv2d_as_matrix expected a weight of shape (C_out, C_in, kH, kW), got {tuple(weight.shape)}"
        )
    c_out, c_in, kh, kw = weight.shape
    kernel, in_size, out_size, stride, padding, dilation = _geometry(
        (kh, kw), in_size, stride, padding, dilation
    )
    rows, cols, valid = _index_grid(
        c_out, c_in, kernel, in_size, out_size, stride, padding, dilation, weight.device
    )
    # The tie, in one line: the value ignores the output position (i, j).
    values = weight[:, None, None].expand(c_out, *out_size, c_in, kh, kw)
    shape = (c_out * out_size[0] * out_size[1], c_in * in_size[0] * in_size[1])
    return _assemble(values, rows, cols, valid, shape, layout)


def locally_connected2d_as_matrix(
    weight: torch.Tensor,
    in_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    layout: torch.layout = torch.sparse_coo,
) -> torch.Tensor:
    r"""The sparse matrix of a :class:`~tying.layers.LocallyConnected2d` layer (same pattern as the convolution's).

    Args:
        weight: shape :math:`(H_\text{out}, W_\text{out}, C_\text{out}, C_\text{in}, k_H, k_W)`,
            as ``LocallyConnected2d.weight``; ``weight[i, j]`` is the kernel of output position ``(i, j)``.
        in_size, stride, padding, dilation, layout: as in :func:`conv2d_as_matrix`.

    Returns:
        A sparse tensor of shape :math:`(C_\text{out} H_\text{out} W_\text{out},\; C_\text{in} H W)`
        whose non-zeros are all free: no value is shared between rows.

    Examples:
        >>> from tying.layers import LocallyConnected2d
        >>> layer = LocallyConnected2d(1, 2, 3, in_size=(4, 4), bias=False)
        >>> A = locally_connected2d_as_matrix(layer.weight, (4, 4))
        >>> A.shape
        torch.Size([8, 16])
    """
    if weight.dim() != 6:
        raise ValueError(
            "locally_connected2d_as_matrix expected a weight of shape "
            f"(H_out, W_out, C_out, C_in, kH, kW), got {tuple(weight.shape)}"
        )
    h_out, w_out, c_out, c_in, kh, kw = weight.shape
    kernel, in_size, out_size, stride, padding, dilation = _geometry(
        (kh, kw), in_size, stride, padding, dilation
    )
    if out_size != (h_out, w_out):
        raise ValueError(
            f"an input of size {in_size} gives {out_size[0]}x{out_size[1]} output positions, "
            f"but the weight has {h_out}x{w_out}"
        )
    rows, cols, valid = _index_grid(
        c_out, c_in, kernel, in_size, out_size, stride, padding, dilation, weight.device
    )
    values = weight.permute(2, 0, 1, 3, 4, 5)  # (C_out, H_out, W_out, C_in, kH, kW), like the grid
    shape = (c_out * h_out * w_out, c_in * in_size[0] * in_size[1])
    return _assemble(values, rows, cols, valid, shape, layout)


def toeplitz_defect(
    matrix: torch.Tensor,
    in_channels: int,
    in_size: int | tuple[int, int],
    out_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
) -> tuple[float, float]:
    r"""How far a layer matrix is from being doubly block Toeplitz (0 for a convolution).

    View the dense matrix as :math:`A[o, i, j, c, r, q]`.  A convolution satisfies

    * :math:`A[o, i+1, j, c, r + s_h, q] = A[o, i, j, c, r, q]`: moving one block down
      and :math:`s_h` blocks right gives the same block (**block Toeplitz**);
    * :math:`A[o, i, j+1, c, r, q + s_w] = A[o, i, j, c, r, q]`: inside each block, entries
      are constant along (strided) diagonals (**Toeplitz blocks**).

    Returns the largest absolute violation of each identity, over every channel pair
    and every position where both sides exist.  Zero padding does not break them:
    the entries that fall on padding are zero on both sides.
    """
    (h, w), (h_out, w_out), (sh, sw) = _pair(in_size), _pair(out_size), _pair(stride)
    dense = matrix.to_dense() if matrix.layout != torch.strided else matrix
    c_out = dense.shape[0] // (h_out * w_out)
    a = dense.reshape(c_out, h_out, w_out, in_channels, h, w)
    block = (a[:, 1:, :, :, sh:, :] - a[:, :-1, :, :, : h - sh, :]).abs()
    inner = (a[:, :, 1:, :, :, sw:] - a[:, :, :-1, :, :, : w - sw]).abs()
    top = lambda t: float(t.max()) if t.numel() else 0.0  # noqa: E731
    return top(block), top(inner)
