"""Measure the book's budgets and print them as a table.

Usage::

    python -m benchmarks.budgets                  # notebooks, sliders, a clean book build, page weights
    python -m benchmarks.budgets --skip-build     # notebooks and sliders only
    python -m benchmarks.budgets --fresh-clone    # also time `make test` in a fresh clone (minutes)
    python -m benchmarks.budgets --weights-only _build/html   # page weights of a built book only

Budgets (from the README): each notebook ≤ 60 s on two cores; a full book
build from clean ≤ 10 min; the README test command from a fresh clone ≤ 20 min;
every live slider move ≤ 100 ms (the slowest move counts; each frame's fresh
render is reported beside it); ≤ 1.5 MB of precomputed frames per page;
the cold load of a chapter page (every request a fresh browser makes to show
it, uncompressed, in headless Chromium) has a median ≤ 3 MB and a maximum
≤ 5 MB over the chapter pages.
Sliders are timed in the notebook's own kernel after the notebook has run: a
live move sets a real ipywidgets slider to each position and waits for the
image to show the new frame; a fresh render draws each frame again, uncached.
Results go to ``benchmarks/budgets.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_BUDGET_S = 60.0
CALLBACK_BUDGET_MS = 100.0
FRAMES_BUDGET_BYTES = 1_500_000
BUILD_BUDGET_S = 600.0
TEST_BUDGET_S = 1200.0
PAGE_MEDIAN_BUDGET_BYTES = 3_000_000
PAGE_MAX_BUDGET_BYTES = 5_000_000
CHROMIUM = os.environ.get("TYING_CHROMIUM", "/usr/bin/chromium")

TIME_SLIDERS = """
import json as _json, statistics as _st
from tying.widgets import FrameSlider as _FS
_report = []
for _s in _FS.instances():
    _live = _s.time_live_updates(repeats=3)
    _fresh = _s.time_callbacks(repeats=2)
    _report.append({
        "params": list(_s.params), "frames": _s.n_frames,
        "median_ms": _st.median(_live), "max_ms": max(_live),
        "render_median_ms": _st.median(_fresh), "render_max_ms": max(_fresh),
    })
print("TYING_SLIDERS=" + _json.dumps(_report))
"""


def notebooks() -> list[Path]:
    found = []
    for folder in ("notebooks", "exercises", "solutions"):
        found += sorted(
            p
            for p in (ROOT / folder).rglob("*.ipynb")
            if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts
        )
    return found


def run_notebook(path: Path) -> dict:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        allow_errors=path.parts[-2] == "exercises",
        resources={"metadata": {"path": str(path.parent)}},
    )
    sliders: list[dict] = []
    with client.setup_kernel():
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        seconds = time.perf_counter() - start
        probe = nbformat.v4.new_code_cell(TIME_SLIDERS)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
        for output in probe.outputs:
            text = output.get("text", "")
            if "TYING_SLIDERS=" in text:
                sliders = json.loads(text.split("TYING_SLIDERS=", 1)[1])
    return {"notebook": str(path.relative_to(ROOT)), "seconds": seconds, "sliders": sliders}


def build_book(out: Path) -> float:
    start = time.perf_counter()
    env = {**os.environ, "TYING_PROGRESS": "0"}  # as `make book`: no widget state in pages
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("jupyter-book")),
            "build",
            str(ROOT),
            "--path-output",
            str(out),
            "-W",
            "-n",
            "--keep-going",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise SystemExit("book build failed:\n" + (proc.stdout + proc.stderr)[-4000:])
    return time.perf_counter() - start


def is_chapter_page(relative: str) -> bool:
    """Chapter pages: the notebooks of every part (chapters, walkthroughs, exercises, solutions)."""
    return relative.split("/", 1)[0] in ("notebooks", "exercises", "solutions")


def cold_load_bytes(html_root: Path, relative_pages: list[str]) -> dict[str, dict]:
    """Every byte a fresh headless Chromium fetches to show each page, uncompressed.

    Each page gets a new browser context (an empty cache); off-machine requests
    are blocked.  Lazy slider frames that stay hidden are not fetched, as for a reader.
    """
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(html_root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    weights: dict[str, dict] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            for relative in relative_pages:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                fetched: dict[str, int] = {}

                def record(response, fetched=fetched):
                    try:
                        fetched[response.url] = len(response.body())
                    except Exception:  # noqa: BLE001 - a redirect or aborted request has no body
                        fetched.setdefault(response.url, 0)

                page.on("response", record)
                page.route(
                    "**/*",
                    lambda r: (
                        r.continue_() if r.request.url.startswith((base, "data:")) else r.abort()
                    ),
                )
                page.goto(f"{base}/{relative}", wait_until="load")
                page.evaluate("window.MathJax ? MathJax.startup.promise : null")
                try:
                    page.wait_for_load_state("networkidle", timeout=90_000)
                except Exception as error:  # noqa: BLE001 - report the page, keep measuring
                    print(f"{relative}: {error}".splitlines()[0], file=sys.stderr)
                context.close()
                by_kind: dict[str, int] = {}
                for url, size in fetched.items():
                    name = url.split("?", 1)[0].rsplit("/", 1)[-1]
                    kind = name.rsplit(".", 1)[-1] if "." in name else "html"
                    by_kind[kind] = by_kind.get(kind, 0) + size
                weights[relative] = {
                    "bytes": sum(fetched.values()),
                    "requests": len(fetched),
                    "by_kind": by_kind,
                }
            browser.close()
    finally:
        server.shutdown()
    return weights


def page_weights(html_root: Path) -> tuple[list[dict], int]:
    pages = []
    for page in sorted(html_root.rglob("*.html")):
        relative = str(page.relative_to(html_root))
        text = page.read_text(errors="replace")
        frames = sum(int(b) for b in re.findall(r'data-frame-bytes="(\d+)"', text))
        if frames or is_chapter_page(relative):
            pages.append({"page": relative, "bytes": page.stat().st_size, "frame_bytes": frames})
    cold = cold_load_bytes(html_root, [p["page"] for p in pages])
    for p in pages:
        p["cold_load_bytes"] = cold[p["page"]]["bytes"]
        p["requests"] = cold[p["page"]]["requests"]
    total = sum(f.stat().st_size for f in html_root.rglob("*") if f.is_file())
    return pages, total


def weight_lines(pages: list[dict]) -> tuple[list[str], bool]:
    """The page table and the verdict on the cold-load budget of chapter pages."""
    import statistics

    lines = [
        "| page | HTML bytes | slider frame bytes | cold load bytes | requests | budget |",
        "|---|---:|---:|---:|---:|---|",
    ]
    all_ok = True
    for p in pages:
        ok = (
            p["frame_bytes"] <= FRAMES_BUDGET_BYTES
            and p["cold_load_bytes"] <= PAGE_MAX_BUDGET_BYTES
        )
        all_ok &= ok
        lines.append(
            f"| {p['page']} | {p['bytes']:,} | {p['frame_bytes']:,} | "
            f"{p['cold_load_bytes']:,} | {p['requests']} | {verdict(ok)} |"
        )
    chapters = [p["cold_load_bytes"] for p in pages if is_chapter_page(p["page"])]
    if chapters:
        median, most = statistics.median(chapters), max(chapters)
        ok = median <= PAGE_MEDIAN_BUDGET_BYTES and most <= PAGE_MAX_BUDGET_BYTES
        all_ok &= ok
        lines += [
            "",
            f"Cold load of the {len(chapters)} chapter pages: median {median / 1e6:.2f} MB, "
            f"maximum {most / 1e6:.2f} MB ({verdict(ok)}, budget median ≤ "
            f"{PAGE_MEDIAN_BUDGET_BYTES / 1e6:.0f} MB, maximum ≤ {PAGE_MAX_BUDGET_BYTES / 1e6:.0f} MB).",
        ]
    return lines, all_ok


def fresh_clone_test() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["git", "clone", "-q", str(ROOT), f"{tmp}/book"], check=True)
        start = time.perf_counter()
        proc = subprocess.run(["make", "test"], cwd=f"{tmp}/book", capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit("make test failed in a fresh clone:\n" + proc.stdout[-4000:])
        return seconds


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER BUDGET"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.budgets", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--fresh-clone", action="store_true")
    parser.add_argument(
        "--only", nargs="*", default=None, help="notebook paths to measure (default: all)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "budgets.json")
    parser.add_argument(
        "--weights-only",
        type=Path,
        metavar="HTML_ROOT",
        help="only the page weights of a built book",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("TYING_PROGRESS", "0")
    if args.weights_only:
        pages, total = page_weights(args.weights_only)
        lines, ok = weight_lines(pages)
        print("\n".join(lines + ["", f"Total site size: {total / 1e6:.1f} MB."]))
        return 0 if ok else 1

    paths = [ROOT / p for p in args.only] if args.only else notebooks()
    results: dict = {"notebooks": []}
    for path in paths:
        row = run_notebook(path)
        results["notebooks"].append(row)
        print(f"{row['seconds']:6.1f} s  {row['notebook']}", file=sys.stderr, flush=True)

    if not args.skip_build:
        with tempfile.TemporaryDirectory() as tmp:
            results["book_build_s"] = build_book(Path(tmp))
            pages, total = page_weights(Path(tmp) / "_build" / "html")
        results["pages"], results["site_bytes"] = pages, total
    if args.fresh_clone:
        results["fresh_clone_test_s"] = fresh_clone_test()

    lines = [
        "| notebook | seconds | sliders: live move, median / max ms (fresh render, median / max ms) | budget |",
        "|---|---:|---|---|",
    ]
    all_ok = True
    for row in results["notebooks"]:
        sliders = (
            ", ".join(
                f"{'×'.join(s['params'])}: {s['median_ms']:.1f} / {s['max_ms']:.1f} "
                f"({s['render_median_ms']:.0f} / {s['render_max_ms']:.0f})"
                for s in row["sliders"]
            )
            or "—"
        )
        ok = row["seconds"] <= NOTEBOOK_BUDGET_S and all(
            s["max_ms"] <= CALLBACK_BUDGET_MS for s in row["sliders"]
        )
        all_ok &= ok
        lines.append(f"| {row['notebook']} | {row['seconds']:.1f} | {sliders} | {verdict(ok)} |")
    if "book_build_s" in results:
        ok = results["book_build_s"] <= BUILD_BUDGET_S
        all_ok &= ok
        lines += [
            "",
            f"Full book build from clean: {results['book_build_s']:.0f} s ({verdict(ok)}, budget {BUILD_BUDGET_S:.0f} s).",
        ]
        page_lines, ok = weight_lines(results["pages"])
        all_ok &= ok
        lines += [""] + page_lines
        lines += ["", f"Total site size: {results['site_bytes'] / 1e6:.1f} MB."]
    if "fresh_clone_test_s" in results:
        ok = results["fresh_clone_test_s"] <= TEST_BUDGET_S
        all_ok &= ok
        lines += [
            "",
            f"`make test` from a fresh clone: {results['fresh_clone_test_s']:.0f} s ({verdict(ok)}).",
        ]
    table = "\n".join(lines)
    results["table"] = table
    args.out.write_text(json.dumps(results, indent=1))
    print(table)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
