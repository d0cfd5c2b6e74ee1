"""Figures of the appendix on performance.

They read the JSON files that ``python -m benchmarks`` (``results.json``) and
``python -m benchmarks.budgets`` (``budgets.json``) write, so the appendix
shows exactly the numbers that ``benchmarks/RESULTS.md`` and the README
quote, and never times anything itself.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes

from . import OKABE_ITO, TIED, UNTIED, new_figure

__all__ = [
    "find_benchmark_file",
    "load_benchmark_file",
    "select",
    "speedups",
    "plot_times",
    "plot_bandwidth",
    "plot_scaling",
    "plot_checkpoint_sizes",
    "markdown_table",
    "parse_shape",
    "locally_connected_summary",
    "conv_matrix_summary",
]

_IMPL_COLOURS = [
    OKABE_ITO[name] for name in ("vermilion", "green", "orange", "purple", "sky", "black")
]


def find_benchmark_file(name: str, start: str | Path | None = None) -> Path:
    """Find ``benchmarks/<name>`` in ``start`` (default: the working directory) or a folder above it.

    Raises:
        FileNotFoundError: naming the folders searched and the command that
            writes the file, when no checkout of the book is found.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "benchmarks" / name
        if candidate.is_file():
            return candidate
    command = "python -m benchmarks" if name == "results.json" else "python -m benchmarks.budgets"
    raise FileNotFoundError(
        f"no benchmarks/{name} in {here} or any folder above it; run this notebook from a "
        f"checkout of the book's repository, where `{command}` writes it"
    )


def load_benchmark_file(name: str, start: str | Path | None = None) -> dict:
    """Read ``benchmarks/<name>`` (see :func:`find_benchmark_file`) as a dict."""
    return json.loads(find_benchmark_file(name, start).read_text())


def select(
    results: Mapping, case: str, *, mode: str | None = None, impl: str | None = None
) -> list[dict]:
    """The rows of one case, optionally of one mode and one implementation, in run order."""
    rows = [r for r in results["rows"] if r["case"] == case]
    if not rows:
        cases = sorted({r["case"] for r in results["rows"]})
        raise KeyError(f"no rows for case {case!r}; the results hold {cases}")
    return [
        r
        for r in rows
        if (mode is None or r["mode"] == mode) and (impl is None or r["impl"] == impl)
    ]


def speedups(results: Mapping, case: str, mode: str, baseline: str) -> dict[str, float]:
    """Per shape: the baseline's median over the library's median (above 1: the library is faster)."""
    out = {}
    for row in select(results, case, mode=mode, impl=baseline):
        out[row["shape"]] = row["relative_to_library"]
    return out


def _axes(ax: Axes | None, figsize=None) -> Axes:
    if ax is None:
        _, axes = new_figure(figsize=figsize)
        ax = axes[0, 0]
    return ax


def _seconds_formatter(value: float, _pos=None, digits: int = 6) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if value >= scale or unit == "µs":
            return f"{value / scale:.{digits}g} {unit}"
    raise AssertionError("unreachable")


def _short_time(value: float) -> str:
    return _seconds_formatter(value, digits=3)


def plot_times(
    results: Mapping,
    case: str,
    mode: str,
    ax: Axes | None = None,
    *,
    exclude: Sequence[str] = ("summary",),
) -> Axes:
    """Horizontal bars: median time of every implementation at every shape, min–max as whiskers.

    The library implementation is drawn in the book's "tied" blue and first in
    each group; the time axis is logarithmic, so equal gaps are equal ratios.
    """
    rows = [r for r in select(results, case, mode=mode) if r["impl"] not in exclude]
    shapes = list(dict.fromkeys(r["shape"] for r in rows))
    library = next((r["impl"] for r in rows if r.get("library")), rows[0]["impl"])
    others = [i for i in dict.fromkeys(r["impl"] for r in rows) if i != library]
    impls = [library, *others]
    colours = {
        library: TIED,
        **{i: _IMPL_COLOURS[k % len(_IMPL_COLOURS)] for k, i in enumerate(others)},
    }
    ax = _axes(ax, figsize=(7.2, 0.45 * len(rows) + 1.2))
    height = 0.8 / len(impls)
    lookup = {(r["shape"], r["impl"]): r for r in rows}
    for k, impl in enumerate(impls):
        ys, medians, lows, highs = [], [], [], []
        for g, shape in enumerate(shapes):
            row = lookup.get((shape, impl))
            if row is None:  # e.g. a baseline too large to build at this size
                continue
            ys.append(g + (k - (len(impls) - 1) / 2) * height)
            medians.append(row["median_s"])
            lows.append(row["median_s"] - row["min_s"])
            highs.append(row["max_s"] - row["median_s"])
        ax.barh(
            ys,
            medians,
            height=height * 0.9,
            color=colours[impl],
            xerr=[lows, highs],
            error_kw={"elinewidth": 0.8, "capsize": 2},
            label=impl,
        )
        for y, m in zip(ys, medians):
            ax.text(m * 1.08, y, _short_time(m), va="center", fontsize=7.5)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(_seconds_formatter))
    ax.set_yticks(range(len(shapes)), shapes)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    lo = min(r["min_s"] for r in rows)
    hi = max(r["max_s"] for r in rows)
    ax.set_xlim(lo / 2, hi * 4)  # room for the value labels
    ax.set_xlabel(f"time per call ({mode}), log scale")
    ax.set_title(f"{case}: {mode}")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return ax


def plot_bandwidth(
    results: Mapping, case: str = "LocallyConnected2d", ax: Axes | None = None
) -> Axes:
    """Achieved memory traffic of the library's forward pass against the measured copy bandwidth."""
    rows = [r for r in select(results, case, mode="forward") if "bytes_per_s" in r]
    copy = results["copy_bandwidth"]["bytes_per_s"] / 1e9
    ax = _axes(ax, figsize=(5.6, 3.2))
    achieved = [r["bytes_per_s"] / 1e9 for r in rows]
    ax.bar(range(len(rows)), achieved, color=TIED, width=0.6, label="achieved (vectorised forward)")
    for x, value, row in zip(range(len(rows)), achieved, rows):
        ax.text(
            x, value, f"{100 * row['fraction_of_copy_bandwidth']:.0f}%", ha="center", va="bottom"
        )
    ax.axhline(
        copy,
        color=OKABE_ITO["black"],
        linestyle="--",
        linewidth=1.2,
        label=f"copy bandwidth {copy:.1f} GB/s",
    )
    ax.axhline(copy / 2, color=UNTIED, linestyle=":", linewidth=1.2, label="goal: 50% of it")
    ax.set_xticks(range(len(rows)), [r["shape"].replace(", ", "\n", 1) for r in rows], fontsize=8)
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("GB/s (weights + input + output)")
    ax.set_ylim(0, max(max(achieved), copy) * 1.25)
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_scaling(
    results: Mapping, mode: str = "forward", ax: Axes | None = None, case: str = "CirculantLinear"
) -> Axes:
    """Time against n on log–log axes for the FFT layer and the dense layer, with the crossover."""
    ax = _axes(ax, figsize=(5.6, 3.6))
    rows = [r for r in select(results, case, mode=mode) if "n" in r]
    summary = next(r for r in select(results, case, mode=mode) if r["impl"] == "summary")
    slopes = {True: summary["slope_fft"], False: summary["slope_dense"]}
    for library, colour, marker in ((True, TIED, "o"), (False, UNTIED, "s")):
        own = [r for r in rows if bool(r.get("library")) == library]
        ns = np.array([r["n"] for r in own], dtype=float)
        med = np.array([r["median_s"] for r in own])
        ax.plot(
            ns,
            med,
            marker=marker,
            color=colour,
            label=f"{own[0]['impl']} (slope {slopes[library]:.2f})",
        )
        ax.fill_between(
            ns,
            [r["min_s"] for r in own],
            [r["max_s"] for r in own],
            color=colour,
            alpha=0.2,
            linewidth=0,
        )
    fft = [r for r in rows if r.get("library")]
    n_ref = np.array([fft[0]["n"], fft[-1]["n"]], dtype=float)
    # reference curves anchored at the largest n, where the asymptotics show
    anchor_n, anchor_t = fft[-1]["n"], fft[-1]["median_s"]
    ns_all = np.geomspace(n_ref[0], n_ref[1], 50)
    ax.plot(
        ns_all,
        anchor_t * ns_all * np.log(ns_all) / (anchor_n * math.log(anchor_n)),
        color=OKABE_ITO["black"],
        linestyle=":",
        linewidth=1,
        label=r"$\propto n \log n$",
    )
    dense = [r for r in rows if not r.get("library")]
    anchor_n, anchor_t = dense[-1]["n"], dense[-1]["median_s"]
    ax.plot(
        ns_all,
        anchor_t * (ns_all / anchor_n) ** 2,
        color=OKABE_ITO["black"],
        linestyle="--",
        linewidth=1,
        label=r"$\propto n^2$",
    )
    if summary.get("crossover_n"):
        ax.axvline(summary["crossover_n"], color=OKABE_ITO["green"], linewidth=1, alpha=0.8)
        ax.text(
            summary["crossover_n"] * 1.1,
            0.04,
            f"crossover\nn = {summary['crossover_n']}",
            transform=ax.get_xaxis_transform(),  # x in data, y in axes fraction
            fontsize=8,
            color=OKABE_ITO["green"],
            va="bottom",
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(_seconds_formatter))
    ax.set_xlabel("n (layer is n × n)")
    ax.set_ylabel(f"time per call ({mode})")
    ax.legend(fontsize=8, loc="upper left")
    return ax


def plot_checkpoint_sizes(
    results: Mapping, ax: Axes | None = None, case: str = "LM parameter memory"
) -> Axes:
    """Stored checkpoint size of tied and untied language models, with the V·d parameters tying saves."""
    rows = select(results, case, mode="memory")
    shapes = list(dict.fromkeys(r["shape"] for r in rows))
    ax = _axes(ax, figsize=(5.6, 3.2))
    width = 0.38
    for k, (impl, colour) in enumerate((("tied", TIED), ("untied", UNTIED))):
        sizes = [
            next(r for r in rows if r["shape"] == s and r["impl"] == impl)["median_s"] / 1e6
            for s in shapes
        ]
        xs = np.arange(len(shapes)) + (k - 0.5) * width
        ax.bar(xs, sizes, width=width * 0.95, color=colour, label=impl)
        for x, size in zip(xs, sizes):
            ax.text(x, size, f"{size:.1f}", ha="center", va="bottom", fontsize=7.5)
    ax.set_xticks(range(len(shapes)), [s.replace(", 2 layers", "") for s in shapes], fontsize=8)
    ax.set_yscale("log")
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("torch.save size (MB), log scale")
    ax.legend(fontsize=8, loc="upper left")
    return ax


def _cell(value) -> str:
    return str(value).replace("|", r"\|")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A Markdown table (renders in the static book as well as in Jupyter)."""
    lines = ["| " + " | ".join(map(_cell, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(_cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def parse_shape(shape: str) -> dict[str, int]:
    """``"N=8, C=16->16, 16x16, k=3"`` -> ``{"N": 8, "C": 16, "C_out": 16, "H": 16, "W": 16, "k": 3}``."""
    out: dict[str, int] = {}
    for key, value in re.findall(r"(\w+)=(\d+)", shape):
        out[key] = int(value)
    if m := re.search(r"C=(\d+)->(\d+)", shape):
        out["C"], out["C_out"] = int(m[1]), int(m[2])
    if m := re.search(r"(\d+)x(\d+)", shape):
        out["H"], out["W"] = int(m[1]), int(m[2])
    return out


def locally_connected_summary(results: Mapping, case: str = "LocallyConnected2d") -> list[dict]:
    """One record per shape: the library's forward traffic and its speed-ups over the naive loop.

    Keys: ``shape``, ``bytes``, ``forward_s``, ``floor_s`` (the bytes at copy
    bandwidth), ``fraction`` (of copy bandwidth), ``forward_speedup`` and
    ``training_speedup`` (the loop's median over the library's), and
    ``speedup_at_copy_bandwidth`` (the loop's median over the floor).
    """
    forward = speedups(results, case, "forward", "naive loop")
    training = speedups(results, case, "forward+backward", "naive loop")
    loops = {r["shape"]: r for r in select(results, case, mode="forward", impl="naive loop")}
    records = []
    for row in select(results, case, mode="forward"):
        if "bytes" not in row:
            continue
        records.append(
            {
                "shape": row["shape"],
                "bytes": row["bytes"],
                "forward_s": row["median_s"],
                "floor_s": row["bandwidth_floor_s"],
                "fraction": row["fraction_of_copy_bandwidth"],
                "forward_speedup": forward[row["shape"]],
                "speedup_at_copy_bandwidth": loops[row["shape"]]["speedup_bound"],
                "training_speedup": training[row["shape"]],
            }
        )
    return records


def conv_matrix_summary(results: Mapping, case: str = "conv2d_as_matrix") -> list[dict]:
    """One record per shape: the matrix's size and build time, and its costs next to ``F.conv2d``.

    Keys: ``shape``, ``nnz``, ``memory_bytes``, ``build_s``, ``product_s`` and
    ``conv_s`` (forward), ``step_s`` and ``conv_step_s`` (a training step; ``None``
    where the benchmark did not time it), ``dense_bytes`` (the same matrix stored
    densely, which is also the size of the gradient autograd forms for it) and
    ``note`` (the build row's note).
    """
    records = []
    for build in select(results, case, mode="build"):
        same = [r for r in select(results, case) if r["shape"] == build["shape"]]
        by_key = {(r["mode"], r["impl"]): r for r in same}
        step = by_key.get(("forward+backward", "build + sparse matmul"))
        conv_step = by_key.get(("forward+backward", "F.conv2d"))
        records.append(
            {
                "shape": build["shape"],
                "nnz": build["nnz"],
                "memory_bytes": build["memory_bytes"],
                "build_s": build["median_s"],
                "product_s": by_key[("forward", "sparse matmul")]["median_s"],
                "conv_s": by_key[("forward", "F.conv2d")]["median_s"],
                "step_s": step["median_s"] if step else None,
                "conv_step_s": conv_step["median_s"] if conv_step else None,
                "dense_bytes": build["dense_bytes"],
                "note": build.get("note", ""),
            }
        )
    return records
