"""Figures of Part I, section 9: the degeneracy of a tied linear autoencoder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes

from . import OKABE_ITO, TIED, UNTIED, new_figure

__all__ = ["plot_degeneracy_vs_width", "plot_degeneracy_grid", "plot_orbit_losses"]


def _ax(ax: Axes | None) -> Axes:
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    return ax


def plot_degeneracy_vs_width(
    ms: Sequence[int],
    measured: Sequence[int],
    formula: Sequence[int],
    overcomplete: Sequence[int],
    n: int,
    ax: Axes | None = None,
    *,
    untied: Sequence[int] | None = None,
) -> Axes:
    """Measured null-space dimension against the width :math:`m` at fixed :math:`n`, with both formulas."""
    ax = _ax(ax)
    ms = np.asarray(ms)
    ax.axvspan(ms[0] - 0.5, n - 0.5, color=OKABE_ITO["sky"], alpha=0.12, linewidth=0)
    ax.plot(ms, formula, "-", color=TIED, label="$(m-r)n + r(r-1)/2$, $r=\\min(m,n)$")
    ax.plot(ms, overcomplete, "--", color="k", linewidth=1.2, label="$mn - n(n+1)/2$")
    ax.plot(
        ms,
        measured,
        "o",
        color=TIED,
        markersize=7,
        markerfacecolor="white",
        label="measured (tied)",
    )
    if untied is not None:
        ax.plot(ms, untied, "s:", color=UNTIED, markersize=4, label="untied $VW$ (formula)")
    ax.axhline(0, color="k", linewidth=0.6)
    ax.text(ms[0] - 0.3, ax.get_ylim()[1] * 0.92, "bottleneck\n$m < n$", fontsize=8, va="top")
    ax.set_xticks(ms)
    ax.set_xlabel("hidden units $m$")
    ax.set_ylabel("degenerate directions")
    ax.set_title(f"inputs n = {n}", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, 0.82), fontsize=8)
    return ax


def plot_degeneracy_grid(grid: Mapping, ax: Axes | None = None) -> Axes:
    """The measured dimension for every ``(m, n)`` as a labelled table-like image."""
    ax = _ax(ax)
    null = np.asarray(grid["null_dim"])
    ax.imshow(null, origin="lower", cmap="Blues", aspect="auto")
    for i in range(null.shape[0]):
        for j in range(null.shape[1]):
            colour = "white" if null[i, j] > 0.6 * null.max() else "black"
            ax.text(j, i, str(null[i, j]), ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(len(grid["ns"])))
    ax.set_xticklabels([str(n) for n in grid["ns"]])
    ax.set_yticks(range(len(grid["ms"])))
    ax.set_yticklabels([str(m) for m in grid["ms"]])
    ax.set_xlabel("inputs $n$")
    ax.set_ylabel("hidden units $m$")
    ax.grid(visible=False)
    return ax


def plot_orbit_losses(paths: Mapping, ax: Axes | None = None) -> Axes:
    """Loss along the orbit :math:`e^{tS}W` (flat) and along a random direction (a valley)."""
    ax = _ax(ax)
    ax.plot(
        paths["t"], paths["random"], color=OKABE_ITO["orange"], label="random direction $W + tD$"
    )
    ax.plot(paths["t"], paths["orbit"], color=TIED, label="orbit $e^{tS}W$ ($e^{tS}$ orthogonal)")
    ax.set_xlabel("path parameter $t$ (unit speed at $t = 0$)")
    ax.set_ylabel("reconstruction loss")
    ax.legend(loc="upper center")
    return ax
