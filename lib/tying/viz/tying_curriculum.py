"""Figures of Part I, section 8: a curriculum on the tying strength.

Functions used by slider frames label their axes in plain Unicode (θ₁, T)
rather than mathtext, which would be parsed again on every frame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from . import OKABE_ITO, TIED, UNTIED, new_figure

__all__ = [
    "GOOD",
    "POOR",
    "outcome_is_good",
    "plot_landscape",
    "plot_paths",
    "plot_tied_profile",
    "plot_schedules",
    "plot_final_losses",
    "plot_final_gaps",
    "plot_success_vs_ramp",
    "plot_curriculum_frame",
]

#: Colours of runs that end in the good and in the poor basin.
GOOD = OKABE_ITO["green"]
POOR = OKABE_ITO["orange"]
#: A tied loss below this is in the good basin (the two tied minima are about 0.1 and 2.07).
THRESHOLD = 1.0


def outcome_is_good(tied_loss) -> np.ndarray:
    """``True`` where a run's final tied loss lies in the good basin."""
    return np.asarray(tied_loss) < THRESHOLD


def _ax(ax: Axes | None) -> Axes:
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    return ax


def _contour_segments(grid: Mapping, levels: np.ndarray) -> list[np.ndarray]:
    """Contour lines of the grid as polylines, computed once per grid and level set."""
    key = (id(grid), len(levels))
    if key not in _SEGMENTS:
        import contourpy

        axis = grid["axis"]
        generator = contourpy.contour_generator(axis, axis, grid["loss"])
        _SEGMENTS.clear()
        _SEGMENTS[key] = [line for level in levels for line in generator.lines(level)]
    return _SEGMENTS[key]


_SEGMENTS: dict = {}


def plot_landscape(grid: Mapping, ax: Axes | None = None, *, levels: int = 16) -> Axes:
    """The toy loss as a shaded image with contour lines, the tied line :math:`\theta_1 = \theta_2` dashed.

    ``grid`` is :func:`tying.experiments.tying_curriculum.landscape_grid`.  The
    shading and the levels follow the square root of the loss, so the floor of
    the bowl shows.  An image and precomputed lines draw in a few milliseconds,
    which keeps slider frames fast (``contourf`` takes half a second).
    """
    ax = _ax(ax)
    axis, loss = grid["axis"], grid["loss"]
    extent = (axis[0], axis[-1], axis[0], axis[-1])
    ax.imshow(
        np.sqrt(loss),
        origin="lower",
        extent=extent,
        cmap="Greys_r",
        alpha=0.9,
        interpolation="bilinear",
        aspect="equal",
    )
    bounds = np.linspace(0, np.sqrt(loss.max()), levels)[1:-1] ** 2
    ax.add_collection(
        LineCollection(_contour_segments(grid, bounds), colors="white", linewidths=0.4, alpha=0.6)
    )
    ax.plot(axis[[0, -1]], axis[[0, -1]], color=TIED, linestyle="--", linewidth=1.2)
    ax.set_xlim(axis[0], axis[-1])
    ax.set_ylim(axis[0], axis[-1])
    ticks = np.arange(np.ceil(axis[0] / 2) * 2, axis[-1] + 1e-9, 2.0)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlabel("θ₁")
    ax.set_ylabel("θ₂")
    ax.grid(visible=False)
    return ax


def plot_paths(paths: np.ndarray, tied_loss: Sequence[float], ax: Axes) -> Axes:
    """Trajectories ``(runs, steps, 2)``: green when they end in the good basin, orange when not.

    All paths go into one line collection and all markers into two scatter
    calls, so a slider frame stays cheap however many runs it shows.
    """
    paths = np.asarray(paths)
    colors = np.where(outcome_is_good(tied_loss), GOOD, POOR)
    ax.add_collection(LineCollection(list(paths), colors=list(colors), linewidths=1.1))
    ax.scatter(
        paths[:, 0, 0], paths[:, 0, 1], s=14, c="white", edgecolors="k", linewidths=0.7, zorder=3
    )
    ax.scatter(
        paths[:, -1, 0],
        paths[:, -1, 1],
        s=90,
        c=list(colors),
        marker="*",
        edgecolors="k",
        linewidths=0.7,
        zorder=4,
    )
    return ax


def plot_tied_profile(
    phi: np.ndarray, loss: np.ndarray, minima: Mapping, ax: Axes | None = None
) -> Axes:
    """The loss along the tied line, :math:`L(\\phi, \\phi)`, with its two minima marked."""
    ax = _ax(ax)
    ax.plot(phi, loss, color=TIED, label=r"tied: $L(\phi,\phi)$")
    for p, value, color in zip(minima["phi"], minima["loss"], (POOR, GOOD)):
        ax.plot(p, value, "*", color=color, markersize=12, markeredgecolor="k")
    ax.set_xlabel(r"$\phi$")
    ax.set_ylabel("loss")
    ax.legend(loc="upper right")
    return ax


def plot_schedules(steps: int, schedules: Mapping, ax: Axes | None = None) -> Axes:
    """The strength :math:`\\lambda(t)` of several schedules (name → callable)."""
    ax = _ax(ax)
    t = np.arange(steps)
    for (name, schedule), color in zip(schedules.items(), OKABE_ITO.values()):
        ax.plot(t, [schedule(int(s)) for s in t], label=name, color=color)
    ax.set_xlabel("step $t$")
    ax.set_ylabel(r"strength $\lambda(t)$")
    ax.legend(loc="lower right")
    return ax


def _strip(
    ax: Axes, values: Sequence[np.ndarray], labels: Sequence[str], colors: Sequence[str]
) -> None:
    rng = np.random.default_rng(0)
    for i, (vals, color) in enumerate(zip(values, colors)):
        vals = np.asarray(vals)
        jitter = rng.uniform(-0.22, 0.22, size=vals.shape)
        ax.plot(i + jitter, vals, "o", color=color, alpha=0.45, markersize=3.5, markeredgewidth=0)
        q1, med, q3 = np.quantile(vals, [0.25, 0.5, 0.75])
        ax.plot([i - 0.32, i + 0.32], [med, med], color="k", linewidth=2.2)
        ax.plot([i, i], [q1, q3], color="k", linewidth=1.0)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels)
    ax.grid(axis="x", visible=False)


def plot_final_losses(result: Mapping, rows: Sequence[str], ax: Axes | None = None) -> Axes:
    """Final *tied* loss :math:`L(\\bar\\theta, \\bar\\theta)` of every run, one column per method.

    ``rows`` names rows of ``result["names"]``; ``"hard"`` is the hard-tied model.
    Black bars: medians; thin lines: interquartile ranges; above each column the
    number of runs that end in the good basin.
    """
    ax = _ax(ax)
    names = list(result["names"])
    values, colors = [], []
    for row in rows:
        values.append(
            result["hard_loss"] if row == "hard" else result["tied_loss"][names.index(row)]
        )
        colors.append(UNTIED if row == "untied" else TIED)
    _strip(ax, values, [r.replace(" ", "\n", 1) for r in rows], colors)
    top = max(np.max(v) for v in values)
    for i, vals in enumerate(values):
        good = int(outcome_is_good(vals).sum())
        ax.text(i, 1.08 * top, f"{good}/{len(vals)}\ngood", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(-0.05 * top, 1.3 * top)
    ax.set_ylabel(r"final tied loss $L(\bar\theta,\bar\theta)$")
    return ax


def plot_final_gaps(result: Mapping, rows: Sequence[str], ax: Axes | None = None) -> Axes:
    """Final distance from the tie, :math:`|\\theta_1 - \\theta_2|`, one column per method (0 for hard tying)."""
    ax = _ax(ax)
    names = list(result["names"])
    values, colors = [], []
    for row in rows:
        if row == "hard":
            values.append(np.zeros_like(result["hard_loss"]))
        else:
            values.append(result["gap"][names.index(row)])
        colors.append(UNTIED if row == "untied" else TIED)
    _strip(ax, values, [r.replace(" ", "\n", 1) for r in rows], colors)
    ax.set_ylabel(r"final gap $|\theta_1 - \theta_2|$")
    return ax


def plot_success_vs_ramp(
    result: Mapping, ax: Axes | None = None, *, current: int | None = None, legend: bool = True
) -> Axes:
    """Fraction of runs whose tied model ends in the good basin, against the ramp length."""
    ax = _ax(ax)
    names = list(result["names"])
    lengths = np.asarray(result["ramp_lengths"])
    rows = [names.index(f"ramp {n}") for n in lengths]
    frac = outcome_is_good(result["tied_loss"][rows]).mean(axis=1)
    ax.plot(lengths, frac, "o-", color=TIED, label="linear ramp")
    hard = outcome_is_good(result["hard_loss"]).mean()
    untied = outcome_is_good(result["tied_loss"][names.index("untied")]).mean()
    ax.axhline(untied, color=UNTIED, linestyle=":", linewidth=1.2, label="untied")
    ax.axhline(hard, color="k", linestyle="--", linewidth=1.0, label="hard tie")
    if current is not None:
        k = list(lengths).index(current)
        ax.plot(lengths[k], frac[k], "o", color=TIED, markersize=11, markerfacecolor="none")
    ax.set_ylim(-0.03, 1.08)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.yaxis.set_major_formatter(ticker.PercentFormatter(1.0, decimals=0))
    ax.set_xticks(np.linspace(0, lengths.max(), 5))
    ax.set_xlabel("ramp length T (steps)")
    ax.set_ylabel("runs ending in the good basin")
    if legend:
        ax.legend(loc="center right")
    return ax


def plot_curriculum_frame(fig: Figure, result: Mapping, grid: Mapping, ramp: int) -> None:
    """One slider frame: the paths under a linear ramp of length ``ramp`` (a) and the success rate (b)."""
    axes = fig.subplots(1, 2, width_ratios=(1.0, 1.15))
    row = list(result["names"]).index(f"ramp {ramp}")
    n = result["paths"].shape[1]
    plot_landscape(grid, axes[0])
    plot_paths(result["paths"][row], result["tied_loss"][row, :n], axes[0])
    axes[0].set_title(f"linear ramp to λ = {result['lambda_max']:g} over T = {ramp}", fontsize=10)
    # No legend and fixed ticks keep the redraw cheap; the caption names the lines.
    plot_success_vs_ramp(result, axes[1], current=ramp, legend=False)
