"""Fetch the book's third-party JavaScript once, so the built pages need no network.

Jupyter Book loads MathJax, RequireJS and the ipywidgets HTML manager from CDNs
by default; offline, readers then see raw TeX and empty widget areas.  axe-core,
the accessibility checker the browser tests inject into every page, is vendored
the same way.  This
script downloads pinned npm tarballs straight from the npm registry (no npm or
Node.js needed), checks each against its published SHA-512 integrity hash,
and unpacks only the files the book uses into ``_vendor/``, which
``_config.yml`` names as a static path.

Usage: ``python tools/vendor_js.py [--dest _vendor]``.  Already vendored
packages are skipped, so running it again is cheap.  Set ``NPM_CONFIG_REGISTRY``
to use a mirror.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

# name, version, sha512 integrity (from the npm registry), files to keep (prefix -> destination)
PACKAGES = [
    (
        "mathjax",
        "3.2.2",
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        {
            "es5/tex-chtml.js": "mathjax/tex-chtml.js",
            "es5/output/chtml/fonts/woff-v2/": "mathjax/output/chtml/fonts/woff-v2/",
            "es5/input/tex/extensions/": "mathjax/input/tex/extensions/",
            "es5/a11y/": "mathjax/a11y/",
            "es5/ui/": "mathjax/ui/",
            "es5/sre/": "mathjax/sre/",
            "LICENSE": "mathjax/LICENSE",
        },
    ),
    (
        "requirejs",
        "2.3.7",
        "sha512-DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
        {"require.js": "require.js", "README.md": "requirejs-README.md"},
    ),
    (
        "@jupyter-widgets/html-manager",
        "1.0.15",
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        {"dist/": "html-manager/", "LICENSE": "html-manager/LICENSE"},
    ),
    # Used only by the browser tests (tests/test_book.py), which inject it into every
    # built page and fail on serious or critical WCAG 2.1 A/AA violations.
    (
        "axe-core",
        "4.14.1",
        "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
        {"axe.min.js": "axe-core/axe.min.js", "LICENSE": "axe-core/LICENSE"},
    ),
]
# Source maps and the non-AMD bundles are not loaded by the pages.
SKIP_SUFFIXES = (".map", "/embed.js", "/libembed-amd.js", ".LICENSE.txt")


def tarball_url(registry: str, name: str, version: str) -> str:
    base = name.split("/")[-1]
    return f"{registry.rstrip('/')}/{name}/-/{base}-{version}.tgz"


def verify(data: bytes, integrity: str) -> None:
    algo, _, expected = integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if digest != expected:
        raise SystemExit(f"integrity check failed: expected {integrity}, got {algo}-{digest}")


def unpack(data: bytes, keep: dict[str, str], dest: Path) -> int:
    count = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            path = member.name.split("/", 1)[1]  # drop the leading "package/"
            if path.endswith(SKIP_SUFFIXES):
                continue
            for prefix, target in keep.items():
                if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
                    out = dest / (target + path[len(prefix) :] if prefix.endswith("/") else target)
                    if ".." in out.relative_to(dest).parts:
                        raise SystemExit(f"refusing to write outside {dest}: {member.name}")
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with tar.extractfile(member) as src, open(out, "wb") as fh:  # type: ignore[union-attr]
                        shutil.copyfileobj(src, fh)
                    count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", default=str(Path(__file__).resolve().parent.parent / "_vendor"))
    args = parser.parse_args(argv)
    dest = Path(args.dest)
    dest.mkdir(parents=True, exist_ok=True)
    registry = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org")
    stamp_file = dest / "VERSIONS.json"
    stamps = json.loads(stamp_file.read_text()) if stamp_file.exists() else {}
    for name, version, integrity, keep in PACKAGES:
        if stamps.get(name) == version:
            continue
        url = tarball_url(registry, name, version)
        print(f"vendoring {name}@{version} from {url}", file=sys.stderr)
        with urllib.request.urlopen(url, timeout=120) as response:
            data = response.read()
        verify(data, integrity)
        n = unpack(data, keep, dest)
        stamps[name] = version
        stamp_file.write_text(json.dumps(stamps, indent=2, sort_keys=True))
        print(f"  {n} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
