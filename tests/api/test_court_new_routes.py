"""/v1/tx/batch/court/duplicate-item and /v1/tx/batch/court/reinstate, end to end: the two
BatchCourt paths that only the Python clients reached (``revokeDuplicateItem``, e11982b;
``reinstate``, 8f701d9), each transaction built by the API from the index, signed by the
caller's wallet and relayed; what does not qualify is a 4xx with a stable code (the index's
checks first, then the court's error name from the estimate), never a 500.

The worlds are the contract tests' (tests/contracts/test_redteam2_batch.py,
tests/contracts/test_redteam3_reinstate.py), indexed."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak

from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.registry import DisputeState, TokenStatus
from services.batch.layout import BatchItem, BatchLayout
from services.batch.manifest import BatchManifest
from tests.api.test_tx import _sign_and_relay
from tests.contracts.batch_kit import BatchPlan
from tests.contracts.helpers import copier_esp, paid_lock, register_esp
from tests.contracts.test_court_duplicate_image import _batch_holding, _batched_status
from tests.contracts.test_redteam3_reinstate import (
    _court_win_settled,
    _court_win_settled_then_winner_revoked,
)

ITEM = "/v1/tx/batch/court/duplicate-item"
REINSTATE = "/v1/tx/batch/court/reinstate"


def _publish(api, token: int, p: BatchPlan) -> None:
    """Anyone publishes the batch's one true manifest (the API checks it against the roots)."""
    layout = BatchLayout.of(
        [BatchItem(it.content_hash, it.fingerprint, keccak(it.detail), it.seed) for it in p.items]
    )
    manifest = BatchManifest(token >> 32, layout, tuple(it.detail for it in p.items))
    r = api.client.post(
        f"/v1/batches/{manifest.batch_id}/manifest",
        json=manifest.to_json(),
        headers=api.sign_in(api.world.buyer),
    )
    assert r.status_code == 200, r.text


def _image_batched_for_two_payers(api):
    """test_redteam2_batch's ESP that batches its customer's image for a Sybil: the customer
    paid first, the Sybil's batch (a later lock) was revealed first. Returns (the customer's
    item, its plan, the Sybil's item, its plan)."""
    world = api.world
    register_esp(world)
    esp, customer, sybil = world.esp, world.producer, world.attacker
    content = b"the customer's image, batched twice"
    customer_lock = paid_lock(world, customer, esp)
    _, p_taken, taken = _batch_holding(world, sybil, content, esp=esp)
    _, p_own, own = _batch_holding(world, customer, content, esp=esp, lock=customer_lock)
    api.index()
    return own, p_own, taken, p_taken


def test_anyone_has_the_later_lock_of_two_batched_items_of_one_image_revoked(api):
    world = api.world
    own, p_own, taken, p_taken = _image_batched_for_two_payers(api)
    headers = api.sign_in(world.producer)
    body = {"first": str(own), "second": hex(taken)}  # decimal or 0x-hex
    # both items are opened from their manifests: none yet, then one
    r = api.client.post(ITEM, json=body, headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "manifest_not_published"
    _publish(api, own, p_own)
    r = api.client.post(ITEM, json=body, headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "manifest_not_published"
    _publish(api, taken, p_taken)
    esps = world.esps(world.deployer)
    lost_before = esps.esp_info(world.esp.address).challenges_lost
    r = api.client.post(ITEM, json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["to"] == BatchCourtClient(world.deployment).address
    assert int(r.json()["value"]) == 0
    _sign_and_relay(api, world.producer, r.json(), headers)
    assert _batched_status(world, taken) is TokenStatus.REVOKED  # the later lock's
    assert _batched_status(world, own) is TokenStatus.ACTIVE
    assert esps.esp_info(world.esp.address).challenges_lost == lost_before + 1
    api.index()
    assert api.client.get(f"/v1/products/{taken}").json()["status"] == "revoked"
    assert api.client.get(f"/v1/products/{own}").json()["status"] == "active"
    # decided once: the court's refusal, by name (either order)
    for pair in (body, {"first": str(taken), "second": str(own)}):
        r = api.client.post(ITEM, json=pair, headers=headers)
        assert r.status_code == 409 and r.json()["error"]["code"] == "CourtTokenRevoked", r.text


def test_the_two_item_route_refuses_what_does_not_qualify(api):
    world = api.world
    register_esp(world)
    content = b"an image batched by two ESPs"
    _, p_one, one = _batch_holding(world, world.producer, content, esp=world.esp)
    _, p_two, two = _batch_holding(world, world.attacker, content, esp=copier_esp(world))
    api.index()
    for token, p in ((one, p_one), (two, p_two)):
        _publish(api, token, p)
    headers = api.sign_in(world.buyer)

    def post(first, second):
        return api.client.post(
            ITEM, json={"first": str(first), "second": str(second)}, headers=headers
        )

    # one item named twice; another item of the batch is another image
    for first, second in ((one, one), (one, one - 1 if one & 0xFFFFFFFF else one + 1)):
        r = post(first, second)
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_same_image", r.text
    # one image, two ESPs: the contract's refusal by name (the estimate), nothing sent
    r = post(one, two)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CourtNotSameEsp", r.text
    # not batch tokens, malformed, signed out
    r = post(one, 12345)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_product"
    r = post((99 << 32) | 0, one)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_product"
    r = api.client.post(ITEM, json={"first": "x", "second": "1"}, headers=headers)
    assert r.status_code == 422
    r = api.client.post(ITEM, json={"first": str(one)}, headers=headers)
    assert r.status_code == 422
    assert api.client.post(ITEM, json={"first": "1", "second": "2"}).status_code == 401
    assert _batched_status(world, one) is TokenStatus.ACTIVE
    assert _batched_status(world, two) is TokenStatus.ACTIVE


def test_a_court_win_settled_before_its_winner_was_revoked_is_reversed_through_the_api(api):
    """test_redteam3_reinstate's world: the squatter's item X won against the buyer's later
    single S at the court (settled after the hold), then O's owner revoked X. The buyer asks
    the API for ``reinstate(X, S)``; the value is the Registry's bond; S is active again."""
    world = api.world
    x, s, court = _court_win_settled_then_winner_revoked(world)
    api.index()
    headers = api.sign_in(world.buyer)
    body = {"original": str(x), "duplicate": str(s)}
    r = api.client.post(REINSTATE, json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["to"] == court.address
    # the caller posts the bond: an account without it is told so before it signs (422)
    broke = api.client.post(REINSTATE, json=body, headers=api.sign_in(Account.create()))
    assert broke.status_code == 422 and broke.json()["error"]["code"] == "cannot_estimate"
    bond = world.registry(world.deployer).params().bond
    assert int(r.json()["value"]) == bond == world.params.registration_bond
    registry_held = world.balance(world.deployment.registry.address)
    _sign_and_relay(api, world.buyer, r.json(), headers)
    assert world.registry(world.deployer).record(s).status is TokenStatus.ACTIVE
    assert court.dispute(x, s).state is DisputeState.REVERSED
    assert world.balance(world.deployment.registry.address) == registry_held + bond
    api.index()
    assert api.client.get(f"/v1/products/{s}").json()["status"] == "active"
    # once: the pair is Reversed now
    r = api.client.post(REINSTATE, json=body, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CourtDisputeState", r.text


def test_the_reinstate_route_refuses_a_standing_winner_and_wrong_pairs(api):
    world = api.world
    _, _, x, _, s, _ = _court_win_settled(world)
    api.index()
    headers = api.sign_in(world.buyer)
    body = {"original": str(x), "duplicate": str(s)}
    # X stands: its win is not bought back with a bond
    r = api.client.post(REINSTATE, json=body, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CourtWinnerActive", r.text
    # the direction is fixed: a batch item won against a single registration
    r = api.client.post(REINSTATE, json={"original": str(s), "duplicate": str(x)}, headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_product"
    r = api.client.post(REINSTATE, json={"original": str(x), "duplicate": "7"}, headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_product"
    r = api.client.post(REINSTATE, json={"original": "-1", "duplicate": str(s)}, headers=headers)
    assert r.status_code == 422
    assert api.client.post(REINSTATE, json=body).status_code == 401
    assert world.registry(world.deployer).record(s).status is TokenStatus.REVOKED
