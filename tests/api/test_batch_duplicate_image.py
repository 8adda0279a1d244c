"""/v1/tx/batch/court/duplicate-image, end to end: Bob batches three paid generations, then
registers one of them alone with its still-valid per-delivery attestation (two live tokens of one
image, which no challenge could take: one ESP attested both). Anyone asks the court's ruling
through the API; the single, published second, is revoked; the batched item and its buyer are
untouched; the marketplace then refuses to sell the revoked one."""

from __future__ import annotations

import pytest

from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.registry import TokenStatus
from services.content import canonical_hash
from services.market_client import MarketError
from tests.api.test_batch_trades import _list
from tests.api.test_batches import Scene, _publish_manifest_of, scene  # noqa: F401 -- fixture
from tests.api.test_tx import _sign_and_relay
from tests.contracts.helpers import past_reclaim


def _bob_registers_a_batched_image_alone(api, scene: Scene) -> tuple[int, int]:  # noqa: F811
    """Bob's single registration of his batched image at ``scene.tokens[1]``'s index; returns
    (the batched item, the single token)."""
    item = scene.tokens[1]
    claimed, image, attestation = scene.made_by_token[item]
    assert canonical_hash(image) == scene.manifest.layout.items[item & 0xFFFFFFFF].content_hash
    single = scene.bob.register(claimed, image, attestation)
    api.index()
    return item, single


def test_anyone_has_the_later_of_two_registrations_of_one_image_revoked(api, scene):  # noqa: F811
    world = api.world
    item, single = _bob_registers_a_batched_image_alone(api, scene)
    assert world.registry(world.deployer).record(single).status is TokenStatus.ACTIVE
    headers = api.sign_in(world.buyer)
    body = {"item": str(item), "single": str(single)}
    # the item's content is opened from its manifest: none yet
    r = api.client.post("/v1/tx/batch/court/duplicate-image", json=body, headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "manifest_not_published"
    _publish_manifest_of(api, scene)
    # Bob holds both: told that the single is the second registration, with the ruling prepared
    notes = [
        n
        for n in api.client.get("/v1/notifications", headers=api.sign_in(world.producer)).json()[
            "items"
        ]
        if n["kind"] == "duplicate_registration"
    ]
    assert sorted(n["yours"] for n in notes) == ["kept", "revoked"]
    assert {int(n["revoked_token"], 16) for n in notes} == {single}
    assert notes[0]["prepared_ruling"]["body"] == body
    assert notes[0]["two_payers"] is False
    # another item of the batch is another image
    other = {"item": str(scene.tokens[2]), "single": str(single)}
    r = api.client.post("/v1/tx/batch/court/duplicate-image", json=other, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_same_image"
    r = api.client.post("/v1/tx/batch/court/duplicate-image", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["to"] == BatchCourtClient(world.deployment).address
    _sign_and_relay(api, world.buyer, r.json(), headers)
    assert world.registry(world.deployer).record(single).status is TokenStatus.REVOKED
    assert scene.batch_client.status(item) is TokenStatus.ACTIVE
    api.index()
    assert api.client.get(f"/v1/products/{single}").json()["status"] == "revoked"
    assert api.client.get(f"/v1/products/{item}").json()["status"] == "active"
    # decided once: the court's refusal, by name
    r = api.client.post("/v1/tx/batch/court/duplicate-image", json=body, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CourtTokenRevoked"


def test_the_ruling_route_refuses_malformed_and_unknown_tokens(api, scene):  # noqa: F811
    headers = api.sign_in(api.world.buyer)
    route = "/v1/tx/batch/court/duplicate-image"
    r = api.client.post(route, json={"item": "x", "single": "1"}, headers=headers)
    assert r.status_code == 422
    r = api.client.post(route, json={"item": str(scene.original), "single": "1"}, headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_product"
    r = api.client.post(
        route, json={"item": str(scene.tokens[0]), "single": str(scene.tokens[1])}, headers=headers
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_product"
    assert api.client.post(route, json={"item": "1", "single": "2"}).status_code == 401


def test_the_second_registration_of_an_image_is_not_sold_before_anyone_asks(api, scene):  # noqa: F811
    """Until someone asks for the ruling both tokens are active on chain; the marketplace does
    not list the one the ruling would revoke (the single Bob published second), and still lists
    the batched one."""
    world = api.world
    item, single = _bob_registers_a_batched_image_alone(api, scene)
    _publish_manifest_of(api, scene)
    with pytest.raises(MarketError) as exc:
        _list(api, world.producer, single, collection=world.deployment.registry.address)
    assert (exc.value.status, exc.value.code) == (409, "token_not_tradable")
    assert "second registration" in exc.value.message and str(item) in exc.value.message
    past_reclaim(world)  # a fresh item does not move before then (BatchTokenReclaimable)
    api.index()
    listing = _list(api, world.producer, item)
    assert listing["status"] == "open"


def test_a_single_registered_after_the_manifest_is_noted_at_once(api, scene):  # noqa: F811
    """The other order of arrival: the manifest is public when Bob registers the image alone;
    the indexer notes the twin when it indexes the single."""
    world = api.world
    _publish_manifest_of(api, scene)
    item, single = _bob_registers_a_batched_image_alone(api, scene)
    notes = [
        n
        for n in api.client.get("/v1/notifications", headers=api.sign_in(world.producer)).json()[
            "items"
        ]
        if n["kind"] == "duplicate_registration"
    ]
    assert len(notes) == 2
    assert {(int(n["item"], 16), int(n["revoked_token"], 16)) for n in notes} == {(item, single)}
