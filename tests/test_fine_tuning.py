"""Fine-tuning (issue 15, part 3's machinery): a config with a parent starts from the parent's
trained weights, can train on one class, and can be committed in float16 without changing the
keys of the models committed before these fields existed."""

import pytest
import torch

from difflab import sample
from difflab.chapters.ch06_beyond_unconditional import (
    along_fine_tuning,
    along_images,
    fine_tuning_runs,
    trend,
    trends,
)
from difflab.training import checkpoints, store
from difflab.training.loop import TrainConfig, train, training_set

PARENT = TrainConfig(
    resolution=8, subset=64, arch="unet-xs", objective="edm", steps=6, batch_size=16
)
CHILD = TrainConfig(
    **{
        **PARENT.as_dict(),
        "parent": PARENT,
        "only_class": 7,
        "subset": None,
        "steps": 4,
        "snapshots": (2,),
        "stored_as": "float16",
    }
)


def _weights(denoiser):
    return torch.cat([p.detach().flatten() for p in denoiser.net.parameters()])


def test_new_fields_stay_out_of_the_old_configs_keys():
    assert not {"only_class", "parent", "stored_as"} & set(PARENT.as_dict())
    assert CHILD.as_dict()["parent"] == PARENT.as_dict() and TrainConfig(**CHILD.as_dict()) == CHILD
    for field, value in [("only_class", 3), ("parent", PARENT), ("stored_as", "float16")]:
        assert store.config_key(
            TrainConfig(**{**PARENT.as_dict(), field: value})
        ) != store.config_key(PARENT)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(only_class=10), r"only_class=10 is not allowed; allowed: None or 0..9"),
        (
            dict(stored_as="bfloat16"),
            r"stored_as='bfloat16' is not allowed; allowed: 'float32', 'float16'",
        ),
        (
            dict(parent=TrainConfig(resolution=8, arch="unet-s")),
            r"a fine-tuned model keeps its parent's",
        ),
    ],
)
def test_bad_fine_tuning_fields_name_themselves(change, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{**PARENT.as_dict(), **change})


def test_only_class_trains_on_that_class_alone():
    images, labels = training_set(CHILD)
    assert len(images) == 6000 and (labels == 7).all()


def test_a_child_needs_its_parents_weights(tmp_path):
    with pytest.raises(ValueError, match="parent_weights must be given exactly when"):
        train(CHILD, tmp_path / "state.pt", progress=False)
    with pytest.raises(ValueError, match="parent_weights must be given exactly when"):
        train(PARENT, tmp_path / "state.pt", progress=False, parent_weights={})


def test_fine_tuning_starts_from_the_parent_and_is_stored_in_half_precision(tmp_data):
    parent = store.trained_denoiser(PARENT, "cpu", progress=False, allow_training=True)
    child = store.trained_denoiser(CHILD, "cpu", progress=False, allow_training=True)
    fresh = store.trained_denoiser(
        TrainConfig(**{**CHILD.as_dict(), "parent": None, "seed": 1}),
        "cpu",
        progress=False,
        allow_training=True,
    )
    # four small steps move the child a little away from its parent; a fresh start is far from both
    assert (_weights(child) - _weights(parent)).norm() < 0.2 * (
        _weights(fresh) - _weights(parent)
    ).norm()
    stored, _ = checkpoints.load_weights(store.model_dir(CHILD) / "model.safetensors")
    assert all(v.dtype == torch.float32 for v in stored.values())  # read back as float32
    assert torch.equal(
        _weights(child), _weights(child).half().float()
    )  # ... holding float16 values
    snapshot = store.trained_snapshot(CHILD, 2, "cpu")
    assert torch.equal(_weights(snapshot), _weights(snapshot).half().float())
    noise = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    ends = {"parent": sample(parent, noise, "ddim", 3), "child": sample(child, noise, "ddim", 3)}
    images = along_images(CHILD, ends["parent"], ends["child"], noise, 3, "cpu")
    assert list(images) == [0, 2, 4] and images[0] is ends["parent"] and images[4] is ends["child"]
    assert torch.equal(images[2], sample(snapshot, noise, "ddim", 3))


def test_half_precision_weights_round_trip(tmp_path):
    state = {"w": torch.randn(5, dtype=torch.float64).float(), "steps": torch.tensor([3])}
    checkpoints.save_weights(tmp_path / "w.safetensors", CHILD.stored(state), {})
    loaded, _ = checkpoints.load_weights(tmp_path / "w.safetensors")
    assert (tmp_path / "w.safetensors").stat().st_size < 200
    assert loaded["w"].dtype == torch.float32 and torch.equal(
        loaded["w"], state["w"].half().float()
    )
    assert torch.equal(loaded["steps"], state["steps"])


def test_along_fine_tuning_scores_each_step_against_each_reference():
    g = torch.Generator().manual_seed(0)
    parent, scratch = torch.rand(50, 1, 8, 8, generator=g), torch.rand(50, 1, 8, 8, generator=g)
    images = {0: parent, 10: 0.5 * (parent + scratch), 20: scratch}
    table = along_fine_tuning(images, {"parent": parent, "from scratch": scratch}, threshold=0.9)
    assert table.set_index(["step", "against"]).loc[(0, "parent"), "rp"] == 1.0
    assert table.set_index(["step", "against"]).loc[
        (20, "from scratch"), "median_similarity"
    ] == pytest.approx(1.0)
    assert trend(table, "from scratch") > 0.5 and trend(table, "parent") < -0.5


def test_fine_tuning_runs_follow_each_run_at_each_seed_and_trends_read_them(tmp_data):
    parent = store.trained_denoiser(PARENT, "cpu", progress=False, allow_training=True)
    child = store.trained_denoiser(CHILD, "cpu", progress=False, allow_training=True)
    noise = {0: torch.randn(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))}
    samples = {
        name: {0: sample(model, noise[0], "ddim", 5).cpu()}
        for name, model in {"parent": parent, "child": child, "scratch": parent}.items()
    }
    along = fine_tuning_runs(
        {"child": CHILD}, samples, {"child": ("parent", "parent")}, "scratch", noise, 5, 0.9
    )
    assert set(along["run"]) == {"child"} and set(along["seed"]) == {0}
    table = trends(along)
    assert list(table.columns) == ["its parent", "from scratch"] and len(table) == 1
