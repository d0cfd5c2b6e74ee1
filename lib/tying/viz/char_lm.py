"""Figures of Part II, recurrent networks: parameter counts and truncated backpropagation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import OKABE_ITO, TIED, UNTIED, new_figure

__all__ = [
    "plot_param_counts",
    "plot_training_curves",
    "plot_lag_norms",
    "plot_truncation",
    "plot_truncation_frame",
]


def _ax(ax: Axes | None) -> Axes:
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    return ax


def _plain_log_axis(axis, values: Sequence[float]) -> None:
    """Log scale labelled with plain numbers at the given values (no 10^k mathtext)."""
    axis.set_major_locator(ticker.FixedLocator(values))
    axis.set_major_formatter(ticker.FixedFormatter([f"{v:g}" for v in values]))
    axis.set_minor_locator(ticker.NullLocator())


def plot_param_counts(
    lengths: Sequence[int],
    tied: Sequence[int],
    untied: Sequence[int],
    measured: Mapping[int, tuple[int, int]] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Parameters of a tied RNN layer and of its untied unrolled twin against sequence length T.

    ``measured`` maps T to the ``(tied, untied)`` counts of modules actually
    built; they are drawn as markers on top of the closed-form lines.
    """
    ax = _ax(ax)
    ax.plot(lengths, tied, color=TIED, label="tied (nn.RNN)")
    ax.plot(lengths, untied, color=UNTIED, label="untied (UntiedRNN)")
    if measured:
        ts = sorted(measured)
        ax.plot(ts, [measured[t][0] for t in ts], "o", color=TIED, label="counted from modules")
        ax.plot(ts, [measured[t][1] for t in ts], "s", color=UNTIED)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks_x = [t for t in (1, 4, 16, 64, 256, 1024) if min(lengths) <= t <= max(lengths)]
    _plain_log_axis(ax.xaxis, ticks_x)
    ticks_y = [10.0**k for k in range(3, 9)]
    ax.yaxis.set_major_locator(ticker.FixedLocator(ticks_y))
    ax.yaxis.set_major_formatter(ticker.FixedFormatter(["1k", "10k", "100k", "1M", "10M", "100M"]))
    ax.yaxis.set_minor_locator(ticker.NullLocator())
    ax.set_ylim(min(tied) / 3, max(untied) * 3)
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("parameters of the recurrent layer")
    ax.legend(loc="upper left")
    return ax


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def plot_training_curves(
    curves: Mapping[str, np.ndarray],
    baseline: float | None = None,
    colors: Mapping[str, str] | None = None,
    window: int = 20,
    ax: Axes | None = None,
) -> Axes:
    """Training loss in bits per character against step (moving average over ``window`` steps)."""
    ax = _ax(ax)
    palette = [TIED, OKABE_ITO["sky"], OKABE_ITO["green"], OKABE_ITO["orange"]]
    for i, (label, values) in enumerate(curves.items()):
        color = (colors or {}).get(label, palette[i % len(palette)])
        smooth = _smooth(np.asarray(values), window)
        ax.plot(np.arange(window, len(values) + 1), smooth, color=color, label=label)
    if baseline is not None:
        ax.axhline(baseline, color=OKABE_ITO["black"], linestyle=":", linewidth=1,
                   label="unigram baseline")  # fmt: skip
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (bits per character)")
    ax.legend(loc="upper right")
    return ax


def plot_lag_norms(study: Mapping, ax: Axes | None = None, max_lag: int = 50) -> Axes:
    r"""Size :math:`\|G_\ell\|_F` of each time lag's contribution to the gradient of :math:`W_{hh}`."""
    ax = _ax(ax)
    norms = np.asarray(study["lag_norms"])[:max_lag]
    lags = np.arange(len(norms))
    ax.semilogy(lags, norms, "o-", color=TIED, markersize=3)
    ax.set_xlabel(r"time lag $\ell = t - s$")
    ax.set_ylabel(r"$\|G_\ell\|_F$")
    low = int(np.floor(np.log10(norms[norms > 0].min())))
    high = int(np.ceil(np.log10(norms.max())))
    ticks = [10.0**k for k in range(low, high + 1)]
    ax.yaxis.set_major_locator(ticker.FixedLocator(ticks))
    ax.yaxis.set_major_formatter(ticker.FixedFormatter([f"{t:g}" for t in ticks]))
    ax.yaxis.set_minor_locator(ticker.NullLocator())
    return ax


def plot_truncation(study: Mapping, ax: Axes | None = None) -> Axes:
    """Cosine similarity and norm ratio of the truncated gradient to the full one, against k."""
    ax = _ax(ax)
    ks = np.asarray(study["ks"])
    ax.plot(ks, study["cosine"], color=TIED, label="cosine similarity")
    ax.plot(ks, study["norm_ratio"], color=OKABE_ITO["green"], label="norm ratio")
    chunked = study.get("chunked", {})
    if chunked:
        kk = sorted(chunked)
        ax.plot(kk, [chunked[k][0] for k in kk], "o", color=TIED, mfc="white",
                label="detach every k: cosine")  # fmt: skip
        ax.plot(kk, [chunked[k][1] for k in kk], "s", color=OKABE_ITO["green"], mfc="white",
                label="detach every k: norm ratio")  # fmt: skip
    ax.set_xscale("log")
    _plain_log_axis(ax.xaxis, [k for k in (1, 2, 5, 10, 20, 50, 128) if k <= ks.max()])
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("truncation length k (steps of backpropagation)")
    ax.set_ylabel("truncated vs full gradient")
    ax.legend(loc="lower right")
    return ax


def plot_truncation_frame(fig: Figure, study: Mapping, k: int, max_lag: int = 40) -> None:
    """One slider frame: which lag terms truncation to ``k`` steps keeps, and what survives."""
    ax = fig.subplots()
    norms = np.asarray(study["lag_norms"])[:max_lag]
    lags = np.arange(len(norms))
    colors = np.where(lags < k, TIED, "#cccccc")
    ax.bar(lags, norms, color=colors, width=0.8)
    ax.set_xlim(-0.8, max_lag - 0.2)
    ax.set_ylim(0, norms.max() * 1.15)
    ax.set_xlabel("time lag ℓ   (blue: kept by truncation to k steps, grey: dropped)")
    ax.set_ylabel("size of the lag term ‖G_ℓ‖")
    i = min(k, len(study["cosine"])) - 1
    ax.set_title(
        f"k = {k}:  cosine {study['cosine'][i]:.3f},  norm ratio {study['norm_ratio'][i]:.3f}"
    )
    ax.grid(visible=False)
