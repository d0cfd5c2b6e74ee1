"""Figures of Part II, chapter 1: convolutions and symmetry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import OKABE_ITO, TIED, UNTIED

__all__ = [
    "plot_translation_errors",
    "plot_lifted_feature_maps",
    "plot_rotation_accuracy",
    "plot_rotation_frame",
]

_GREY = "Greys"


def _image(ax: Axes, img, title: str | None = None, cmap: str = _GREY, **kw) -> None:
    ax.imshow(img, cmap=cmap, interpolation="nearest", **kw)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(visible=False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)


def plot_translation_errors(maps: Mapping, axes: Sequence[Axes]) -> None:
    """Three panels: the input, then ``|conv(shift x) - shift(conv x)|`` for zero and circular padding.

    ``maps`` is the dict of :func:`tying.experiments.symmetry.translation_error_maps`.
    Both error panels share one colour scale, so an all-white panel means zero error.
    """
    zeros, circular = maps["zeros"], maps["circular"]
    vmax = max(float(zeros.max()), float(circular.max()), 1e-12)
    _image(axes[0], maps["image"], "input image")
    _image(
        axes[1],
        zeros,
        f"zero padding\nlargest error {zeros.max():.2f}",
        cmap="Reds",
        vmin=0,
        vmax=vmax,
    )
    _image(
        axes[2],
        circular,
        f"circular padding\nlargest error {circular.max():.0e}",
        cmap="Reds",
        vmin=0,
        vmax=vmax,
    )


def plot_lifted_feature_maps(
    image: torch.Tensor, layer: torch.nn.Module, axes: np.ndarray, channel: int = 0
) -> None:
    """Row 0: the four tied copies of one lifting filter.  Rows 1-4: the input rotated by
    0, 90, 180, 270 degrees, then the four orientation maps of that output channel.

    Reading down a column the maps rotate *and* move one column to the right:
    the orientation axis shifts cyclically, which is what equivariance to C4 means.
    The top row also shows the four rotated copies of the (tied) filter.
    """
    from ..layers.group_conv import rotate_c4

    x = image.reshape(1, 1, *image.shape[-2:]).to(layer.weight)
    with torch.no_grad():
        bank = layer.filter_bank().reshape(-1, 4, *layer.weight.shape[1:])[channel, :, 0]
        rows = [layer(rotate_c4(x, k))[0, channel] for k in range(4)]
    vmax = max(float(r.abs().max()) for r in rows)
    if np.shape(axes) != (5, 5):
        raise ValueError(f"need a 5 x 5 array of axes, got shape {np.shape(axes)}")
    _image(axes[0, 0], np.zeros((3, 3)), None, cmap="Greys", vmin=0, vmax=1)
    axes[0, 0].text(
        0.5,
        0.5,
        "tied\nfilter\ncopies",
        ha="center",
        va="center",
        fontsize=8,
        transform=axes[0, 0].transAxes,
    )
    wmax = float(bank.abs().max())
    for r in range(4):
        _image(
            axes[0, r + 1],
            bank[r].cpu(),
            f"$r={r}$ ({90 * r}°)",
            cmap="RdBu_r",
            vmin=-wmax,
            vmax=wmax,
        )
    for k in range(4):
        _image(axes[k + 1, 0], torch.rot90(x[0, 0], k).cpu(), f"input rotated {90 * k}°")
        for r in range(4):
            _image(axes[k + 1, r + 1], rows[k][r].cpu(), None, cmap="RdBu_r", vmin=-vmax, vmax=vmax)


def plot_rotation_accuracy(results: Mapping, ax: Axes) -> None:
    """Test accuracy at 0, 90, 180 and 270 degrees: bars are medians over seeds, whiskers min–max."""
    angles = list(results["angles"])
    cols = [angles.index(a) for a in (0.0, 90.0, 180.0, 270.0)]
    x = np.arange(4)
    width = 0.38
    for offset, kind, color, label in (
        (-width / 2, "plain", UNTIED, f"plain CNN ({results['plain']['params']:,} parameters)"),
        (width / 2, "c4", TIED, f"C4 group CNN ({results['c4']['params']:,} parameters)"),
    ):
        runs = np.asarray(results[kind]["accuracy"])[:, cols]
        med = np.median(runs, axis=0)
        err = np.vstack([med - runs.min(axis=0), runs.max(axis=0) - med])
        ax.bar(x + offset, med, width, color=color, label=label, yerr=err, capsize=3)
    ax.axhline(0.1, color=OKABE_ITO["black"], linewidth=0.8, linestyle=":")
    ax.set_xticks(x)
    ax.set_xticklabels(["0° (as trained)", "90°", "180°", "270°"])
    ax.set_xlabel("rotation of the test images")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.15)
    ax.legend(loc="upper right")
    ax.grid(visible=False, axis="x")


def _mosaic(images: np.ndarray, ncols: int = 3, gap: int = 1) -> np.ndarray:
    n, h, w = images.shape
    nrows = -(-n // ncols)
    out = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap), np.nan)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = img
    return out


def plot_rotation_frame(fig: Figure, results: Mapping, angle: float) -> None:
    """One slider frame: example test digits rotated by ``angle`` with both models' predictions,
    and the accuracy-against-angle curves (medians over seeds) with the current angle marked."""
    angles = np.asarray(results["angles"], dtype=float)
    i = int(np.argmin(np.abs(angles - angle)))
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.6])
    _image(left, _mosaic(results["rotated_examples"][i]), None, vmin=0, vmax=1)
    truth = " ".join(str(int(v)) for v in results["example_labels"])
    plain = " ".join(str(int(v)) for v in results["plain"]["predictions"][i])
    c4 = " ".join(str(int(v)) for v in results["c4"]["predictions"][i])
    left.set_title(f"true:   {truth}\nplain: {plain}\nC4:    {c4}", fontsize=9, family="monospace")
    closed = np.append(angles, 360.0)  # the curve is periodic: close it at 360 degrees
    for kind, color, label in (("plain", UNTIED, "plain CNN"), ("c4", TIED, "C4 group CNN")):
        acc = np.median(results[kind]["accuracy"], axis=0)
        right.plot(closed, np.append(acc, acc[0]), color=color, label=label)
    right.axvline(angles[i], color=OKABE_ITO["black"], linewidth=1)
    right.axhline(0.1, color=OKABE_ITO["black"], linewidth=0.8, linestyle=":")
    right.xaxis.set_major_locator(ticker.FixedLocator([0, 90, 180, 270, 360]))
    right.xaxis.set_major_formatter(ticker.FixedFormatter(["0°", "90°", "180°", "270°", "360°"]))
    right.set_xlim(0, 360)
    right.set_ylim(0, 1.02)
    right.set_xlabel("rotation of the test images")
    right.set_ylabel("test accuracy")
    right.set_title(f"rotated by {angles[i]:.0f}°", fontsize=10)
    right.legend(loc="upper center", ncols=2)
