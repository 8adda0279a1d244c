"""`aigc court claim-misattested TOKEN` and `aigc court finalize-misattested TOKEN`: the victim
of a mis-attested copy (its ESP attested another image's values) claims it from the command
line, paying the court's deposit plus the committee's review fee; the jurors recompute the
values and vote; the finalize revokes the copy. What the court or the committee refuses is a
one-line error with the contract's error name, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import skimage.data
from PIL import Image, ImageOps
from typer.testing import CliRunner

from aigc_cli.main import app
from ledger.clients.registry import DisputeState, TokenStatus
from services.provenance import detail_descriptor, fingerprint
from tests.contracts.committee_kit import CommitteeWorld, committee_world
from tests.contracts.helpers import register_esp
from tests.contracts.misattestation_kit import Images, court, honest_votes, png, register_pixels

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    """A CLI run's exit code and its output with Rich's line wrapping undone."""
    result = runner.invoke(app, ["court", *args])
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def cw(embedded_chain: Any) -> Iterator[CommitteeWorld]:
    yield from committee_world(embedded_chain)


def _misattested(world: Any) -> tuple[int, Image.Image]:
    """The attacker's mirrored camera attested by its own ESP with the astronaut's values."""
    register_esp(world)
    esp = register_esp(world, world.accounts[8])
    copy = ImageOps.mirror(Image.fromarray(skimage.data.camera()).convert("RGB"))
    unrelated = Image.fromarray(skimage.data.astronaut()).convert("RGB")
    token = register_pixels(
        world,
        world.attacker,
        copy,
        esp=esp,
        fingerprint=fingerprint(unrelated).to_bytes32(),
        detail=detail_descriptor(unrelated),
    )
    return token, copy


def test_a_victim_claims_and_finalizes_a_misattested_copy_from_the_cli(
    cw: CommitteeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = cw.world
    monkeypatch.setattr("ledger.connect.connect_deployment", lambda _s: world.deployment)
    dev = [a.address for a in world.chain.dev_accounts()]
    victim = str(dev.index(world.producer.address))
    token, copy = _misattested(world)

    code, out = _run("claim-misattested", "not-a-token", "--dev-account", victim)
    assert code != 0 and "bad_token" in out and "Traceback" not in out, out
    code, out = _run("claim-misattested", hex(token ^ 1), "--dev-account", victim)
    assert code != 0 and "no Registered event" in out and "Traceback" not in out, out
    # no jurors enrolled: refused by the committee's error name, nothing paid
    code, out = _run("claim-misattested", str(token), "--dev-account", victim)
    assert code != 0 and "CommitteeTooSmall" in out and "Traceback" not in out, out
    code, out = _run("finalize-misattested", str(token), "--dev-account", victim)
    assert code != 0 and "no_open_claim" in out, out

    cw.enroll()
    fee = cw.committee().params().review_fee
    deposit = court(world, world.buyer).deposit()
    before = world.balance(world.producer.address)
    code, out = _run("claim-misattested", hex(token), "--dev-account", victim)
    assert code == 0, out
    assert f"deposit {deposit} wei + review fee {fee} wei" in out, out
    claim = court(world, world.buyer).misattestation(token)
    assert (claim.state, claim.claimant) == (DisputeState.OPEN, world.producer.address)
    assert before - world.balance(world.producer.address) >= deposit + fee
    code, out = _run("claim-misattested", str(token), "--dev-account", victim)
    assert code != 0 and "CourtDisputeExists" in out, out
    code, out = _run("finalize-misattested", str(token), "--dev-account", victim)
    assert code != 0 and "CourtDisputeWindow" in out and "Traceback" not in out, out

    key = cw.draw(_review_key(world, token))
    votes = honest_votes(cw, key, token, Images({token: png(copy)}))
    assert votes == [True] * 5
    cw.vote(key, votes)
    code, out = _run("finalize-misattested", str(token), "--dev-account", victim)
    assert code == 0 and "upheld: the token is revoked" in out, out
    assert world.registry(world.deployer).record(token).status is TokenStatus.REVOKED
    assert court(world, world.buyer).misattestation(token).state is DisputeState.UPHELD


def _review_key(world: Any, token: int) -> bytes:
    """The committee's key of the token's open claim (its MisattestationClaimed)."""
    from ledger.clients.committee import record_review_key

    claim = court(world, world.buyer).misattestation(token)
    proof = world.registry(world.deployer).registered(token).proof
    return record_review_key(
        court(world, world.buyer).address, token, proof.fingerprint, proof.detail_hash, claim.round
    )
