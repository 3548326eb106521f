"""A model's cache key names a revision of the training code, not its text: these tests hold the
code to the digests recorded for its revision (difflab.training.digests), so that a refactor keeps the
committed models and a change of behaviour cannot keep their keys."""

import functools
import json

import pytest
import torch

from difflab.training import classifier, digests, keys

FIX = (
    "if the change is meant, raise difflab.training.keys.TRAINING_REVISION (CLASSIFIER_REVISION for the classifier), "
    "retrain with `make models`, record with `python -m difflab.training.digests --write` and commit data/; "
    "otherwise revert it"
)


def test_training_computes_what_its_revision_recorded():
    recorded, now = digests.recorded_digests(), digests.pinned_digests()
    if (recorded["torch"], recorded["diffusers"]) != (now["torch"], now["diffusers"]):
        pytest.skip(
            f"digests recorded with torch {recorded['torch']} and diffusers {recorded['diffusers']}; "
            f"this machine has {now['torch']} and {now['diffusers']}"
        )
    revisions = ("training_revision", "classifier_revision")
    assert [recorded[k] for k in revisions] == [now[k] for k in revisions], (
        "a revision was raised but its digests are not recorded: run `python -m difflab.training.digests --write`"
    )
    if now["cpu"] not in recorded["cases_by_cpu"]:
        pytest.skip(
            f"no digests recorded on a {now['cpu']} CPU (recorded: {sorted(recorded['cases_by_cpu'])}); "
            f"record them here with `python -m difflab.training.digests --write`"
        )
    mine = recorded["cases_by_cpu"][now["cpu"]]
    elsewhere = {name for cases in recorded["cases_by_cpu"].values() for name in cases}
    unrecorded = set(now["cases"]) - set(mine) - elsewhere
    assert not unrecorded, (
        f"cases {sorted(unrecorded)} have no digest on any CPU: record them with --write"
    )
    changed = {
        name: f"{mine[name]['digest']} -> {case['digest']}"  # a case added on another vendor's
        for name, case in now["cases"].items()
        if name in mine and mine[name] != case
    }  # CPU waits for a record here
    assert not changed, (
        f"training now computes other weights (digests {json.dumps(changed)}): {FIX}"
    )


def test_each_cpu_vendor_keeps_its_own_record():
    old = {
        **digests.versions(),
        "cases_by_cpu": {"AuthenticAMD": {"a": 1}, "GenuineIntel": {"a": 2}},
    }
    merged = digests.with_this_cpu(old, {"cpu": "GenuineIntel", "cases": {"a": 3}})
    assert merged["cases_by_cpu"] == {"AuthenticAMD": {"a": 1}, "GenuineIntel": {"a": 3}}
    stale = {**old, "torch": "0.0"}  # another torch: the other records are out of date
    assert digests.with_this_cpu(stale, {"cpu": "X", "cases": {}})["cases_by_cpu"] == {"X": {}}
    assert digests.cpu_vendor()


def test_the_digest_is_deterministic_and_sees_a_change_of_behaviour(tmp_path, monkeypatch):
    case = digests.CASES["mlp eps"]
    first = digests.train_digest(case, tmp_path / "a")
    assert (
        digests.train_digest(case, tmp_path / "b") == first
    )  # a rerun (with its resume) is bit-identical
    monkeypatch.setattr(torch.optim, "AdamW", functools.partial(torch.optim.AdamW, weight_decay=0))
    assert digests.train_digest(case, tmp_path / "c") != first  # no weight decay: another digest


def test_the_classifier_revision_is_in_its_key(monkeypatch):
    before = classifier.classifier_dir_key(digests.CLASSIFIER)
    monkeypatch.setattr(keys, "CLASSIFIER_REVISION", keys.CLASSIFIER_REVISION + 1)
    assert classifier.classifier_dir_key(digests.CLASSIFIER) != before


def test_digests_need_pinned_numerics_and_a_recording(monkeypatch, tmp_data):
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    with pytest.raises(
        RuntimeError, match="digests need pinned numerics; set .*ATEN_CPU_CAPABILITY"
    ):
        digests._compute()
    with pytest.raises(
        FileNotFoundError,
        match=r"training_digests.json is missing .*python -m difflab.training.digests --write",
    ):
        digests.recorded_digests()
