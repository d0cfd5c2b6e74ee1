"""Print the built HTML book to one PDF, offline: ``make pdf``.

Usage::

    python tools/build_pdf.py _build/html            # writes _build/html/parameter-tying.pdf
    python tools/build_pdf.py _build/html --out book.pdf --pages book/index notebooks/principles/01_inductive_bias

Each page of ``_toc.yml`` is opened in Debian's Chromium (through Playwright,
never a downloaded browser) with every off-machine request blocked, then
printed with the book's print stylesheet (``book/_assets/tying.css``): every
slider is first moved to its middle frame, lazy frames are loaded, and display
equations wider than the paper are scaled down to fit.  The page PDFs are
merged with pypdf behind a title page and a table of contents with page
numbers, and the PDF gets an outline (bookmarks) by part and chapter.  Figure
numbers, captions and the bibliography come from the HTML pages themselves.
Finally the home page's placeholder becomes a link to the PDF.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import html
import http.server
import io
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from tying_book import PDF_NAME, PDF_PLACEHOLDER, pdf_link_html  # noqa: E402

CHROMIUM = os.environ.get("TYING_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
PAPER = {
    "format": "A4",
    "margin": {"top": "16mm", "bottom": "18mm", "left": "15mm", "right": "15mm"},
}
# Each chapter prints its title in the footer; the book's page numbers are
# stamped on afterwards (a chapter printed alone would count from 1).
FOOTER = (
    '<div style="font-size:8px;width:100%;padding:0 15mm;color:#555;">'
    '<span class="title"></span></div>'
)
NUMBERS_FOOTER = (
    '<div style="font-size:8px;width:100%;padding:0 15mm;text-align:right;color:#555;">'
    '<span class="pageNumber"></span></div>'
)
SCALE = 0.8  # a book page, not a phone: more text per sheet

# Move every slider to its middle value, load every frame, open nothing else.
PREPARE_PAGE = """
() => {
  for (const input of document.querySelectorAll('.tying-slider input[type=range]')) {
    const lo = Number(input.min || 0), hi = Number(input.max || 100);
    const step = Number(input.step) || 1;
    input.value = String(lo + Math.floor((hi - lo) / step / 2) * step);
    input.dispatchEvent(new Event('input', {bubbles: true}));
    input.dispatchEvent(new Event('change', {bubbles: true}));
  }
  for (const img of document.images) { img.loading = 'eager'; }
}
"""
IMAGES_LOADED = "Array.from(document.images).every(i => i.complete)"
# Display equations wider than their column (in print) are scaled down to fit.
FIT_EQUATIONS = """
() => {
  let scaled = 0;
  for (const m of document.querySelectorAll('mjx-container[display="true"]')) {
    const box = m.parentElement.clientWidth;
    const wide = m.firstElementChild ? m.firstElementChild.getBoundingClientRect().width : 0;
    if (box > 0 && wide > box) {
      const size = parseFloat(getComputedStyle(m).fontSize);
      m.style.fontSize = (size * box / wide * 0.97) + 'px';
      scaled += 1;
    }
  }
  return scaled;
}
"""


@dataclass
class Entry:
    page: str  # docname, e.g. notebooks/principles/01_inductive_bias
    part: str  # the part's caption in _toc.yml
    depth: int  # 0 for a chapter, 1 for a section under it
    title: str = ""
    pdf: bytes = b""
    pages: int = 0


def toc_entries(toc_path: Path) -> list[Entry]:
    toc = yaml.safe_load(toc_path.read_text())
    entries = [Entry(str(toc["root"]), "", 0)]

    def walk(node, part, depth):
        entries.append(Entry(str(node["file"]), part, depth))
        for child in node.get("sections", []):
            walk(child, part, depth + 1)

    for part in toc["parts"]:
        for chapter in part.get("chapters", []):
            walk(chapter, part.get("caption", ""), 0)
    return entries


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path):
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def only_local(route):
    if route.request.url.startswith(("http://127.0.0.1", "data:")):
        route.continue_()
    else:
        route.abort()


def print_page(context, url: str) -> tuple[str, bytes]:
    page = context.new_page()
    try:
        page.route("**/*", only_local)
        page.goto(url, wait_until="load")
        page.wait_for_function(
            "!window.MathJax || (MathJax.startup && MathJax.startup.promise)", timeout=60_000
        )
        page.evaluate("window.MathJax ? MathJax.startup.promise : null")
        page.emulate_media(media="print")
        page.evaluate(PREPARE_PAGE)
        page.wait_for_function(IMAGES_LOADED, timeout=60_000)
        page.evaluate(FIT_EQUATIONS)
        title = page.evaluate(
            "(() => { const h = document.querySelector('main h1, article h1, h1');"
            " return h ? h.innerText.replace(/[#¶]\\s*$/, '').trim() : document.title; })()"
        )
        pdf = page.pdf(
            **PAPER,
            scale=SCALE,
            print_background=True,
            display_header_footer=True,
            header_template="<div></div>",
            footer_template=FOOTER,
        )
        return title, pdf
    finally:
        page.close()


def html_document(body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><style>"
        "body{font-family:'DejaVu Serif',serif;color:#222;margin:0}"
        "h1{font-size:34px;margin:0 0 12px 0}"
        ".title{margin-top:35vh;text-align:center}"
        ".toc{font-size:12px;line-height:1.55}"
        ".toc .part{font-weight:bold;margin-top:10px}"
        ".toc .row{display:flex}.toc .row span.dots{flex:1;border-bottom:1px dotted #999;margin:0 4px 4px}"
        ".toc .d1{padding-left:18px}"
        "</style></head><body>" + body + "</body></html>"
    )


def title_page(book_title: str, author: str) -> str:
    today = datetime.date.today().isoformat()
    return html_document(
        f"<div class='title'><h1>{html.escape(book_title)}</h1>"
        f"<p>{html.escape(author)}</p><p>PDF edition printed from the web book, {today}.</p></div>"
    )


def toc_page(entries: list[Entry], first_page: dict[str, int]) -> str:
    rows, part = ["<h1>Contents</h1><div class='toc'>"], None
    for e in entries[1:]:
        if e.part != part:
            part = e.part
            rows.append(f"<div class='part'>{html.escape(part)}</div>")
        rows.append(
            f"<div class='row d{min(e.depth, 1)}'><span>{html.escape(e.title)}</span>"
            f"<span class='dots'></span><span>{first_page[e.page]}</span></div>"
        )
    return html_document("".join(rows) + "</div>")


def print_html(context, document: str) -> bytes:
    page = context.new_page()
    try:
        page.route("**/*", only_local)
        page.set_content(document, wait_until="load")
        return page.pdf(**PAPER, print_background=True)
    finally:
        page.close()


def print_page_numbers(context, total: int) -> bytes:
    """Blank pages that carry only their number in the footer, to lay over the book."""
    page = context.new_page()
    try:
        blanks = "<div style='break-after:page'>&nbsp;</div>" * (total - 1) + "<div>&nbsp;</div>"
        page.set_content(html_document(blanks), wait_until="load")
        return page.pdf(
            **PAPER,
            display_header_footer=True,
            header_template="<div></div>",
            footer_template=NUMBERS_FOOTER,
        )
    finally:
        page.close()


def stamp_page_numbers(writer, numbers: bytes) -> None:
    from pypdf import PdfReader

    overlay = PdfReader(io.BytesIO(numbers))
    for index, page in enumerate(writer.pages):
        if index > 0 and index < len(overlay.pages):  # the title page stays clean
            page.merge_page(overlay.pages[index])
            page.compress_content_streams()  # merging leaves the page's drawing uncompressed


def count_pages(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def build(html_root: Path, out: Path, only: list[str] | None = None) -> Path:
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader, PdfWriter

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    entries = toc_entries(ROOT / "_toc.yml")
    if only:
        entries = [e for e in entries if e.page in only]
    server, base = serve(html_root)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1000, "height": 1400})
            for n, entry in enumerate(entries, 1):
                entry.title, entry.pdf = print_page(context, f"{base}/{entry.page}.html")
                entry.pages = count_pages(entry.pdf)
                print(f"[{n}/{len(entries)}] {entry.pages:3d} pp  {entry.title}", file=sys.stderr)
            cover = print_html(context, title_page(config["title"], config.get("author", "")))
            # The contents' own length shifts every page number: print it until it is stable.
            toc_pages = 1
            for _ in range(3):
                first, page_no = {}, 1 + count_pages(cover) + toc_pages
                for entry in entries:
                    first[entry.page] = page_no
                    page_no += entry.pages
                contents = print_html(context, toc_page(entries, first))
                if count_pages(contents) == toc_pages:
                    break
                toc_pages = count_pages(contents)
            total = count_pages(cover) + count_pages(contents) + sum(e.pages for e in entries)
            numbers = print_page_numbers(context, total)
            browser.close()
    finally:
        server.shutdown()

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(cover)))
    writer.append(PdfReader(io.BytesIO(contents)))
    writer.add_outline_item(title="Contents", page_number=count_pages(cover))
    parts: dict[str, object] = {}
    chapter = None
    for entry in entries:
        start = len(writer.pages)
        writer.append(PdfReader(io.BytesIO(entry.pdf)))
        parent = None
        if entry.part:
            if entry.part not in parts:
                parts[entry.part] = writer.add_outline_item(title=entry.part, page_number=start)
                chapter = None
            parent = parts[entry.part]
        if entry.depth > 0 and chapter is not None:
            parent = chapter
        item = writer.add_outline_item(title=entry.title, page_number=start, parent=parent)
        if entry.depth == 0:
            chapter = item
    stamp_page_numbers(writer, numbers)
    writer.add_metadata({"/Title": config["title"], "/Author": config.get("author", "")})
    writer.page_mode = "/UseOutlines"
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f:
        writer.write(f)
    link_from_home_page(html_root, out)
    return out


def link_from_home_page(html_root: Path, pdf: Path) -> None:
    """Fill the home page's placeholder with a link to the PDF (when it lies in the book)."""
    home = html_root / f"{toc_entries(ROOT / '_toc.yml')[0].page}.html"
    if pdf.parent.resolve() != html_root.resolve() or not home.exists():
        return
    text = home.read_text(encoding="utf-8")
    if PDF_PLACEHOLDER in text:
        href = os.path.relpath(pdf, home.parent)
        home.write_text(text.replace(PDF_PLACEHOLDER, pdf_link_html(pdf.stat().st_size, href)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_root", type=Path, help="the built HTML book, e.g. _build/html")
    parser.add_argument("--out", type=Path, help=f"default: <html_root>/{PDF_NAME}")
    parser.add_argument("--pages", nargs="*", help="only these docnames (for a quick look)")
    args = parser.parse_args(argv)
    if not (args.html_root / "index.html").exists():
        parser.error(f"{args.html_root} holds no built book; run `make book` first")
    if not Path(CHROMIUM).exists():
        parser.error(f"Chromium not found at {CHROMIUM}; `make chromium` installs Debian's")
    out = build(args.html_root, args.out or args.html_root / PDF_NAME, args.pages)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
