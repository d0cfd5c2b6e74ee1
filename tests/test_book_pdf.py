"""The PDF edition: Chromium prints every page of the built book into one PDF.

Its own file, so that pytest's workers (``--dist loadfile``) can run it beside
the other browser tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from html import unescape

import pytest
from book_site import ROOT, toc_pages

pytestmark = pytest.mark.slow


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
