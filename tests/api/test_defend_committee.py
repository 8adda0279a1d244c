"""The defender and the committee's money: a review cancelled at its draw (too few free jurors)
owes its fee back to the requester by pull payment (``CommitteeVerifier.claim``); the defender
that requested it claims it when it sees the cancellation, once, a restarted one too."""

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
