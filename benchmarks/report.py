"""Turn benchmark rows into ratios and a Markdown table."""

from __future__ import annotations

from collections import defaultdict


def add_ratios(rows: list[dict], copy_bytes_per_s: float) -> None:
    """Add ``relative_to_library``: this row's median over the library implementation's median, same case/shape/mode.

    The library implementation of each case is the row marked ``"library": True``
    (or, failing that, the first row of the group).  Memory-bound rows with
    ``bytes_per_s`` also get their fraction of the measured copy bandwidth, and
    the other rows of their group get ``speedup_bound``: how much faster than
    that row any implementation could be that must still move the library's
    bytes at copy bandwidth.  It says when a speed-up goal is out of reach on
    the machine, whatever the code.  Rows marked ``"same_layer": False`` (a
    different layer shown for comparison, such as the tied ``Conv2d``) get no bound.
    """
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["case"], row["shape"], row["mode"])].append(row)
    for group in groups.values():
        library = next((r for r in group if r.get("library")), group[0])
        for row in group:
            row["relative_to_library"] = row["median_s"] / library["median_s"]
        if "bytes" in library:
            library["bandwidth_floor_s"] = library["bytes"] / copy_bytes_per_s
            for row in group:
                if row is not library and row.get("same_layer", True):
                    row["speedup_bound"] = row["median_s"] / library["bandwidth_floor_s"]
    for row in rows:
        if "bytes_per_s" in row:
            row["fraction_of_copy_bandwidth"] = row["bytes_per_s"] / copy_bytes_per_s


def _fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def markdown(results: dict) -> str:
    m = results["machine"]
    bw = results["copy_bandwidth"]["bytes_per_s"] / 1e9
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, {m['torch_threads']} torch threads, "
        f"torch {m['torch']}, device `{m['device']}`{', ' + m['gpu'] if 'gpu' in m else ''}. "
        f"Measured copy bandwidth (clone of a large tensor): {bw:.2f} GB/s."
        + (" **Quick smoke run: tiny sizes, one repeat; not for quoting.**" if results["quick"] else ""),
        "",
        "Times are medians over repeats, with [min, max]. *× library* is this row's median divided by",
        "the library implementation's median in the same run (above 1: slower than the library).",
        "Rows in mode *memory* give stored bytes instead of times. Where the library row knows the",
        "bytes it must move, its *copy-bandwidth floor* is those bytes at the measured copy bandwidth,",
        "and the other rows say how many times slower than that floor they are: about the most any",
        "implementation could gain on them.",
        "",
    ]
    if not results["quick"]:
        lines += ["## Headlines", ""] + [f"- {h}" for h in headlines(results)] + [""]
    by_case: dict[str, list[dict]] = defaultdict(list)
    for row in results["rows"]:
        by_case[row["case"]].append(row)
    for case, rows in by_case.items():
        lines += [f"## {case}", "", "| shape | implementation | mode | median | [min, max] | × library | notes |", "|---|---|---|---:|---|---:|---|"]
        for r in rows:
            notes = []
            if "params" in r:
                notes.append(f"{r['params']:,} parameters")
            if "fraction_of_copy_bandwidth" in r:
                notes.append(f"{r['bytes_per_s'] / 1e9:.2f} GB/s = {100 * r['fraction_of_copy_bandwidth']:.0f}% of copy bandwidth")
            if "bandwidth_floor_s" in r:
                notes.append(f"copy-bandwidth floor {_fmt_time(r['bandwidth_floor_s'])}")
            if "speedup_bound" in r:
                notes.append(f"{r['speedup_bound']:.1f}× slower than the copy-bandwidth floor")
            for key in ("note", "nnz", "memory_bytes"):
                if key in r:
                    notes.append(f"{key}: {r[key]:,}" if isinstance(r[key], int) else f"{r[key]}")
            fmt = (lambda v: f"{int(v):,} B") if r["mode"] == "memory" else _fmt_time
            lines.append(
                f"| {r['shape']} | {r['impl']} | {r['mode']} | {fmt(r['median_s'])} | "
                f"[{fmt(r['min_s'])}, {fmt(r['max_s'])}] | {r['relative_to_library']:.2f} | {'; '.join(notes)} |"
            )
        lines.append("")
    extra = results.get("summary")
    if extra:
        lines += ["## Summary", ""] + [f"- {s}" for s in extra] + [""]
    return "\n".join(lines)


def _span(values, fmt: str) -> str:
    lo, hi = min(values), max(values)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"


def _listing(values, fmt: str) -> str:
    return ", ".join(fmt.format(v) for v in values)


def headlines(results: dict) -> list[str]:
    """The run's main findings as Markdown bullets, computed from the rows (README and RESULTS.md)."""
    rows = results["rows"]

    def pick(case, mode=None, impl=None):
        return [r for r in rows if r["case"] == case and (mode is None or r["mode"] == mode) and (impl is None or r["impl"] == impl)]

    lines = []
    lc = pick("LocallyConnected2d", "forward", "vectorised")
    if lc:
        loop_f = pick("LocallyConnected2d", "forward", "naive loop")
        loop_t = pick("LocallyConnected2d", "forward+backward", "naive loop")
        unfold = pick("LocallyConnected2d", "forward", "unfold + bmm")
        masked = pick("LocallyConnected2d", "forward", "dense masked matrix")
        line = (
            f"**`LocallyConnected2d`** is memory-bound: its forward pass moves its bytes at "
            f"{_span([100 * r['fraction_of_copy_bandwidth'] for r in lc], '{:.0f}')}% of the copy bandwidth "
            f"({results['copy_bandwidth']['bytes_per_s'] / 1e9:.1f} GB/s). "
            f"Against a Python loop over positions it is {_listing([r['relative_to_library'] for r in loop_f], '{:.1f}×')} faster forward "
            f"(running exactly at copy bandwidth would give {_listing([r['speedup_bound'] for r in loop_f], '{:.1f}×')}) and "
            f"{_listing([r['relative_to_library'] for r in loop_t], '{:.0f}×')} faster for forward+backward."
        )
        if unfold:
            line += f" `F.unfold` + transpose + `bmm` is {_span([r['relative_to_library'] for r in unfold], '{:.0f}')}× slower forward"
            line += f", Keras' dense masked matrix {_span([r['relative_to_library'] for r in masked], '{:.0f}')}×." if masked else "."
        lines.append(line)
    summaries = {r["mode"]: r for r in pick("CirculantLinear", impl="summary")}
    if summaries:
        largest = max(r["n"] for r in pick("CirculantLinear") if "n" in r)
        dense = {r["mode"]: r for r in pick("CirculantLinear", impl="dense nn.Linear") if r.get("n") == largest}
        f = summaries["forward"]
        lines.append(
            f"**`CirculantLinear`** overtakes `nn.Linear` from n = {f['crossover_n']}; at n = {largest} it is "
            f"{dense['forward']['relative_to_library']:.0f}× (forward) and {dense['forward+backward']['relative_to_library']:.0f}× "
            f"(forward+backward) faster. Over n = {f['slope_range'][0]}…{f['slope_range'][1]} the forward slopes of log time "
            f"are {f['slope_fft']:.2f} (FFT; n log n: {f['slope_nlogn']:.2f}) and {f['slope_dense']:.2f} (dense)."
        )
    builds = pick("conv2d_as_matrix", "build")
    if builds:
        products = [r["relative_to_library"] for r in pick("conv2d_as_matrix", "forward", "F.conv2d")]
        steps = [1 / r["relative_to_library"] for r in pick("conv2d_as_matrix", "forward+backward", "F.conv2d")]
        line = (
            f"**`conv2d_as_matrix`** stores {_span([r['nnz'] / 1e6 for r in builds], '{:.1f}')} M non-zeros; its sparse product is "
            f"{_span([1 / p for p in products], '{:.0f}')}× slower than `F.conv2d`"
        )
        if steps:
            line += f", a training step through the matrix {_span(steps, '{:,.0f}')}× slower"
        untimed = [r for r in builds if "training step not timed" in r.get("note", "")]
        if untimed:
            line += f" (not timed where autograd would form a dense {_listing([r['dense_bytes'] / 1e9 for r in untimed], '{:.1f}')} GB gradient)"
        lines.append(line + ".")
    hashed = pick("HashedLinear", impl="hashed (virtual width)")
    if hashed:
        full = {(r["shape"], r["mode"]): r for r in pick("HashedLinear", impl="dense, full width")}
        fwd = [1 / full[(r["shape"], r["mode"])]["relative_to_library"] for r in hashed if r["mode"] == "forward"]
        trn = [1 / full[(r["shape"], r["mode"])]["relative_to_library"] for r in hashed if r["mode"] == "forward+backward"]
        lines.append(
            f"**`HashedLinear`** takes {_span(fwd, '{:.1f}')}× the time of the full dense layer forward and "
            f"{_span(trn, '{:.1f}')}× for forward+backward, since it gathers its virtual matrix on every call."
        )
    memory = pick("LM parameter memory", "memory", "untied")
    if memory:
        lines.append(
            f"**Tied language models** store exactly V·d fewer parameters; their checkpoints are "
            f"{_span([r['relative_to_library'] for r in memory], '{:.2f}')}× smaller than the untied ones."
        )
    return lines


README_START = "<!-- benchmarks:headlines:start -->"
README_END = "<!-- benchmarks:headlines:end -->"


def readme_block(results: dict) -> str:
    """The README's headline block for ``results``, markers included."""
    bullets = "\n".join(f"- {h}" for h in headlines(results))
    return f"{README_START}\n{bullets}\n{README_END}"


def update_readme(readme: str, results: dict) -> str:
    """Return ``readme`` with the text between the headline markers replaced from ``results``."""
    start, end = readme.find(README_START), readme.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no {README_START} ... {README_END} block")
    return readme[:start] + readme_block(results) + readme[end + len(README_END):]
