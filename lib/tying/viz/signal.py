"""Figures of Part II, "Signal processing": circulant matrices, their spectra, and timings."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import OKABE_ITO, TIED, UNTIED, new_figure

__all__ = [
    "plot_matrix",
    "plot_spectrum_check",
    "plot_timings",
    "plot_parameter_counts",
    "plot_filter_frame",
]


def _axis(ax: Axes | None) -> Axes:
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    return ax


def _log2_axis(ax: Axes, sizes) -> None:
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(ticker.FixedLocator(list(sizes)))
    ax.xaxis.set_major_formatter(ticker.FixedFormatter([str(n) for n in sizes]))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    for label in ax.get_xticklabels():
        label.set_rotation(45)


def plot_matrix(
    matrix, ax: Axes | None = None, title: str = "", outline: tuple[int, int] | None = None
) -> Axes:
    """Show a small matrix as an image with a diverging colour map centred on zero.

    ``outline=(rows, cols)`` draws a frame round the upper-left ``rows x cols`` block.
    """
    ax = _axis(ax)
    m = np.asarray(matrix, dtype=float)
    bound = np.abs(m).max() or 1.0
    ax.imshow(m, cmap="RdBu_r", vmin=-bound, vmax=bound, interpolation="nearest")
    if outline is not None:
        rows, cols = outline
        ax.add_patch(
            Rectangle(
                (-0.5, -0.5), cols, rows, fill=False, edgecolor=OKABE_ITO["black"], linewidth=1.5
            )
        )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(visible=False)
    ax.set_title(title, fontsize=10)
    return ax


def plot_spectrum_check(eigenvalues, dft, ax: Axes | None = None) -> Axes:
    """Eigenvalues of a circulant matrix in the complex plane, on top of the DFT of its first column."""
    ax = _axis(ax)
    ev, f = np.asarray(eigenvalues), np.asarray(dft)
    ax.plot(f.real, f.imag, "o", markersize=9, markerfacecolor="none", color=TIED,
            label="DFT of the first column")  # fmt: skip
    ax.plot(ev.real, ev.imag, "x", color=UNTIED, label="eigenvalues (numerical)")
    ax.axhline(0, color=OKABE_ITO["black"], linewidth=0.6)
    ax.axvline(0, color=OKABE_ITO["black"], linewidth=0.6)
    ax.set_xlabel("real part")
    ax.set_ylabel("imaginary part")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_timings(timing: Mapping, ax: Axes | None = None) -> Axes:
    """Seconds per forward call against ``n``, FFT circulant against dense, with ``n log n`` and ``n^2`` guides."""
    ax = _axis(ax)
    sizes = np.asarray(timing["sizes"], dtype=float)
    fft_s, dense_s = np.asarray(timing["fft_s"]), np.asarray(timing["dense_s"])
    shown = ~np.isnan(dense_s)
    ax.plot(sizes, fft_s * 1e3, "o-", color=TIED, label="circulant (FFT)")
    ax.plot(sizes[shown], dense_s[shown] * 1e3, "s-", color=UNTIED, label="dense nn.Linear")
    # Guides anchored at the last point of each curve.
    ref = sizes[-1]
    ax.plot(sizes, fft_s[-1] * 1e3 * (sizes * np.log2(sizes)) / (ref * np.log2(ref)), ":",
            color=TIED, linewidth=1, label=r"$\propto n \log n$")  # fmt: skip
    last = np.flatnonzero(shown)[-1]
    ax.plot(sizes, dense_s[last] * 1e3 * (sizes / sizes[last]) ** 2, ":", color=UNTIED,
            linewidth=1, label=r"$\propto n^2$")  # fmt: skip
    if timing.get("crossover"):
        ax.axvline(timing["crossover"], color=OKABE_ITO["black"], linewidth=0.6, linestyle="--")
    ax.set_yscale("log")
    _log2_axis(ax, timing["sizes"])
    lo = np.nanmin(np.concatenate([fft_s, dense_s])) * 1e3
    hi = np.nanmax(np.concatenate([fft_s, dense_s])) * 1e3
    ax.set_ylim(lo / 3, hi * 3)
    ax.set_xlabel("size $n$")
    ax.set_ylabel(f"ms per call (batch {timing['batch']})")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_parameter_counts(timing: Mapping, ax: Axes | None = None) -> Axes:
    """Weights stored against ``n``: ``n`` for the circulant layer, ``n^2`` for the dense one."""
    ax = _axis(ax)
    sizes = timing["sizes"]
    ax.plot(sizes, timing["fft_params"], "o-", color=TIED, label="circulant: $n$")
    ax.plot(sizes, timing["dense_params"], "s-", color=UNTIED, label="dense: $n^2$")
    ax.set_yscale("log")
    _log2_axis(ax, sizes)
    ax.yaxis.set_major_locator(ticker.FixedLocator([1e2, 1e4, 1e6, 1e8]))
    ax.yaxis.set_major_formatter(ticker.FixedFormatter(["100", "10k", "1M", "100M"]))
    ax.yaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlabel("size $n$")
    ax.set_ylabel("weights")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_filter_frame(fig: Figure, kernel: np.ndarray, width: float) -> None:
    """One slider frame: a circulant layer's first column and the magnitudes of its eigenvalues.

    ``kernel`` is the first column :math:`c`; the eigenvalues are ``np.fft.fft(kernel)``.
    Two light panels and few text elements keep a redraw within the book's budget.
    """
    ax_c, ax_f = fig.subplots(1, 2)
    n = len(kernel)
    ax_c.plot(np.arange(n), kernel, "o-", color=TIED, markersize=3, linewidth=1.2)
    ax_c.set_xlabel("lag $j$ (wrapped)")
    ax_c.set_ylabel("$c_j$")
    ax_c.set_ylim(-0.05, 1.05)
    ax_c.set_yticks([0, 0.5, 1])
    gains = np.abs(np.fft.rfft(kernel))
    ax_f.plot(np.arange(len(gains)), gains, "-", color=OKABE_ITO["green"], linewidth=2)
    ax_f.set_xlabel("frequency $k$")
    ax_f.set_ylabel(r"$|\lambda_k| = |(Fc)_k|$")
    ax_f.set_ylim(0, 1.05)
    ax_f.set_yticks([0, 0.5, 1])
    ax_f.set_title(f"bump width {width:g}: gain per frequency", fontsize=9)
