"""Consistency of the repository itself: notebooks, table of contents, configuration."""

from __future__ import annotations

import ast
import importlib
import re

import nbformat
import pytest
import yaml
from conftest import ROOT

NOTEBOOK_DIRS = ("notebooks", "exercises", "solutions")
NOTEBOOKS = sorted(
    p
    for d in NOTEBOOK_DIRS
    for p in (ROOT / d).rglob("*.ipynb")
    if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts
)
BOOK_NOTEBOOKS = [p for p in NOTEBOOKS if p.parts[len(ROOT.parts)] in ("notebooks", "exercises")]


def toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found: set[str] = {toc["root"]}

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.add(str(node["file"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def repository_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def rel(path) -> str:
    return str(path.relative_to(ROOT))


def test_there_are_notebooks():
    assert (ROOT / "notebooks/principles/01_inductive_bias.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=rel)
def test_every_book_notebook_is_in_the_toc(path):
    assert rel(path.with_suffix("")) in toc_files()


def test_every_toc_entry_exists():
    for entry in toc_files():
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry


@pytest.mark.parametrize("path", NOTEBOOKS, ids=rel)
def test_notebooks_are_stored_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], (
                f"{rel(path)} has stored outputs; the book executes notebooks"
            )


@pytest.mark.parametrize(
    "path", [p for p in NOTEBOOKS if p.parts[len(ROOT.parts)] == "notebooks"], ids=rel
)
def test_first_code_cell_sets_up_colab_seed_and_device(path):
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code").source
    assert 'find_spec("tying")' in first and "%pip install" in first
    assert f"git+{repository_url()}" in first, (
        "the install line must name the repository in _config.yml"
    )
    assert "tying.setup(" in first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=rel)
def test_every_name_a_notebook_imports_from_tying_exists(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.split(".")[0] == "tying"
            ):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name) or importlib.util.find_spec(
                        f"{node.module}.{alias.name}"
                    ), f"{rel(path)} imports {alias.name} from {node.module}, which does not exist"


def test_bibliography_keys_cited_exist():
    bib = "\n".join(
        p.read_text() for p in [ROOT / "book/references.bib", *(ROOT / "book/bib").glob("*.bib")]
    )
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    cited: set[str] = set()
    for path in [*NOTEBOOKS, *(ROOT / "book").glob("*.md")]:
        text = path.read_text()
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
            cited.update(k.strip() for k in group.split(","))
    missing = cited - keys
    assert not missing, f"cited but not in any .bib file: {sorted(missing)}"
    duplicated = {k for k in keys if len(re.findall(r"@\w+\{" + re.escape(k) + ",", bib)) > 1}
    assert not duplicated, f"keys defined twice: {sorted(duplicated)}"
