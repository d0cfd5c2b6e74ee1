"""Figures of Part II, chapter 4: sets and graphs."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib import colors, ticker
from matplotlib.axes import Axes

from . import OKABE_ITO, TIED, UNTIED, band

__all__ = ["plot_tying_pattern", "plot_set_size_generalisation"]

_PALETTE = [
    OKABE_ITO[k] for k in ("blue", "orange", "green", "vermilion", "purple", "sky", "yellow")
]


def plot_tying_pattern(labels, ax: Axes, title: str | None = None, annotate: bool = True) -> None:
    """Draw an ``n x n`` tying pattern: entries with the same label share one colour (one parameter).

    ``labels`` is an integer matrix, e.g. from :func:`tying.theory.commutant.pair_orbits`.
    With ``annotate`` each cell shows its label, so the number of distinct
    parameters can be read off.
    """
    labels = np.asarray(labels)
    k = int(labels.max()) + 1
    palette = (_PALETTE * (k // len(_PALETTE) + 1))[:k]
    cmap = colors.ListedColormap(palette)
    ax.imshow(labels, cmap=cmap, vmin=-0.5, vmax=k - 0.5, interpolation="nearest")
    if annotate:
        for (i, j), v in np.ndenumerate(labels):
            ax.text(j, i, f"$\\theta_{{{v}}}$", ha="center", va="center", fontsize=8, color="white")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(visible=False)
    if title:
        ax.set_title(title, fontsize=10)


def plot_set_size_generalisation(results: Mapping, ax: Axes) -> None:
    """Mean absolute error of the predicted sum against set size, Deep Sets against the padded MLP.

    ``results`` is the dict of :func:`tying.experiments.sets.run_digit_sum_experiment`.
    The grey band marks the set sizes seen in training; the dotted line is the
    constant guess ``n * mean digit``.
    """
    sizes = np.asarray(results["test_sizes"])
    train = results["train_sizes"]
    ax.axvspan(
        min(train) - 0.5, max(train) + 0.5, color=OKABE_ITO["black"], alpha=0.08, linewidth=0
    )
    ax.text(
        (min(train) + max(train)) / 2,
        0.6,
        "training sizes",
        ha="center",
        va="center",
        fontsize=8,
        transform=ax.get_xaxis_transform(),
    )
    band(
        ax,
        sizes,
        results["deepsets"]["mae"],
        TIED,
        f"Deep Sets ({results['deepsets']['params']:,} parameters)",
    )
    band(
        ax,
        sizes,
        results["mlp"]["mae"],
        UNTIED,
        f"padded MLP ({results['mlp']['params']:,} parameters)",
        marker="s",
    )
    ax.plot(
        sizes,
        np.median(results["baseline_mae"], axis=0),
        color=OKABE_ITO["black"],
        linestyle=":",
        linewidth=1.2,
        label="guess $n \\times$ mean digit",
    )
    ax.xaxis.set_major_locator(ticker.FixedLocator(sizes))
    ax.set_xlabel("set size $n$ (number of digits)")
    ax.set_ylabel("mean absolute error of the sum")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
