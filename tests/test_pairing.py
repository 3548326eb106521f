"""Each chapter is a MyST-markdown notebook paired with an .ipynb (what Colab opens): the pair
must hold the same cells, and the .ipynb no outputs."""

from pathlib import Path

import jupytext
import nbformat
import pytest
from book import CHAPTER_PAGES

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))


def _cells(notebook):
    return [
        (c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in notebook.cells
    ]


def test_every_chapter_is_in_the_toc():
    assert sorted(CHAPTER_PAGES) == [f"chapters/{md.stem}" for md in CHAPTERS]


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_pair_is_in_sync(md):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `jupytext --sync {md.relative_to(ROOT)}`"
    assert _cells(jupytext.read(md)) == _cells(nbformat.read(ipynb, as_version=4)), (
        f"{md.name} and {ipynb.name} differ: run `jupytext --sync {md.relative_to(ROOT)}`"
    )


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_ipynb_has_no_outputs(md):
    notebook = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_parameters_cell_takes_a_profile(md):
    notebook = jupytext.read(md)
    parameters = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1 and "profile = " in parameters[0].source
