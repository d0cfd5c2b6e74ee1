"""One look for every figure in the book.

The palette is Okabe and Ito's eight colours, chosen so that readers with any
common form of colour-vision deficiency can still tell the lines apart.  Tied
models are always drawn in blue and untied ones in vermilion, in every
chapter, so that a reader learns the code once.

Only the style and the few helpers that several chapters share live here
(:func:`new_figure`, :func:`label_panels`, :func:`band`).  A chapter's own
figures are drawn in the chapter, in cells whose input is collapsed on the page.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "OKABE_ITO",
    "TIED",
    "UNTIED",
    "STYLE",
    "use_style",
    "new_figure",
    "label_panels",
    "band",
]

#: Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermilion": "#D55E00",
    "purple": "#CC79A7",
}
TIED = OKABE_ITO["blue"]
UNTIED = OKABE_ITO["vermilion"]

STYLE: dict[str, object] = {
    "axes.prop_cycle": mpl.cycler(
        color=[
            OKABE_ITO[k]
            for k in ("blue", "vermilion", "green", "orange", "purple", "sky", "yellow", "black")
        ]
    ),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "font.family": "DejaVu Sans",
    "mathtext.fontset": "dejavusans",
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "savefig.bbox": "tight",
    "figure.constrained_layout.use": True,
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
}


def use_style() -> None:
    """Apply the book's matplotlib style globally (notebooks call this once via ``tying.setup``)."""
    mpl.rcParams.update(STYLE)


def new_figure(
    ncols: int = 1, nrows: int = 1, *, figsize: tuple[float, float] | None = None
) -> tuple[Figure, np.ndarray]:
    """Create a figure outside pyplot's global state, styled like the rest of the book.

    Returns the figure and a 2-D array of axes of shape ``(nrows, ncols)``.
    Using :class:`matplotlib.figure.Figure` directly means nothing is displayed
    twice and slider frames can be rendered in any order.
    """
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=figsize or (4.2 * ncols, 3.2 * nrows), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def label_panels(axes: Sequence[Axes]) -> None:
    """Write (a), (b), ... in the top-left corner of each panel so captions can refer to them."""
    for letter, ax in zip("abcdefghijklmnopqrstuvwxyz", axes):
        ax.text(-0.12, 1.04, f"({letter})", transform=ax.transAxes, fontweight="bold", va="bottom")


def band(ax: Axes, x, runs: np.ndarray, color: str, label: str, marker: str = "o") -> None:
    """Median over seeds as a line, min–max over seeds as a shaded band."""
    runs = np.asarray(runs, dtype=float)
    ax.plot(x, np.median(runs, axis=0), marker=marker, color=color, label=label)
    if runs.shape[0] > 1:
        ax.fill_between(x, runs.min(axis=0), runs.max(axis=0), color=color, alpha=0.18, linewidth=0)
