"""`aigc court claim-misattested ITEM --manifest FILE` and `aigc court finalize-misattested ITEM`:
the victim of a copy hidden as a batch item (its ESP attested an unrelated image's leaf values)
claims it from the command line. The item's fingerprint and proof come from the chain; its
opening (content hash, descriptor, seed, items-root proof) only from its batch's manifest, which
the chain does not hold: the CLI takes it as ``--manifest FILE`` and checks it against the batch's
on-chain roots. The finalize needs no manifest (the claimed descriptor is the court's
``ItemOpened``). Before, the CLI sent ``claimMisattested`` with the item's id, which has no
Registry record: "no Registered event", and a batched copy was unclaimable from the CLI."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import skimage.data
from eth_utils import keccak
from PIL import Image, ImageOps
from typer.testing import CliRunner

from aigc_cli.main import app
from ledger.clients.committee import record_review_key
from ledger.clients.registry import DisputeState, TokenStatus
from services.provenance import detail_descriptor, fingerprint
from tests.contracts.batch_kit import client as batch_client
from tests.contracts.committee_kit import CommitteeWorld, committee_world
from tests.contracts.helpers import register_esp
from tests.contracts.misattestation_kit import (
    MANIFESTS,
    Images,
    court,
    honest_item_votes,
    png,
    register_item_pixels,
)

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    """A CLI run's exit code and its output with Rich's line wrapping undone."""
    result = runner.invoke(app, ["court", *args])
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def cw(embedded_chain: Any) -> Iterator[CommitteeWorld]:
    yield from committee_world(embedded_chain)


def test_a_victim_claims_and_finalizes_a_misattested_batch_item_from_the_cli(
    cw: CommitteeWorld, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    world = cw.world
    monkeypatch.setattr("ledger.connect.connect_deployment", lambda _s: world.deployment)
    dev = [a.address for a in world.chain.dev_accounts()]
    victim = str(dev.index(world.producer.address))
    register_esp(world)
    esp = register_esp(world, world.accounts[8])
    buf = io.BytesIO()
    ImageOps.mirror(Image.fromarray(skimage.data.camera()).convert("RGB")).save(
        buf, format="JPEG", quality=30
    )
    copy = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    unrelated = Image.fromarray(skimage.data.astronaut()).convert("RGB")
    item = register_item_pixels(
        world,
        world.attacker,
        copy,
        esp=esp,
        fingerprint=fingerprint(unrelated).to_bytes32(),
        detail=detail_descriptor(unrelated),
    )
    token = item.token_id
    manifest = tmp_path / "batch-manifest.json"
    manifest.write_text(json.dumps(MANIFESTS[token]))
    forged = json.loads(manifest.read_text())
    forged["items"][token & 1]["seed"] = "99"  # another seed: not the batch's items root
    forged_file = tmp_path / "forged.json"
    forged_file.write_text(json.dumps(forged))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    # refusals: one line each, nothing paid
    code, out = _run("claim-misattested", str(token), "--dev-account", victim)
    assert code != 0 and "manifest_required" in out and "Traceback" not in out, out
    for path, why in ((forged_file, "manifest_mismatch"), (broken, "bad_manifest")):
        args = ("claim-misattested", str(token), "--manifest", str(path), "--dev-account", victim)
        code, out = _run(*args)
        assert code != 0 and why in out and "Traceback" not in out, (why, out)
    past = token | 0xFF  # index 255 of a two-item batch
    code, out = _run(
        "claim-misattested", str(past), "--manifest", str(manifest), "--dev-account", victim
    )
    assert code != 0 and "unknown_item" in out, out
    code, out = _run("finalize-misattested", str(token), "--dev-account", victim)
    assert code != 0 and "no_open_claim" in out, out
    assert court(world, world.buyer).misattestation(token).state is DisputeState.NONE

    cw.enroll()
    fee = cw.committee().params().review_fee
    deposit = court(world, world.buyer).deposit()
    before = world.balance(world.producer.address)
    code, out = _run(
        "claim-misattested", hex(token), "--manifest", str(manifest), "--dev-account", victim
    )
    assert code == 0, out
    assert f"deposit {deposit} wei + review fee {fee} wei" in out and esp.address in out, out
    claim = court(world, world.buyer).misattestation(token)
    assert (claim.state, claim.claimant) == (DisputeState.OPEN, world.producer.address)
    assert before - world.balance(world.producer.address) >= deposit + fee
    code, out = _run("finalize-misattested", str(token), "--dev-account", victim)
    assert code != 0 and "CourtDisputeWindow" in out and "Traceback" not in out, out

    key = cw.draw(
        record_review_key(
            court(world, world.buyer).address,
            token,
            item.fingerprint,
            keccak(item.detail),
            claim.round,
        )
    )
    votes = honest_item_votes(cw, key, item, Images({token: png(copy)}))
    assert votes == [True] * 5
    cw.vote(key, votes)
    # the finalize reads the claimed record from the chain: no --manifest
    code, out = _run("finalize-misattested", str(token), "--dev-account", victim)
    assert code == 0 and "upheld: the token is revoked" in out, out
    assert batch_client(world, world.deployer).status(token) is TokenStatus.REVOKED
    assert court(world, world.buyer).misattestation(token).state is DisputeState.UPHELD
