"""Figures of Part I, section 3: a residual block tied across depth."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from . import OKABE_ITO, TIED, new_figure

__all__ = [
    "plot_sensitivity",
    "plot_fixed_point_distance",
    "plot_contraction_plane",
    "plot_depth_frame",
]


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    return ax


def _decades(ax: Axes, low: int, high: int, step: int = 1) -> None:
    """Log y axis labelled 10^k as plain text at chosen decades (no mathtext, fast to draw)."""
    ax.set_yscale("log")
    values = [10.0**k for k in range(low, high + 1, step)]
    labels = [
        f"{v:g}" if -2 <= k <= 4 else f"1e{k}" for k, v in zip(range(low, high + 1, step), values)
    ]
    ax.yaxis.set_major_locator(ticker.FixedLocator(values))
    ax.yaxis.set_major_formatter(ticker.FixedFormatter(labels))
    ax.yaxis.set_minor_locator(ticker.NullLocator())
    ax.set_ylim(10.0**low, 10.0**high)


def plot_sensitivity(results: Mapping, ax: Axes | None = None, depth: int | None = None) -> Axes:
    """The bound :math:`(1+L)^k` against measured sensitivities of :math:`h^k`, on a log scale.

    ``results`` is the dict of :func:`tying.experiments.depth.run_sensitivity_experiment`.
    The band spans the Jacobian spectral norms over all inputs (line: median);
    ``depth`` adds a marker line at that depth (used by the slider).
    """
    ax = _axes(ax)
    k = results["depths"]
    jac, pairs = results["jacobian"], results["pairs"]
    ax.plot(k, results["bound"], color=OKABE_ITO["black"], linestyle="--", label="bound $(1+L)^k$")
    ax.fill_between(k, jac.min(axis=1), jac.max(axis=1), color=TIED, alpha=0.2, linewidth=0)
    ax.plot(k, np.median(jac, axis=1), color=TIED, label="Jacobian norm (median, range)")
    ax.plot(k, pairs.max(axis=1), color=OKABE_ITO["green"], label="largest pair stretch")
    _decades(ax, -1, 5)
    ax.set_xlim(0, k[-1])
    ax.set_xlabel("depth $k$ (applications of the tied block)")
    ax.set_ylabel("sensitivity of $h^k$")
    if depth is not None:
        ax.axvline(depth, color=OKABE_ITO["black"], linewidth=0.8)
    ax.legend(loc="upper left")
    return ax


def plot_fixed_point_distance(results: Mapping, ax: Axes | None = None) -> Axes:
    """Distances :math:`\\|x_k - x^\\star\\|` for every start, with the contraction and generic bounds.

    ``results`` is the dict of :func:`tying.experiments.depth.run_contraction_experiment`.
    """
    ax = _axes(ax)
    k = results["depths"]
    dist = results["distance"]
    ax.fill_between(k, dist.min(axis=1), dist.max(axis=1), color=TIED, alpha=0.2, linewidth=0)
    ax.plot(k, dist.max(axis=1), color=TIED, label="measured (largest over starts)")
    ax.plot(
        k,
        results["bound"].max(axis=1),
        color=OKABE_ITO["black"],
        label=r"contraction bound $q^k d_0$",
    )
    ax.plot(
        k, results["a_priori"].max(axis=1), color=OKABE_ITO["orange"], linestyle="-.",
        label=r"a-priori bound $q^k\|x_1 - x_0\|/(1-q)$",
    )  # fmt: skip
    ax.plot(
        k, results["generic_bound"].max(axis=1), color=OKABE_ITO["black"], linestyle="--",
        label=r"generic bound $(1+L_f)^k d_0$",
    )  # fmt: skip
    _decades(ax, -10, 4, 2)
    ax.set_xlim(0, k[-1])
    ax.set_xlabel("depth $k$")
    ax.set_ylabel(r"distance to the fixed point $\|x_k - x^\star\|$")
    ax.legend(loc="lower left", fontsize=8)
    return ax


def plot_contraction_plane(
    results: Mapping, depth: int, ax: Axes | None = None, *, equal: bool = True
) -> Axes:
    """The 2-D iterates after ``depth`` steps, their paths so far, and the ball of radius :math:`q^K d_0`."""
    ax = _axes(ax)
    traj = results["trajectory"]  # (K + 1, n, 2)
    star = results["x_star"]
    # All paths as one line with NaN breaks: a single artist draws far faster than 64.
    paths = traj[: depth + 1].transpose(1, 0, 2)
    gaps = np.full((paths.shape[0], 1, 2), np.nan)
    joined = np.concatenate([paths, gaps], axis=1).reshape(-1, 2)
    ax.plot(joined[:, 0], joined[:, 1], color=TIED, alpha=0.25, linewidth=0.8)
    ax.plot(traj[0, :, 0], traj[0, :, 1], ".", color="0.6", markersize=3)
    ax.plot(traj[depth, :, 0], traj[depth, :, 1], "o", color=TIED, markersize=3.5)
    radius = results["distance"][0].max() * results["q"] ** depth
    ax.add_patch(
        Circle(star, radius, fill=False, color=OKABE_ITO["black"], linestyle="--", linewidth=1)
    )
    ax.plot(*star, "*", color=OKABE_ITO["vermilion"], markersize=11)
    reach = results["distance"][0].max() * 1.05
    ax.set_xlim(star[0] - reach, star[0] + reach)
    ax.set_ylim(star[1] - reach, star[1] + reach)
    if equal:
        ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def plot_depth_frame(fig: Figure, sensitivity: Mapping, contraction: Mapping, depth: int) -> None:
    """One slider frame: sensitivity against its bound (left), contraction to :math:`x^\\star` (right).

    Kept lean for the 100 ms redraw budget: no legends (the static figures carry
    them), few tick labels, and every path drawn as one artist.
    """
    left, right = fig.subplots(1, 2, width_ratios=[1.35, 1])
    k = sensitivity["depths"]
    jac = sensitivity["jacobian"]
    left.plot(k, sensitivity["bound"], color=OKABE_ITO["black"], linestyle="--")
    left.fill_between(k, jac.min(axis=1), jac.max(axis=1), color=TIED, alpha=0.2, linewidth=0)
    left.plot(k, np.median(jac, axis=1), color=TIED)
    left.axvline(depth, color=OKABE_ITO["black"], linewidth=0.8)
    _decades(left, -1, 5, 2)
    left.set_xlim(0, k[-1])
    left.set_xticks(
        np.linspace(0, k[-1], 5).round().astype(int)
    )  # few labels: text dominates redraw time
    left.set_xlabel("depth K")
    left.set_ylabel("sensitivity of h^K")
    bound, measured = sensitivity["bound"][depth], jac[depth].max()
    left.set_title(f"bound (1+L)^K = {bound:,.1f}  |  measured max {measured:.2f}", fontsize=9)
    plot_contraction_plane(contraction, depth, right, equal=False)
    right.set_xlabel("x₁")
    right.set_ylabel("x₂")
    right.set_xticks([-2, 0, 2])
    right.set_yticks([-2, 0, 2])
    right.set_title(
        f"largest distance to x*: {contraction['distance'][depth].max():.1e}", fontsize=9
    )
