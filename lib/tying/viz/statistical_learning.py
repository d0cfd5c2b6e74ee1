"""Figures of Part II, "Statistical learning": multi-task sharing and shrinkage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..theory.shrinkage import (
    bayes_risk,
    james_stein_bayes_risk,
    james_stein_risk,
    mle_risk,
    soft_sharing_bayes_risk,
    soft_sharing_estimate,
)
from . import OKABE_ITO, TIED, UNTIED, band, new_figure

__all__ = [
    "plot_multitask_curves",
    "plot_multitask_gap",
    "plot_risk_against_lambda",
    "plot_james_stein_risk",
    "plot_baseball",
    "plot_soft_sharing_frame",
]


def _axis(ax: Axes | None) -> Axes:
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    return ax


def _log_x(ax: Axes, ticks: Sequence[float], fmt: str = "{:g}") -> None:
    """Log x axis labelled only at ``ticks`` with plain numbers (no mathtext, cheap to draw)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(ticker.FixedLocator(list(ticks)))
    ax.xaxis.set_major_formatter(ticker.FixedFormatter([fmt.format(t) for t in ticks]))
    ax.xaxis.set_minor_locator(ticker.NullLocator())


def plot_multitask_curves(results: Mapping, ax: Axes | None = None) -> Axes:
    """Excess test error against examples per task, shared trunk against separate networks."""
    ax = _axis(ax)
    sizes = results["sizes"]
    p = results["params"]
    band(ax, sizes, results["shared"], TIED, f"shared trunk ({p['shared']:,} parameters)")
    band(ax, sizes, results["separate"], UNTIED, f"separate nets ({p['separate']:,})", marker="s")
    _log_x(ax, sizes)
    ax.set_yscale("log")
    ax.set_xlabel("training examples per task $n$")
    ax.set_ylabel("excess test error (MSE)")
    ax.legend(loc="lower left")
    return ax


def plot_multitask_gap(results: Mapping, ax: Axes | None = None) -> Axes:
    """Separate minus shared excess error, per seed and median: what tying the trunk buys."""
    ax = _axis(ax)
    sizes = results["sizes"]
    gap = np.asarray(results["separate"]) - np.asarray(results["shared"])
    band(ax, sizes, gap, OKABE_ITO["green"], "separate − shared")
    _log_x(ax, sizes)
    ax.axhline(0, color=OKABE_ITO["black"], linewidth=0.8)
    ax.set_xlabel("training examples per task $n$")
    ax.set_ylabel("gap in excess test error")
    ax.legend(loc="upper right")
    return ax


def plot_risk_against_lambda(sim: Mapping, ax: Axes | None = None) -> Axes:
    """Closed-form average risk of soft sharing against the penalty, with Monte Carlo points."""
    ax = _axis(ax)
    k, s2, t2 = sim["k"], sim["sigma2"], sim["tau2"]
    grid = np.logspace(-2, 2, 200)
    ax.plot(
        grid, soft_sharing_bayes_risk(grid, k, s2, t2), color=TIED, label="soft sharing (formula)"
    )
    lam = np.asarray(sim["lambdas"], dtype=float)
    shown = lam > 0
    ax.errorbar(
        lam[shown], sim["soft"][shown], yerr=2 * sim["soft_se"][shown], fmt="o", color=TIED,
        label="soft sharing (simulation)", capsize=2,
    )  # fmt: skip
    ax.axhline(mle_risk(k, s2), color=UNTIED, linestyle="--", label=r"no sharing ($\lambda = 0$)")
    ax.axhline(james_stein_bayes_risk(k, s2, t2), color=OKABE_ITO["green"], linestyle="-.",
               label="James–Stein")  # fmt: skip
    ax.axhline(bayes_risk(k, s2, t2), color=OKABE_ITO["black"], linestyle=":", label="Bayes risk")
    ax.axvline(s2 / t2, color=OKABE_ITO["black"], linewidth=0.6)
    _log_x(ax, [0.01, 0.1, 1, 10, 100])
    ax.set_xlabel(r"penalty $\lambda$")
    ax.set_ylabel(r"risk $E\,\|\hat\theta - \theta\|^2$")
    bottom = bayes_risk(k, s2, t2)
    ax.set_ylim(bottom - 0.05 * (k * s2 - bottom), k * s2 + 0.45 * (k * s2 - bottom))
    ax.legend(loc="upper center", ncols=2, fontsize=7.5)
    return ax


def plot_james_stein_risk(
    ks: Sequence[int], sigma2: float, checks: Mapping | None = None, ax: Axes | None = None
) -> Axes:
    """Risk of James–Stein divided by the MLE's, against the spread of the true means.

    ``checks`` maps ``k`` to a list of ``(spread, simulated risk)`` pairs drawn as points.
    """
    ax = _axis(ax)
    spread = np.linspace(0, 40, 81)  # S_theta / sigma^2
    colors = [OKABE_ITO[c] for c in ("blue", "green", "orange", "purple")]
    for k, color in zip(ks, colors):
        thetas = np.zeros((len(spread), k))
        # theta = (a, -a, 0, ..., 0) has sum of squared deviations 2a^2.
        thetas[:, 0], thetas[:, 1] = np.sqrt(spread * sigma2 / 2), -np.sqrt(spread * sigma2 / 2)
        ax.plot(spread, james_stein_risk(thetas, sigma2) / mle_risk(k, sigma2), color=color,
                label=f"K = {k}")  # fmt: skip
        for s, r in (checks or {}).get(k, []):
            ax.plot(s, r / mle_risk(k, sigma2), "o", color=color, markersize=4)
    ax.axhline(1, color=UNTIED, linestyle="--", label="MLE")
    ax.set_xlabel(r"spread of the true means $\sum_k(\theta_k-\bar\theta)^2/\sigma^2$")
    ax.set_ylabel("risk / risk of the MLE")
    ax.set_ylim(0, 1.08)
    ax.legend(loc="lower right")
    return ax


def plot_baseball(data: Mapping, estimate: np.ndarray, ax: Axes | None = None) -> Axes:
    """Early-season averages, their James–Stein estimates, and what happened next."""
    ax = _axis(ax)
    early, rest = data["early"], data["rest_of_season"]
    for y0, y1 in zip(early, estimate):
        ax.plot([0, 1], [y0, y1], color=OKABE_ITO["sky"], linewidth=0.8)
    for y1, y2 in zip(estimate, rest):
        ax.plot([1, 2], [y1, y2], color=OKABE_ITO["orange"], linewidth=0.8, alpha=0.7)
    ax.plot(np.zeros_like(early), early, "s", color=UNTIED, label="first 45 at bats (MLE)")
    ax.plot(np.ones_like(estimate), estimate, "o", color=TIED, label="James–Stein")
    ax.plot(2 * np.ones_like(rest), rest, "D", color=OKABE_ITO["black"], label="rest of season")
    ax.set_xticks([0, 1, 2])
    ax.set_xticklabels(["early average", "James–Stein", "rest of season"])
    ax.set_ylabel("batting average")
    ax.grid(axis="x", visible=False)
    ax.legend(loc="upper right", fontsize=8)
    return ax


def plot_soft_sharing_frame(
    fig: Figure, x: np.ndarray, theta: np.ndarray, lam: float, k: int, sigma2: float, tau2: float
) -> None:
    """One slider frame: (a) the average risk curve with the current penalty, (b) the estimates it gives.

    Closed forms only, and few text elements (no legend: the caption names the
    markers), so a redraw stays within the book's budget.
    """
    ax_risk, ax_est = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.25]})
    grid = np.logspace(-2, 2, 60)
    ax_risk.plot(grid, soft_sharing_bayes_risk(grid, k, sigma2, tau2), color=TIED)
    ax_risk.axhline(mle_risk(k, sigma2), color=UNTIED, linestyle="--", linewidth=1)
    ax_risk.axhline(
        bayes_risk(k, sigma2, tau2), color=OKABE_ITO["black"], linestyle=":", linewidth=1
    )
    current = soft_sharing_bayes_risk(lam, k, sigma2, tau2)
    ax_risk.plot([lam], [current], "o", color=TIED, markersize=8)
    _log_x(ax_risk, [0.01, 1, 100])
    ax_risk.set_yticks([0, k * sigma2 / 2, k * sigma2])
    ax_risk.set_ylim(0, 1.05 * k * sigma2)
    ax_risk.set_xlabel(r"penalty $\lambda$")
    ax_risk.set_ylabel("average risk")

    estimate = soft_sharing_estimate(x, lam)
    idx = np.arange(k)
    ax_est.axhline(x.mean(), color=OKABE_ITO["black"], linewidth=0.8, linestyle=":")
    ax_est.vlines(idx, np.minimum(x, estimate), np.maximum(x, estimate), color=OKABE_ITO["sky"])
    ax_est.plot(idx, x, "s", color=UNTIED, markersize=5)
    ax_est.plot(idx, estimate, "o", color=TIED, markersize=6)
    ax_est.plot(idx, theta, "x", color=OKABE_ITO["black"], markersize=6)
    ax_est.set_xticks([])
    ax_est.set_xlabel(f"groups k = 1, ..., {k}")
    lo, hi = min(x.min(), theta.min()), max(x.max(), theta.max())
    ax_est.set_ylim(lo - 0.3, hi + 0.3)
    ax_est.grid(visible=False)
    ax_est.set_title(
        f"λ = {lam:.3g}: keeps {1 / (1 + lam):.2f} of each deviation, risk {current:.2f}",
        fontsize=9,
    )
