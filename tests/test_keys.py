"""A committed model is found under every Python a reader may run (Colab's 3.12 among them): its
key is computed by difflab/training/keys.py with the standard library alone, from its config and revisions."""

import json
import subprocess

import pytest
from book import ROOT, script

from difflab.training import keys

MANIFESTS = sorted((ROOT / "data" / "models").glob("*/manifest.json"))
interpreter = script("colab_check").interpreter  # pyenv's Python of a version, or None


@pytest.mark.parametrize("version", ["3.10", "3.11", "3.12", "3.13"])
def test_every_committed_model_is_found_under_every_python(version):
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} under pyenv here")
    run = subprocess.run(
        [
            str(python),
            "-I",
            str(ROOT / "lib" / "difflab" / "training" / "keys.py"),
            *map(str, MANIFESTS),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.split() == [m.parent.name for m in MANIFESTS]
    assert len(MANIFESTS) >= 30


def test_keys_need_only_the_standard_library():
    """keys.py imports nothing that pip installs, so any interpreter can compute a key."""
    import ast
    import sys

    tree = ast.parse((ROOT / "lib" / "difflab" / "training" / "keys.py").read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


def test_every_architecture_has_a_revision():
    from difflab.core.models import ARCHITECTURES

    assert set(keys.NETWORK_REVISIONS) == set(ARCHITECTURES)


def test_a_key_names_config_and_revisions_and_refuses_an_unknown_network(monkeypatch):
    record = json.loads(MANIFESTS[-1].read_text())
    assert keys.folder_name(record) == MANIFESTS[-1].parent.name
    with pytest.raises(ValueError, match=r"arch='vae' has no network revision; allowed: 'unet-xs'"):
        keys.model_key({**record["config"], "arch": "vae"})
