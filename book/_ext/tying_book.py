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


def setup(app):
    app.add_js_file(None, body=WIDGETS_ASSETS, priority=100)
    app.connect("html-page-context", dedupe_assets, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

