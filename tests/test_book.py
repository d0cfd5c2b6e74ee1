"""The real book: a Sphinx build with warnings as errors, then headless Chromium on the pages.

The browser tests share one build (the ``built_book`` fixture in
``conftest.py``): `make test` builds the book before pytest
(``TYING_BUILT_BOOK``), and its pages are tested on both pytest workers.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from book_site import ROOT, toc_pages

pytestmark = pytest.mark.slow


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


WIDE_EQUATIONS = """() => Array.from(document.querySelectorAll('mjx-container[display="true"]'))
    .filter(m => m.scrollWidth > m.clientWidth + 1)
    .map(m => (m.getAttribute('aria-label') || m.textContent).slice(0, 60))"""


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
        wide = page.evaluate(WIDE_EQUATIONS)  # the viewport is 1280 px wide
        assert not wide, f"display equations wider than the column on {page_name}: {wide}"
        assert_accessible(page, page_name)
        move_every_static_slider(page)
        assert_sliders_expose_their_values(page, page_name)
        assert not problems, "\n".join(problems)
    finally:
        context.close()


def test_exemplar_chapter_maths_figures_and_static_slider(browser, served_book, tmp_path):
    context, page, problems = open_page(
        browser, f"{served_book}/notebooks/principles/01_inductive_bias.html"
    )
    try:
        assert page.locator("mjx-container").count() > 10, "maths was not typeset"
        # Hidden slider frames load lazily, when shown; every image on view must have loaded.
        figures = page.locator("figure img:visible")
        assert figures.count() >= 2
        for i in range(figures.count()):
            assert figures.nth(i).evaluate("i => i.complete && i.naturalWidth > 0")
        captions = page.locator("figure figcaption")
        assert captions.count() >= 2
        # Progress bars are silent in the build: no widget state, no widget manager.
        assert page.locator(".widget-hprogress").count() == 0
        assert page.locator("script[src*='embed-amd'], script[src*='require.js']").count() == 0

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


# --- Page weight, phones, print and the PDF edition (issue 13) -----------------


def test_slider_frames_are_files_and_only_the_first_loads_eagerly(built_book):
    pages = [p for p in built_book.rglob("*.html") if "tying-slider-frame" in p.read_text()]
    assert pages, "no slider in the built book"
    for page_file in pages:
        tags = re.findall(r"<img\b[^>]*tying-slider-frame[^>]*>", page_file.read_text())
        for tag in tags:
            src = re.search(r'\ssrc="([^"]+)"', tag).group(1)
            assert "_images/frames/" in src, f"{page_file.name}: frame not a file: {src[:60]}"
            file = (page_file.parent / src).resolve()
            assert file.is_file() and file.stat().st_size > 0, f"{page_file.name}: {src} missing"
            bare = re.sub(r'"[^"]*"', '""', tag)
            if re.search(r"\shidden\b", bare):
                assert 'loading="lazy"' in tag, f"{page_file.name}: a hidden frame loads eagerly"


class _ProseText(HTMLParser):
    """Collect the text a reader sees outside maths, code, scripts and styles."""

    SKIP_TAGS = {"script", "style", "code", "pre", "textarea", "kbd", "samp", "math"}
    SKIP_CLASSES = {"math", "highlight", "cell_output", "output", "literal", "mjx-container"}
    VOID = {"br", "img", "input", "meta", "link", "hr", "wbr", "source", "area", "col"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []
        self.chunks: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        classes = set((dict(attrs).get("class") or "").split())
        skipping = bool(self.stack and self.stack[-1])
        self.stack.append(skipping or tag in self.SKIP_TAGS or bool(classes & self.SKIP_CLASSES))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.chunks.append(data)


def test_no_raw_tex_or_backslash_escapes_outside_maths_and_code(built_book):
    problems = []
    for name in toc_pages():
        parser = _ProseText()
        parser.feed((built_book / f"{name}.html").read_text())
        text = " ".join(parser.chunks)
        for pattern in (r"\$", r"\\\(", r"\\\[", r"\\[A-Za-z_{}#%&]"):
            for hit in re.finditer(pattern, text):
                problems.append(f"{name}: …{text[max(0, hit.start() - 40) : hit.end() + 40]!r}…")
    assert not problems, "\n".join(problems[:40])


def test_home_page_lists_every_chapter_with_one_search_box(browser, served_book, built_book):
    home_page = built_book / f"{toc_pages()[0]}.html"
    hrefs = re.findall(r'href="([^"#?]+\.html)', home_page.read_text())
    linked = {(home_page.parent / h).resolve() for h in hrefs}
    for name in toc_pages()[1:]:
        assert (built_book / f"{name}.html").resolve() in linked, f"the home page omits {name}"
    context, page, problems = open_page(browser, f"{served_book}/{toc_pages()[0]}.html")
    try:
        boxes = page.locator("input[type=search]:visible, .search-button-field:visible")
        assert boxes.count() == 1, f"{boxes.count()} search boxes on the home page"
    finally:
        context.close()


def test_bibliography_is_author_year_and_index_is_not_empty(built_book):
    bib = (built_book / "book" / "bibliography.html").read_text()
    labels = re.findall(r'<span class="label"><span class="fn-bracket">\[</span>([^<]*)<', bib)
    assert len(labels) > 50
    numbered = [label for label in labels if re.fullmatch(r"\d+", label)]
    assert not numbered, f"numbered labels in the bibliography: {numbered[:5]}"
    assert all(re.search(r"\b(1[89]|20)\d\d[a-z]?$|n\.d\.$", label) for label in labels), labels
    genindex = built_book / "genindex.html"
    if genindex.exists():
        assert "genindex-jumpbox" in genindex.read_text() or "<dt>" in genindex.read_text()


# --- Accessibility (issue 13) --------------------------------------------------
# axe-core, vendored and hash-checked by tools/vendor_js.py, runs in every page of
# test_every_page_loads_offline_without_errors (one page load serves both).
AXE_JS = ROOT / "_vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PATH_LIKE_ALT = re.compile(r"(^|/)[\w.-]+\.(png|jpe?g|gif|svg|webp)$|_images/|^data:", re.I)


def axe_violations(page) -> list[dict]:
    """Run axe-core's WCAG 2.1 A and AA rules on the page as it is now."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing; `make vendor` fetches axe-core")
    page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return result["violations"]


def assert_accessible(page, page_name: str) -> None:
    """No serious or critical axe violation, and no image without a real text alternative."""
    serious = [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
    assert not serious, f"axe-core on {page_name}:\n" + "\n".join(
        f"  {v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['nodes'][0]['html'][:200]}"
        for v in serious
    )
    images = page.evaluate(
        "Array.from(document.images)"
        ".filter(i => i.getAttribute('aria-hidden') !== 'true' && i.getAttribute('role') !== 'presentation')"
        ".map(i => [i.getAttribute('alt') || '', (i.getAttribute('src') || '').slice(0, 60)])"
    )
    bad = [
        (alt, src) for alt, src in images if not alt.strip() or PATH_LIKE_ALT.search(alt.strip())
    ]
    assert not bad, f"images on {page_name} without a real text alternative: {bad[:5]}"


def assert_sliders_expose_their_values(page, page_name: str) -> None:
    """Each slider input is labelled, tells its shown value (not its index) and is linked
    to a polite live <output>; each frame's alt names the values it shows."""
    sliders = page.evaluate(
        """() => Array.from(document.querySelectorAll('.tying-slider')).map(s => ({
          inputs: Array.from(s.querySelectorAll('input[type=range]')).map(r => {
            const out = document.getElementById(r.id + '-value');
            return {
              id: r.id, value: r.value, valuetext: r.getAttribute('aria-valuetext'),
              label: !!document.querySelector('label[for="' + r.id + '"]'),
              controls: !!document.getElementById(r.getAttribute('aria-controls') || '-'),
              output_for: out && out.htmlFor.value,
              live: out && out.getAttribute('aria-live'),
              shown: out && out.querySelector('.tying-slider-shown').textContent,
            };
          }),
          alts: Array.from(s.querySelectorAll('img.tying-slider-frame')).map(i => i.alt),
          visible: Array.from(s.querySelectorAll('img.tying-slider-frame'))
            .filter(i => !i.hidden).map(i => i.alt),
        }))"""
    )
    for k, slider in enumerate(sliders):
        where = f"{page_name}, slider {k}"
        for r in slider["inputs"]:
            assert r["label"] and r["controls"], f"{where}: input {r['id']} is not labelled/linked"
            assert r["output_for"] == r["id"] and r["live"] == "polite", f"{where}: output"
            assert r["valuetext"] and r["valuetext"] == r["shown"], (
                f"{where}: aria-valuetext {r['valuetext']!r} but the page shows {r['shown']!r}"
            )
        alts = slider["alts"]
        assert all(a.strip() for a in alts), f"{where}: a frame has no alt"
        assert len(set(alts)) == len(alts), f"{where}: frames share an alt that names no value"
        assert len(slider["visible"]) == 1, f"{where}: {len(slider['visible'])} frames shown"


def test_no_test_scaffolding_reaches_a_built_page(built_book):
    """Latencies, frame counts, progress bars and timings belong in benchmarks/ and tests/."""
    scaffolding = {
        "slider latency": re.compile(r"median redraw|latenc\w* ?[:=]|\d+ ms over \d+ calls"),
        "frame-count assert": re.compile(r"n_frames"),
        "progress bar": re.compile(r"\d+/\d+ \[\d\d:\d\d<|it/s\]|s/it\]|tqdm"),
        "training time": re.compile(r"trained in \d|in \d+(\.\d+)? s\b"),
        "budget assert": re.compile(r"NOTEBOOK_S|CALLBACK_MS"),
    }
    problems = []
    for name in toc_pages():
        html = (built_book / f"{name}.html").read_text()
        text = re.sub(r"<[^>]+>", " ", html)
        for what, pattern in scaffolding.items():
            for hit in pattern.finditer(text):
                context = text[max(0, hit.start() - 40) : hit.end() + 40]
                problems.append(f"{name}: {what}: …{' '.join(context.split())}…")
    assert not problems, "\n".join(problems[:30])
