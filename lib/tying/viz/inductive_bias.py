"""Figures of Part I, section 1: the inductive bias of sharing."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import OKABE_ITO, TIED, UNTIED, band, new_figure

__all__ = [
    "plot_learning_curves",
    "plot_generalisation_gap",
    "plot_shift_robustness",
    "plot_training_size_frame",
]


def _size_axis(ax: Axes, sizes) -> None:
    """Log-scaled x axis labelled at the measured sizes only (plain numbers, no 10^k)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(ticker.FixedLocator(sizes))
    ax.xaxis.set_major_formatter(ticker.FixedFormatter([str(n) for n in sizes]))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlabel("training images $n$")


def plot_learning_curves(results: Mapping, ax: Axes | None = None) -> Axes:
    """Test accuracy against training-set size, tied (conv) against untied (locally connected).

    ``results`` is the mapping returned by
    :func:`tying.experiments.inductive_bias.run_size_sweep`.
    """
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    sizes = results["sizes"]
    band(ax, sizes, results["conv"]["test"], TIED, "tied (Conv2d)")
    band(ax, sizes, results["local"]["test"], UNTIED, "untied (LocallyConnected2d)", marker="s")
    _size_axis(ax, sizes)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower right")
    return ax


def plot_generalisation_gap(results: Mapping, ax: Axes | None = None) -> Axes:
    """Train accuracy minus test accuracy against training-set size: the variance that tying removes."""
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    sizes = results["sizes"]
    for name, color, label, marker in (
        ("conv", TIED, "tied", "o"),
        ("local", UNTIED, "untied", "s"),
    ):
        gap = np.asarray(results[name]["train"]) - np.asarray(results[name]["test"])
        band(ax, sizes, gap, color, label, marker)
    _size_axis(ax, sizes)
    ax.set_ylabel("train − test accuracy")
    ax.axhline(0, color=OKABE_ITO["black"], linewidth=0.8)
    ax.legend(loc="upper right")
    return ax


def plot_shift_robustness(results: Mapping, ax: Axes | None = None) -> Axes:
    """Test accuracy on images translated by 0, 1 and 2 pixels, at the largest training size."""
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    shifts = np.asarray(results["shifts"])
    width = 0.38
    for offset, name, color, label in (
        (-width / 2, "conv", TIED, "tied"),
        (width / 2, "local", UNTIED, "untied"),
    ):
        runs = np.asarray(results[name]["shifted"])[:, -1, :]  # (seeds, shifts) at the largest n
        med = np.median(runs, axis=0)
        err = np.vstack([med - runs.min(axis=0), runs.max(axis=0) - med])
        ax.bar(shifts + offset, med, width, color=color, label=label, yerr=err, capsize=3)
    ax.set_xticks(shifts)
    ax.set_xticklabels([f"{s} px" for s in shifts])
    ax.set_xlabel("shift of the test images")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="upper right")
    return ax


def plot_training_size_frame(fig: Figure, results: Mapping, n: int) -> None:
    """One slider frame: train, test and shifted-test accuracy of both networks trained on ``n`` images.

    Bars are medians over seeds; a single panel keeps a redraw well inside the
    book's 100 ms budget (the learning curves themselves are a static figure).
    """
    sizes = list(results["sizes"])
    i = sizes.index(n)
    ax = fig.subplots()
    labels = ["train", "test", "test, shifted 1 px", "test, shifted 2 px"]
    x = np.arange(len(labels))
    width = 0.38
    for offset, name, color, label in (
        (-width / 2, "conv", TIED, "tied (Conv2d)"),
        (width / 2, "local", UNTIED, "untied (LocallyConnected2d)"),
    ):
        r = results[name]
        values = [
            float(np.median(np.asarray(r["train"])[:, i])),
            float(np.median(np.asarray(r["test"])[:, i])),
            float(np.median(np.asarray(r["shifted"])[:, i, 1])),
            float(np.median(np.asarray(r["shifted"])[:, i, 2])),
        ]
        ax.bar(x + offset, values, width, color=color, label=label)
        for xi, v in zip(x + offset, values):
            ax.text(xi, v + 0.015, f"{v:.2f}", ha="center", va="bottom", fontsize=8)
    ax.axhline(0.1, color=OKABE_ITO["black"], linewidth=0.8, linestyle=":")
    ax.text(x[0] - 0.45, 0.11, "chance", fontsize=8, ha="left", va="bottom")
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("accuracy (median over seeds)")
    ax.set_title(f"trained on n = {n} images")
    ax.legend(loc="upper right", ncols=2)
    ax.grid(visible=False)
