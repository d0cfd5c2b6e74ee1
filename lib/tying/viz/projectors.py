"""Figures of Part I, section 10: tied weights that are orthogonal projectors.

Labels are plain Unicode rather than mathtext: parsing TeX on every slider
frame would cost more than drawing it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import OKABE_ITO, TIED, new_figure

__all__ = [
    "plot_spectrum",
    "plot_signal_projection",
    "plot_projector_image",
    "plot_projector_frame",
]


def _ax(ax: Axes | None) -> Axes:
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    return ax


def plot_spectrum(
    singular_values: Sequence[float], alpha: float, ax: Axes | None = None, *, legend: bool = True
) -> Axes:
    """Measured singular values as a histogram, the law :math:`\\alpha\\delta_1 + (1-\\alpha)\\delta_0` as stems."""
    ax = _ax(ax)
    sv = np.asarray(singular_values, dtype=float)
    edges = np.linspace(-0.05, 1.05, 12)
    counts, _ = np.histogram(np.clip(sv, -0.05, 1.05), bins=edges)
    ax.bar(
        edges[:-1],
        counts / len(sv),
        width=np.diff(edges),
        align="edge",
        color=OKABE_ITO["sky"],
        alpha=0.6,
        label="measured",
    )
    ax.vlines([0.0, 1.0], 0, [1 - alpha, alpha], color=TIED, linewidth=2.5)
    ax.plot(
        [0.0, 1.0],
        [1 - alpha, alpha],
        "o",
        color=TIED,
        markersize=7,
        label="α·δ₁ + (1 − α)·δ₀",
    )
    ax.set_xlim(-0.15, 1.15)
    ax.set_ylim(0, 1.12)
    ax.set_xticks([0, 0.5, 1])
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1])
    ax.set_xlabel("singular value")
    ax.set_ylabel("fraction of singular values")
    if legend:
        ax.legend(loc="upper center", fontsize=8)
    return ax


def plot_signal_projection(
    signal: Sequence[float],
    projected: Sequence[float],
    ax: Axes | None = None,
    *,
    legend: bool = True,
) -> Axes:
    """A signal :math:`x` (dots) and its projection :math:`Px` (line)."""
    ax = _ax(ax)
    i = np.arange(len(signal))
    ax.plot(i, signal, "o", color="k", markersize=3.5, label="signal x")
    ax.plot(i, projected, "-", color=TIED, label="projection Px")
    ax.set_xlabel("position i")
    ax.set_xticks([0, len(i) // 3, 2 * len(i) // 3, len(i) - 1])
    if legend:
        ax.legend(loc="upper right", fontsize=8, ncols=2)
    return ax


def plot_projector_image(
    P: np.ndarray, ax: Axes | None = None, *, vmax: float | None = None
) -> Axes:
    """The matrix :math:`P` as an image (blue positive, red negative; symmetric colour scale)."""
    ax = _ax(ax)
    P = np.asarray(P)
    vmax = float(np.abs(P).max()) if vmax is None else vmax
    ax.imshow(P, cmap="RdBu", vmin=-vmax, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(visible=False)
    return ax


def plot_projector_frame(fig: Figure, sweep: Mapping, rank: int, sample: int = 0) -> None:
    """One slider frame: the spectrum of the rank-``rank`` projector (a) and what it does to a signal (b)."""
    axes = fig.subplots(1, 2, width_ratios=(1.0, 1.35))
    n = sweep["projectors"].shape[-1]
    alpha = rank / n
    # No legends and fixed ticks: text layout is most of a frame's cost; the caption explains.
    plot_spectrum(sweep["singular_values"][rank], alpha, axes[0], legend=False)
    axes[0].set_title(
        f"α = {rank}/{n}: rank {rank}, squared Frobenius norm {sweep['frobenius_sq'][rank]:.2f}",
        fontsize=9,
    )
    plot_signal_projection(
        sweep["test"][sample], sweep["test_projections"][rank, sample], axes[1], legend=False
    )
    lim = 1.15 * np.abs(sweep["test"][sample]).max()
    axes[1].set_ylim(-lim, lim)
    axes[1].set_yticks([-np.floor(lim), 0, np.floor(lim)])
    axes[1].set_title(
        f"P keeps {100 * sweep['test_energy'][rank]:.1f}% of the test signals' energy", fontsize=9
    )
