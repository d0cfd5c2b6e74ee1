"""The real book: a Sphinx build with warnings as errors, then headless Chromium on the pages.

Both tests share one build (a session fixture), so they live in one file and
pytest-xdist's ``--dist loadfile`` keeps them on one worker.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("TYING_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                pages.append(str(node["file"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc["parts"])
    return pages


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """Build the whole book from scratch (every notebook executed) into a temporary folder."""
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).with_name("jupyter-book")
    # Build as a reader would: with progress bars (ipywidgets), so the vendored
    # widget manager is exercised by the browser tests below.
    env = {k: v for k, v in os.environ.items() if k != "TYING_PROGRESS"}
    start = time.perf_counter()
    proc = subprocess.run(
        [
            str(jb),
            "build",
            str(ROOT),
            "--path-output",
            str(out),
            "--warningiserror",
            "--nitpick",
            "--keep-going",
        ],
        capture_output=True,
        text=True,
        timeout=1500,
        env=env,
    )
    seconds = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    (out / "build.log").write_text(log)
    print(f"book build: {seconds:.0f} s, exit {proc.returncode}")
    warnings = [
        line
        for line in log.splitlines()
        if re.search(r"\bWARNING\b|\bERROR\b", line) and "TCP without encryption" not in line
    ]
    assert proc.returncode == 0 and not warnings, "book build failed:\n" + "\n".join(
        warnings or log.splitlines()[-40:]
    )
    return out / "_build" / "html"


def test_book_builds_without_warnings_and_has_every_page(built_book):
    for page in toc_pages():
        assert (built_book / f"{page}.html").exists(), f"{page} missing from the built book"


def test_built_pages_reference_no_cdn(built_book):
    """Scripts and styles come from the book itself; only plain links may point outside."""
    for html in built_book.rglob("*.html"):
        text = html.read_text()
        external = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"', text)
        external = [
            u
            for u in external
            if not u.startswith(("https://github.com", "https://colab", "https://mybinder"))
        ]
        assert not external, f"{html.name} loads {external}"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def served_book(built_book):
    handler = functools.partial(QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(
            f"Chromium not found at {CHROMIUM}; `make test` installs Debian's chromium package"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser, url):
    """Open ``url`` with every off-machine request blocked and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    page.on(
        "requestfailed", lambda req: problems.append(f"request failed: {req.url} {req.failure}")
    )
    page.on(
        "response",
        lambda res: res.status >= 400 and problems.append(f"HTTP {res.status}: {res.url}"),
    )

    def route(r):
        if r.request.url.startswith(("http://127.0.0.1", "data:")):
            r.continue_()
        else:
            problems.append(f"off-machine request: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    # MathJax typesets asynchronously; wait for it when the page has maths.
    page.wait_for_function(
        "!window.MathJax || (MathJax.startup && MathJax.startup.promise)", timeout=30_000
    )
    page.evaluate("window.MathJax ? MathJax.startup.promise : null")
    page.wait_for_load_state("networkidle")
    return context, page, problems


def move_every_static_slider(page) -> None:
    """Each static slider on the page must swap its visible frame when moved, like a reader would."""
    sliders = page.locator(".tying-slider")
    for i in range(sliders.count()):
        slider = sliders.nth(i)
        slider.scroll_into_view_if_needed()
        ranges = slider.locator("input[type=range]")
        for j in range(ranges.count()):
            rng = ranges.nth(j)
            before = slider.get_attribute("data-current")
            src_before = slider.locator(".tying-slider-frame:visible").get_attribute("src")
            at_max = rng.evaluate("r => r.value === r.max")
            rng.focus()
            page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
            assert slider.get_attribute("data-current") != before, (
                f"slider {i}, control {j} did not move"
            )
            visible = slider.locator(".tying-slider-frame:visible")
            assert visible.count() == 1
            assert visible.get_attribute("src") != src_before, (
                f"slider {i}, control {j} kept its frame"
            )


@pytest.mark.parametrize("page_name", toc_pages())
def test_every_page_loads_offline_without_errors(
    browser, served_book, built_book, page_name, tmp_path
):
    context, page, problems = open_page(browser, f"{served_book}/{page_name}.html")
    try:
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
            ".filter(i => i.offsetParent !== null).map(i => i.src.slice(0, 80))"
        )
        assert not broken, f"images that did not load: {broken}"
        raw_tex = page.evaluate("document.body.innerText.match(/\\$\\$|\\\\\\(|\\\\begin\\{/g)")
        assert not raw_tex, f"untypeset TeX on {page_name}: {raw_tex}"
        move_every_static_slider(page)
        assert not problems, "\n".join(problems)
    finally:
        context.close()


def test_exemplar_chapter_maths_figures_and_static_slider(browser, served_book, tmp_path):
    context, page, problems = open_page(
        browser, f"{served_book}/notebooks/principles/01_inductive_bias.html"
    )
    try:
        assert page.locator("mjx-container").count() > 10, "maths was not typeset"
        figures = page.locator("figure img")
        assert figures.count() >= 2
        for i in range(figures.count()):
            assert figures.nth(i).evaluate("i => i.complete && i.naturalWidth > 0")
        captions = page.locator("figure figcaption")
        assert captions.count() >= 2
        # The training progress bar is an ipywidget rendered from saved state by the vendored manager.
        page.wait_for_selector(
            ".jupyter-widgets.widget-hprogress, .widget-hprogress", timeout=15_000
        )

        slider = page.locator(".tying-slider").first
        slider.scroll_into_view_if_needed()
        rng = slider.locator("input[type=range]").first
        before = slider.get_attribute("data-current")
        visible_before = slider.locator(".tying-slider-frame:visible")
        assert visible_before.count() == 1
        src_before = visible_before.get_attribute("src")
        # Move it like a reader would: focus and press the arrow key.
        rng.focus()
        page.keyboard.press("ArrowRight")
        after = slider.get_attribute("data-current")
        visible_after = slider.locator(".tying-slider-frame:visible")
        assert after != before
        assert visible_after.count() == 1
        assert visible_after.get_attribute("src") != src_before
        assert slider.locator("output").first.inner_text() != ""
        page.screenshot(path=str(tmp_path / "chapter1.png"), full_page=False)
        assert not problems, "\n".join(problems)
    finally:
        context.close()
