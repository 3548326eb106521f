"""Execute every chapter with papermill, then render the executed notebooks with Jupyter Book.

    python scripts/build_book.py [--profile ci|paper|auto] [--only NAME]

Executed notebooks land in _build/source/ (with the book's config and pages), the HTML in
_build/html/, and the time each chapter and each of its cells took in _build/timings.json. The
render is strict: any Sphinx warning fails the build. Progress bars are off in the build
(TQDM_DISABLE), papermill's injected-parameters cell is removed from the pages, and the `paper`
profile may train (DIFFLAB_TRAIN=1): elsewhere a missing model is an error that says how to train
it. Chapters share deterministic samples through a cache that lives for one build
(DIFFLAB_SAMPLE_CACHE=_build/cache/samples, emptied at the start).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import papermill
import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
SOURCE = BUILD / "source"
SAMPLES = BUILD / "cache" / "samples"
PAGES = [
    "_config.yml",
    "_toc.yml",
    "intro.md",
    "references.md",
    "references.bib",
    "_ext/unique_scripts.py",
]
APPENDIX = ROOT / "appendix"
TIMINGS = "<!-- timings -->"  # where appendix/execution.md takes this build's table


def chapters() -> list[Path]:
    """The chapter notebooks (the toc's first part), in the order of _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [ROOT / (entry["file"] + ".ipynb") for entry in toc["parts"][0]["chapters"]]


def execution_table(timings: dict, profile: str) -> str:
    """This build's execution statistics as a Markdown table: each chapter (by its title) with its
    time, code cells and slowest cell (its number, first line and seconds), and the date, profile
    and CPU threads of the build."""
    rows = [
        "| chapter | seconds | code cells | slowest cell |",
        "|---|---:|---:|---|",
    ]
    for name, entry in timings.items():
        cell = entry["cells"][0] if entry["cells"] else None
        slowest = (
            f"{cell['seconds']:.0f} s: cell {cell['cell']}, `{cell['first line'][:32]}`"
            if cell
            else "-"
        )
        rows.append(  # [](path): the link reads as the chapter's title
            f"| [](../chapters/{name}.ipynb) | {entry['seconds']:.0f} | {len(entry['cells'])} "
            f"| {slowest} |"
        )
    total = sum(entry["seconds"] for entry in timings.values())
    rows.append(f"| all | {total:.0f} | {sum(len(e['cells']) for e in timings.values())} | |")
    when = time.strftime("%Y-%m-%d", time.gmtime())
    threads = os.cpu_count()
    return (
        "\n".join(rows)
        + f"\n\nBuilt on {when} (UTC), profile `{profile}`, {threads} CPU threads. A cell's number "
        "counts the chapter's code cells from one, hidden ones included.\n"
    )


def execute(notebook: Path, profile: str, into: Path = SOURCE, **knobs) -> dict:
    """Run one chapter into the book's sources (or the folder `into`), with the chapter's parameters
    `knobs` where given; return its time and the time of each code cell (slowest first)."""
    out = into / notebook.relative_to(ROOT)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    executed = papermill.execute_notebook(
        notebook,
        out,
        parameters={"profile": profile, **knobs},
        cwd=notebook.parent,
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
    )
    elapsed = time.perf_counter() - start
    for cell in executed.cells:  # the parameters cell already shows the knobs
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.metadata.tags.append("remove-cell")
    nbformat.write(executed, out)
    cells = [
        {
            "cell": index,
            "seconds": round(cell.metadata.papermill.duration or 0, 1),
            "first line": cell.source.splitlines()[0] if cell.source else "",
        }
        for index, cell in enumerate(executed.cells)
        if cell.cell_type == "code"
    ]
    return {"seconds": round(elapsed, 1), "cells": sorted(cells, key=lambda c: -c["seconds"])}


def render(timings: dict, profile: str) -> None:
    shutil.rmtree(BUILD / "book", ignore_errors=True)  # a clean render: no stale pages or images
    for page in PAGES:
        (SOURCE / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / page, SOURCE / page)
    shutil.rmtree(SOURCE / "appendix", ignore_errors=True)
    shutil.copytree(APPENDIX, SOURCE / "appendix")
    execution = SOURCE / "appendix" / "execution.md"
    execution.write_text(execution.read_text().replace(TIMINGS, execution_table(timings, profile)))
    subprocess.run(
        [
            str(Path(sys.executable).parent / "jupyter-book"),
            "build",
            str(SOURCE),
            "--path-output",
            str(BUILD / "book"),
            "--warningiserror",
            "--nitpick",
            "--keep-going",
        ],
        check=True,
    )
    html = BUILD / "html"
    shutil.rmtree(html, ignore_errors=True)
    shutil.copytree(BUILD / "book" / "_build" / "html", html)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="ci", choices=["ci", "paper", "smoke", "auto"])
    parser.add_argument("--only", help="execute only the chapter whose file name contains this")
    args = parser.parse_args()
    os.environ["TQDM_DISABLE"] = "1"  # the kernels inherit it: no bars on the pages
    if args.profile in ("paper", "smoke"):
        os.environ.setdefault("DIFFLAB_TRAIN", "1")
        print(
            f"profile {args.profile}: models missing from data/models will be trained (DIFFLAB_TRAIN=1)"
        )
    shutil.rmtree(SAMPLES, ignore_errors=True)  # the cache lives for one build: never stale
    os.environ["DIFFLAB_SAMPLE_CACHE"] = str(SAMPLES)
    timings = {}
    for notebook in chapters():
        if args.only and args.only not in notebook.name:
            continue
        print(f"executing {notebook.relative_to(ROOT)} (profile {args.profile}) ...", flush=True)
        timings[notebook.stem] = execute(notebook, args.profile)
        print(f"  {timings[notebook.stem]['seconds']} s", flush=True)
    (BUILD / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    render(timings, args.profile)
    print(f"book: {BUILD / 'html' / 'index.html'}")


if __name__ == "__main__":
    main()
