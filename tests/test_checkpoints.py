"""Checkpoints (difflab.training.checkpoints): written atomically, and a damaged file names itself and
the way back."""

import re

import pytest
import torch

from difflab.training import checkpoints


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 2], lambda b: b"\xff" * 16 + b[16:]])
def test_a_damaged_weights_file_names_itself_and_the_way_back(tmp_path, damage):
    path = tmp_path / "model.safetensors"
    checkpoints.save_weights(path, {"w": torch.ones(300)}, {"note": "x"})
    path.write_bytes(damage(path.read_bytes()))  # truncated, or its header overwritten
    with pytest.raises(
        ValueError,
        match=rf"the weights file {re.escape(str(path))} is damaged .*git checkout -- .*make models",
    ):
        checkpoints.load_weights(path)


def test_a_damaged_training_state_says_to_start_over(tmp_path):
    path = tmp_path / "train_state.pt"
    checkpoints.save_state(path, {"step": 3, "w": torch.ones(300)})
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(
        ValueError,
        match=rf"the training state {re.escape(str(path))} is damaged .* delete it to train from the start",
    ):
        checkpoints.load_state(path)


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    checkpoints.save_weights(path, {"w": torch.ones(3)}, {"note": "first"})

    def broken_save(tensors, filename, metadata):
        open(filename, "wb").write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints, "save_file", broken_save)
    with pytest.raises(OSError):
        checkpoints.save_weights(path, {"w": torch.zeros(3)}, {"note": "second"})
    state, metadata = checkpoints.load_weights(path)
    assert torch.equal(state["w"], torch.ones(3)) and metadata == {"note": "first"}
