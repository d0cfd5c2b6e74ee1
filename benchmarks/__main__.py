"""Run every benchmark case and write ``results.json`` and ``RESULTS.md``.

The full run into the default folder also refreshes the copy that ships with the
package, ``lib/tying/benchmark_results.json`` (read by the performance appendix).

Usage::

    python -m benchmarks                 # full sizes, several repeats (minutes)
    python -m benchmarks --quick         # tiny sizes, one repeat (the test suite's smoke run)
    python -m benchmarks --cases locally_connected circulant --out /tmp/bench

The same command runs on CUDA unchanged (``TYING_DEVICE=cuda``): every timing
synchronises the device before reading the clock.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

from tying.device import get_device

from . import cases as cases_pkg
from .harness import copy_bandwidth, machine_info
from .report import add_ratios, markdown, update_readme

HERE = Path(__file__).resolve().parent


def available_cases() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(cases_pkg.__path__))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one repeat (smoke test)")
    parser.add_argument("--cases", nargs="*", default=None, help=f"subset of {available_cases()}")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for results.json and RESULTS.md")
    args = parser.parse_args(argv)

    device = get_device()
    names = args.cases or available_cases()
    unknown = sorted(set(names) - set(available_cases()))
    if unknown:
        parser.error(f"unknown cases {unknown}; available: {available_cases()}")

    started = time.perf_counter()
    bandwidth = copy_bandwidth(device, megabytes=16 if args.quick else 256, repeats=1 if args.quick else 5)
    rows: list[dict] = []
    for name in names:
        module = importlib.import_module(f"{cases_pkg.__name__}.{name}")
        t0 = time.perf_counter()
        print(f"[benchmarks] {name} ...", file=sys.stderr, flush=True)
        rows.extend(module.run(args.quick, device))
        print(f"[benchmarks] {name} done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    add_ratios(rows, bandwidth["bytes_per_s"])
    results = {
        "machine": machine_info(device),
        "quick": args.quick,
        "copy_bandwidth": bandwidth,
        "seconds": time.perf_counter() - started,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    if args.out.resolve() == HERE and not args.quick:
        # The package ships the committed run, so the performance appendix works without a checkout.
        (HERE.parent / "lib" / "tying" / "benchmark_results.json").write_text(json.dumps(results, indent=1))
    (args.out / "RESULTS.md").write_text(markdown(results))
    if args.out.resolve() == HERE and not args.quick:
        # The committed run also refreshes the README's headline numbers, so they cannot drift.
        readme = HERE.parent / "README.md"
        readme.write_text(update_readme(readme.read_text(), results))
    print(f"wrote {args.out / 'results.json'} and {args.out / 'RESULTS.md'} ({len(rows)} rows, {results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
