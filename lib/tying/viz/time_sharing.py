"""Figures of Part I, section 2: sharing an AR(1) coefficient across time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..theory.time_sharing import (
    ar1_variances,
    crossover_amplitude,
    crossover_amplitude_leading,
    drift_path,
    misspecification_bias,
    tied_estimator_variance,
    tied_limit,
    untied_estimator_variance,
)
from . import OKABE_ITO, TIED, UNTIED, new_figure

__all__ = [
    "plot_coefficient_path",
    "plot_excess_vs_amplitude",
    "plot_crossover",
    "excess_error_curves",
    "plot_time_sharing_frame",
]


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    return ax


def _log_axis(axis, values: Sequence[float], fmt: str = "{:g}") -> None:
    """Log scale labelled at chosen values only, as plain numbers (no mathtext)."""
    axis.set_major_locator(ticker.FixedLocator(values))
    axis.set_major_formatter(ticker.FixedFormatter([fmt.format(v) for v in values]))
    axis.set_minor_locator(ticker.NullLocator())


def plot_coefficient_path(
    theta,
    n_sequences: int,
    ax: Axes | None = None,
    *,
    untied_estimates: np.ndarray | None = None,
    sigma: float = 1.0,
) -> Axes:
    """The true coefficients, their plain mean, the tied limit and the untied spread.

    The band is plus or minus one standard error of an untied estimate,
    :math:`\\sqrt{\\sigma^2/(v_{t-1}(N-2))}`; ``untied_estimates`` (one fitted
    set, shape ``(T,)``) is drawn as points when given.
    """
    ax = _axes(ax)
    theta = np.asarray(theta, dtype=float)
    t = np.arange(1, len(theta) + 1)
    v_prev = ar1_variances(theta, sigma)[:-1]
    se = np.sqrt(untied_estimator_variance(n_sequences, v_prev, sigma))
    ax.fill_between(
        t, theta - se, theta + se, color=UNTIED, alpha=0.15, linewidth=0,
        label=f"untied ± 1 s.e. (N = {n_sequences})",
    )  # fmt: skip
    if untied_estimates is not None:
        ax.plot(t, untied_estimates, "s", color=UNTIED, markersize=3.5, label="one untied fit")
    ax.plot(t, theta, color=OKABE_ITO["black"], label=r"true $\theta_t$")
    ax.axhline(
        theta.mean(), color=OKABE_ITO["black"], linestyle=":", linewidth=1.2, label="plain mean"
    )
    ax.axhline(
        tied_limit(theta, sigma), color=TIED, linestyle="--", label=r"tied limit $\theta^\star$"
    )
    ax.set_xlabel("time step $t$")
    ax.set_ylabel(r"coefficient $\theta_t$")
    return ax


def plot_excess_vs_amplitude(sweep: Mapping, ax: Axes | None = None) -> Axes:
    """Monte Carlo excess errors (points, ±2 s.e.) against the closed forms (lines), over drift amplitude.

    ``sweep`` is the dict of :func:`tying.experiments.time_sharing.run_amplitude_sweep`.
    """
    ax = _axes(ax)
    a = np.asarray(sweep["amplitudes"])
    fine = np.linspace(a.min(), a.max(), 60)
    n, T = sweep["n_sequences"], sweep["T"]
    tied_line, bias_line = [], []
    for amp in fine:
        th = drift_path(T, amp)
        v_prev = ar1_variances(th)[:-1]
        bias = v_prev.mean() * misspecification_bias(th, v_prev)
        bias_line.append(bias)
        tied_line.append(bias + v_prev.mean() * tied_estimator_variance(th, n))
    ax.plot(fine, tied_line, color=TIED, label="tied, closed form")
    ax.plot(fine, bias_line, color=TIED, linestyle=":", label=r"tied, bias part $\bar v s_w^2$")
    ax.axhline(sweep["untied_theory"][0], color=UNTIED, label=r"untied, $\sigma^2/(N-2)$")
    ax.errorbar(
        a, sweep["tied"], yerr=2 * sweep["tied_sem"], fmt="o", color=TIED, label="tied, simulated"
    )
    ax.errorbar(
        a, sweep["untied"], yerr=2 * sweep["untied_sem"], fmt="s", color=UNTIED,
        label="untied, simulated",
    )  # fmt: skip
    ax.set_xlabel("drift amplitude $a$")
    ax.set_ylabel("excess prediction error")
    ax.set_title(f"N = {n} sequences, T = {T} steps", fontsize=10)
    ax.set_ylim(bottom=0)
    return ax


def plot_crossover(
    n_values: Sequence[int],
    T_values: Sequence[int],
    ax: Axes | None = None,
    *,
    check: Mapping | None = None,
    centre: float = 0.5,
) -> Axes:
    """Crossover amplitude :math:`a^\\star(N)` for several ``T``: tying pays below each curve.

    Solid lines solve the delta-method closed form, dashed lines are the rule of
    thumb :func:`crossover_amplitude_leading`; ``check`` (from
    :func:`tying.experiments.time_sharing.run_crossover_check`) adds the simulated
    crossovers as points.
    """
    ax = _axes(ax)
    colors = [OKABE_ITO[c] for c in ("green", "orange", "purple", "sky")]
    for T, color in zip(T_values, colors):
        exact = [crossover_amplitude(n, T, centre) for n in n_values]
        rule = [crossover_amplitude_leading(n, T, centre) for n in n_values]
        ax.plot(n_values, exact, color=color, label=f"T = {T}")
        ax.plot(n_values, rule, color=color, linestyle="--", linewidth=1.0)
        if check is not None:
            mask = np.asarray(check["T"]) == T
            ax.plot(
                np.asarray(check["n_sequences"])[mask], np.asarray(check["simulated"])[mask],
                "o", color=color, markeredgecolor=OKABE_ITO["black"], markersize=6,
            )  # fmt: skip
    ax.plot([], [], color="0.4", linestyle="--", linewidth=1.0, label="rule of thumb")
    if check is not None:
        ax.plot([], [], "o", color="0.6", markeredgecolor=OKABE_ITO["black"], label="simulated")
    ax.set_xscale("log")
    ticks = [
        n for n in (3, 5, 10, 20, 50, 100, 200, 500, 1000) if min(n_values) <= n <= max(n_values)
    ]
    _log_axis(ax.xaxis, ticks)
    ax.set_ylim(0, 1.0 - abs(centre))
    ax.set_xlabel("sequences $N$")
    ax.set_ylabel(r"crossover amplitude $a^\star$")
    ax.text(
        0.97, 0.05, "tying pays below the curve", transform=ax.transAxes, ha="right", fontsize=9
    )
    ax.legend(loc="upper right")
    return ax


def excess_error_curves(T: int, amplitude: float, n_values, centre: float = 0.5) -> dict:
    """Closed-form excess errors of both models over ``n_values`` for one drift (σ = 1).

    The delta-method variance is exactly proportional to ``1/N``, so it is
    computed once and scaled.  Used by the slider, which must not simulate.
    """
    n_values = np.asarray(n_values, dtype=float)
    theta = drift_path(T, amplitude, centre)
    v_prev = ar1_variances(theta)[:-1]
    v_bar = v_prev.mean()
    bias = v_bar * misspecification_bias(theta, v_prev)
    tied = bias + v_bar * tied_estimator_variance(theta, 1) / n_values
    untied = np.where(n_values > 2, 1.0 / np.maximum(n_values - 2, 1e-12), np.inf)
    paying = n_values[tied < untied]
    return {
        "theta": theta,
        "tied": tied,
        "untied": untied,
        "bias": bias,
        "n_crossover": float(paying.max())
        if len(paying) and paying.max() < n_values.max()
        else np.inf,
    }


def plot_time_sharing_frame(
    fig: Figure, T: int, amplitude: float, n_values=None, centre: float = 0.5
) -> None:
    """One slider frame: the coefficient path (left) and excess error against ``N`` (right)."""
    if n_values is None:
        n_values = np.unique(np.round(np.geomspace(3, 1000, 40)).astype(int))
    curves = excess_error_curves(T, amplitude, n_values, centre)
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.25])

    theta = curves["theta"]
    t = np.arange(1, T + 1)
    left.plot(t, theta, color=OKABE_ITO["black"])
    left.axhline(tied_limit(theta), color=TIED, linestyle="--")
    left.set_ylim(0.0, 1.0)
    left.set_yticks([0.0, 0.5, 1.0])
    left.set_xlim(0, T + 1)
    left.set_xlabel("time step t")
    left.set_ylabel("θₜ  (dashed: tied limit θ*)")

    right.plot(n_values, curves["tied"], color=TIED, label="tied")
    right.plot(n_values, curves["untied"], color=UNTIED, label="untied")
    right.axhline(curves["bias"], color=TIED, linestyle=":", linewidth=1.2, label="tied bias part")
    right.set_xscale("log")
    right.set_yscale("log")
    _log_axis(right.xaxis, [3, 10, 30, 100, 300, 1000])
    _log_axis(right.yaxis, [1e-4, 1e-2, 1], "{:g}")
    right.set_ylim(5e-5, 1.5)
    right.set_xlabel("sequences N")
    right.set_ylabel("excess prediction error")
    n_star = curves["n_crossover"]
    if np.isfinite(n_star):
        right.axvline(n_star, color=OKABE_ITO["black"], linewidth=0.8)
        right.set_title(f"tying pays up to N ≈ {n_star:.0f}", fontsize=10)
    else:
        right.set_title("tying pays at every N shown", fontsize=10)
    right.legend(loc="lower left")
