"""The built book on a phone, on a desktop, over the network and on paper.

Split from ``test_book.py`` so that the two files run on two pytest workers at
once; both use the build that `make test` prepares (see ``built_book``).
The fixtures are imported from ``test_book``, so test arguments share their names.
"""

# ruff: noqa: F811

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from html import unescape

from conftest import ROOT
from test_book import (  # noqa: F401  (fixtures are found by name)
    CHAPTER_FOLDERS,
    browser,
    built_book,
    served_book,
    toc_pages,
)

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


def test_chapter_pages_cold_load_within_budget(browser, served_book):
    """Median ≤ 3 MB and maximum ≤ 5 MB over the chapter pages, every request counted."""
    weights, heavy_assets = {}, []
    for name in toc_pages():
        if not name.startswith(CHAPTER_FOLDERS):
            continue
        context, page, fetched = cold_load(browser, served_book, name)
        try:
            weights[name] = sum(fetched.values())
            heavy_assets += [
                f"{name}: {url}"
                for url in fetched
                if re.search(r"embed-amd\.js|require\.js|fontawesome\.js", url)
            ]
            assert page.locator("img[src^='data:']").count() == 0, f"{name} inlines images"
            views = page.locator("script[type='application/vnd.jupyter.widget-view+json']")
            states = page.locator("script[type='application/vnd.jupyter.widget-state+json']")
            assert views.count() > 0 or states.count() == 0, f"{name} ships unused widget state"
        finally:
            context.close()
    assert not heavy_assets, "pages without live widgets load:\n" + "\n".join(heavy_assets)
    ordered = sorted(weights.values())
    median = ordered[len(ordered) // 2]
    table = "\n".join(f"{w / 1e6:6.2f} MB  {n}" for n, w in sorted(weights.items()))
    assert median <= PAGE_MEDIAN_BUDGET_BYTES, f"median {median / 1e6:.2f} MB\n{table}"
    assert max(ordered) <= PAGE_MAX_BUDGET_BYTES, f"heaviest {max(ordered) / 1e6:.2f} MB\n{table}"


def test_no_page_scrolls_sideways_on_a_phone(browser, served_book):
    """At 390 px nothing pushes the page sideways (equations scroll in their own box).

    Equations at 1280 px are measured on the page loads of
    ``test_book.py::test_every_page_loads_offline_without_errors``.
    """
    sideways = []
    for name in toc_pages():
        context, page, _ = cold_load(browser, served_book, name, width=390)
        try:
            extra = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if extra > 1:
                sideways.append(f"{name}: {extra}px too wide at 390px")
        finally:
            context.close()
    assert not sideways, "\n".join(sideways)


def test_pdf_edition_builds_and_holds_every_chapter_title(built_book):
    from pypdf import PdfReader

    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_pdf.py"), str(built_book)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    pdf = built_book / "parameter-tying.pdf"
    reader = PdfReader(pdf)

    def flatten(items):
        for item in items:
            if isinstance(item, list):
                yield from flatten(item)
            else:
                yield item.title

    outline = set(flatten(reader.outline))
    # NFKC undoes the typesetter's ligatures ("ﬂ" -> "fl") in the extracted text.
    printed = unicodedata.normalize("NFKC", "".join(p.extract_text() or "" for p in reader.pages))
    text = re.sub(r"\s+", "", printed).lower()
    for name in toc_pages():
        h1 = re.search(r"<h1[^>]*>(.*?)</h1>", (built_book / f"{name}.html").read_text(), re.S)
        title = re.sub(r"<[^>]+>|#|¶", "", h1.group(1)).strip()
        title = unescape(title)
        assert title in outline, f"{title!r} is not in the PDF's outline"
        wanted = re.sub(r"\s+", "", unicodedata.normalize("NFKC", title)).lower()
        assert wanted in text, f"{title!r} is not printed in the PDF"
    home = (built_book / f"{toc_pages()[0]}.html").read_text()
    assert re.search(r'href="(\.\./)*parameter-tying\.pdf"', home), (
        "the home page lacks the PDF link"
    )
