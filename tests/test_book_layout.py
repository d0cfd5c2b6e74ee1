"""The built book on a phone: what a cold load fetches, and nothing scrolls sideways.

Like ``test_book.py`` and ``test_book_pdf.py``, it uses the build that
`make test` prepares (the ``built_book`` fixture in ``conftest.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from book_site import CHAPTER_FOLDERS, toc_pages

pytestmark = pytest.mark.slow

PAGE_MEDIAN_BUDGET_BYTES = 3_000_000
PAGE_MAX_BUDGET_BYTES = 5_000_000


def cold_load(browser, base: str, page_name: str, width: int = 1280):
    """Open a page in a fresh context (empty cache); return it and every response's size."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    fetched: dict[str, int] = {}

    def record(response):
        try:
            fetched[response.url] = len(response.body())
        except Exception:  # a redirect or aborted request has no body
            fetched.setdefault(response.url, 0)

    page.on("response", record)
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith((base, "data:")) else r.abort(),
    )
    page.goto(f"{base}/{page_name}.html", wait_until="load")
    page.wait_for_function(
        "!window.MathJax || (MathJax.startup && MathJax.startup.promise)", timeout=30_000
    )
    page.evaluate("window.MathJax ? MathJax.startup.promise : null")
    page.wait_for_load_state("networkidle")
    return context, page, fetched


@dataclass
class PhoneLoad:
    """What one cold load of a page at 390 px showed."""

    bytes_fetched: int
    sideways_px: int
    heavy_assets: list[str]
    inlined_images: int
    unused_widget_state: bool


@pytest.fixture(scope="session")
def phone_loads(browser, served_book) -> dict[str, PhoneLoad]:
    """Every page opened once, cold, in a 390 px wide viewport.

    A cold load fetches the same files at any width (only hidden slider
    frames are lazy), so these loads serve both the weight budget and the
    sideways-scrolling check.
    """
    loads = {}
    for name in toc_pages():
        context, page, fetched = cold_load(browser, served_book, name, width=390)
        try:
            views = page.locator("script[type='application/vnd.jupyter.widget-view+json']")
            states = page.locator("script[type='application/vnd.jupyter.widget-state+json']")
            loads[name] = PhoneLoad(
                bytes_fetched=sum(fetched.values()),
                sideways_px=page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                ),
                heavy_assets=[
                    url
                    for url in fetched
                    if re.search(r"embed-amd\.js|require\.js|fontawesome\.js", url)
                ],
                inlined_images=page.locator("img[src^='data:']").count(),
                unused_widget_state=views.count() == 0 and states.count() > 0,
            )
        finally:
            context.close()
    return loads


def test_chapter_pages_cold_load_within_budget(phone_loads):
    """Median ≤ 3 MB and maximum ≤ 5 MB over the chapter pages, every request counted."""
    chapters = {n: load for n, load in phone_loads.items() if n.startswith(CHAPTER_FOLDERS)}
    assert len(chapters) >= 40, f"only {len(chapters)} chapter pages were loaded"
    heavy = [f"{n}: {url}" for n, load in chapters.items() for url in load.heavy_assets]
    assert not heavy, "pages without live widgets load:\n" + "\n".join(heavy)
    inlined = [n for n, load in chapters.items() if load.inlined_images]
    assert not inlined, f"pages that inline images: {inlined}"
    unused = [n for n, load in chapters.items() if load.unused_widget_state]
    assert not unused, f"pages that ship unused widget state: {unused}"
    weights = {n: load.bytes_fetched for n, load in chapters.items()}
    ordered = sorted(weights.values())
    median = ordered[len(ordered) // 2]
    table = "\n".join(f"{w / 1e6:6.2f} MB  {n}" for n, w in sorted(weights.items()))
    assert median <= PAGE_MEDIAN_BUDGET_BYTES, f"median {median / 1e6:.2f} MB\n{table}"
    assert max(ordered) <= PAGE_MAX_BUDGET_BYTES, f"heaviest {max(ordered) / 1e6:.2f} MB\n{table}"


def test_no_page_scrolls_sideways_on_a_phone(phone_loads):
    """At 390 px nothing pushes the page sideways (equations scroll in their own box).

    Equations at 1280 px are measured on the page loads of
    ``test_book.py::test_every_page_loads_offline_without_errors``.
    """
    sideways = [
        f"{name}: {load.sideways_px}px too wide at 390px"
        for name, load in phone_loads.items()
        if load.sideways_px > 1
    ]
    assert not sideways, "\n".join(sideways)
