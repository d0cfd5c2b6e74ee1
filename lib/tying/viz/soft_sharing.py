"""Figures of Part I, section 5: soft sharing as a Gaussian prior on a difference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..theory.soft_sharing import (
    precision_weighted_mean,
    soft_sharing_map,
    soft_sharing_posterior_covariance,
)
from . import OKABE_ITO, TIED, UNTIED

__all__ = ["plot_posterior", "plot_estimates_against_sigma", "plot_sigma_frame"]

_ANGLES = np.linspace(0.0, 2.0 * np.pi, 121)


def _ellipse(mean: np.ndarray, cov: np.ndarray, radius: float) -> np.ndarray:
    """Points of ``{theta : (theta - mean)^T cov^-1 (theta - mean) = radius^2}``, shape (121, 2)."""
    vals, vecs = np.linalg.eigh(cov)
    circle = np.stack([np.cos(_ANGLES), np.sin(_ANGLES)], axis=1)
    return mean + radius * (circle * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def plot_posterior(
    ax: Axes,
    x_i: float,
    x_j: float,
    lam_i: float,
    lam_j: float,
    sigma: float,
    *,
    limits=None,
    legend: bool = True,
) -> Axes:
    """The posterior over ``(theta_i, theta_j)``: 1- and 2-sd ellipses, the MAP, the data, the tie line.

    The dotted segment is where the MAP estimate travels as sigma runs from
    infinity (at the data) to zero (on the diagonal, at the precision-weighted mean).
    """
    theta = np.array(soft_sharing_map(x_i, x_j, lam_i, lam_j, sigma))
    cov = soft_sharing_posterior_covariance(lam_i, lam_j, sigma)
    mean = precision_weighted_mean(x_i, x_j, lam_i, lam_j)
    lo, hi = limits if limits is not None else (min(x_i, x_j) - 1.5, max(x_i, x_j) + 1.5)
    ax.plot(
        [lo, hi],
        [lo, hi],
        color=OKABE_ITO["black"],
        lw=0.8,
        ls="--",
        label=r"tie $\theta_i=\theta_j$",
    )
    ax.plot([x_i, mean], [x_j, mean], color=OKABE_ITO["black"], lw=1.0, ls=":", label="MAP path")
    for radius, alpha in ((1.0, 0.35), (2.0, 0.18)):
        pts = _ellipse(theta, cov, radius)
        ax.fill(pts[:, 0], pts[:, 1], color=TIED, alpha=alpha, lw=0)
    ax.plot(*theta, "o", color=TIED, label="MAP")
    ax.plot(x_i, x_j, "X", color=UNTIED, ms=8, label=r"data $(x_i, x_j)$")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel(r"$\theta_i$")
    ax.set_ylabel(r"$\theta_j$")
    if legend:
        ax.legend(loc="upper left", fontsize=8)
    return ax


def _sigma_axis(ax: Axes, sigmas: Sequence[float]) -> None:
    """Log x axis with plain-number ticks at the decades inside the range (no mathtext)."""
    ax.set_xscale("log")
    lo, hi = np.log10(min(sigmas)), np.log10(max(sigmas))
    first, last = int(np.ceil(lo - 1e-9)), int(np.floor(hi + 1e-9))
    step = max(1, int(np.ceil((last - first) / 5)))  # at most about six labels
    decades = [10.0**k for k in range(first, last + 1, step)]
    ax.xaxis.set_major_locator(ticker.FixedLocator(decades))
    ax.xaxis.set_major_formatter(ticker.FixedFormatter([f"{d:g}" for d in decades]))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlim(min(sigmas), max(sigmas))
    ax.set_xlabel(r"prior width $\sigma$")


def plot_estimates_against_sigma(
    ax: Axes,
    x_i: float,
    x_j: float,
    lam_i: float,
    lam_j: float,
    sigmas: Sequence[float],
    *,
    current: float | None = None,
    legend: bool = True,
) -> Axes:
    """Both MAP estimates against sigma, between the tied value and the data."""
    sigmas = np.asarray(sigmas, dtype=float)
    fine = np.geomspace(sigmas.min(), sigmas.max(), 200)
    th_i, th_j = soft_sharing_map(x_i, x_j, lam_i, lam_j, fine)
    mean = precision_weighted_mean(x_i, x_j, lam_i, lam_j)
    ax.axhline(mean, color=TIED, lw=0.9, ls="--", label="precision-weighted mean")
    ax.plot(fine, th_i, color=OKABE_ITO["green"], label=r"$\hat\theta_i$")
    ax.plot(fine, th_j, color=OKABE_ITO["orange"], label=r"$\hat\theta_j$")
    ax.plot(fine[[-1, -1]], [x_i, x_j], "X", color=UNTIED, ms=7, clip_on=False, label="data")
    if current is not None:
        ax.axvline(current, color=OKABE_ITO["black"], lw=0.8)
        ci, cj = soft_sharing_map(x_i, x_j, lam_i, lam_j, current)
        ax.plot([current, current], [ci, cj], "o", color=OKABE_ITO["black"], ms=4)
    _sigma_axis(ax, sigmas)
    ax.set_ylabel("MAP estimate")
    if legend:
        ax.legend(loc="center left", fontsize=8)
    return ax


def plot_sigma_frame(
    fig: Figure,
    sigma: float,
    x_i: float,
    x_j: float,
    lam_i: float,
    lam_j: float,
    sigmas: Sequence[float],
) -> None:
    """One slider frame: the posterior at ``sigma`` (left) and the estimates against sigma (right).

    No legends (the caption explains the marks) and integer ticks: a frame must redraw in
    well under 100 ms.
    """
    ax_post, ax_path = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.35]})
    plot_posterior(ax_post, x_i, x_j, lam_i, lam_j, sigma, legend=False)
    ax_post.set_title(f"posterior, σ = {sigma:.3g}", fontsize=10)
    lo, hi = min(x_i, x_j) - 1.5, max(x_i, x_j) + 1.5
    ticks = list(range(int(np.ceil(lo)), int(np.floor(hi)) + 1))
    ax_post.set_xticks(ticks)
    ax_post.set_yticks(ticks)
    ax_post.set_xlabel("θ_i")
    ax_post.set_ylabel("θ_j")
    plot_estimates_against_sigma(
        ax_path, x_i, x_j, lam_i, lam_j, sigmas, current=sigma, legend=False
    )
    ax_path.set_yticks(ticks)
    ax_path.set_ylim(lo, hi)
    ax_path.set_xlabel("prior width σ")
    ax_path.set_title("estimates θ_i (green), θ_j (orange)", fontsize=10)
