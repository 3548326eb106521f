"""Training under accelerate on the CPU: one process trains the plain loop's weights bit for bit,
two processes (gloo, half of each batch each) the same model up to the order of float sums.

Measured on CONFIG after 6 steps (lr 1e-3): the plain loop on 1 thread and on 2 differs by 1.7e-5 (sum
order alone); two processes differ from it by 2.7e-5; two processes that both train on the first half
of each batch (a broken split) by 9.9e-3. The bound, 1e-4, sits between them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from difflab.core import parallel
from difflab.training.loop import TrainConfig, train

# conditional (labels dropped per row) and EDM (noise levels drawn per row): every per-row draw
CONFIG = TrainConfig(
    resolution=8,
    subset=64,
    arch="unet-s-class",
    label_dropout=0.2,
    objective="edm",
    steps=6,
    batch_size=16,
)
SCRIPT = Path(__file__).with_name("parallel_train.py")
ACCELERATE = Path(sys.executable).with_name("accelerate")


def _launch(folder: Path, processes: int, until: int | None = None) -> tuple[dict, dict]:
    """The EMA weights and summary of CONFIG trained by `accelerate launch` with `processes` CPU processes."""
    folder.mkdir(exist_ok=True)
    how = ["--cpu"] if processes == 1 else ["--multi_gpu"]  # torchrun's launcher; gloo on the CPU
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [
            ACCELERATE,
            "launch",
            *how,
            "--num_processes",
            str(processes),
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            "29517",
            SCRIPT,
            json.dumps(CONFIG.as_dict()),
            folder,
            *([str(until)] if until else []),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    return load_file(folder / "weights.safetensors"), json.loads(
        (folder / "summary.json").read_text()
    )


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The plain loop on one thread, as each launched process runs (thread counts change float sums)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        denoiser, summary = train(
            CONFIG, tmp_path_factory.mktemp("plain") / "train_state.pt", progress=False
        )
    finally:
        torch.set_num_threads(threads)
    return denoiser.net.state_dict(), summary


def test_a_plain_run_does_not_start_accelerate():
    assert (
        not parallel.launched()
        and parallel.accelerator() is None
        and parallel.rows(6) == slice(None)
    )


def test_one_process_under_accelerate_trains_the_plain_loops_weights(plain, tmp_path):
    weights, summary = _launch(tmp_path, 1)
    assert weights.keys() == plain[0].keys() and all(
        torch.equal(weights[k], plain[0][k]) for k in weights
    )
    assert summary["processes"] == 1 and summary["final_loss"] == plain[1]["final_loss"]


def test_two_processes_train_the_same_model_and_resume_exactly(plain, tmp_path):
    weights, summary = _launch(tmp_path / "whole", 2)
    gap = max((weights[k] - plain[0][k]).abs().max().item() for k in weights)
    assert summary["processes"] == 2 and gap < 1e-4, gap
    assert summary["final_loss"] == pytest.approx(plain[1]["final_loss"], rel=1e-5)
    _launch(tmp_path / "resumed", 2, until=3)
    resumed, _ = _launch(tmp_path / "resumed", 2)
    assert all(torch.equal(resumed[k], weights[k]) for k in weights)
