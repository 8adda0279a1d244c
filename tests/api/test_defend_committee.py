"""The defender and the committee's money: a review cancelled at its draw (too few free jurors)
owes its fee back to the requester by pull payment (``CommitteeVerifier.claim``); the defender
that requested it claims it when it sees the cancellation, once, a restarted one too; a review
settled without a quorum owes it back as well, and the defender's next pass claims it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from services.provenance.defender import Plan
from tests.api.conftest import Api
from tests.api.test_committee_flow import _defender, _look_alikes, _pair
from tests.contracts.committee_kit import CommitteeWorld, committee_world


@pytest.fixture
def committee(embedded_chain) -> CommitteeWorld:
    yield from committee_world(embedded_chain)


@pytest.fixture
def api(committee, tmp_path, api_database_url) -> Api:
    settings = ApiSettings(
        database_url=api_database_url,
        blob_dir=tmp_path / "blobs",
        rate_nonce_per_minute=1000,
        indexer_interval_s=0,
    )
    app = create_app(settings, committee.world.deployment)
    with TestClient(app) as client:
        yield Api(client, committee.world)
    app.state.engine.dispose()


def test_a_cancelled_reviews_fee_is_claimed_back_once(api, committee, tmp_path):
    """Five jurors, all drawn elsewhere when the producer's review is drawn: cancelled, the fee
    owed to the producer. The defender claims it in the pass that sees the cancellation (it stayed
    owed before: nothing claimed it), then never again, nor after a restart."""
    world = api.world
    committee.enroll(5)
    squat, victim = _pair(api, *_look_alikes(), copy=False)
    world.registry(world.attacker).challenge(squat, victim)
    api.index()
    client = committee.committee()
    fee = client.params().review_fee
    defender = _defender(api, world.producer, tmp_path / "defend.json")
    assert any("committee review requested" in line for line in defender.step())
    committee.synthetic(1)  # occupies the five jurors; mines past the producer's draw block
    log = defender.step()
    assert any("review was cancelled" in line for line in log), log
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
    world = api.world
    committee.enroll(5)
    squat, victim = _pair(api, *_look_alikes(), copy=False)
    world.registry(world.attacker).challenge(squat, victim)
    api.index()
    client = committee.committee()
    fee = client.params().review_fee
    defender = _defender(api, world.producer, tmp_path / "defend.json")
    assert any("committee review requested" in line for line in defender.step())
    world.chain.mine(2)  # past the draw block
    log = defender.step()
    assert any("contested" in line for line in log), log
    (key,) = [
        k for k in _review_keys(client) if client.review(k).requester == world.producer.address
    ]
    committee.past_reveal(key)  # nobody committed, nobody revealed: no quorum
    defender.step()  # resolves on the rule
    assert client.owed(world.producer.address) == 0  # not settled yet: nothing owed
    committee.committee(world.buyer).settle(key)
    assert client.owed(world.producer.address) == fee
    log = defender.step()
    assert any(f"claimed back {fee} wei" in line for line in log), log
    assert client.owed(world.producer.address) == 0
    assert not any("claimed" in line for line in defender.step())


def _review_keys(client) -> list[bytes]:

    logs = client.contract.events.ReviewRequested().get_logs(from_block=0)
    return [bytes(log["args"]["key"]) for log in logs]
