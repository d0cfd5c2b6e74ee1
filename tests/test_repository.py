"""Consistency of the repository itself: notebooks, table of contents, configuration."""

from __future__ import annotations

import ast
import importlib
import re

import nbformat
import pytest
import yaml
from book_site import toc_pages
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
    return set(toc_pages())


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


def import_nodes(path):
    """Every ``import`` / ``from ... import`` statement in a notebook's code cells."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        # IPython magics and shell escapes are not Python.
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        yield from (n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=rel)
def test_every_name_a_notebook_imports_from_tying_exists(path):
    for node in import_nodes(path):
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


# -- the rule: a chapter shows every line that carries its idea ----------------
LIBRARY = ROOT / "lib" / "tying"
CHAPTERS = sorted((ROOT / "notebooks" / "principles").glob("*.ipynb")) + sorted(
    (ROOT / "notebooks" / "applications").glob("*.ipynb")
)


def is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a name inside a module, not a submodule
        return False


def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def tying_modules_imported(path) -> set[str]:
    """The ``tying`` modules a notebook names in its imports (``tying.layers``, ``tying.viz``, ...)."""
    found = set()
    for node in import_nodes(path):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tying."):
            found.add(node.module)
            # `from tying.layers import local` imports a module too
            found.update(
                f"{node.module}.{a.name}"
                for a in node.names
                if is_module(f"{node.module}.{a.name}")
            )
        elif isinstance(node, ast.ImportFrom) and node.module == "tying":
            found.update(f"tying.{a.name}" for a in node.names if is_module(f"tying.{a.name}"))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("tying."))
    return found


def test_the_library_holds_no_chapter_experiments():
    assert not (LIBRARY / "experiments").exists()
    lines = sum(
        len(p.read_text().splitlines())
        for p in LIBRARY.rglob("*.py")
        if "grading" not in p.relative_to(LIBRARY).parts
    )
    assert lines <= 9_000, f"lib/tying without grading/ has {lines:,} lines (at most 9,000)"


def test_few_library_modules_serve_a_single_notebook():
    users: dict[str, set[str]] = {}
    for path in NOTEBOOKS:
        for module in tying_modules_imported(path):
            if module.startswith("tying.grading.checks"):
                continue
            users.setdefault(module, set()).add(rel(path))
    single = sorted(m for m, nbs in users.items() if len(nbs) == 1)
    assert len(single) <= 3, f"modules imported by exactly one notebook: {single}"


@pytest.mark.parametrize("path", CHAPTERS, ids=rel)
def test_every_chapter_shows_its_experiment_in_visible_code(path):
    visible = [c.source for c in code_cells(path) if "hide-input" not in c.metadata.get("tags", [])]
    assert any(
        re.search(r"^(def |class |\s*for .+:\s*$)", s, flags=re.MULTILINE) for s in visible
    ), f"{rel(path)} defines no model, loss, measurement or loop in a visible cell"


SCAFFOLDING = {
    "slider latency": re.compile(r"latenc|median redraw"),
    "frame-count assert": re.compile(r"n_frames"),
    "PNG magic assert": re.compile(r"x89PNG"),
    "timing line": re.compile(r"trained in|took \{|seconds\)|perf_counter\(\)"),
    "budget assert": re.compile(r"\b(NOTEBOOK_S|CALLBACK_MS)\b"),
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=rel)
def test_no_test_scaffolding_on_a_page(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        for what, pattern in SCAFFOLDING.items():
            # Two pages are about time itself: the appendix measures the reader's
            # machine, and Part II section 6 measures where the FFT overtakes a dense layer.
            if what == "timing line" and (
                "appendix" in path.parts or path.name == "06_signal_processing.ipynb"
            ):
                continue
            assert not pattern.search(cell.source), f"{rel(path)} cell {i}: {what}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=rel)
def test_code_lines_fit_the_page_column(path):
    long = [
        (i, line)
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells)
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if len(line) > 80
    ]
    assert not long, f"{rel(path)}: lines over 80 characters: {long[:3]}"
