"""Write intro.md's results table from the chapters' "In brief" tables.

    python scripts/results_table.py

Each row of a chapter's In brief table (claim | the paper | this book) becomes a row of the intro's
table, its glued values pasted from the chapter (`{glue:text}`chapters/NAME.ipynb::key``; a
`{glue:md}` string becomes `{glue:text}` with the format `s`, the role that can paste from another
page). tests/test_book.py checks that intro.md holds what this script writes.
"""

import itertools
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HEADER = "| Chapter | Claim | Papers | This book |"
ROLE = re.compile(r"\{glue:(text|md)\}`([^`]+)`")


def pasted(cell: str, page: str) -> str:
    """A cell of a chapter's table with its glue roles pasting from that chapter."""

    def role(match: re.Match) -> str:
        kind, key = match.groups()
        return f"{{glue:text}}`{page}.ipynb::{key}{':s' if kind == 'md' else ''}`"

    return ROLE.sub(role, cell)


def table() -> str:
    """The intro's results table: every chapter's In brief rows, in the order of _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    rows = [HEADER, "|---|---|---|---|"]
    for page in (entry["file"] for entry in toc["parts"][0]["chapters"]):
        source = (ROOT / f"{page}.md").read_text()
        brief = source[source.index("## In brief") : source.index("## Overview")]
        title = re.search(r"^# (.+)$", source, re.M).group(1)
        lines = [line for line in brief.splitlines() if line.startswith("|")][2:]
        for i, line in enumerate(lines):
            cells = [pasted(cell.strip(), page) for cell in line.strip().strip("|").split("|")]
            if len(cells) != 3:
                raise ValueError(f"{page}: an In brief row without 3 cells: {line!r}")
            chapter = f"[{title}]({page}.ipynb)" if i == 0 else ""
            rows.append(f"| {chapter} | {' | '.join(cells)} |")
    return "\n".join(rows) + "\n"


def written(intro: str) -> str:
    """The results table that `intro` (intro.md's text) holds."""
    lines = intro[intro.index(HEADER) :].splitlines(keepends=True)
    return "".join(itertools.takewhile(lambda line: line.startswith("|"), lines))


def main() -> None:
    path = ROOT / "intro.md"
    intro = path.read_text()
    path.write_text(intro.replace(written(intro), table()))
    print(f"{path}: results table written")


if __name__ == "__main__":
    main()
