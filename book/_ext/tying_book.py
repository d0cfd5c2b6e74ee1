"""Small Sphinx fixes for the book's pages.

sphinx-thebe registers its inline configuration script every time Sphinx
fires ``env-before-read-docs``; when that happens more than once in a build
(incremental builds, re-reads after notebook execution) a page declares
``const THEBE_JS_URL`` twice and the browser logs a SyntaxError.  We keep the
first copy of every script and stylesheet.

The vendored ipywidgets HTML manager (``_static/html-manager/embed-amd.js``)
otherwise guesses where its icon fonts live from a RequireJS module path and
asks for ``<page folder>/@jupyter-widgets/html-manager/dist/*.woff2``, which
does not exist; we point it (and RequireJS, which resolves that path) at the
vendored copy before either loads.
"""


from __future__ import annotations

import base64
import hashlib
import io
import os
import re
from collections import Counter
from pathlib import Path

WIDGETS_ASSETS = (
    "(function(){"
    "var base=new URL((document.documentElement.dataset.content_root||'./')+'_static/html-manager/',"
    "document.baseURI).href;"
    "window.__jupyter_widgets_assets_path__=base;"
    # RequireJS reads a global `require` object as its configuration when it loads.
    "window.require={paths:{'@jupyter-widgets/html-manager/dist':base.replace(/\\/$/,'')}};"
    "})();"
)


def _dedupe(items):
    seen, kept = set(), []
    for item in items:
        # An inline script may be registered once with filename None and once with "".
        filename = getattr(item, "filename", item) or ""
        attributes = tuple(sorted((k, str(v)) for k, v in getattr(item, "attributes", {}).items()))
        key = (str(filename), attributes)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def dedupe_assets(app, pagename, templatename, context, doctree):
    for name in ("script_files", "css_files"):
        if name in context:
            context[name] = _dedupe(context[name])


# --- Page weight (issue 13) --------------------------------------------------
# The static book draws no live widget: its sliders are plain HTML.  The widget
# manager (require.js + embed-amd.js, 3.7 MB) is shipped only to a page whose
# body really holds a widget view; elsewhere it and any saved widget state go.
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
WIDGET_MANAGER_FILES = ("require.js", "embed-amd.js")


def _is_widget_manager_asset(script) -> bool:
    filename = str(getattr(script, "filename", "") or "")
    attributes = getattr(script, "attributes", {}) or {}
    if filename.endswith(WIDGET_MANAGER_FILES):
        return True
    if attributes.get("type") == WIDGET_STATE_MIME:
        return True
    return attributes.get("body") == WIDGETS_ASSETS


def drop_unused_widget_manager(app, pagename, templatename, context, doctree):
    if WIDGET_VIEW_MIME in context.get("body", ""):
        return
    if "script_files" in context:
        context["script_files"] = [
            s for s in context["script_files"] if not _is_widget_manager_asset(s)
        ]


# Slider frames come out of the notebooks as base64 data: URIs inside the page,
# which a browser can neither cache nor load lazily.  At build time each frame
# becomes a file under _images/frames/ named by its content hash (WebP when
# that is smaller than the PNG), and every frame but the one shown first is
# marked lazy.  The selector is the widget's stable one (FRAMES.md):
# div.tying-slider img.tying-slider-frame.
_IMG_TAG = re.compile(r"<img\b[^>]*>")
_DATA_SRC = re.compile(r'\ssrc="data:image/(png|webp|jpeg|svg\+xml);base64,([A-Za-z0-9+/=\s]+)"')
FRAMES_DIR = "_images/frames"


def _frame_file(outdir: Path, kind: str, payload: bytes) -> str:
    digest = hashlib.sha256(payload).hexdigest()[:20]
    folder = outdir / FRAMES_DIR
    for ext in ("webp", "png", "jpeg", "svg"):
        if (folder / f"{digest}.{ext}").exists():
            return f"{digest}.{ext}"
    folder.mkdir(parents=True, exist_ok=True)
    ext, data = {"svg+xml": "svg"}.get(kind, kind), payload
    if kind == "png":
        try:
            from PIL import Image

            buffer = io.BytesIO()
            Image.open(io.BytesIO(payload)).save(buffer, "WEBP", lossless=True, method=6)
            if buffer.tell() < len(payload):
                ext, data = "webp", buffer.getvalue()
        except Exception:  # noqa: BLE001 - Pillow without WebP: keep the PNG
            pass
    name = f"{digest}.{ext}"
    tmp = folder / f".{name}.{os.getpid()}"
    tmp.write_bytes(data)
    tmp.replace(folder / name)
    return name


def externalise_slider_frames(app, pagename, templatename, context, doctree):
    body = context.get("body", "")
    if "tying-slider-frame" not in body:
        return
    outdir = Path(app.builder.outdir)
    pathto = context["pathto"]

    def rewrite(match):
        tag = match.group(0)
        if "tying-slider-frame" not in tag:
            return tag
        src = _DATA_SRC.search(tag)
        if src:
            payload = base64.b64decode("".join(src.group(2).split()))
            name = _frame_file(outdir, src.group(1), payload)
            url = pathto(f"{FRAMES_DIR}/{name}", 1)
            tag = tag[: src.start()] + f' src="{url}"' + tag[src.end() :]
        # Look at attribute names only: an alt text may well say "hidden".
        bare = re.sub(r'"[^"]*"', '""', tag)
        hidden = re.search(r"\shidden\b", bare) or "display:none" in tag.replace(" ", "")
        if hidden and "loading=" not in tag:
            tag = tag[:4] + ' loading="lazy" decoding="async"' + tag[4:]
        return tag

    context["body"] = _IMG_TAG.sub(rewrite, body)


# The theme loads Font Awesome as a 1.5 MB script that swaps every <i> icon for
# an SVG.  Its stylesheet already carries the same icons as web fonts (about
# 300 KB, fetched only for the styles a page uses), so the script goes.
_FONTAWESOME_JS = re.compile(
    r'\s*<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*>\s*</script>'
)


def drop_fontawesome_script(app, exception):
    if exception is not None or getattr(app.builder, "format", "") != "html":
        return
    for page in Path(app.builder.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        lighter = _FONTAWESOME_JS.sub("", text)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")


# --- Bibliography: author-year labels in the list, as in the text -------------
def _plain_text(latex: str) -> str:
    from pybtex.richtext import Text

    try:
        return Text.from_latex(latex).render_as("text")
    except Exception:  # noqa: BLE001 - odd markup: fall back to the raw letters
        return re.sub(r"[{}\\]", "", latex)


def _register_author_year_style() -> None:
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.plain import Style as PlainStyle
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):
        """Labels such as ``Vaswani et al., 2017`` (``2017a``/``2017b`` when two collide)."""

        def format_labels(self, sorted_entries):
            labels = [self.format_label(entry) for entry in sorted_entries]
            count, seen = Counter(labels), Counter()
            for label in labels:
                if count[label] == 1:
                    yield label
                else:
                    yield label + chr(ord("a") + seen[label])
                    seen[label] += 1

        def format_label(self, entry):
            persons = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [_plain_text(" ".join(p.prelast_names + p.last_names)) for p in persons]
            # BibTeX's "and others" is a person named "others": it means et al.
            if len(names) > 1 and names[-1] == "others":
                names = names[:1] + ["", ""]
            if len(names) == 1:
                who = names[0]
            elif len(names) == 2:
                who = f"{names[0]} and {names[1]}"
            elif names:
                who = f"{names[0]} et al."
            else:
                who = _plain_text(
                    entry.fields.get("organization") or entry.fields.get("title") or entry.key
                )
            year = entry.fields.get("year", "n.d.")
            return f"{who}, {year}"

    class AuthorYearStyle(PlainStyle):
        default_label_style = "tying_author_year"
        default_sorting_style = "author_year_title"

    register_plugin("pybtex.style.labels", "tying_author_year", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "tying_author_year", AuthorYearStyle)


# --- The PDF edition ----------------------------------------------------------
# `make pdf` (tools/build_pdf.py) prints the built book to PDF_NAME in the HTML
# folder.  The home page holds an empty placeholder that becomes a download
# link when that file exists (the tool fills it in after printing, and later
# builds keep it).
PDF_NAME = "parameter-tying.pdf"
PDF_PLACEHOLDER = '<p class="tying-pdf-link" hidden></p>'


def pdf_link_html(size_bytes: int, href: str = PDF_NAME) -> str:
    return (
        f'<p class="tying-pdf-link"><a href="{href}" download>Download the whole book '
        f"as a PDF</a> ({size_bytes / 1e6:.0f} MB, for print and offline reading).</p>"
    )


def link_pdf_edition(app, pagename, templatename, context, doctree):
    body = context.get("body", "")
    if PDF_PLACEHOLDER not in body:
        return
    pdf = Path(app.builder.outdir) / PDF_NAME
    if pdf.exists():
        href = context["pathto"](PDF_NAME, 1)
        context["body"] = body.replace(PDF_PLACEHOLDER, pdf_link_html(pdf.stat().st_size, href))


# --- Accessibility (issue 13) -------------------------------------------------
# axe-core runs on every page in tests/test_book.py; these fix what the theme,
# myst-nb and docutils write, at the source where we can:
# * book/_templates overrides the search button and the colour-mode switch so
#   their accessible names contain their visible text (label-content-name-mismatch);
# * the sidebar's expand/collapse <summary> toggles get a name (summary-name);
# * myst-nb's "Show code cell source" <summary> is named by that visible text,
#   not by an aria-label that says something else;
# * bibliography entries are list items of their list, not the deprecated
#   doc-biblioentry role (aria-required-children, aria-deprecated-role);
# * every output image gets a text alternative: its own (metadata.mystnb.image.alt)
#   or one written from its figure caption; an image with neither, or whose alt is
#   a file path, is a build warning (an error in the book's -W build).
A11Y_TEMPLATES = Path(__file__).resolve().parent.parent / "_templates"


def a11y_templates(app, config):
    if str(A11Y_TEMPLATES) not in config.templates_path:
        config.templates_path = [str(A11Y_TEMPLATES), *config.templates_path]


_TOC_TOGGLE = re.compile(
    r'(<a class="[^"]*\breference\b[^"]*"[^>]*>(?P<title>(?:(?!</a>).)*)</a>\s*<details[^>]*>\s*)<summary>'
    r'(?=\s*<span class="toctree-toggle")',
    re.S,
)


def _name_toc_toggles(html: str) -> str:
    def named(match):
        title = re.sub(r"<[^>]+>", "", match.group("title")).strip()
        label = f"Sections of {title}" if title else "Sections"
        return f'{match.group(1)}<summary aria-label="{label}">'

    return _TOC_TOGGLE.sub(named, html)


def a11y_name_toc_toggles(app, pagename, templatename, context, doctree):
    generate = context.get("generate_toctree_html")
    if generate is None or getattr(generate, "_tying_a11y", False):
        return

    def generate_named(*args, **kwargs):
        return _name_toc_toggles(str(generate(*args, **kwargs)))

    generate_named._tying_a11y = True
    context["generate_toctree_html"] = generate_named


_BODY_FIXES = (
    # myst-nb's hide-input toggle: its visible text ("Show code cell source") is its name.
    ('<summary aria-label="Toggle hidden content">', "<summary>"),
    # docutils: DPUB-ARIA 1.1 deprecates doc-biblioentry; a list holds list items.
    ('role="doc-biblioentry"', 'role="listitem"'),
)


def a11y_fix_body(app, pagename, templatename, context, doctree):
    body = context.get("body", "")
    for old, new in _BODY_FIXES:
        body = body.replace(old, new)
    if "body" in context:
        context["body"] = body


_GREEK = {
    name: chr(code)
    for name, code in zip(
        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi "
        "rho varsigma sigma tau upsilon phi chi psi omega".split(),
        range(0x3B1, 0x3CA),
    )
}
_GREEK.update({n.capitalize(): chr(ord(c) - 32) for n, c in _GREEK.items() if n != "varsigma"})
_GREEK.update({"varepsilon": "ε", "vartheta": "ϑ", "varphi": "φ", "varrho": "ϱ"})
_TEX_SYMBOLS = {
    "times": "×", "cdot": "·", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠",
    "neq": "≠", "pm": "±", "approx": "≈", "sim": "~", "infty": "∞", "to": "→",
    "rightarrow": "→", "in": "∈", "sum": "Σ", "prod": "Π", "sqrt": "√", "partial": "∂",
    "nabla": "∇", "ldots": "…", "dots": "…", "cdots": "…", "lVert": "‖", "rVert": "‖",
    "Vert": "‖", "|": "‖", "ell": "ℓ", "log": "log", "exp": "exp", "top": "ᵀ",
    "langle": "⟨", "rangle": "⟩", "otimes": "⊗", "circ": "∘", "mid": "|",
}


def _tex_as_text(tex: str) -> str:
    """Inline TeX as words a screen reader can say: ``\\lambda_i \\le 1`` -> ``λ_i ≤ 1``."""

    def command(match):
        name = match.group(1)
        return _GREEK.get(name, _TEX_SYMBOLS.get(name, "" if len(name) > 1 else name))

    text = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)\b", "", tex)
    text = re.sub(r"\\[,;:! ]", " ", text)
    text = re.sub(r"\\(?:mathrm|mathbf|mathit|mathcal|mathbb|operatorname|text|boldsymbol)\s*", "", text)
    text = re.sub(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"(\1)/(\2)", text)
    text = re.sub(r"\\([A-Za-z]+|\|)", command, text)
    text = text.replace("{", "").replace("}", "").replace("~", " ")
    return " ".join(text.split())


def _readable(node) -> str:
    from docutils import nodes

    parts = []
    for child in node.findall(lambda n: isinstance(n, (nodes.Text, nodes.math))):
        if isinstance(child, nodes.math):
            parts.append(_tex_as_text(child.astext()))
        elif not isinstance(child.parent, nodes.math):
            parts.append(child.astext())
    return " ".join("".join(parts).split())


_PATH_LIKE = re.compile(r"(?:\S*/)?[\w.-]+\.(?:png|jpe?g|gif|svg|webp)", re.I)


def _alt_is_missing(node) -> bool:
    alt = (node.get("alt") or "").strip()
    uri = str(node.get("uri", ""))
    return not alt or alt == uri or _PATH_LIKE.fullmatch(alt) is not None or "_images/" in alt


def a11y_image_alts(app, doctree, docname):
    from docutils import nodes
    from sphinx.util import logging

    logger = logging.getLogger("tying_book")
    for image in doctree.findall(nodes.image):
        if not _alt_is_missing(image):
            continue
        figure = image.parent
        while figure is not None and not isinstance(figure, nodes.figure):
            figure = figure.parent
        caption = next(iter(figure.findall(nodes.caption)), None) if figure else None
        text = _readable(caption) if caption is not None else ""
        if text:
            image["alt"] = text
        else:
            logger.warning(
                "image %s has no text alternative: give its cell a figure caption "
                "(metadata.mystnb.figure.caption) or metadata.mystnb.image.alt",
                image.get("uri", "?"),
                location=image,
            )


# --- Display equations that are slightly too wide -----------------------------
# MathJax 3 cannot break a display equation across lines.  One that is at most
# FIT_MAX_SHRINK too wide for its column is set a little smaller so that it fits;
# a wider one (on a phone) scrolls inside its own box (book/_assets/tying.css).
FIT_MAX_SHRINK = 0.25
FIT_EQUATIONS = (
    "(function(){"
    "function fit(){"
    "document.querySelectorAll('mjx-container[display=\"true\"]').forEach(function(m){"
    # MathJax sets its own inline font size: keep it and scale from there.
    "if(m.dataset.fontSize===undefined){m.dataset.fontSize=m.style.fontSize;}"
    "m.style.fontSize=m.dataset.fontSize;"
    "var box=m.clientWidth,wide=m.scrollWidth;"
    f"if(box>0&&wide>box+1&&wide<=box/(1-{FIT_MAX_SHRINK}))"
    "{var px=parseFloat(getComputedStyle(m).fontSize);"
    "m.style.fontSize=(px*box/wide*0.99).toFixed(2)+'px';}"
    "});}"
    "function start(){if(window.MathJax&&MathJax.startup&&MathJax.startup.promise)"
    "{MathJax.startup.promise.then(fit);}}"
    "window.addEventListener('load',start);"
    "var t;window.addEventListener('resize',function(){clearTimeout(t);t=setTimeout(fit,150);});"
    "})();"
)


def fit_wide_equations(app, pagename, templatename, context, doctree):
    if "math notranslate" in context.get("body", "") and "script_files" in context:
        from sphinx.builders.html._assets import _JavaScript

        context["script_files"] = [*context["script_files"], _JavaScript(None, body=FIT_EQUATIONS)]


# The web fonts hold every Font Awesome icon (about 300 KB); a page shows a
# dozen.  After the build the fonts are cut down to the icons the pages, the
# theme's scripts and the stylesheets name; book/_assets/tying.css asks for
# these subsets first and falls back to the full fonts.
FA_FONTS = ("fa-solid-900", "fa-regular-400", "fa-brands-400")
_FA_CLASS_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:(?:before|after),?)+)\{content:"\\([0-9a-f]+)"\}')


def _used_icon_codepoints(outdir: Path) -> set[int]:
    static = outdir / "_static"
    theme_css = "".join(p.read_text(encoding="utf-8") for p in static.rglob("*.css"))
    by_class: dict[str, int] = {}
    for selectors, codepoint in _FA_CLASS_RULE.findall(theme_css):
        for name in re.findall(r"\.(fa-[a-z0-9-]+):", selectors):
            by_class[name] = int(codepoint, 16)
    named: set[str] = set()
    scripts: set[Path] = set()
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        named |= set(re.findall(r"\bfa-[a-z0-9-]+", text))
        for src in re.findall(r'<script[^>]*\ssrc="([^"?#]+)', text):
            scripts.add((page.parent / src).resolve())
    # The scripts the pages load may add icons of their own.
    for script in scripts:
        if script.is_file() and script.name != "fontawesome.js":
            named |= set(re.findall(r"\bfa-[a-z0-9-]+", script.read_text(errors="replace")))
    codepoints = {by_class[name] for name in named if name in by_class}
    # Icons a stylesheet sets directly (admonitions, toggles, ...), not through a class.
    rest = _FA_CLASS_RULE.sub("", theme_css)
    codepoints |= {int(cp, 16) for cp in re.findall(r"\\(f[0-9a-f]{3}|e[0-9a-f]{3})\b", rest)}
    codepoints |= {ord(ch) for ch in rest if 0xE000 <= ord(ch) <= 0xF8FF}  # written literally
    return codepoints


def subset_icon_fonts(app, exception):
    if exception is not None or getattr(app.builder, "format", "") != "html":
        return
    outdir = Path(app.builder.outdir)
    fonts = outdir / "_static" / "vendor" / "fontawesome" / "webfonts"
    if not fonts.is_dir():
        return
    from fontTools import subset

    codepoints = _used_icon_codepoints(outdir)
    (fonts / "subset").mkdir(exist_ok=True)
    for name in FA_FONTS:
        source = fonts / f"{name}.ttf"
        if not source.exists():
            continue
        options = subset.Options()
        options.flavor = "woff"
        options.ignore_missing_unicodes = True
        font = subset.load_font(str(source), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=codepoints)
        subsetter.subset(font)
        subset.save_font(font, str(fonts / "subset" / f"{name}.woff"), options)


def setup(app):
    app.add_js_file(None, body=WIDGETS_ASSETS, priority=100)
    # Sliders in the built book are static HTML: kernels the build starts create no
    # live widgets (and so save no widget state into the page).  See tying.widgets.
    os.environ.setdefault("TYING_WIDGETS", "0")
    app.connect("config-inited", a11y_templates)
    app.connect("html-page-context", a11y_name_toc_toggles, priority=900)
    app.connect("html-page-context", a11y_fix_body, priority=900)
    app.connect("doctree-resolved", a11y_image_alts)
    app.connect("html-page-context", dedupe_assets, priority=900)
    app.connect("html-page-context", drop_unused_widget_manager, priority=950)
    app.connect("html-page-context", externalise_slider_frames, priority=950)
    app.connect("html-page-context", link_pdf_edition, priority=950)
    app.connect("html-page-context", fit_wide_equations, priority=950)
    app.connect("build-finished", drop_fontawesome_script)
    app.connect("build-finished", subset_icon_fonts)
    _register_author_year_style()
    return {"parallel_read_safe": True, "parallel_write_safe": True}

