"""Figures of Part II, Transformers: embedding tying, cross-layer sharing, repeated blocks."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import OKABE_ITO, TIED, UNTIED, band, new_figure

__all__ = [
    "CONDITION_COLORS",
    "plot_validation_curves",
    "plot_train_vs_validation",
    "plot_initial_logits_frame",
    "plot_sharing_tradeoff",
    "plot_albert_table",
    "plot_universal",
]

#: Colours of the embedding experiment's conditions (tied blue, untied vermilion, as everywhere).
CONDITION_COLORS = {
    "untied": UNTIED,
    "tied": TIED,
    "tied, N(0,1) init": OKABE_ITO["purple"],
}
SHARE_COLORS = {
    "none": UNTIED,
    "attention": OKABE_ITO["orange"],
    "ffn": OKABE_ITO["green"],
    "all": TIED,
}


def _ax(ax: Axes | None) -> Axes:
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    return ax


def _perplexity_axis(ax: Axes, low: float, high: float) -> None:
    """Log-scaled perplexity axis with plain-number ticks."""
    ax.set_yscale("log")
    candidates = [20, 30, 50, 70, 100, 150, 200, 300, 500, 1000, 2000, 5000]
    ticks = [t for t in candidates if low <= t <= high]
    ax.yaxis.set_major_locator(ticker.FixedLocator(ticks))
    ax.yaxis.set_major_formatter(ticker.FixedFormatter([str(t) for t in ticks]))
    ax.yaxis.set_minor_locator(ticker.NullLocator())
    ax.set_ylim(low, high)


def plot_validation_curves(
    results: Mapping, ax: Axes | None = None, ylim: tuple[float, float] = (100, 2000)
) -> Axes:
    """Validation perplexity against training step for each condition (median and range over seeds)."""
    ax = _ax(ax)
    for name in results["conditions"]:
        entry = results[name]
        ppl = np.exp(np.asarray(entry["val_loss"]))
        color = CONDITION_COLORS.get(name, OKABE_ITO["black"])
        band(
            ax,
            entry["eval_steps"],
            ppl,
            color,
            f"{name} ({entry['params'] / 1000:.0f}k)",
            marker=".",
        )
    _perplexity_axis(ax, *ylim)
    ax.set_xlabel("training step")
    ax.set_ylabel("validation perplexity")
    ax.legend(loc="upper right")
    return ax


def plot_train_vs_validation(results: Mapping, ax: Axes | None = None) -> Axes:
    """Final training (open markers) and validation (filled) perplexity, one marker per seed."""
    ax = _ax(ax)
    names = results["conditions"]
    for i, name in enumerate(names):
        entry = results[name]
        color = CONDITION_COLORS.get(name, OKABE_ITO["black"])
        train = np.exp(entry["final_train_loss"])
        val = np.exp(entry["final_val_loss"])
        offsets = np.linspace(-0.06, 0.06, len(val))
        ax.plot(i - 0.15 + offsets, train, "o", mfc="white", color=color)
        ax.plot(i + 0.15 + offsets, val, "o", color=color)
    ax.plot([], [], "o", mfc="white", color=OKABE_ITO["black"], label="training text")
    ax.plot([], [], "o", color=OKABE_ITO["black"], label="validation text")
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels(names)
    ax.set_xlim(-0.6, len(names) - 0.4)
    _perplexity_axis(ax, 15, 500)
    ax.set_ylabel("perplexity after training")
    ax.legend(loc="upper left")
    return ax


def plot_initial_logits_frame(fig: Figure, study: Mapping, sigma: float) -> None:
    """One slider frame: the logits of an untrained tied model whose embedding is N(0, σ²).

    Two normalised histograms: all logits, and each position's logit for its
    own input token (the model's score for "the next word is this word again").
    """
    i = int(np.argmin(np.abs(np.asarray(study["sigmas"]) - sigma)))
    ax = fig.subplots()
    bins = np.linspace(-40, 80, 61)
    for values, color, label in (
        (study["logit_samples"][i], TIED, "all logits"),
        (study["own_logits"][i], OKABE_ITO["orange"], "logit of the input word itself"),
    ):
        clipped = np.clip(np.asarray(values), bins[0], bins[-1])
        density, _ = np.histogram(clipped, bins=bins, density=True)
        # One filled step patch per histogram: far cheaper to draw than a bar per bin.
        ax.stairs(density, bins, fill=True, color=color, alpha=0.75, label=label)
    ax.set_xlim(bins[0], bins[-1])
    ax.set_yticks([])
    ax.set_xlabel("initial logit")
    ax.set_ylabel("share of logits")
    ax.set_title(
        f"σ = {study['sigmas'][i]:g}:  loss {study['loss'][i]:.1f} nats (ln V = "
        f"{study['uniform_loss']:.1f}),  predicts its own input {100 * study['copy_rate'][i]:.0f}%"
    )
    ax.legend(loc="upper right")
    ax.grid(visible=False)


def plot_sharing_tradeoff(results: Mapping, ax: Axes | None = None) -> Axes:
    """Parameters against validation perplexity for the four cross-layer sharing modes."""
    ax = _ax(ax)
    for mode in results["modes"]:
        entry = results[mode]
        ppl = np.exp(np.asarray(entry["final_val_loss"]))
        x = entry["params"] / 1000
        ax.plot([x] * len(ppl), ppl, "o", color=SHARE_COLORS[mode], markersize=7)
        ax.annotate(mode, (x, float(np.median(ppl))), textcoords="offset points", xytext=(6, 4),
                    fontsize=9)  # fmt: skip
    ax.set_xlabel("parameters (thousands)")
    ax.set_ylabel("validation perplexity")
    ax.set_title(f"ours: {results['n_layers']} layers, d = 64", fontsize=10)
    return ax


def plot_albert_table(
    table: Mapping[str, tuple[float, float]], ax: Axes | None = None, title: str = ""
) -> Axes:
    """ALBERT's ablation: parameters (millions) against the average downstream score."""
    ax = _ax(ax)
    for mode, (params, score) in table.items():
        ax.plot(params, score, "o", color=SHARE_COLORS[mode], markersize=7)
        ax.annotate(mode, (params, score), textcoords="offset points", xytext=(6, 4), fontsize=9)
    ax.set_xlabel("parameters (millions)")
    ax.set_ylabel("average score (higher is better)")
    ax.set_title(title, fontsize=10)
    return ax


def plot_universal(
    results: Mapping, ax: Axes | None = None, reference: tuple[str, float] | None = None
) -> Axes:
    """Validation perplexity against the number of passes K through one shared block.

    ``reference`` = ``(label, perplexity)`` draws a horizontal line for comparison
    (for example a stack of distinct layers).
    """
    ax = _ax(ax)
    ks = np.asarray(results["ks"])
    ppl = np.exp(np.asarray(results["final_val_loss"]))
    params = sorted(set(results["params"]))
    label = (
        f"one shared block, {params[0]:,} parameters" if len(params) == 1 else "one shared block"
    )
    ax.plot(ks, np.median(ppl, axis=0), "o-", color=TIED, label=label)
    if reference is not None:
        ax.axhline(reference[1], color=UNTIED, linestyle="--", label=reference[0])
    ax.set_xticks(ks)
    ax.set_xlabel("passes K through the block")
    ax.set_ylabel("validation perplexity")
    ax.legend(loc="upper left")
    return ax
