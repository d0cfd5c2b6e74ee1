"""Figures of Part II, "Computational chemistry": the potential, the clusters and the tied/untied errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import OKABE_ITO, TIED, UNTIED, new_figure

__all__ = [
    "ELEMENT_COLORS",
    "plot_pair_potentials",
    "plot_cluster",
    "plot_error_bars",
    "plot_parity",
    "plot_separation_frame",
]

#: Element A in orange, B in sky blue (tied/untied keep blue and vermilion).
ELEMENT_COLORS = (OKABE_ITO["orange"], OKABE_ITO["sky"])


def _axis(ax: Axes | None) -> Axes:
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    return ax


def plot_pair_potentials(potential, ax: Axes | None = None) -> Axes:
    """The three pair energies A–A, A–B and B–B against distance, with the cutoff marked."""
    ax = _axis(ax)
    r = torch.linspace(0.7, potential.cutoff + 0.3, 300, dtype=torch.float64)
    pos = torch.zeros(len(r), 2, 3, dtype=torch.float64)
    pos[:, 1, 0] = r
    for (a, b), color, style in (
        ((0, 0), ELEMENT_COLORS[0], "-"),
        ((0, 1), OKABE_ITO["green"], "--"),
        ((1, 1), ELEMENT_COLORS[1], "-"),
    ):
        species = torch.tensor([a, b]).expand(len(r), 2)
        e = potential.energy(pos, species)
        ax.plot(r, e, style, color=color, label="AB"[a] + "–" + "AB"[b])
    ax.axvline(potential.cutoff, color=OKABE_ITO["black"], linewidth=0.8, linestyle=":")
    ax.text(potential.cutoff, 0.15, " cutoff", fontsize=8, ha="left")
    ax.axhline(0, color=OKABE_ITO["black"], linewidth=0.6)
    ax.set_ylim(-1.15, 0.6)
    ax.set_xlabel("distance $r$")
    ax.set_ylabel("pair energy")
    ax.legend(loc="lower right")
    return ax


def plot_cluster(positions, species, ax: Axes | None = None, title: str = "") -> Axes:
    """A cluster projected on the x–y plane, atoms coloured by element and numbered in stored order."""
    ax = _axis(ax)
    pos = np.asarray(positions, dtype=float)
    z = np.asarray(species)
    real = z >= 0
    pos, z = pos[real], z[real]
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    for i in range(len(pos)):
        for j in range(i + 1, len(pos)):
            if d[i, j] < 1.6:
                ax.plot(
                    pos[[i, j], 0],
                    pos[[i, j], 1],
                    color=OKABE_ITO["black"],
                    linewidth=0.6,
                    alpha=0.5,
                )
    for k, (p, e) in enumerate(zip(pos, z)):
        ax.scatter(
            p[0], p[1], s=260, color=ELEMENT_COLORS[e], edgecolor="black", linewidth=0.6, zorder=3
        )
        ax.text(p[0], p[1], str(k + 1), ha="center", va="center", fontsize=8, zorder=4)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(visible=False)
    ax.set_title(title, fontsize=10)
    return ax


def plot_error_bars(
    results: Mapping,
    splits: Sequence[str] = ("test", "shuffled", "separated", "large"),
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Per-atom mean absolute error of both models on each evaluation set (log scale)."""
    ax = _axis(ax)
    labels = labels or splits
    x = np.arange(len(splits))
    width = 0.38
    for offset, kind, color, name in ((-width / 2, "tied", TIED, "tied: one network per element"),
                                      (width / 2, "untied", UNTIED, "untied: one network per atom index")):  # fmt: skip
        values = [float(np.median(results[kind][s])) for s in splits]
        ax.bar(x + offset, values, width, color=color, label=name)
    ax.set_yscale("log")
    top = max(float(np.median(results[k][s])) for k in ("tied", "untied") for s in splits)
    ax.set_ylim(top=top * 12)  # room for the legend above the bars
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    ax.set_ylabel("error per atom (MAE)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(axis="x", visible=False)
    return ax


def plot_parity(
    truth, predictions: Mapping[str, np.ndarray], ax: Axes | None = None, title: str = ""
) -> Axes:
    """Predicted against exact energies; ``predictions`` maps ``"tied"``/``"untied"`` to arrays."""
    ax = _axis(ax)
    t = np.asarray(truth, dtype=float)
    colors = {"tied": TIED, "untied": UNTIED}
    markers = {"tied": "o", "untied": "s"}
    for kind, p in predictions.items():
        ax.plot(t, np.asarray(p, dtype=float), markers[kind], color=colors[kind], markersize=3.5,
                alpha=0.7, label=kind)  # fmt: skip
    lo, hi = t.min(), t.max()
    pad = 0.1 * (hi - lo)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color=OKABE_ITO["black"], linewidth=0.8)
    ax.set_xlabel("exact energy")
    ax.set_ylabel("predicted energy")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left")
    return ax


def plot_separation_frame(
    fig: Figure,
    gaps: np.ndarray,
    exact: np.ndarray,
    tied: np.ndarray,
    parts_exact: float,
    parts_tied: float,
    gap: float,
    cutoff: float,
) -> None:
    """One slider frame: energy of two clusters against the gap between them, exact and tied model.

    Everything is precomputed; the frame only draws two curves, two reference
    lines and a marker at the chosen gap.
    """
    ax = fig.subplots()
    i = int(np.argmin(np.abs(np.asarray(gaps) - gap)))
    ax.plot(gaps, exact, "-", color=OKABE_ITO["black"], label="exact (Morse)")
    ax.plot(gaps, tied, "--", color=TIED, label="tied model")
    ax.axhline(parts_exact, color=OKABE_ITO["black"], linewidth=0.7, linestyle=":")
    ax.axhline(parts_tied, color=TIED, linewidth=0.7, linestyle=":")
    ax.axvline(cutoff, color=OKABE_ITO["purple"], linewidth=0.8)
    ax.text(cutoff, ax.get_ylim()[1], " cutoff", color=OKABE_ITO["purple"], fontsize=8, va="top")
    ax.plot([gaps[i]], [exact[i]], "o", color=OKABE_ITO["black"], markersize=7)
    ax.plot([gaps[i]], [tied[i]], "o", color=TIED, markersize=7)
    ax.set_xlabel("gap between the two clusters")
    ax.set_ylabel("total energy")
    ax.set_title(
        f"gap {gaps[i]:.2f}: exact {exact[i]:.3f}, model {tied[i]:.3f}  (sum of parts {parts_exact:.3f})",
        fontsize=9,
    )
    ax.legend(loc="lower right", fontsize=8)
