"""A model's cache key names its network's revision, not its code: these tests hold each network
to the probe recorded for its revision (difflab.training.probes), so that a new diffusers or torch, or a
refactor, that keeps the function keeps the committed models, and a change of function cannot."""

import pytest
import torch

from difflab.core import models
from difflab.core.models import ARCHITECTURES
from difflab.training import keys, probes

FIX = (
    "if the change is meant, raise its revision in difflab.training.keys.NETWORK_REVISIONS, retrain its models "
    "(`make models`), record with `python -m difflab.training.probes --write` and commit data/; otherwise revert it"
)


@pytest.fixture(scope="module")
def recorded():
    return probes.recorded_probes()


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_each_network_computes_what_its_revision_recorded(arch, recorded):
    assert arch in recorded, (
        f"no probe is recorded for {arch!r}: run `python -m difflab.training.probes --write`"
    )
    assert recorded[arch]["revision"] == keys.NETWORK_REVISIONS[arch], (
        f"{arch!r}'s revision was raised but its probe is not recorded: run `python -m difflab.training.probes --write`"
    )
    changed = probes.differences(recorded[arch], probes.probe(arch))
    assert not changed, f"{arch!r} now computes something else: {changed[0]}; {FIX}"


class _Doubled(models.MLPBackbone):
    def forward(self, x, t):
        return 2 * super().forward(x, t)


def test_a_probe_sees_a_change_of_function_or_layout_and_not_rounding(monkeypatch):
    before = probes.probe("mlp")
    with torch.random.fork_rng():
        torch.manual_seed(123)  # the probe's weights are its own
        assert not probes.differences(before, probes.probe("mlp"))
    rounded = {**before, "output": [v * (1 + 1e-6) for v in before["output"]]}
    assert not probes.differences(before, rounded)
    monkeypatch.setitem(ARCHITECTURES, "mlp", lambda c, r: _Doubled((c, r, r)))
    assert probes.differences(before, probes.probe("mlp"))[0].startswith(
        "the output (moved by up to"
    )
    monkeypatch.setitem(ARCHITECTURES, "mlp", lambda c, r: models.MLPBackbone((c, r, r), width=128))
    assert probes.differences(before, probes.probe("mlp")) == [
        "the state dict's layout (parameter names or shapes)"
    ]


def test_probing_leaves_the_random_stream_alone():
    torch.manual_seed(0)
    probes.probe("mlp")
    after = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after, torch.rand(3))


def test_a_missing_record_says_how_to_make_it(tmp_data):
    with pytest.raises(
        FileNotFoundError,
        match=r"network_probes.json is missing .*python -m difflab.training.probes --write",
    ):
        probes.recorded_probes()
