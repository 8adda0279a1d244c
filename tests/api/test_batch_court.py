"""/v1/tx/batch/court/*: an earlier batched item challenges a later single registration through
the BatchCourt (issue 16), every transaction built by the API from the indexed events and signed
by the caller's wallet; and the settles of upheld challenges (/v1/tx/batch/settle,
/v1/tx/batch/court/settle; the reward hold itself: tests/api/test_batch_hold.py)."""

from __future__ import annotations

from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.registry import TokenStatus
from tests.api.test_tx import _sign_and_relay
from tests.contracts.batch_kit import register_batch, tid
from tests.contracts.helpers import BASE_FP, NEAR_FP, details, register_esp, register_image


def _pair(api):
    world = api.world
    register_esp(world)
    a_id, _ = register_batch(
        world,
        world.producer,
        fingerprints=[BASE_FP],
        item_details=[details()["base"]],
        esp=world.esp,
    )
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    api.index()
    return tid(a_id, 0), copy


def test_a_batched_original_revokes_a_single_copy_through_the_api(api):
    world = api.world
    original, copy = _pair(api)
    headers = api.sign_in(world.producer)
    body = {"original": str(original), "duplicate": str(copy)}
    court = BatchCourtClient(world.deployment).address
    r = api.client.post("/v1/tx/batch/court/challenge", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["to"] == court and int(r.json()["value"]) == world.params.challenge_deposit
    _sign_and_relay(api, world.producer, r.json(), headers)
    # too early to finalize: the contract's refusal, 409 with its error name
    early = api.client.post("/v1/tx/batch/court/finalize", json=body, headers=headers)
    assert early.status_code == 409 and early.json()["error"]["code"] == "CourtDisputeWindow"
    world.chain.mine(world.params.dispute_window_blocks + 1)
    r = api.client.post("/v1/tx/batch/court/finalize", json=body, headers=headers)
    assert r.status_code == 200, r.text
    _sign_and_relay(api, world.producer, r.json(), headers)
    assert world.registry(world.deployer).record(copy).status is TokenStatus.REVOKED
    api.index()
    assert api.client.get(f"/v1/products/{copy}").json()["status"] == "revoked"
    assert api.client.get(f"/v1/products/{original}").json()["status"] == "active"


def test_court_routes_refuse_wrong_pairs_owners_and_missing_openings(api):
    world = api.world
    original, copy = _pair(api)
    headers = api.sign_in(world.producer)
    body = {"original": str(original), "duplicate": str(copy)}
    # the direction is fixed: a batch item against a single registration
    for route in ("challenge", "contest", "resolve", "finalize", "settle"):
        r = api.client.post(
            f"/v1/tx/batch/court/{route}",
            json={"original": str(copy), "duplicate": str(original)},
            headers=headers,
        )
        assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_product", route
    # only the batch item's owner challenges
    thief = api.sign_in(world.buyer)
    r = api.client.post("/v1/tx/batch/court/challenge", json=body, headers=thief)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CourtNotOwner"
    r = api.client.post("/v1/tx/batch/court/challenge", json=body, headers=headers)
    _sign_and_relay(api, world.producer, r.json(), headers)
    # only the copy's owner contests
    r = api.client.post("/v1/tx/batch/court/contest", json=body, headers=thief)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CourtNotOwner"
    owner = api.sign_in(world.attacker)
    r = api.client.post("/v1/tx/batch/court/contest", json=body, headers=owner)
    assert r.status_code == 200, r.text
    # resolving needs the batch item's opening: its manifest was never published
    r = api.client.post("/v1/tx/batch/court/resolve", json=body, headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "manifest_not_published"
    # settle refuses a pair that has no upheld batch challenge, and the court's a contested one
    r = api.client.post("/v1/tx/batch/settle", json=body, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "BatchDisputeState"
    r = api.client.post("/v1/tx/batch/court/settle", json=body, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CourtDisputeState"
    r = api.client.post("/v1/tx/batch/court/challenge", json={"original": "x"}, headers=headers)
    assert r.status_code == 422
