"""The defender and generation proofs (services/provenance/defender.py ``publish``): it
publishes its token's generation opening (which makes the prompt public) only when the pixels
alone would take the token, i.e. when it predicts the jurors' stage-3 "yes"; a pair stage 3
already rejects keeps the prompt private."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.clients.registry import RegistryClient
from services.content import plagiarise
from services.market_client import MarketClient
from services.provenance.defender import ApiAccusations, Defender
from services.provenance.juror import ApiImages, ApiOpenings
from tests.api.conftest import Api
from tests.api.test_committee_flow import _look_alikes, _pair, committee_api
from tests.contracts.committee_kit import CommitteeWorld, committee_world
from tests.services.provenance.test_stage3 import _page


@pytest.fixture
def committee(embedded_chain) -> CommitteeWorld:
    yield from committee_world(embedded_chain)


@pytest.fixture
def api(committee, tmp_path, api_database_url) -> Iterator[Api]:
    yield from committee_api(committee, tmp_path, api_database_url)


def _defender(api: Api, account, state, published: list[int]) -> Defender:
    market = MarketClient(api.client, account)

    def publish(token: int) -> str | None:
        published.append(token)
        return None  # no task of this account delivered the token: nothing to publish

    return Defender(
        RegistryClient(api.world.deployment, api.world.tx(account)),
        ApiAccusations(market),
        state_path=state,
        images=ApiImages(market),
        openings=ApiOpenings(market),
        publish=publish,
    )


def test_no_prompt_is_published_when_stage_3_already_clears_the_token(api, committee, tmp_path):
    world = api.world
    committee.enroll(5)
    squat, victim = _pair(api, *_look_alikes(), copy=False)
    world.registry(world.attacker).challenge(squat, victim)
    api.index()
    published: list[int] = []
    log = _defender(api, world.producer, tmp_path / "d.json", published).step()
    assert any("committee review requested" in line for line in log), log
    assert published == []


def test_the_opening_is_sought_when_stage_3_would_take_the_token(api, committee, tmp_path):
    world = api.world
    committee.enroll(5)
    original_image = _page("disc")
    original, copy = _pair(api, original_image, plagiarise(original_image), copy=True)
    world.registry(world.producer).challenge(original, copy)
    api.index()
    published: list[int] = []
    log = _defender(api, world.attacker, tmp_path / "d.json", published).step()
    assert published == [copy]  # it would publish; a copy has no opening, so it concedes
    assert any("not contested" in line for line in log), log
