"""Figures of Part I, section 7: gradient flow through a recurrent weight tied across time.

Norms are plotted as ``log10`` on a linear axis, so the tick labels are plain
numbers (fast to draw, and a straight line means exponential growth or decay).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import OKABE_ITO

__all__ = ["gain_colors", "plot_gain_sweep", "plot_nonnormal", "plot_gain_lag_frame"]


def gain_colors(gains) -> list:
    """Blues for gains below one (vanishing), black at one, reds above (exploding).

    Only the saturated ends of a diverging map are used, so every line stays dark
    enough to read; the further the gain is from one, the deeper the colour.
    """
    cmap = mpl.colormaps["RdBu_r"]
    logs = np.log(np.asarray(gains, dtype=float))
    span = np.abs(logs).max() or 1.0
    colors = []
    for v in logs:
        if abs(v) < 1e-12:
            colors.append(OKABE_ITO["black"])
        else:
            depth = 0.25 + 0.75 * abs(v) / span  # in (0.25, 1]
            colors.append(cmap(0.5 + np.sign(v) * (0.2 + 0.3 * depth)))
    return colors


def plot_gain_sweep(sweep: Mapping, ax: Axes, *, show_bound: bool = True) -> Axes:
    """Measured ``log10 ||dh_t/dh_{t-T}||`` against ``T`` for every gain, with ``log10 g^T`` dashed."""
    lags = sweep["lags"]
    for gain, color, measured, bound in zip(
        sweep["gains"], gain_colors(sweep["gains"]), sweep["measured"], sweep["bound"]
    ):
        ax.plot(lags, np.log10(measured), color=color, label=f"{gain:g}")
        if show_bound:
            ax.plot(lags, np.log10(bound), color=color, ls="--", lw=1.0)
    ax.axhline(0, color=OKABE_ITO["black"], lw=0.6)
    ax.set_xlabel("lag $T$")
    ax.set_ylabel(r"$\log_{10}\,\|\partial h_t/\partial h_{t-T}\|_2$")
    ax.legend(title=r"$\|W\|_2$", fontsize=8, title_fontsize=8, ncol=2)
    return ax


def plot_nonnormal(result: Mapping, ax: Axes) -> Axes:
    """A non-normal ``W``: measured norm and ``||W^T||`` between ``rho^T`` and ``||W||^T``."""
    lags = result["lags"]
    ax.plot(
        lags,
        np.log10(result["norm_bound"]),
        color=OKABE_ITO["vermilion"],
        ls="--",
        label=rf"$\|W\|_2^T$, $\|W\|_2 = {result['norm']:.2f}$",
    )
    ax.plot(
        lags,
        np.log10(result["power_norms"]),
        color=OKABE_ITO["black"],
        lw=3.0,
        alpha=0.35,
        label=r"$\|W^T\|_2$",
    )
    ax.plot(
        lags,
        np.log10(result["measured"]),
        color=OKABE_ITO["blue"],
        lw=1.4,
        label="measured (tanh RNN)",
    )
    ax.plot(
        lags,
        np.log10(result["radius_power"]),
        color=OKABE_ITO["sky"],
        ls="--",
        label=rf"$\rho(W)^T$, $\rho = {result['radius']:.2f}$",
    )
    ax.axhline(0, color=OKABE_ITO["black"], lw=0.6)
    top = np.log10(result["power_norms"]).max()
    ax.set_ylim(min(np.log10(result["radius_power"]).min(), -1) - 0.5, max(top, 1) + 2)
    ax.set_xlabel("lag $T$")
    ax.set_ylabel(r"$\log_{10}$ norm")
    ax.legend(fontsize=8, loc="lower left")
    return ax


def plot_gain_lag_frame(fig: Figure, sweep: Mapping, gain: float, lag: int) -> None:
    """One slider frame: the chosen gain's curve up to the chosen lag, against its bound ``g^T``.

    The other gains are drawn in light grey for context; the y range is the same in
    every frame so that moving either slider shows growth or decay directly.
    """
    ax = fig.subplots()
    gains = np.asarray(sweep["gains"])
    lags = np.asarray(sweep["lags"])
    index = int(np.argmin(np.abs(gains - gain)))
    logs = np.log10(sweep["measured"])
    for row in logs:
        ax.plot(lags, row, color="0.85", lw=1.0)
    color = OKABE_ITO["blue"] if gains[index] < 1 else OKABE_ITO["vermilion"]
    if gains[index] == 1:
        color = OKABE_ITO["black"]
    keep = lags <= lag
    ax.plot(
        lags,
        np.log10(sweep["bound"][index]),
        color=OKABE_ITO["black"],
        ls="--",
        lw=1.0,
        label="bound ‖sW‖₂^T, s = 1",
    )
    ax.plot(lags[keep], logs[index, keep], color=color, lw=2.4, label="measured")
    value = logs[index, keep][-1]
    ax.plot([lags[keep][-1]], [value], "o", color=OKABE_ITO["black"], ms=6)
    ax.set_title(f"‖W‖₂ = {gain:g}:  ‖∂h_t/∂h_(t−T)‖₂ = 10^{value:+.1f} at T = {lag}", fontsize=10)
    ax.axhline(0, color=OKABE_ITO["black"], lw=0.6)
    ax.set_xlim(0, lags.max() + 0.5)
    low, high = logs.min() - 0.5, logs.max() + 0.5
    ax.set_ylim(low, high)
    # Few, fixed ticks: every tick costs time in each of the frames.
    ax.set_xticks(np.linspace(0, lags.max(), 4).round().astype(int))
    step = max(1, int(np.ceil((high - low) / 5)))
    ax.set_yticks(np.arange(np.ceil(low / step) * step, high, step).astype(int))
    ax.set_xlabel("lag T")
    ax.set_ylabel("log10 of the Jacobian norm")
    ax.legend(loc="upper left", fontsize=8)
