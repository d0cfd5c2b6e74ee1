"""Figures of Part I, section 4: convolution and locally connected layers as matrices."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..layers.local import conv2d_output_size
from ..layers.toeplitz import conv2d_as_matrix, locally_connected2d_as_matrix
from . import OKABE_ITO, new_figure

__all__ = [
    "kernel_index_matrix",
    "plot_kernel_index_matrix",
    "plot_value_matrix",
    "plot_toeplitz_frame",
    "plot_locally_connected_example",
]


def kernel_index_matrix(
    in_size, kernel_size=3, stride=1, padding=0, in_channels=1, out_channels=1
) -> np.ndarray:
    """The dense convolution matrix with every kernel entry replaced by its index 1, 2, ... (0 = structural zero).

    Filling the kernel with distinct integers makes the matrix show *which*
    kernel entry sits where, so the tied (repeated) entries can be coloured alike.
    """
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    n = out_channels * in_channels * kh * kw
    weight = torch.arange(1, n + 1, dtype=torch.float64).reshape(out_channels, in_channels, kh, kw)
    return conv2d_as_matrix(weight, in_size, stride, padding).to_dense().numpy()


def _grid(ax: Axes, shape, block_rows: int, block_cols: int, channel_rows: int, channel_cols: int):
    """Thin lines between position blocks, thick lines between channel blocks."""
    rows, cols = shape
    for y in range(block_rows, rows, block_rows):
        thick = y % channel_rows == 0
        ax.axhline(y - 0.5, color=OKABE_ITO["black"], linewidth=1.6 if thick else 0.5)
    for x in range(block_cols, cols, block_cols):
        thick = x % channel_cols == 0
        ax.axvline(x - 0.5, color=OKABE_ITO["black"], linewidth=1.6 if thick else 0.5)


def _style(ax: Axes, shape) -> None:
    ax.set_xlim(-0.5, shape[1] - 0.5)
    ax.set_ylim(shape[0] - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(visible=False)
    for spine in ax.spines.values():
        spine.set_visible(True)


def plot_kernel_index_matrix(
    ax: Axes | None,
    in_size,
    kernel_size=3,
    stride=1,
    padding=0,
    in_channels=1,
    out_channels=1,
) -> Axes:
    """Spy plot of a convolution matrix, each kernel entry in its own colour, with block boundaries.

    Rows are output units ``(o, i, j)``, columns input pixels ``(c, r, q)``; thin lines
    separate image rows (blocks), thick lines separate channels.
    """
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    h, w = (in_size, in_size) if isinstance(in_size, int) else in_size
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    s = (stride, stride) if isinstance(stride, int) else tuple(stride)
    p = (padding, padding) if isinstance(padding, int) else tuple(padding)
    h_out, w_out = conv2d_output_size((h, w), (kh, kw), s, p)
    index = kernel_index_matrix((h, w), (kh, kw), s, p, in_channels, out_channels)
    n_values = int(index.max())
    cmap = ListedColormap(["#FFFFFF", *_palette(n_values)])
    ax.imshow(index, cmap=cmap, vmin=-0.5, vmax=n_values + 0.5, interpolation="nearest")
    _grid(ax, index.shape, w_out, w, h_out * w_out, h * w)
    _style(ax, index.shape)
    return ax


def _palette(n: int) -> list:
    """Nine distinguishable colours (Okabe-Ito, grey, black) for a 3x3 kernel; viridis beyond."""
    named = [
        OKABE_ITO[c] for c in ("blue", "vermilion", "green", "orange", "purple", "sky", "yellow")
    ]
    named += ["#999999", OKABE_ITO["black"]]
    if n <= len(named):
        return named[:n]
    return [colormaps["viridis"](t) for t in np.linspace(0, 1, n)]


def plot_value_matrix(
    ax: Axes | None, matrix: torch.Tensor, in_size, out_size, in_channels=1, out_channels=1
) -> Axes:
    """Spy plot of any layer matrix, coloured by value (viridis; white = structural zero)."""
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    dense = matrix.to_dense().detach().cpu().numpy() if matrix.layout != torch.strided else matrix
    masked = np.ma.masked_where(dense == 0, dense)
    cmap = colormaps["viridis"].with_extremes(bad="#FFFFFF")
    ax.imshow(masked, cmap=cmap, interpolation="nearest")
    h, w = in_size
    h_out, w_out = out_size
    _grid(ax, dense.shape, w_out, w, h_out * w_out, h * w)
    _style(ax, dense.shape)
    return ax


def plot_toeplitz_frame(
    fig: Figure, stride: int, padding: int, in_size: int = 6, kernel_size: int = 3
) -> None:
    """One slider frame: the single-channel convolution matrix for this stride and padding."""
    ax = fig.subplots()
    plot_kernel_index_matrix(ax, in_size, kernel_size, stride, padding)
    h_out, w_out = conv2d_output_size(
        (in_size,) * 2, (kernel_size,) * 2, (stride,) * 2, (padding,) * 2
    )
    ax.set_title(
        f"{in_size}x{in_size} input, 3x3 kernel -> {h_out}x{w_out} output: "
        f"matrix {h_out * w_out} x {in_size * in_size}",
        fontsize=9,
    )


def plot_locally_connected_example(ax: Axes, in_size=5, kernel_size=3, padding=0, seed=0) -> Axes:
    """The locally connected layer's matrix for the same geometry, random weights."""
    gen = torch.Generator().manual_seed(seed)
    h_out, w_out = conv2d_output_size((in_size,) * 2, (kernel_size,) * 2, (1, 1), (padding,) * 2)
    weight = torch.rand(h_out, w_out, 1, 1, kernel_size, kernel_size, generator=gen) + 0.05
    matrix = locally_connected2d_as_matrix(weight, in_size, padding=padding)
    return plot_value_matrix(ax, matrix, (in_size, in_size), (h_out, w_out))
