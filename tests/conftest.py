"""Shared fixtures for the test suite."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from book_site import (  # noqa: F401  (ROOT: tests import it from here)
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    QuietHandler,
    QuietServer,
    build_warnings,
)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def pytest_configure(config):
    """``TYING_TEST_DEVICE=cuda`` runs the layer tests with tensors on that device.

    ``tools/gpu_check.sh`` sets it on a machine with a GPU: every tensor and
    parameter a test creates without naming a device then lives there.
    """
    import os

    device = os.environ.get("TYING_TEST_DEVICE")
    if device:
        import torch

        torch.set_default_device(device)


# -- the built book (one build, server and browser per pytest worker) --------
@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """The whole book built from scratch (every notebook executed).

    `make test` builds it once before pytest, beside the reader's-stack check,
    and names the folder in ``TYING_BUILT_BOOK`` (with its ``build.log`` and
    ``build.rc``); run alone, this fixture builds it into a temporary folder.
    """
    prebuilt = os.environ.get("TYING_BUILT_BOOK")
    if prebuilt:
        out = Path(prebuilt)
        log = (out / "build.log").read_text()
        returncode = int((out / "build.rc").read_text().strip())
    else:
        out = tmp_path_factory.mktemp("book")
        jb = Path(sys.executable).with_name("jupyter-book")
        # Build as `make book` does: progress bars silent (TYING_PROGRESS=0), so no
        # page carries widget state and none needs the widget manager.
        env = {**os.environ, "TYING_PROGRESS": "0"}
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
        log, returncode = proc.stdout + proc.stderr, proc.returncode
        (out / "build.log").write_text(log)
        print(f"book build: {time.perf_counter() - start:.0f} s, exit {returncode}")
    warnings = build_warnings(log)
    assert returncode == 0 and not warnings, "book build failed:\n" + "\n".join(
        warnings or log.splitlines()[-40:]
    )
    return out / "_build" / "html"


@pytest.fixture(scope="session")
def served_book(built_book):
    handler = functools.partial(QuietHandler, directory=str(built_book))
    server = QuietServer(("127.0.0.1", 0), handler)
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
