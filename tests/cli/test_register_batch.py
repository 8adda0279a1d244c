"""`aigc register --batch DIR` and `aigc esp attest-batch` on the embedded chain and anvil: the
request, the ESP's attestation (or its refusal, with the rule's code), the registration and the
manifest.

The ESP's deliveries are recorded in its state file as the worker records them
(services/esp_worker.py), each under a real paid lock; the flow through the API is
tests/api/test_batches.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
from eth_utils import keccak
from PIL import Image
from typer.testing import CliRunner

from aigc_cli.main import app
from ledger import merkle
from ledger.clients.batch_registry import BatchRegistryClient
from services.content import canonical_hash
from services.provenance import detail_descriptor, fingerprint
from tests.contracts.helpers import lock_fee, register_esp

runner = CliRunner()
MODEL = "0x" + "ab" * 32


def _paint(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((64, 64), Image.Resampling.BICUBIC)


@pytest.fixture
def setup(world, tmp_path, monkeypatch):
    """Three images the ESP delivered to the producer under paid locks, saved in a folder
    (on each chain backend: the embedded one and anvil)."""
    monkeypatch.setattr("ledger.connect.connect_deployment", lambda _settings: world.deployment)
    register_esp(world)
    folder, state = tmp_path / "batch", tmp_path / "esp-state.json"
    folder.mkdir()
    tasks = {}
    for seed in (1, 2, 3):
        lock, preimage = lock_fee(world)
        world.htlc(world.esp).withdraw(lock, preimage)
        image = _paint(seed)
        image.save(folder / f"image-{seed}.png")
        tasks[f"0x{seed:064x}"] = {
            "stage": "claimed",
            "content_hash": "0x" + canonical_hash(image).hex(),
            "producer": world.producer.address,
            "fingerprint": "0x" + fingerprint(image).to_bytes32().hex(),
            "detail_hash": "0x" + keccak(detail_descriptor(image)).hex(),
            "seed": seed,
            "model_id": MODEL,
            "lock": lock.to_json(),
        }
    state.write_text(json.dumps(tasks))
    return world, folder, state


def _register(folder):
    return runner.invoke(app, ["register", "--batch", str(folder), "--dev-account", "1"])


def _attest(folder, state):
    return runner.invoke(
        app,
        [
            "esp",
            "attest-batch",
            str(folder / "batch-request.json"),
            "--out",
            str(folder / "batch-attestation.json"),
            "--state",
            str(state),
            "--dev-account",
            "2",
        ],
    )


def test_register_a_folder_as_one_batch(setup):
    world, folder, state = setup
    first = _register(folder)
    assert first.exit_code == 0, first.output
    assert "send it to your ESP" in first.output
    request = json.loads((folder / "batch-request.json").read_text())
    assert request["producer"] == world.producer.address and len(request["items"]) == 3
    attested = _attest(folder, state)
    assert attested.exit_code == 0, attested.output
    second = _register(folder)
    assert second.exit_code == 0, second.output
    manifest = json.loads((folder / "batch-manifest.json").read_text())
    client = BatchRegistryClient(world.deployment)
    tokens = [int(it["token_id"]) for it in manifest["items"]]
    assert tokens == [merkle.token_id(manifest["batch_id"], i) for i in range(3)]
    assert [client.owner_of(t) for t in tokens] == [world.producer.address] * 3
    assert client.batch(manifest["batch_id"]).items_root.hex() == manifest["items_root"][2:]
    assert f"batch {manifest['batch_id']}" in second.output


def test_the_esp_refuses_an_image_it_did_not_make(setup):
    _world, folder, state = setup
    _paint(99).save(folder / "stranger.png")
    assert _register(folder).exit_code == 0
    refused = _attest(folder, state)
    assert refused.exit_code == 1
    assert "not_generated" in refused.output and "not an image this ESP generated" in refused.output
    assert not (folder / "batch-attestation.json").exists()


def test_an_image_outside_the_attestation_is_refused_before_anything_is_sent(setup):
    world, folder, state = setup
    assert _register(folder).exit_code == 0
    assert _attest(folder, state).exit_code == 0
    _paint(42).save(folder / "late.png")
    balance = world.balance(world.producer.address)
    refused = _register(folder)
    assert refused.exit_code == 1 and "late.png: not in the ESP's attestation" in refused.output
    assert world.balance(world.producer.address) == balance  # no commit, no bond
    (folder / "late.png").unlink()
    (folder / "image-2.png").unlink()
    missing = _register(folder)
    assert missing.exit_code == 1 and "attested images are missing" in missing.output


def test_a_run_stopped_between_commit_and_reveal_resumes_with_its_salt(setup, monkeypatch):
    world, folder, state = setup
    assert _register(folder).exit_code == 0
    assert _attest(folder, state).exit_code == 0

    def crash(self, prepared, *, metadata_uri):
        raise KeyboardInterrupt  # the process dies after the commit, before the reveal

    monkeypatch.setattr("services.batch.register.LedgerBatchChain.reveal_batch", crash)
    crashed = _register(folder)
    assert crashed.exit_code != 0 and (folder / "batch-commit.json").exists()
    monkeypatch.undo()
    monkeypatch.setattr("ledger.connect.connect_deployment", lambda _settings: world.deployment)
    resumed = _register(folder)
    assert resumed.exit_code == 0, resumed.output
    assert "already committed: revealing" in resumed.output
    manifest = json.loads((folder / "batch-manifest.json").read_text())
    client = BatchRegistryClient(world.deployment)
    assert client.owner_of(int(manifest["items"][0]["token_id"])) == world.producer.address
    assert not (folder / "batch-commit.json").exists()
