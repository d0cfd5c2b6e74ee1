"""Figures of Part II, compression by random sharing (HashedNets)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import numpy as np
from matplotlib import colormaps, ticker
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

from . import OKABE_ITO, TIED, UNTIED, band, new_figure

__all__ = ["plot_hash_pattern", "plot_compression_sweep", "plot_accuracy_against_parameters"]


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    return ax


def plot_hash_pattern(layer, ax: Axes | None = None, *, annotate: bool = True) -> Axes:
    """Colour each entry of a small :class:`~tying.layers.HashedLinear` by the real weight it reads.

    Entries of one colour are tied; with the sign hash on, a minus sign marks
    the entries that read their weight negated.
    """
    ax = _axes(ax)
    index = layer.index.detach().cpu().numpy()
    k = layer.num_buckets
    names = ("orange", "sky", "green", "yellow", "blue", "vermilion", "purple")
    base = [OKABE_ITO[n] for n in names]
    palette = base if k <= len(base) else colormaps["tab20"](np.linspace(0, 1, 20))
    colours = ListedColormap([palette[b % len(palette)] for b in range(k)])
    ax.imshow(index, cmap=colours, vmin=-0.5, vmax=k - 0.5, alpha=0.55)
    if annotate:
        sign = layer.sign.detach().cpu().numpy() if layer.sign is not None else np.ones_like(index)
        for (i, j), bucket in np.ndenumerate(index):
            text = f"{'−' if sign[i, j] < 0 else '+'}$w_{{{bucket}}}$"
            ax.text(j, i, text, ha="center", va="center", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_xlabel(f"input $j$ (in = {layer.in_features})")
    ax.set_ylabel(f"output $i$ (out = {layer.out_features})")
    ax.set_title(f"{index.size} virtual weights, K = {k} real", fontsize=10)
    return ax


def _fraction_label(c: float) -> str:
    f = Fraction(c).limit_denominator(1024)
    return "1" if f == 1 else f"{f.numerator}/{f.denominator}"


def plot_compression_sweep(results: Mapping, ax: Axes | None = None) -> Axes:
    """Test accuracy against the compression factor: hashed, same-size dense and full dense MLPs.

    ``results`` is the mapping returned by
    :func:`tying.experiments.hashed_sharing.run_compression_sweep`.
    """
    ax = _axes(ax)
    cs = np.asarray(results["compressions"], dtype=float)
    band(ax, cs, results["hashed"]["test"], TIED, f"hashed, virtual width {results['hidden']}")
    band(ax, cs, results["dense"]["test"], UNTIED, "dense, same parameter count", marker="s")
    full = np.asarray(results["full"]["test"])
    ax.axhline(
        np.median(full),
        color=OKABE_ITO["black"],
        linestyle="--",
        linewidth=1.2,
        label=f"full dense ({results['full']['params']:,} parameters)",
    )
    ax.axhspan(full.min(), full.max(), color=OKABE_ITO["black"], alpha=0.08, linewidth=0)
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(ticker.FixedLocator(cs))
    ax.xaxis.set_major_formatter(ticker.FixedFormatter([_fraction_label(c) for c in cs]))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.invert_xaxis()
    ax.set_xlabel("compression factor (real / virtual weights)")
    ax.set_ylabel("test accuracy")
    ax.legend(loc="lower left")
    return ax


def plot_accuracy_against_parameters(results: Mapping, ax: Axes | None = None) -> Axes:
    """Median test accuracy against the number of free parameters, one point per model and factor."""
    ax = _axes(ax)
    for kind, color, marker, label in (
        ("hashed", TIED, "o", "hashed"),
        ("dense", UNTIED, "s", "dense, narrower"),
    ):
        params = np.asarray(results[kind]["params"])
        ax.plot(
            params,
            np.median(results[kind]["test"], axis=0),
            marker=marker,
            color=color,
            label=label,
        )
    ax.plot(
        [results["full"]["params"]],
        [np.median(results["full"]["test"])],
        marker="D",
        color=OKABE_ITO["black"],
        linestyle="none",
        label="full dense",
    )
    ax.set_xscale("log")
    ticks = sorted({*results["hashed"]["params"], results["full"]["params"]})
    ax.xaxis.set_major_locator(ticker.FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ticker.FixedFormatter([f"{t:,}" for t in ticks]))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlabel("free parameters")
    ax.set_ylabel("median test accuracy")
    ax.legend(loc="lower right")
    return ax
