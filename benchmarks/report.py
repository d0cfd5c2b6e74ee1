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
