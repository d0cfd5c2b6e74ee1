"""Figures of Part I, section 6: backpropagation through a tied parameter."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes

from . import OKABE_ITO, TIED, UNTIED

__all__ = ["plot_per_use_gradients", "plot_bias_trajectories"]


def plot_per_use_gradients(results: Mapping, ax: Axes) -> Axes:
    """The shared bias's gradient split into its uses, and their sum, at every training step.

    ``results`` is what :func:`tying.experiments.backprop.run_tied_vs_copies` returns.
    """
    tied = results["tied"]
    per_use = np.asarray(tied["per_use"])
    steps = np.arange(per_use.shape[0])
    colors = (OKABE_ITO["green"], OKABE_ITO["orange"], OKABE_ITO["purple"], OKABE_ITO["sky"])
    for k in range(per_use.shape[1]):
        ax.plot(
            steps,
            per_use[:, k],
            color=colors[k % len(colors)],
            lw=1.4,
            label=f"use in unit {k + 1}",
        )
    ax.plot(steps, per_use.sum(1), color=TIED, lw=2.4, label="sum (closed form)")
    every = max(1, len(steps) // 15)
    ax.plot(
        steps[::every],
        np.asarray(tied["autograd"])[::every],
        "o",
        color=OKABE_ITO["black"],
        ms=3.5,
        label="autograd",
        zorder=3,
    )
    ax.axhline(0, color=OKABE_ITO["black"], lw=0.6)
    ax.set_xlabel("training step")
    ax.set_ylabel(r"$\partial L/\partial b$ contributions")
    # Above the axes: the curves fill the whole panel.
    ax.legend(fontsize=8, ncol=2, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return ax


def plot_bias_trajectories(results: Mapping, ax: Axes) -> Axes:
    """The bias during training: tied, copies with summed or averaged gradients, and free copies."""
    steps = results["steps"]
    ax.plot(steps, results["tied"]["bias"][:, 0], color=TIED, lw=3.2, alpha=0.55, label="tied")
    if "sum" in results:
        every = max(1, len(steps) // 15)
        ax.plot(
            steps[::every],
            results["sum"]["bias"][::every, 0],
            "o",
            color=TIED,
            ms=3.5,
            label="copies, summed grads",
        )
    if "mean" in results:
        ax.plot(
            steps,
            results["mean"]["bias"][:, 0],
            color=OKABE_ITO["black"],
            ls="--",
            lw=1.2,
            label="copies, averaged grads",
        )
    if "free" in results:
        free = results["free"]["bias"]
        for k in range(free.shape[1]):
            ax.plot(
                steps,
                free[:, k],
                color=UNTIED,
                lw=1.2,
                ls=("-", ":")[k % 2],
                label=f"free copy $b_{k + 1}$",
            )
    ax.set_xlabel("training step")
    ax.set_ylabel("hidden bias")
    ax.legend(fontsize=8)
    return ax
