"""The built book under test: where its pages are listed, and how it is served.

Shared by ``test_book.py``, ``test_book_layout.py`` and ``test_book_pdf.py``;
the fixtures that use these (``built_book``, ``served_book``, ``browser``)
live in ``conftest.py``, so that a pytest worker has one of each, whichever
test file asks first.
"""

from __future__ import annotations

import http.server
import os
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHAPTER_FOLDERS = ("notebooks/", "exercises/", "solutions/")
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


def build_warnings(log: str) -> list[str]:
    return [
        line
        for line in log.splitlines()
        if re.search(r"\bWARNING\b|\bERROR\b", line) and "TCP without encryption" not in line
    ]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A page closed while a file was still on its way (a lazy frame the
        # browser stopped wanting) is not a server error.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)
