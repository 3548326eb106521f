"""One style for all the code: `ruff format` and `ruff check` (pyproject's [tool.ruff]) over the
library, the tests, the studies, the benchmarks, the scripts and the chapters' code cells, and no
statements chained as tuples (`a(), b()` for two calls reads as one value). The chapters' cells
are formatted at 88 columns, what the book's code blocks show without scrolling; a visible cell
(one whose input the page shows) is for the reader: it calls no glue function."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("lib", "tests", "studies", "benchmarks", "scripts")
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))
CHAPTER_COLUMNS = 88  # a code block's width at the theme's full width (tests/test_pages.py)
GLUE = {"record", "record_all", "record_span", "recorded_value", "glue"}


@pytest.fixture(scope="module")
def chapter_notebooks(tmp_path_factory) -> list[Path]:
    """Each chapter's code cells as a notebook (ruff formats and lints notebooks cell by cell,
    keeping a cell's closing `;`)."""
    folder = tmp_path_factory.mktemp("chapters")
    paths = []
    for md in CHAPTERS:
        path = folder / f"{md.stem}.ipynb"
        jupytext.write(jupytext.read(md), path)
        paths.append(path)
    return paths


def ruff(*args) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ruff", *args, "--config", str(ROOT / "pyproject.toml")]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def test_the_code_is_formatted():
    result = ruff("format", "--check", *FOLDERS)
    assert result.returncode == 0, (
        f"run `ruff format {' '.join(FOLDERS)}`:\n{result.stdout}{result.stderr}"
    )


def test_the_code_passes_the_linter():
    result = ruff("check", *FOLDERS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_chapters_code_cells_are_formatted_and_pass_the_linter(chapter_notebooks):
    columns = f"--line-length={CHAPTER_COLUMNS}"
    formatted = ruff("format", "--check", columns, *map(str, chapter_notebooks))
    assert formatted.returncode == 0, (
        f"format the chapters' cells: jupytext --pipe-fmt ipynb --pipe 'ruff format {columns} {{}}' "
        "chapters/NAME.md\n" + formatted.stdout + formatted.stderr
    )
    linted = ruff("check", columns, *map(str, chapter_notebooks))
    assert linted.returncode == 0, linted.stdout + linted.stderr


def chained_statements(source: str) -> list[int]:
    """Lines of expression statements that are tuples holding calls: `a(), b()`."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Tuple)
        and any(isinstance(element, ast.Call) for element in node.value.elts)
    ]


def test_no_statements_are_chained_as_tuples():
    found = {}
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            lines = chained_statements(path.read_text())
            if lines:
                found[str(path.relative_to(ROOT))] = lines
    for md in CHAPTERS:
        for i, cell in enumerate(jupytext.read(md).cells):
            if cell.cell_type == "code" and not cell.source.startswith(("%", "!")):
                lines = chained_statements(cell.source)
                if lines:
                    found[f"{md.name} cell {i}"] = lines
    assert not found, f"split these into one statement per line: {found}"


def test_the_chain_check_sees_a_chain():
    assert chained_statements("a = f(), g()\nf(), g()\n") == [2]


def visible_cells(md: Path) -> list[tuple[int, str]]:
    """(index, source) of the code cells whose input the page shows."""
    hidden = {"remove-cell", "remove-input", "hide-input"}
    return [
        (i, cell.source)
        for i, cell in enumerate(jupytext.read(md).cells)
        if cell.cell_type == "code" and not hidden & set(cell.metadata.get("tags", []))
    ]


def glue_calls(source: str) -> list[str]:
    return [
        node.func.id
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GLUE
    ]


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda md: md.stem)
def test_no_visible_cell_calls_the_glue_functions(md):
    calls = {i: glue_calls(source) for i, source in visible_cells(md) if not source.startswith("%")}
    assert not any(calls.values()), (
        f"{md.name}: move these into a hidden cell (tags: [remove-cell]): "
        f"{ {i: c for i, c in calls.items() if c} }"
    )


def solution_code(md: Path) -> list[str]:
    """The lines of the indented code blocks in the exercises' solutions, without their indent."""
    blocks = re.findall(r"```\{solution\}.*?\n```", md.read_text(), re.S)
    return [line[4:] for block in blocks for line in block.splitlines() if line.startswith("    ")]


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda md: md.stem)
def test_visible_code_fits_the_code_block(md):
    shown = [line for _, source in visible_cells(md) for line in source.splitlines()]
    wide = [line for line in shown + solution_code(md) if len(line) > CHAPTER_COLUMNS]
    assert not wide, f"{md.name}: lines wider than {CHAPTER_COLUMNS} columns: {wide}"


def test_the_glue_check_sees_a_glue_call():
    assert glue_calls("x = 1\nrecord_all({'x': x})\n") == ["record_all"]


FONT_SIZE = re.compile(
    r"""\b(?:fontsize|labelsize)\s*=\s*(?:(\d+(?:\.\d+)?)|["'](xx-small|x-small|small)["'])"""
    r"""|["']size["']\s*:\s*(\d+(?:\.\d+)?)"""
)


def small_font_sizes(code: str) -> list[str]:
    """Font sizes written in `code` below the book style's smallest (plotting.MIN_FONT_PT)."""
    from difflab.book.plotting import MIN_FONT_PT

    return [
        m.group(0)
        for m in FONT_SIZE.finditer(code)
        if m.group(2) or float(m.group(1) or m.group(3)) < MIN_FONT_PT
    ]


def test_no_figure_text_below_the_book_styles_smallest_size():
    """Every figure is drawn in plotting.STYLE, whose smallest text tests/test_pages.py checks at
    the page's size: no code writes a smaller one, and every chapter turns the style on."""
    sources = [*(ROOT / "lib").rglob("*.py"), *CHAPTERS]
    small = {p.name: small_font_sizes(p.read_text()) for p in sources}
    assert not {name: found for name, found in small.items() if found}
    assert all("difflab.start_chapter()" in md.read_text() for md in CHAPTERS)


def test_the_font_size_check_sees_a_small_font():
    assert small_font_sizes('ax.legend(fontsize=7)\nax.tick_params(labelsize="small")') == [
        "fontsize=7",
        'labelsize="small"',
    ]
    assert small_font_sizes('sns.heatmap(m, annot_kws={"size": 6})') == ['"size": 6']
    assert small_font_sizes("ax.legend(fontsize=MIN_FONT_PT, kid_subset_size=5)") == []
