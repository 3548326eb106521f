"""The `paper` profile's code paths cannot rot: every chapter runs to the end at profile `smoke`
(3-channel CIFAR-shaped images made here, at 16x16; the paper profile's sweep shape and knobs at a
toy scale; models trained in a few steps into a temporary model cache) and glues every value that
the `ci` build glues. Its numbers mean nothing; that it runs and produces them is the test."""

import time

import pytest
from book import ROOT, glued, glued_in, script

build_book = script("build_book")
pytestmark = pytest.mark.book  # it compares with the CI build's glued values

# the chapters' own counts at a toy size (chapter 7 picks steps of the 25-step grid: the profile keeps 25)
KNOBS = {
    "01_deterministic_map": {"n_agreement": 8, "seeds": [0, 1], "sample_steps": 6},
    "02_reproducibility": {"n_checks": 8, "n_sscd": 4, "seeds": [0, 1], "sample_steps": 6},
    "03_memorization": {"n_sscd": 4, "seeds": [0, 1], "sample_steps": 6},
    "04_symmetry_breaking": {"n_paths": 200},
    "06_beyond_unconditional": {"n_noises": 20, "n_measured": 8, "sample_steps": 6},
    "07_when_decided": {"n_noises": 8},
    "08_local_machines": {"n_noises": 2, "n_calibration": 2, "seeds": [0, 1]},
    "09_training_time": {"study": None},  # measures its own runs (ci reads the committed study)
}
CHAPTERS = [notebook.stem for notebook in build_book.chapters()]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """Each chapter executed at profile smoke, in order (later chapters find the earlier ones' models):
    its executed notebook, or the error it stopped with."""
    data, out = tmp_path_factory.mktemp("smoke-data"), tmp_path_factory.mktemp("smoke")
    (data / "studies").symlink_to(
        ROOT / "data" / "studies"
    )  # the chapters read the committed studies
    results, start = {}, time.perf_counter()
    with pytest.MonkeyPatch.context() as env:  # the kernels inherit these
        for name, value in {
            "DIFFLAB_DATA": data,
            "DIFFLAB_TRAIN": "1",
            "DIFFLAB_SAMPLE_CACHE": out / "samples",
            "TQDM_DISABLE": "1",
        }.items():
            env.setenv(name, str(value))
        for chapter in CHAPTERS:
            notebook = ROOT / "chapters" / f"{chapter}.ipynb"
            try:
                build_book.execute(notebook, "smoke", out, **KNOBS.get(chapter, {}))
                results[chapter] = out / "chapters" / f"{chapter}.ipynb"
            except Exception as error:  # papermill's, with the failing cell
                results[chapter] = error
    print(f"smoke: {len(CHAPTERS)} chapters in {time.perf_counter() - start:.0f} s")
    return results


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_runs_its_paper_path_at_a_toy_scale(smoke, chapter):
    result = smoke[chapter]
    if isinstance(result, Exception):
        pytest.fail(f"{chapter} failed at profile smoke:\n{result}")
    missing = set(glued(chapter)) - set(glued_in(result))
    assert not missing, f"{chapter} at profile smoke glued no {sorted(missing)}"
