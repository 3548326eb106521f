"""Reading what the executed chapters glued (myst_nb.glue), for the tests of the book's claims, and
the book's own scripts as modules (repository.py: the one reader of the repository URL in _config.yml)."""

import ast
import importlib.util
import math
import os
from functools import cache
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# the executed chapters the claims are read from: the CI build's, or another run's (the Colab check
# sets BOOK_EXECUTED to its own; a chapter it did not run is skipped there)
EXECUTED = Path(os.environ.get("BOOK_EXECUTED", ROOT / "_build" / "source" / "chapters"))
HTML = ROOT / "_build" / "html"


def script(name: str):
    """One of the book's scripts (scripts/NAME.py) as a module, for the tests of what it does."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


repository = script("repository")
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
CHAPTER_PAGES = [entry["file"] for entry in TOC["parts"][0]["chapters"]]  # executed notebooks
APPENDIX_PAGES = [entry["file"] for part in TOC["parts"][1:] for entry in part["chapters"]]


@cache
def glued(chapter: str) -> dict:
    """The values a chapter glued, parsed from their text form."""
    path = EXECUTED / f"{chapter}.ipynb"
    if not path.exists() and "BOOK_EXECUTED" in os.environ:
        pytest.skip(f"{chapter} was not run into {EXECUTED}")
    if not path.exists():
        pytest.fail(f"{path} is missing: build the book first (`make book`)")
    return glued_in(path)


def glued_in(path: Path) -> dict:
    """The values an executed notebook glued, parsed from their text form."""
    values = {}
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                data = output["data"]  # Markdown (glued for {glue:md}) before its repr
                text = next(
                    (v for k, v in data.items() if k.endswith("text/markdown")), None
                ) or next(v for k, v in data.items() if k.endswith("text/plain"))
                try:
                    values[name] = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    values[name] = text
    return values


def differences(expected: dict, got: dict) -> list[tuple[str, object, object, float]]:
    """(name, CI value, Colab value, relative difference) of every glued value that is not the same."""
    rows = []
    for name, value in expected.items():
        other = got.get(name, "(missing)")
        if other == value:
            continue
        numbers = isinstance(value, (int, float)) and isinstance(other, (int, float))
        gap = abs(other - value) / max(abs(value), 1e-12) if numbers else math.inf
        rows.append((name, value, other, gap))
    return sorted(rows, key=lambda row: -row[3])
