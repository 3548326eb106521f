"""Chapters as a Colab reader runs them, on this machine (`make colab-check`; minutes, not in `make test`).

1. A virtual environment of Python 3.12 (pyenv's, as Colab's) with what Colab has before a chapter's
   set-up cell runs: torch at the newest release the ranges allow (from the registry: a CUDA build, as
   Colab's), numpy, scipy, pandas, matplotlib, seaborn, tqdm, ipywidgets, a Jupyter kernel; and
   papermill, which executes the chapter.
2. Each chapter notebook of this repository's committed HEAD, its set-up cell's URL and folder swapped for
   this repository (file://) and a fresh folder: run with a stand-in `google.colab` module, the cell
   clones the book and installs difflab as it does on Colab (the ranges, the pinned diffusers, SSCD).
3. The chapter executed to its end at profile "auto" (here the CPU), and its glued values compared
   with the CI build's (_build/source/chapters, from `make book`), but for the wall-time
   measurements (tests/claims.py's TIMINGS), which differ from machine to machine.
4. The chapters' claims (tests/test_book.py, but for the rendered pages and build times) asserted
   on the values the Colab-like run glued.

Every chapter of _toc.yml by default (about 25 minutes of CPU), or those named. The report,
_build/colab-check/report.md, gives each phase's time, the packages the cell installed and every
glued value that differs. It exits non-zero if a chapter fails or one of its claims does not hold.
A value that moved by more than rounding (a relative 1e-6 of numbers; the same text otherwise) is
listed, and fails the check only with --exact: the locked packages promise the CI build's numbers
to the last digit, newer ones the book's claims (a newer torch moves chapter 6's DPS, 25 gradient
steps through the network, by about 1e-5).

    python scripts/colab_check.py [--chapters 01_deterministic_map 02_reproducibility] [--python 3.12] [--exact]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from book import CHAPTER_PAGES, differences, glued_in  # noqa: E402  (the tests' readers)
from claims import TIMINGS  # noqa: E402  (glued wall times: not compared)

WORK = ROOT / "_build" / "colab-check"
COLAB_HAS = [
    "torch",
    "numpy",
    "scipy",
    "pandas",
    "matplotlib",
    "seaborn",
    "tqdm",
    "ipywidgets",
    "ipykernel",
    "papermill",
]
STAND_IN = (
    'import sys, types; sys.modules.setdefault("google.colab", types.ModuleType("google.colab"))\n'
)
RELATIVE = 1e-6
CHAPTERS = [Path(page).name for page in CHAPTER_PAGES]  # _toc.yml's, in its order
EXECUTED = WORK / "executed"  # the chapters as run here, read by the claims (tests/book.py)
CLAIM_TESTS = "not page_has and not intro and not build_times"  # what needs no rendered book


def compared(expected: dict, got: dict) -> tuple[list, list[str]]:
    """differences() of the values that are not wall-time measurements, and the names of those
    left out (TIMINGS that the CI build glued)."""
    timings = sorted(name for name in expected if name in TIMINGS)
    kept = {name: value for name, value in expected.items() if name not in TIMINGS}
    return differences(kept, got), timings


def claims_on(executed: Path) -> tuple[bool, list[str]]:
    """tests/test_book.py's claims (not its rendered pages or build times) on the chapters executed
    into `executed`; those not there are skipped. Whether all held, and the report's lines."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_book.py",
            "-k",
            CLAIM_TESTS,
        ],
        cwd=ROOT,
        env={**os.environ, "BOOK_EXECUTED": str(executed)},
        capture_output=True,
        text=True,
    )
    summary = (run.stdout.strip().splitlines() or ["(no output)"])[-1]
    lines = ["## The claims on these values (tests/test_book.py)", "", f"- {summary}", ""]
    if run.returncode:
        lines += ["```", run.stdout[-4000:], "```", ""]
    return run.returncode == 0, lines


def interpreter(version: str) -> Path | None:
    """pyenv's newest CPython `version` (3.12: 3.12.x) on this machine, or None."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(
        versions.glob(f"{version}.*/bin/python"),
        key=lambda p: [int(n) for n in p.parts[-3].split(".")],
    )
    return found[-1] if found else None


def colab_environment(python: Path, venv: Path) -> list[str]:
    """The venv as Colab is before the set-up cell runs; returns the pip freeze of it."""
    if not (venv / "bin" / "python").exists():
        subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", *COLAB_HAS],
        check=True,
    )
    (site_packages(venv) / "colab_stand_in.pth").write_text(
        STAND_IN
    )  # imported at start, as Colab's own
    return freeze(venv)


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def freeze(venv: Path) -> list[str]:
    run = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze"],
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout.split()


def as_colab_opens_it(chapter: str, book: Path, out: Path) -> Path:
    """The committed chapter notebook with its set-up cell cloning this repository into `book`."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"HEAD:chapters/{chapter}.ipynb"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    notebook = nbformat.reads(source, as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code")
    branch = subprocess.run(
        ["git", "-C", str(ROOT), "branch", "--show-current"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    cell.source, count = re.subn(
        r"^URL, BRANCH = .*$",
        f"URL, BRANCH = {f'file://{ROOT}'!r}, {branch!r}",
        cell.source.replace('"/content/book"', repr(str(book))),
        flags=re.M,
    )
    if count != 1 or not branch:
        raise SystemExit(
            f"{chapter}: its first code cell is not the Colab set-up cell, or no branch is checked out"
        )
    path = out / f"{chapter}.ipynb"
    nbformat.write(notebook, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--chapters", nargs="+", default=CHAPTERS, help="default: every chapter of _toc.yml"
    )
    parser.add_argument("--python", default="3.12")
    parser.add_argument(
        "--exact", action="store_true", help="also fail if a value moved by more than rounding"
    )
    args = parser.parse_args()
    python = interpreter(args.python)
    if python is None:
        raise SystemExit(f"no Python {args.python} under pyenv here: `pyenv install {args.python}`")
    built = {c: ROOT / "_build" / "source" / "chapters" / f"{c}.ipynb" for c in args.chapters}
    missing = [str(p) for p in built.values() if not p.exists()]
    if missing:
        raise SystemExit(
            f"the CI build's chapters are missing ({', '.join(missing)}): run `make book` first"
        )
    shutil.rmtree(EXECUTED, ignore_errors=True)
    EXECUTED.mkdir(parents=True)
    report, failed, start = (
        [f"# Colab check ({time.strftime('%Y-%m-%d %H:%M')})", ""],
        False,
        time.perf_counter(),
    )
    venv = WORK / "venv"
    before = colab_environment(python, venv)
    colab_has = [p for p in before if p.split("==")[0].lower() in COLAB_HAS]
    report += [
        f"Python {args.python} ({python}); the environment before the set-up cell, made in "
        f"{time.perf_counter() - start:.0f} s: {', '.join(colab_has)}",
        "",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIFFLAB_")}
    env.update(TQDM_DISABLE="1", PATH=f"{venv / 'bin'}:{env['PATH']}")
    for chapter in args.chapters:
        book = WORK / "content" / "book"
        shutil.rmtree(book, ignore_errors=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-q", "-y", "difflab"], env=env
        )
        notebook = as_colab_opens_it(chapter, book, WORK)
        out = EXECUTED / f"{chapter}.ipynb"
        began = time.perf_counter()
        run = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "papermill",
                str(notebook),
                str(out),
                "-p",
                "profile",
                "auto",
                "-k",
                "python3",
                "--cwd",
                str(WORK),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - began
        if run.returncode:
            failed = True
            report += [
                f"## {chapter}: FAILED after {seconds:.0f} s",
                "",
                "```",
                run.stderr[-4000:],
                "```",
                "",
            ]
            continue
        expected, got = glued_in(built[chapter]), glued_in(out)
        rows, timings = compared(expected, got)
        moved = [row for row in rows if row[3] > RELATIVE]
        same = len(expected) - len(timings) - len(rows)
        failed |= args.exact and bool(moved)
        installed = sorted(
            p for p in set(freeze(venv)) - set(before) if "difflab" not in p and p != "-e"
        )
        report += [
            f"## {chapter}: ran to the end in {seconds:.0f} s (set-up cell and profile auto included)",
            "",
            f"- glued values: {len(expected)} in the CI build; {same} identical, "
            f"{len(rows) - len(moved)} within rounding (relative {RELATIVE:g}), {len(moved)} moved"
            + (f"; not compared, wall times: {', '.join(timings)}" if timings else ""),
            f"- installed by the set-up cell: {', '.join(installed)}",
            "",
        ]
        if rows:
            report += [
                "| value | CI build | Colab-like | relative difference |",
                "|---|---|---|---|",
            ]
            report += [f"| {n} | {a} | {b} | {g:.2g} |" for n, a, b, g in rows[:20]] + [""]
    claims_held, claims_report = claims_on(EXECUTED)
    failed |= not claims_held
    report += claims_report
    report.append(f"{'FAILED' if failed else 'PASSED'}: {time.perf_counter() - start:.0f} s in all")
    (WORK / "report.md").write_text("\n".join(report) + "\n")
    print("\n".join(report))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
