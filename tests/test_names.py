"""One name for one thing: a profile's behaviour is read from its knobs, never from its name; a
model is found by its role, never by the label a reader sees; and a name the library defines at
the top of a module means one thing (core, training and book define each once)."""

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from difflab.book.catalogue import Role
from difflab.training.loop import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "difflab"
CATALOGUE = LIB / "book" / "catalogue.py"  # where each label is written, once
FIELDS = {field.name for field in dataclasses.fields(TrainConfig)}  # "parent" is one, and a label


def code_files() -> list[Path]:
    """Every Python file of the library, the studies, the tests, the scripts and the benchmarks."""
    folders = ("lib/difflab", "studies", "tests", "scripts", "benchmarks")
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def chapter_code(path: Path) -> str:
    """A MyST chapter's code, its code cells and the indented code of its solutions, at their line
    numbers (the prose blanked)."""
    lines, inside = [], None
    for line in path.read_text().splitlines():
        code = inside and (inside.startswith("```{code-cell}") or line.startswith("    "))
        if line.startswith("```{code-cell}") or line.startswith("```{solution}"):
            inside = line
        elif line.startswith("```"):
            inside = None
        lines.append(line if code and not line.startswith("```") else "")
    return "\n".join(lines)


def sources() -> dict[str, str]:
    here = Path(__file__).resolve()  # its planted examples aside
    texts = {str(p.relative_to(ROOT)): p.read_text() for p in code_files() if p != here}
    texts |= {
        str(p.relative_to(ROOT)): chapter_code(p) for p in sorted((ROOT / "chapters").glob("*.md"))
    }
    return texts


PROFILE_SWITCH = re.compile(r"""\.name\s*(==|!=|\bin\b|\bnot in\b)\s*[("'\[]""")


def profile_switches(texts: dict[str, str]) -> list[str]:
    return [
        f"{path}:{number}: {line.strip()}"
        for path, text in texts.items()
        for number, line in enumerate(text.splitlines(), 1)
        if PROFILE_SWITCH.search(line) and not line.strip().startswith("assert")
    ]


def labels_as_literals(texts: dict[str, str]) -> list[str]:
    """Each line that writes a role's label as a string literal (outside the catalogue)."""
    labels = "|".join(re.escape(role.label) for role in Role if role.label not in FIELDS)
    pattern = re.compile(rf"(['\"])(?:{labels})\1")
    return [
        f"{path}:{number}: {line.strip()}"
        for path, text in texts.items()
        if path != str(CATALOGUE.relative_to(ROOT))
        for number, line in enumerate(text.splitlines(), 1)
        if pattern.search(line)
    ]


def test_no_behaviour_depends_on_a_profiles_name():
    assert profile_switches(sources()) == []


def test_no_model_is_found_by_its_label():
    assert labels_as_literals(sources()) == []


def test_the_checks_catch_what_they_exist_to_catch(tmp_path):
    planted = {
        "lib/x.py": 'if profile.name == "paper":\n    pass\nx = models["U-Net S, seed 1"]\n',
        "chapters/x.md": "y = configs['DiT']\n",
    }
    assert profile_switches(planted) == ['lib/x.py:1: if profile.name == "paper":']
    assert labels_as_literals(planted) == [
        'lib/x.py:3: x = models["U-Net S, seed 1"]',
        "chapters/x.md:1: y = configs['DiT']",
    ]
    text = "```{code-cell} ipython3\na = 1\n```\nprose 'DiT'\n```{solution} s\n    b = 2\n```\n"
    (path := tmp_path / "planted_chapter.md").write_text(text)
    assert chapter_code(path) == "\na = 1\n\n\n\n    b = 2\n"


def top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if not name.startswith("_")}


@pytest.mark.parametrize("name", ["main"])  # the command line of each module that has one
def test_a_name_means_one_thing_below_the_chapters(name):
    owners = {}
    for layer in ("core", "training", "book"):
        for path in sorted((LIB / layer).glob("*.py")):
            for defined in top_level_names(path) - {name}:
                owners.setdefault(defined, []).append(path.stem)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}
