"""The exercise generator: markers become stubs, and the stored exercises are up to date."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from conftest import ROOT

from tying.grading import generate
from tying.grading.generate import GenerateError, exercise_from_solution, find_markers


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    for kind, source, *tags in cells:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        cell = make(source)
        if tags:
            cell.metadata["tags"] = list(tags[0])
        nb.cells.append(cell)
    return nb


def _exercise(*cells):
    return exercise_from_solution(_notebook(*cells), "demo")


def test_the_stored_exercises_are_up_to_date_and_clean():
    assert generate.run(ROOT, check=True) == []
    for path in (ROOT / "exercises").glob("*.ipynb"):
        assert find_markers(nbformat.read(path, as_version=4)) == []


def test_block_becomes_an_indented_stub_inside_a_function():
    source = "def f(x):\n    y = 2\n    # BEGIN SOLUTION\n    z = x * y\n    return z\n    # END SOLUTION\n"
    nb = _exercise(("code", source))
    assert (
        nb.cells[0].source
        == "def f(x):\n    y = 2\n    # your code here\n    raise NotImplementedError\n"
    )
    assert "raises-exception" not in nb.cells[0].metadata.get("tags", [])


def test_solution_lines():
    source = "\n".join(
        [
            "n = 16 * 76  # SOLUTION",
            "a, b = 1, 2  # SOLUTION",
            "c: int = 3 # SOLUTION",
            "d = e = 4  # SOLUTION",
            "kept = 5",
            "def g():",
            "    return 6  # SOLUTION",
        ]
    )
    lines = _exercise(("code", source)).cells[0].source.split("\n")
    assert lines == [
        "n = ...",
        "a, b = ..., ...",
        "c: int = ...",
        "d = e = ...",
        "kept = 5",
        "def g():",
        "    # your code here",
        "    raise NotImplementedError",
    ]


@pytest.mark.parametrize(
    "source",
    [
        "# BEGIN SOLUTION\nx = 1\n# END SOLUTION",
        "for i in range(2):\n    # BEGIN SOLUTION\n    x = i\n    # END SOLUTION",
        "class A:\n    # BEGIN SOLUTION\n    x = 1\n    # END SOLUTION",
        "%time 1\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION",
    ],
    ids=["top-level", "in-a-loop", "class-body", "with-magic"],
)
def test_a_stub_that_runs_at_top_level_tags_the_cell(source):
    nb = _exercise(("code", source, ["remove-output"]))
    assert nb.cells[0].metadata["tags"] == ["remove-output", "raises-exception"]


def test_a_stub_in_a_method_does_not_tag_the_cell():
    source = "class A:\n    def f(self):\n        # BEGIN SOLUTION\n        return 1\n        # END SOLUTION\n"
    assert "tags" not in _exercise(("code", source)).cells[0].metadata


def test_markdown_markers_and_solution_only_cells():
    nb = _exercise(
        (
            "markdown",
            "<!-- BEGIN SOLUTION -->\n# Solution 1\n<!-- END SOLUTION -->\n"
            "<!-- BEGIN EXERCISE\n# Exercise 1\nEND EXERCISE -->\n\nText.",
        ),
        ("markdown", "<!-- BEGIN SOLUTION -->\n**Solution.** Because.\n<!-- END SOLUTION -->"),
        ("code", "assert answer == 42", ["solution-only"]),
        ("code", "x = 1"),
    )
    assert [c.source for c in nb.cells] == ["# Exercise 1\n\nText.", "x = 1"]
    assert nb.metadata["tying"] == {"exercise": "demo"}
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_outputs_are_cleared():
    solution = _notebook(("code", "x = 1"))
    solution.cells[0].outputs = [nbformat.v4.new_output("stream", text="1")]
    solution.cells[0].execution_count = 3
    cell = exercise_from_solution(solution, "demo").cells[0]
    assert cell.outputs == [] and cell.execution_count is None
    assert solution.cells[0].execution_count == 3  # the solution itself is not modified


@pytest.mark.parametrize(
    "source, message",
    [
        ("# BEGIN SOLUTION\nx = 1", "without `# END SOLUTION`"),
        ("x = 1\n# END SOLUTION", "without `# BEGIN SOLUTION`"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "inside another block"),
        ("print(1)  # SOLUTION", "must be an assignment"),
        ("x = (1 +  # SOLUTION\n     2)", "complete statement on one line"),
    ],
)
def test_malformed_markers_are_reported_with_their_place(source, message):
    with pytest.raises(GenerateError, match=message) as info:
        _exercise(("markdown", "title"), ("code", source))
    assert "cell 2" in str(info.value)


def test_check_mode_finds_differences_leftover_markers_and_orphans(tmp_path, capsys):
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    assert generate.main(["--check", "--root", str(tmp_path)]) == 0

    target = tmp_path / "exercises" / "01_counting_tied_layers.ipynb"
    nb = nbformat.read(target, as_version=4)
    cell = next(c for c in nb.cells if "def count_parameters" in c.source)
    cell.source = cell.source.replace("raise NotImplementedError", "return 0  # SOLUTION")
    nbformat.write(nb, target)
    shutil.copy(target, tmp_path / "exercises" / "99_orphan.ipynb")
    assert generate.main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "exercises/01_counting_tied_layers.ipynb: differs from the regenerated notebook" in err
    assert "+    raise NotImplementedError" in err
    assert "99_orphan.ipynb: has no solutions/99_orphan.ipynb" in err
    assert "solution marker left in cell" in err

    # Writing regenerates the exercise; the orphan is reported, never deleted.
    (tmp_path / "exercises" / "99_orphan.ipynb").unlink()
    assert generate.main(["--root", str(tmp_path)]) == 0
    assert target.read_text() == (ROOT / "exercises" / target.name).read_text()


def test_check_mode_requires_a_checks_module_and_a_matching_grader(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    nb = _notebook(("code", 'grader = Grader("02_tied_gradient")\ngrader.check("q7")'))
    nbformat.write(nb, tmp_path / "solutions" / "77_unknown.ipynb")
    nbformat.write(nb, tmp_path / "solutions" / "02_tied_gradient.ipynb")
    assert generate.main(["--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "77_unknown.ipynb: unknown exercise id '77_unknown'" in err
    assert "grader.check/hint('q7') names no question of 02_tied_gradient" in err
