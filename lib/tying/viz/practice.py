"""Figures of Part II, tying in practice: what a broken tie does to training."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes

from . import OKABE_ITO, TIED, UNTIED, new_figure

__all__ = ["VARIANTS", "plot_tie_training_loss", "plot_tie_training_drift"]

#: (key, label, colour, line style) of the four ways the model was built.
VARIANTS = (
    ("tied", "tied (as built)", TIED, "-"),
    ("meta_retied", "meta + to_empty + tie_weights()", OKABE_ITO["sky"], (0, (4, 3))),
    ("assign", "load_state_dict(assign=True)", OKABE_ITO["orange"], "-"),
    ("meta", "meta + to_empty, not re-tied", UNTIED, "-"),
)


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    return ax


def plot_tie_training_loss(results: Mapping, ax: Axes | None = None, *, window: int = 20) -> Axes:
    """Training loss of each variant minus that of the tied run (moving average over ``window`` steps).

    The curves are indistinguishable when plotted directly, so the figure shows
    how far each variant's path departs from the tied one; the re-tied model
    lies exactly on zero.  ``results`` comes from
    :func:`tying.experiments.practice.run_tie_breaking_training`.
    """
    ax = _axes(ax)
    kernel = np.ones(window) / window
    reference = np.asarray(results["tied"]["loss"])
    ax.axhline(0.0, color=OKABE_ITO["black"], linewidth=0.8)
    for key, label, color, style in VARIANTS[1:]:
        difference = np.asarray(results[key]["loss"]) - reference
        smooth = np.convolve(difference, kernel, mode="valid")
        ax.plot(
            np.arange(window, len(reference) + 1), smooth, color=color, linestyle=style, label=label
        )
    ax.set_xlabel("Adam step")
    ax.set_ylabel(f"loss minus tied loss ({window}-step mean)")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_tie_training_drift(results: Mapping, ax: Axes | None = None) -> Axes:
    """Parameters the optimiser saw, and how far embedding and output weight drifted apart."""
    ax = _axes(ax)
    keys = [v[0] for v in VARIANTS]
    params = [results[k]["params"] for k in keys]
    bars = ax.barh(range(len(keys)), params, color=[v[2] for v in VARIANTS])
    ax.set_yticks(range(len(keys)))
    ax.set_yticklabels([v[1] for v in VARIANTS], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("parameters seen by the optimiser")
    ax.grid(axis="y", visible=False)
    for bar, key in zip(bars, keys):
        drift = results[key]["drift"]
        ax.text(
            bar.get_width(),
            bar.get_y() + bar.get_height() / 2,
            f"  max|E−H| = {drift:.2g}",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, 1.6 * max(params))
    return ax
