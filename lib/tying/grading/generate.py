"""Write the exercise notebooks from the solution notebooks.

``python -m tying.grading.generate [--check] [--root DIR] [EXERCISE_ID...]``

``solutions/<id>.ipynb`` is the single source of an exercise; this writes
``exercises/<id>.ipynb`` from it (never edit an exercise by hand).  With
``--check`` nothing is written: the exercises are regenerated in memory and the
command exits non-zero, listing what differs, if an exercise is out of date,
has no solution, or still contains a solution marker.

**Code cells.**

- A block between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` (each on a line of
  its own) becomes, at the indentation of the ``BEGIN`` line::

      # your code here
      raise NotImplementedError

- A line ending in ``# SOLUTION`` must be an assignment or a ``return``:
  ``name = expr  # SOLUTION`` becomes ``name = ...`` (``a, b = ..., ...`` for a
  tuple) and ``return expr  # SOLUTION`` becomes the two stub lines above.

Exercise notebooks must run to the end (nbval and the book execute them), so put
answers inside functions or in ``# SOLUTION`` assignments.  If a stub ends up
outside any function, the cell is tagged ``raises-exception`` so that nbval and
the book build accept the ``NotImplementedError`` it raises.

**Whole cells.** A cell tagged ``solution-only`` (code or markdown: a worked
check, a demonstration that needs the answers) is left out of the exercise.

**Markdown cells.** ``<!-- BEGIN SOLUTION -->`` ... ``<!-- END SOLUTION -->`` is
removed (the worked solution's prose).  ``<!-- BEGIN EXERCISE`` ... ``END
EXERCISE -->`` is a comment in the solution, and its content is kept in the
exercise (e.g. the exercise's own title); a cell left empty is dropped.

**Notebook.** Outputs and execution counts are cleared, the kernel is
``python3`` and ``metadata.tying.exercise`` is set to the id, which is how
``python -m tying.grade`` knows which checks to run.  Writing (not ``--check``)
also normalises the solution notebook in the same way.

Consistency checked for every solution: a checks module
``tying/grading/checks/<id>.py`` exists and loads, the notebook creates
``Grader("<id>")``, and every ``grader.check("qN")`` names a question of it.
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import re
import sys
from pathlib import Path
from typing import Any

import nbformat

__all__ = [
    "GenerateError",
    "exercise_from_solution",
    "normalise_solution",
    "find_markers",
    "main",
]

BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^[ \t]*#\s*END SOLUTION\s*$")
LINE = re.compile(r"^(?P<code>.*?)\s*#\s*SOLUTION\s*$")
MD_SOLUTION = re.compile(
    r"[ \t]*<!--\s*BEGIN SOLUTION\s*-->.*?<!--\s*END SOLUTION\s*-->[ \t]*\n?", re.S
)
MD_EXERCISE = re.compile(
    r"<!--\s*BEGIN EXERCISE[ \t]*\n?(?P<body>.*?)\n?[ \t]*END EXERCISE\s*-->", re.S
)
# Anything that looks like a marker, for the "no marker left" check.
ANY_MARKER = re.compile(
    r"#\s*(BEGIN |END )?SOLUTION\b|<!--\s*(BEGIN|END) (SOLUTION|EXERCISE)|END EXERCISE\s*-->"
)
GRADER_CALL = re.compile(r"""Grader\(\s*(['"])(?P<id>[A-Za-z0-9_]+)\1""")
CHECK_CALL = re.compile(r"""\.(?:check|hint)\(\s*(['"])(?P<q>[A-Za-z0-9_]+)\1""")
STUB = ("# your code here", "raise NotImplementedError")
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
RAISES = "raises-exception"
SOLUTION_ONLY = "solution-only"


class GenerateError(ValueError):
    """A solution notebook cannot be turned into an exercise (the message says where and why)."""


def _stub_lines(indent: str) -> list[str]:
    return [indent + STUB[0], indent + STUB[1]]


def _replace_solution_line(line: str, where: str) -> tuple[list[str], bool]:
    """``x = 1  # SOLUTION`` -> ``x = ...``; ``return y  # SOLUTION`` -> a stub (True: it raises)."""
    match = LINE.match(line)
    assert match is not None
    code = match.group("code")
    indent = code[: len(code) - len(code.lstrip())]
    try:
        tree = ast.parse(code.strip())
    except SyntaxError:
        raise GenerateError(
            f"{where}: a `# SOLUTION` line must be a complete statement on one line; "
            "use a `# BEGIN SOLUTION` / `# END SOLUTION` block for longer answers"
        ) from None
    if len(tree.body) != 1:
        raise GenerateError(f"{where}: a `# SOLUTION` line must hold one statement")
    node = tree.body[0]
    source = code.strip()
    if isinstance(node, ast.Return):
        return _stub_lines(indent), True
    if isinstance(node, ast.Assign):
        targets = [ast.get_source_segment(source, t) for t in node.targets]
        last = node.targets[-1]
        value = (
            ", ".join(["..."] * len(last.elts))
            if isinstance(last, (ast.Tuple, ast.List))
            else "..."
        )
        return [indent + " = ".join(targets) + " = " + value], False
    if isinstance(node, ast.AnnAssign) and node.value is not None:
        target = ast.get_source_segment(source, node.target)
        annotation = ast.get_source_segment(source, node.annotation)
        return [f"{indent}{target}: {annotation} = ..."], False
    raise GenerateError(
        f"{where}: a `# SOLUTION` line must be an assignment (`name = value`) or a `return`; "
        "use a `# BEGIN SOLUTION` / `# END SOLUTION` block otherwise"
    )


def _strip_code(source: str, where: str) -> tuple[str, list[int]]:
    """The exercise version of a code cell and the (0-based) line numbers of its raising stubs."""
    out: list[str] = []
    stubs: list[int] = []
    lines = source.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        begin = BEGIN.match(line)
        if begin:
            j = i + 1
            while j < len(lines) and not END.match(lines[j]):
                if BEGIN.match(lines[j]):
                    raise GenerateError(
                        f"{where}, line {j + 1}: `# BEGIN SOLUTION` inside another block"
                    )
                j += 1
            if j == len(lines):
                raise GenerateError(
                    f"{where}, line {i + 1}: `# BEGIN SOLUTION` without `# END SOLUTION`"
                )
            stubs.append(len(out) + 1)
            out.extend(_stub_lines(begin.group("indent")))
            i = j + 1
            continue
        if END.match(line):
            raise GenerateError(
                f"{where}, line {i + 1}: `# END SOLUTION` without `# BEGIN SOLUTION`"
            )
        if LINE.match(line):
            replaced, raises = _replace_solution_line(line, f"{where}, line {i + 1}")
            if raises:
                stubs.append(len(out) + 1)
            out.extend(replaced)
            i += 1
            continue
        out.append(line)
        i += 1
    return "\n".join(out), stubs


def _stubs_run_at_top_level(source: str, stubs: list[int]) -> bool:
    """True if some stub line is not inside a function body (so running the cell raises)."""
    if not stubs:
        return False
    # IPython magics and shell escapes are not Python; keep the line count.
    lines = [
        (line[: len(line) - len(line.lstrip())] + "pass")
        if line.lstrip().startswith(("%", "!"))
        else line
        for line in source.split("\n")
    ]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return True  # cannot tell: be safe
    shielded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            body = node.body if isinstance(node.body, list) else [node.body]
            start, end = body[0].lineno, max(n.end_lineno or n.lineno for n in body)
            shielded.update(range(start, end + 1))
    return any(stub + 1 not in shielded for stub in stubs)  # ast lines are 1-based


def _strip_markdown(source: str) -> str:
    text = MD_SOLUTION.sub("", source)
    text = MD_EXERCISE.sub(lambda m: m.group("body"), text)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def _clean_notebook_metadata(nb: Any, exercise_id: str) -> None:
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("language_info", {"name": "python"})
    nb.metadata.pop("jupytext", None)
    tying_meta = dict(nb.metadata.get("tying", {}))
    tying_meta["exercise"] = exercise_id
    nb.metadata["tying"] = tying_meta


def _clear_outputs(cell: Any) -> None:
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    cell.metadata.pop("execution", None)


def normalise_solution(nb: Any, exercise_id: str) -> Any:
    """A copy of the solution notebook without outputs, with kernel ``python3`` and the exercise id."""
    nb = copy.deepcopy(nb)
    _clean_notebook_metadata(nb, exercise_id)
    for cell in nb.cells:
        _clear_outputs(cell)
    return nb


def exercise_from_solution(nb: Any, exercise_id: str, *, name: str = "solution") -> Any:
    """The exercise notebook generated from solution notebook ``nb`` (not modified)."""
    out = normalise_solution(nb, exercise_id)
    cells = []
    for index, cell in enumerate(out.cells):
        where = f"{name}: cell {index + 1}"
        if SOLUTION_ONLY in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "code":
            source, stubs = _strip_code(cell.source, where)
            cell.source = source
            if _stubs_run_at_top_level(source, stubs):
                tags = list(cell.metadata.get("tags", []))
                if RAISES not in tags:
                    tags.append(RAISES)
                cell.metadata["tags"] = tags
        elif cell.cell_type == "markdown":
            if "BEGIN SOLUTION" in cell.source and "END SOLUTION" not in cell.source:
                raise GenerateError(
                    f"{where}: `<!-- BEGIN SOLUTION -->` without `<!-- END SOLUTION -->`"
                )
            cell.source = _strip_markdown(cell.source)
            if not cell.source.strip():
                continue
        cells.append(cell)
    out.cells = cells
    left = find_markers(out)
    if left:
        raise GenerateError(
            f"{name}: markers left after generation (malformed?): {'; '.join(left)}"
        )
    return out


def find_markers(nb: Any) -> list[str]:
    """Descriptions of every solution marker still present in notebook ``nb``."""
    found = []
    for index, cell in enumerate(nb.cells):
        for lineno, line in enumerate(cell.source.split("\n"), start=1):
            if ANY_MARKER.search(line):
                found.append(f"cell {index + 1}, line {lineno}: {line.strip()[:80]}")
    return found


def _render(nb: Any) -> str:
    return nbformat.writes(nb) + "\n"


def _text_view(nb: Any) -> list[str]:
    lines = []
    for index, cell in enumerate(nb.cells):
        lines.append(
            f"--- cell {index + 1} ({cell.cell_type}) tags={cell.metadata.get('tags', [])}"
        )
        lines.extend(cell.source.split("\n"))
    return lines


def _difference(path: Path, old_text: str, new_nb: Any, limit: int = 30) -> str:
    try:
        old_nb = nbformat.reads(old_text, as_version=4)
    except Exception as err:  # unreadable: say so instead of diffing
        return f"{path}: not a readable notebook ({err})"
    diff = list(
        difflib.unified_diff(
            _text_view(old_nb), _text_view(new_nb), str(path), "regenerated", lineterm="", n=1
        )
    )
    if not diff:
        return f"{path}: metadata, outputs or formatting differ from the regenerated notebook"
    more = f"\n    ... ({len(diff) - limit} more diff lines)" if len(diff) > limit else ""
    return (
        f"{path}: differs from the regenerated notebook\n    " + "\n    ".join(diff[:limit]) + more
    )


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) with ``solutions/``."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "solutions").is_dir():
            return folder
    raise GenerateError(f"no solutions/ folder at or above {start}; pass --root")


def _consistency(nb: Any, exercise_id: str, where: str) -> list[str]:
    """Problems linking a solution notebook to its checks module."""
    from .core import ExerciseDefinitionError, UnknownExercise, load_exercise

    problems = []
    try:
        exercise = load_exercise(exercise_id)
    except (UnknownExercise, ExerciseDefinitionError) as err:
        return [f"{where}: {err}"]
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    named = {m.group("id") for m in GRADER_CALL.finditer(code)}
    if named != {exercise_id}:
        problems.append(
            f'{where}: the notebook must create Grader("{exercise_id}") (found: {sorted(named) or "none"})'
        )
    for question in sorted({m.group("q") for m in CHECK_CALL.finditer(code)}):
        if question not in exercise.questions:
            problems.append(
                f"{where}: grader.check/hint({question!r}) names no question of {exercise_id}"
            )
    return problems


def run(root: Path, ids: list[str] | None = None, *, check: bool = False) -> list[str]:
    """Generate (or, with ``check``, verify) exercises; return the problems found."""
    solutions = root / "solutions"
    exercises = root / "exercises"
    paths = sorted(solutions.glob("*.ipynb"))
    if ids:
        wanted = set(ids)
        paths = [p for p in paths if p.stem in wanted]
        missing = wanted - {p.stem for p in paths}
        if missing:
            return [f"no solution notebook for: {', '.join(sorted(missing))}"]
    problems: list[str] = []
    for path in paths:
        rel = path.relative_to(root)
        exercise_id = path.stem
        text = path.read_text(encoding="utf-8")
        try:
            nb = nbformat.reads(text, as_version=4)
            solution = normalise_solution(nb, exercise_id)
            exercise = exercise_from_solution(nb, exercise_id, name=str(rel))
        except (GenerateError, nbformat.reader.NotJSONError, ValueError) as err:
            problems.append(f"{rel}: {err}" if not str(err).startswith(str(rel)) else str(err))
            continue
        problems.extend(_consistency(nb, exercise_id, str(rel)))
        target = exercises / path.name
        new_exercise = _render(exercise)
        new_solution = _render(solution)
        old_exercise = target.read_text(encoding="utf-8") if target.exists() else None
        if check:
            if new_solution != text:
                problems.append(
                    f"{rel}: not normalised (stored outputs, kernel or metadata.tying.exercise); "
                    "run python -m tying.grading.generate"
                )
            if old_exercise is None:
                problems.append(
                    f"{target.relative_to(root)}: missing; run python -m tying.grading.generate"
                )
            elif old_exercise != new_exercise:
                problems.append(_difference(target.relative_to(root), old_exercise, exercise))
        else:
            if new_solution != text:
                path.write_text(new_solution, encoding="utf-8")
                print(f"normalised {rel}")
            if old_exercise != new_exercise:
                exercises.mkdir(exist_ok=True)
                target.write_text(new_exercise, encoding="utf-8")
                print(f"wrote {target.relative_to(root)}")
            else:
                print(f"up to date: {target.relative_to(root)}")
    if check and not ids:
        known = {p.stem for p in solutions.glob("*.ipynb")}
        for path in sorted(exercises.glob("*.ipynb")):
            rel = path.relative_to(root)
            if path.stem not in known:
                problems.append(
                    f"{rel}: has no solutions/{path.name}; exercises are generated only"
                )
            try:
                left = find_markers(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
            except Exception as err:
                problems.append(f"{rel}: not a readable notebook ({err})")
                continue
            problems.extend(f"{rel}: solution marker left in {m}" for m in left)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tying.grading.generate",
        description="Write exercises/<id>.ipynb from solutions/<id>.ipynb (or check they agree).",
    )
    parser.add_argument("ids", nargs="*", help="exercise ids (default: every solution)")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; fail on any difference"
    )
    parser.add_argument(
        "--root", type=Path, default=None, help="repository root (default: found from cwd)"
    )
    args = parser.parse_args(argv)
    try:
        root = args.root.resolve() if args.root else find_root()
    except GenerateError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    problems = run(root, args.ids, check=args.check)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    if args.check:
        print("exercises are up to date and free of solution markers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
