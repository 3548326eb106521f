"""This checkout's chapters against another checkout's (today's main), timed side by side.

    python benchmarks/chapters_side_by_side.py /path/to/other/checkout

Chapter 1 of the other checkout, then chapter 1 of this one, then chapter 2 of each, and so on:
a slow spell of a shared machine then falls on both sides alike. A chapter the other checkout
lacks runs on this side only; the ratio is over the chapters both have. Each side executes a chapter
with its own `scripts/build_book.py` (its own difflab, its own data/); this side shares samples
across chapters as a build does. Afterwards this side's book is rendered as by `make book`, so
the tests can read it. Writes _build/benchmarks/chapters_side_by_side.json.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import report

ROOT = Path(__file__).resolve().parents[1]
EXECUTE = (
    "import json, sys; sys.path.insert(0, 'scripts'); import build_book; "
    "print(json.dumps(build_book.execute(build_book.ROOT / 'chapters' / sys.argv[1], 'ci')))"
)


def execute(checkout: Path, chapter: str) -> tuple[float, object]:
    """Wall seconds of one chapter executed by `checkout`'s build script, and what it returned."""
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout / "lib"),
        "TQDM_DISABLE": "1",
        "DIFFLAB_SAMPLE_CACHE": str(checkout / "_build" / "cache" / "samples"),
    }
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", EXECUTE, chapter],
        cwd=checkout,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - start, json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    other = Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(ROOT / "scripts"))
    import build_book

    shutil.rmtree(build_book.SAMPLES, ignore_errors=True)
    seconds, timings = {"other": {}, "this": {}}, {}
    for notebook in build_book.chapters():
        sides = [("other", other)] if (other / "chapters" / notebook.name).exists() else []
        for side, checkout in [*sides, ("this", ROOT)]:
            seconds[side][notebook.stem], result = execute(checkout, notebook.name)
            print(f"{notebook.stem} ({side}): {seconds[side][notebook.stem]:.0f} s", flush=True)
        timings[notebook.stem] = result
    (build_book.BUILD / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    build_book.render()
    shared = sum(seconds["this"][name] for name in seconds["other"])  # the chapters both sides have
    other_total = sum(seconds["other"].values())
    report(
        "chapters_side_by_side",
        {
            "other": str(other),
            "other_seconds": seconds["other"],
            "this_seconds": seconds["this"],
            "other_total_s": other_total,
            "this_shared_s": shared,
            "this_total_s": sum(seconds["this"].values()),
            "ratio": shared / other_total,
            "goal": "<= 0.45 for the five chapters of today's main",
        },
    )


if __name__ == "__main__":
    main()
