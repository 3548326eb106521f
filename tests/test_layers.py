"""The library's layers, read from its imports: core < training < book < chapters. A module imports
only its own layer and those below, a chapter module no other chapter, and no imports go round in
a circle (the package's __init__ sits above them all: it gathers the names chapters use, loading
each on first use, so that importing a layer loads only it and those below)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import difflab

LIB = Path(difflab.__file__).parent
LAYERS = ("core", "training", "book", "chapters")


def module_name(path: Path) -> str:
    parts = path.relative_to(LIB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(LIB.rglob("*.py"))}


def imported(path: Path) -> set[str]:
    """The difflab modules a file imports, anywhere in it (inside functions too): `from
    difflab.core import metrics` names the module difflab.core.metrics."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                names.add(f"relative import in {path.name}")
            elif node.module and node.module.split(".")[0] == "difflab":
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    names.add(child if child in MODULES else node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.split(".")[0] == "difflab"}
    return names


IMPORTS = {name: imported(path) for name, path in MODULES.items()}


def layer(name: str) -> int | None:
    """The layer's rank of a module (None for difflab's own __init__, above every layer)."""
    parts = name.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 else None


def test_every_module_is_in_a_layer():
    flat = [name for name in MODULES if name != "difflab" and name.split(".")[1] not in LAYERS]
    assert not flat, f"modules outside {LAYERS}: {flat}"


def test_imports_are_absolute():
    relative = {
        name: sorted(i for i in found if i.startswith("relative"))
        for name, found in IMPORTS.items()
    }
    assert not any(relative.values()), {k: v for k, v in relative.items() if v}


@pytest.mark.parametrize("name", [name for name in MODULES if layer(name) is not None])
def test_no_module_imports_a_layer_above_it(name):
    above = sorted(
        i for i in IMPORTS[name] if i in MODULES and layer(i) is not None and layer(i) > layer(name)
    )
    assert not above, f"{name} (layer {LAYERS[layer(name)]}) imports {above}"


def test_no_chapter_module_imports_another():
    chapters = {name for name in MODULES if layer(name) == LAYERS.index("chapters")}
    crossing = {
        name: sorted((IMPORTS[name] & chapters) - {name, "difflab.chapters"}) for name in chapters
    }
    assert not any(crossing.values()), {k: v for k, v in crossing.items() if v}


def test_no_import_circle():
    """Depth-first search over the module graph; a module met again on the current path closes a circle."""
    graph = {
        name: sorted(i for i in found if i in MODULES and i != name)
        for name, found in IMPORTS.items()
    }
    done, path = set(), []

    def visit(name):
        if name in path:
            pytest.fail(f"import circle: {' -> '.join(path[path.index(name) :] + [name])}")
        if name in done:
            return
        path.append(name)
        for child in graph[name]:
            visit(child)
        path.pop()
        done.add(name)

    for name in graph:
        visit(name)


def test_the_rules_catch_a_planted_violation(tmp_path):
    """The checks read what they claim to: a core module importing the zoo is caught."""
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from difflab.book.zoo import zoo\n")
    assert "difflab.book.zoo" in imported(planted)
    assert layer("difflab.book.zoo") > layer("difflab.core.metrics")


# statements, each with the layers it may load; a program runs its statements in one interpreter,
# in order, each allowing at least the layers of the one before it
PROGRAMS = (
    {
        "import difflab": [],
        "import difflab.core.sampling": ["core"],
        "import difflab.training.store": ["core", "training"],
        "from difflab import Role": ["book", "core", "training"],
    },
    {"import difflab\nassert difflab.get_profile('ci').resolution == 16": ["book", "core"]},
)


def probe(statements) -> str:
    """A program that runs `statements` in a fresh interpreter and prints what each one loaded:
    difflab's layers, the heavy display packages, and whether the float32 precision flags moved."""
    lines = [
        "import json, sys, torch",
        "flags = lambda: [torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32]",
        "before, reports = flags(), []",
    ]
    for statement in statements:
        lines += [
            statement,
            "reports.append({"
            "'layers': sorted({n.split('.')[1] for n in sys.modules if n.startswith('difflab.')}), "
            "'heavy': sorted(n for n in ('pandas', 'matplotlib', 'seaborn') if n in sys.modules), "
            "'precision_moved': flags() != before})",
        ]
    return "\n".join([*lines, "print(json.dumps(reports))"])


@pytest.fixture(scope="module")
def loaded() -> dict[str, dict]:
    """Each statement's report, the programs run side by side (each spends its time importing)."""
    runs = [
        (program, subprocess.Popen([sys.executable, "-c", probe(program)], stdout=subprocess.PIPE))
        for program in PROGRAMS
    ]
    reports = {}
    for program, run in runs:
        reports |= dict(zip(program, json.loads(run.communicate()[0])))
        assert run.returncode == 0
    return reports


@pytest.mark.parametrize("statement", [s for program in PROGRAMS for s in program])
def test_importing_a_layer_loads_only_it_and_those_below(loaded, statement):
    allowed = next(program[statement] for program in PROGRAMS if statement in program)
    assert loaded[statement] == {"layers": allowed, "heavy": [], "precision_moved": False}


def test_the_package_gives_the_chapters_names_on_first_use():
    assert {"get_denoiser", "sample", "Role", "rp_score"} <= set(dir(difflab))
    with pytest.raises(AttributeError, match="module 'difflab' has no attribute 'zoo'"):
        difflab.zoo  # noqa: B018 (the catalogue is difflab.catalogue)
