"""Where the book keeps its data: `data/` at the repository root, or $DIFFLAB_DATA."""

import os
from pathlib import Path


def data_dir() -> Path:
    """The data folder: $DIFFLAB_DATA if set, else the `data/` beside the nearest `_toc.yml`
    above the working directory (chapters run from `chapters/`), else ~/.cache/difflab."""
    if "DIFFLAB_DATA" in os.environ:
        return Path(os.environ["DIFFLAB_DATA"])
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "_toc.yml").exists():
            return folder / "data"
    return Path.home() / ".cache" / "difflab"
