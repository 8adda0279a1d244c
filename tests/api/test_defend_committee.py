"""The defender and the committee's money: a review cancelled at its draw (too few free jurors)
owes its fee back to the requester by pull payment (``CommitteeVerifier.claim``); the defender
that requested it claims it when it sees the cancellation, once, a restarted one too; a review
settled without a quorum owes it back as well, and the defender's next pass claims it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_utils import keccak

from ledger.clients.committee import review_key
from services.provenance.defender import Plan
from tests.api.conftest import Api
from tests.api.test_committee_flow import _defender, _look_alikes, _pair, committee_api
from tests.contracts.committee_kit import CommitteeWorld, committee_world


@pytest.fixture
def committee(embedded_chain) -> CommitteeWorld:
    yield from committee_world(embedded_chain)


@pytest.fixture
def api(committee, tmp_path, api_database_url) -> Iterator[Api]:
    yield from committee_api(committee, tmp_path, api_database_url)


def _requested(api: Api, committee: CommitteeWorld, tmp_path, others: list | None = None):
    """Five jurors enrolled; the squatter challenges the producer's look-alike drawing and the
    producer's defender requests the committee's review: (world, committee client, defender,
    review key). ``others`` gets a dispute of others (``CommitteeWorld.dispute``: contested, so
    its review may be requested later), opened first."""
    world = api.world
    committee.enroll(5)
    squat, victim = _pair(api, *_look_alikes(), copy=False)
    if others is not None:
        others.append(committee.dispute(1))
    world.registry(world.attacker).challenge(squat, victim)
    api.index()
    defender = _defender(api, world.producer, tmp_path / "defend.json")
    assert any("committee review requested" in line for line in defender.step())
    records = world.registry(world.producer)
    key = review_key(
        records.address,
        squat,
        victim,
        keccak(records.registered(squat).detail),
        keccak(records.registered(victim).detail),
    )
    return world, committee.committee(), defender, key


def test_a_cancelled_reviews_fee_is_claimed_back_once(api, committee, tmp_path):
    """Five jurors, one of whom leaves before the producer's review is drawn: cancelled (after a
    re-armed draw: the pool changed), the fee owed to the producer. The defender claims it in the
    pass that sees the cancellation (it stayed owed before: nothing claimed it), then never
    again, nor after a restart."""
    world, client, defender, key = _requested(api, committee, tmp_path)
    fee = client.params().review_fee
    committee.committee(committee.jurors[0]).leave()  # four cannot seat five
    defender.step()  # the draw re-arms
    world.chain.mine(1)
    log = defender.step()
    assert any("review was cancelled" in line for line in log), log
    assert client.review(key).cancelled
    assert any(f"claimed back {fee} wei" in line for line in log), log
    assert client.owed(world.producer.address) == 0
    assert all(d["plan"] == Plan.NO_JURY.value for d in defender.state.disputes.values())
    assert not any("claimed" in line for line in defender.step())
    restarted = _defender(api, world.producer, tmp_path / "lost.json")
    assert not any("claimed" in line for line in restarted.step())


def test_a_review_settled_without_a_quorum_refunds_the_fee_to_the_defender(
    api, committee, tmp_path
):
    """Five jurors drawn for the producer's review, none of them votes: the dispute falls back on
    the rule when resolved, and whoever settles the review (a juror freeing itself) makes the fee
    owed back to the producer. Nothing claimed it before: the defender's pass now does, once."""
    world, client, defender, key = _requested(api, committee, tmp_path)
    fee = client.params().review_fee
    world.chain.mine(2)  # past the draw block
    log = defender.step()
    assert any("contested" in line for line in log), log
    committee.past_reveal(key)  # nobody committed, nobody revealed: no quorum
    defender.step()  # resolves on the rule
    assert client.owed(world.producer.address) == 0  # not settled yet: nothing owed
    committee.committee(world.buyer).settle(key)
    assert client.owed(world.producer.address) == fee
    log = defender.step()
    assert any(f"claimed back {fee} wei" in line for line in log), log
    assert client.owed(world.producer.address) == 0
    assert not any("claimed" in line for line in defender.step())
