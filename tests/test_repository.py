"""_config.yml's repository URL and branch are the one source: every copy (the chapters' Colab
set-up cells, html.baseurl, pyproject's [project.urls]) must agree, `make repository` must update
them all, and the set-up cell must clone the book or stop with a message naming the URL."""

import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
import tomllib
import yaml
from book import CHAPTER_PAGES, ROOT, repository, script
from claims import DESCRIPTIVE, TIMINGS

from difflab.book.claims import CLAIMS

CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))
URL, BRANCH = repository.repository()


def _first_code_cell(notebook) -> str:
    return next(c.source for c in notebook.cells if c.cell_type == "code").strip()


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_colab_cells_clone_the_configured_repository(md):
    expected = repository.colab_cell(URL, BRANCH, repository.colab_pins()).strip()
    assert _first_code_cell(jupytext.read(md)) == expected, f"run `make repository` ({md.name})"
    assert _first_code_cell(nbformat.read(md.with_suffix(".ipynb"), as_version=4)) == expected


def test_pyproject_and_baseurl_agree_with_the_config():
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert urls == {
        "Repository": URL,
        "Documentation": repository.pages_url(URL),
        "Issues": f"{URL}/issues",
    }
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["html"]["baseurl"] == repository.pages_url(URL)


def test_changing_the_url_is_one_line_and_one_command(tmp_path):
    for name in ("_config.yml", "pyproject.toml", "requirements.lock", "chapters"):
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, tmp_path / name)
    config = tmp_path / "_config.yml"
    config.write_text(
        config.read_text()
        .replace(f"url: {URL}", "url: https://github.com/Someone/other-book")
        .replace(f"branch: {BRANCH}", "branch: gh-test")
    )
    repository.write_copies(tmp_path)
    for path in [tmp_path / "pyproject.toml", config, *(tmp_path / "chapters").iterdir()]:
        assert URL not in path.read_text(), f"{path.name} still names the old repository"
    assert (
        repository.pages_url("https://github.com/Someone/other-book")
        == "https://someone.github.io/other-book/"
    )
    assert "https://someone.github.io/other-book/" in config.read_text()
    for md in sorted((tmp_path / "chapters").glob("*.md")):
        cell = _first_code_cell(nbformat.read(md.with_suffix(".ipynb"), as_version=4))
        assert (
            cell
            == repository.colab_cell(
                "https://github.com/Someone/other-book", "gh-test", repository.colab_pins()
            ).strip()
        )


def test_a_url_that_github_pages_cannot_serve_is_refused():
    with pytest.raises(
        ValueError,
        match="repository.url='git@github.com:a/b' .* expected https://github.com/OWNER/NAME",
    ):
        repository.pages_url("git@github.com:a/b")


def _run_colab_cell(url: str, book: Path, monkeypatch):
    """The set-up cell as Colab runs it, with the book's folder and URL swapped for local ones."""
    monkeypatch.setitem(sys.modules, "google.colab", object())
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(
        repository.colab_cell(url, "main", repository.colab_pins()).replace(
            '"/content/book"', repr(str(book))
        ),
        {},
    )


def test_the_colab_cell_clones_the_book(tmp_path, monkeypatch):
    origin, book = tmp_path / "origin", tmp_path / "book"
    (origin / "chapters").mkdir(parents=True)
    (origin / "chapters" / "01.md").write_text("# a chapter\n")
    git = ["git", "-C", str(origin), "-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "book"]):
        subprocess.run(git + args, check=True)
    _run_colab_cell(f"file://{origin}", book, monkeypatch)  # difflab is installed: no pip step
    assert (book / "chapters" / "01.md").exists() and Path.cwd() == book / "chapters"
    assert sys.path[0] == f"{book}/lib"


def test_the_colab_cell_stops_loudly_naming_the_url(tmp_path, monkeypatch):
    missing = f"file://{tmp_path}/no-such-repository"
    with pytest.raises(
        RuntimeError, match=f"Colab set-up failed: .*git.* {missing} \\(branch main\\)"
    ):
        _run_colab_cell(missing, tmp_path / "book", monkeypatch)
    assert not (tmp_path / "book").exists()


colab_check = script("colab_check")


def test_the_colab_check_runs_every_chapter_of_the_toc_by_default():
    assert colab_check.CHAPTERS == [page.split("/")[-1] for page in CHAPTER_PAGES]
    assert len(colab_check.CHAPTERS) == len(CHAPTERS) == 9


def test_the_colab_check_compares_every_glued_value_but_the_wall_times():
    """A wall time that moves (tests/claims.py's TIMINGS) is no difference; any other value is."""
    expected = {"cost_gls3_base5_max": 0.61, "rp_min": 0.5, "label": "a"}
    got = {"cost_gls3_base5_max": 0.63, "rp_min": 0.5, "label": "b"}
    rows, timings = colab_check.compared(expected, got)
    assert timings == ["cost_gls3_base5_max"]
    assert [row[0] for row in rows] == ["label"]
    rows, _ = colab_check.compared(expected, {**got, "rp_min": 0.52})
    assert {row[0] for row in rows} == {"label", "rp_min"}


@pytest.mark.book
def test_the_colab_check_fails_where_a_claim_does_not_hold_on_its_values(tmp_path):
    """The check asserts the chapters' claims on what the Colab-like run glued: chapter 1 as the CI
    build executed it passes; with one claimed number planted on the wrong side of its bound, fails
    (the chapters it did not run are skipped)."""
    chapter = "01_deterministic_map"
    built = ROOT / "_build" / "source" / "chapters" / f"{chapter}.ipynb"
    notebook = nbformat.read(built, as_version=4)
    nbformat.write(notebook, tmp_path / built.name)
    held, report = colab_check.claims_on(tmp_path)
    assert held, report
    claim = CLAIMS[chapter][0]
    wrong = claim.bound - 1 if claim.side.startswith(">") else claim.bound + 1
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") == claim.name:
                output["data"] = {"text/plain": repr(wrong)}
    nbformat.write(notebook, tmp_path / built.name)
    held, report = colab_check.claims_on(tmp_path)
    assert not held and claim.name in "\n".join(report)


def test_the_timings_are_the_descriptive_values_reported_as_timings():
    """TIMINGS holds glued names the tests never assert (DESCRIPTIVE), among them every one that
    DESCRIPTIVE calls a timing; a wall time left out of it would fail the checks on every machine."""
    descriptive = {name: why for chapter in DESCRIPTIVE.values() for name, why in chapter.items()}
    assert TIMINGS <= descriptive.keys()
    assert {name for name, why in descriptive.items() if "a timing" in why} <= TIMINGS
