"""Red team 5 on this session's API: mis-attestation claims (bc1ff92), the ESP directory
(71b4165) and the open image upload (f8a0210), attacked as a held-out prober would.

* The open image upload served the uploader's metadata: ``PUT /v1/products/{id}/image`` checks
  the canonical hash of the RGB pixels, then stored ``img.save(PNG)`` of the decoded image, whose
  ``info`` still held the upload's ICC profile (``iCCP``) and a PNG ``tRNS`` colour. Any
  signed-in account could overwrite a token's honest image with the same pixels carrying a
  profile that repaints it, or a transparency colour that blanks it, in every colour-managed
  viewer (the web page, the jurors' browser): one token, other bytes served (the test failed
  before). Now the stored PNG is the pixels alone (``decode_image`` drops the metadata): the
  same pixels always give the same stored bytes, whoever uploads them.
* A mis-attestation claim frees the sale once decided, and every round blocks it while open:
  a claimant with no stake in the token freezes its sale for a review (Void: the deposit comes
  back; Rejected: the deposit goes to the holder), the 409 ``misattestation_claim_open`` holds
  at the listing, the trade request and the payment locks in each round, the index shows each
  round with its own review deadline, and a reorg takes back only the rounds it drops. The
  holder was not told (a griefer never finalizes the claim it loses, so the freeze lasted
  until the holder found out); now each round sends it ``misattestation_claimed`` with the
  prepared finalize (the test failed before).
* A batch item's claim blocks that item only (its sibling lists and is locked), the listing
  route of the BatchRegistry answers the same 409, and so does now the seller's escrow lock
  route ``POST /v1/tx/locks/token``, which built the lock before (200: the token waited in the
  escrow for a buyer the payment locks refuse; the test failed before).
* ``max_price``: every malformed form is 422 ``validation_error`` on ``GET /v1/esps`` and
  ``POST /v1/tasks``; many ESP events in the blocks not indexed yet cost one ``espInfo`` each
  (the ESPs an attacker moves within a poll), one ``eth_getLogs`` whatever their number; a
  stale directory (rows saying active and cheap for an exited, a repriced and a never
  registered ESP) never has a task draw them: the drawn ESP is read live.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator

import pytest
from eth_utils import to_checksum_address
from PIL import Image, ImageCms
from sqlalchemy import delete
from sqlalchemy.orm import Session

from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.registry import DisputeState, TokenStatus
from ledger.indexer import ChainEvent
from marketplace_api.models import EspDirectoryRow
from services.market_client import MarketClient, MarketError
from tests.api._trading import list_token, lock_token
from tests.api.conftest import Api
from tests.api.test_batch_trades import _list as list_item
from tests.api.test_committee_flow import committee_api
from tests.api.test_esp_draw_rpc_calls import _esps, rpc_calls
from tests.api.test_products import _picture, _png, _register_picture
from tests.contracts.committee_kit import SILENT, CommitteeWorld, committee_world
from tests.contracts.helpers import FEE, past_reclaim, register_esp
from tests.contracts.misattestation_kit import (
    MANIFESTS,
    Images,
    camera,
    claim,
    claim_item,
    copy_of,
    finalize,
    honest_votes,
    misattested_batch_item,
    misattested_single,
    png,
)

CLAIM_OPEN = "misattestation_claim_open"


# --- f8a0210: the open image upload ----------------------------------------------------------


def _chunks(data: bytes) -> list[str]:
    """The PNG's chunk types, in order."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        out.append(data[at + 4 : at + 8].decode())
        at += 12 + length
    return out


def _with(img: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def _put(api: Api, account, token: str, data: bytes, mime: str = "image/png"):
    return api.client.put(
        f"/v1/products/{token}/image",
        files={"image": ("x", data, mime)},
        headers=api.sign_in(account),
    )


def test_the_same_pixels_uploaded_by_anyone_never_change_the_bytes_served(api):
    """The attack: the producer attached its image; a stranger uploads the same pixels with an
    ICC profile (a colour-managed viewer repaints them), a tRNS colour (the image's own
    background made transparent) or a WebP's profile; each passes the hash check (200). Before,
    the stored PNG carried the stranger's iCCP / tRNS chunk; now the served bytes stay the
    producer's, chunk for chunk."""
    world = api.world
    register_esp(world)
    img = _picture()
    token = _register_picture(world, world.producer, img)
    api.index()
    assert _put(api, world.producer, token, _png(img)).status_code == 200
    served = api.client.get(f"/v1/products/{token}/image").content
    assert set(_chunks(served)) == {"IHDR", "IDAT", "IEND"}
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    background = img.getpixel((0, 0))
    attacks = {
        "icc": (_with(img, "PNG", icc_profile=profile), "image/png"),
        "trns": (_with(img, "PNG", transparency=background), "image/png"),
        "webp-icc": (_with(img, "WEBP", lossless=True, icc_profile=profile), "image/webp"),
        "text": (_zTXt(_png(img)), "image/png"),
    }
    for name, (data, mime) in attacks.items():
        r = _put(api, world.attacker, token, data, mime)
        assert r.status_code == 200, (name, r.text)  # the pixels are the token's
        again = api.client.get(f"/v1/products/{token}/image").content
        assert again == served, (name, _chunks(again))
    # and the stranger's re-upload of plain bytes changes nothing either
    assert _put(api, world.attacker, token, _png(img)).status_code == 200
    assert api.client.get(f"/v1/products/{token}/image").content == served


def test_uploading_the_stored_pixels_again_clears_no_cache_and_redoes_nothing(api, monkeypatch):
    """The attack: anyone signed in may upload a token's bytes (public: GET .../image), and
    each upload cleared the market's whole read cache (every product and batch read rendered
    again) and recomputed the fingerprint and detail descriptor, up to 60 a minute per client.
    Bytes whose stored PNG is the one already held change nothing: 200, the same product, no
    cache generation moved, no fingerprint computed."""
    world = api.world
    register_esp(world)
    img = _picture()
    token = _register_picture(world, world.producer, img)
    api.index()
    assert _put(api, world.producer, token, _png(img)).status_code == 200
    first = api.client.get(f"/v1/products/{token}").json()
    cache = api.client.app.state.market.read_cache
    generation = cache.generation
    import marketplace_api.routers.products as products

    computed = []
    real = products._fingerprint_and_detail
    monkeypatch.setattr(
        products, "_fingerprint_and_detail", lambda im: computed.append(1) or real(im)
    )
    for data, mime in ((_png(img), "image/png"), (_with(img, "WEBP", lossless=True), "image/webp")):
        r = _put(api, world.attacker, token, data, mime)
        assert r.status_code == 200, r.text
        assert r.json()["attestation"] == "matches"
    assert (cache.generation, computed) == (generation, [])
    assert api.client.get(f"/v1/products/{token}").json() == first


def _zTXt(data: bytes) -> bytes:
    """``data`` (a PNG) with a zTXt chunk after IHDR (a note a viewer may show)."""
    body = b"Comment\x00\x00" + zlib.compress(b"this image is a fake, buy elsewhere")
    chunk = struct.pack(">I", len(body)) + b"zTXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"zTXt" + body) & 0xFFFFFFFF)
    ihdr_end = 8 + 12 + 13
    return data[:ihdr_end] + chunk + data[ihdr_end:]


# --- bc1ff92: mis-attestation claims and the sale ---------------------------------------------


@pytest.fixture
def committee(embedded_chain) -> Iterator[CommitteeWorld]:
    yield from committee_world(embedded_chain)


@pytest.fixture
def court_api(committee, tmp_path, api_database_url) -> Iterator[Api]:
    yield from committee_api(committee, tmp_path, api_database_url)


def _refused(call) -> str:
    with pytest.raises(MarketError) as exc:
        call()
    assert exc.value.status == 409, exc.value.message
    return str(exc.value.code)


def test_every_claim_round_blocks_the_sale_while_open_and_frees_it_once_decided(
    court_api, committee
):
    """A griefer (no stake in the token) claims the attacker's listed copy: round 1 no juror
    reveals (Void: the deposit back, the fee refundable: the freeze costs gas), round 2 the
    jurors say no (Rejected: the griefer's deposit goes to the holder), round 3 the victim's
    claim is upheld. While each round is open the listing, the trade request and the payment
    locks are 409 ``misattestation_claim_open``; each decided round frees them (the chain is
    read, not the index); the index numbers the rounds and keeps each one's review deadline;
    a reorg past round 3's claim shows round 2 again."""
    api, world = court_api, court_api.world
    griefer, victim = world.accounts[7], world.producer
    token = misattested_single(committee)
    listing = list_token(api, world.attacker, token)
    api.index()
    buyer = MarketClient(api.client, world.buyer)
    trade = buyer.post("/v1/trades", json={"listing_id": listing["id"]})
    lock_token(api, world.attacker, world.buyer, token)
    api.index()
    deadlines, nonce = [], 2

    def blocked() -> None:
        nonlocal nonce
        nonce += 1
        assert (
            _refused(lambda: list_token(api, world.attacker, token, nonce=nonce, wait=False))
            == CLAIM_OPEN
        )
        other = MarketClient(api.client, world.accounts[6])
        assert _refused(lambda: other.post("/v1/trades", json={"listing_id": listing["id"]})) == (
            CLAIM_OPEN
        )
        assert _refused(lambda: buyer.post(f"/v1/trades/{trade['id']}/payment-tx", json={})) == (
            CLAIM_OPEN
        )

    def free(requester) -> None:  # (the token is in the escrow: not listed again meanwhile)
        asked = MarketClient(api.client, requester).post(
            "/v1/trades", json={"listing_id": listing["id"]}
        )
        assert asked["status"] == "requested"
        locks = buyer.post(f"/v1/trades/{trade['id']}/payment-tx", json={})["locks"]
        assert len(locks) == 1

    spent = {}
    for round_, (claimant, votes, verdict, requester) in enumerate(
        [
            (griefer, [SILENT] * 5, DisputeState.VOID, world.accounts[5]),
            (griefer, [False] * 5, DisputeState.REJECTED, world.accounts[9]),
        ],
        start=1,
    ):
        before = world.balance(claimant.address)
        holder_before = world.balance(world.attacker.address)
        key = claim(committee, token, claimant)
        api.index()
        blocked()
        deadlines.append(committee.committee().review(key).reveal_deadline)
        frozen = deadlines[-1] - world.chain.w3.eth.block_number  # blocks until finalizable
        shown = api.client.get(f"/v1/products/{token}").json()["misattestation"]
        assert (shown["round"], shown["state"], shown["review_deadline"]) == (
            round_,
            "open",
            deadlines[-1],
        )
        committee.vote(key, votes)
        assert finalize(committee, token, world.attacker) is verdict  # the holder finalizes
        spent[verdict.name] = (
            before - world.balance(claimant.address),
            world.balance(world.attacker.address) - holder_before,
            frozen,
        )
        free(requester)
        for juror in committee.jurors[5 * round_ : 5 * round_ + 5]:  # next round's pool
            committee.committee(juror).enroll()
        api.index()
        shown = api.client.get(f"/v1/products/{token}").json()["misattestation"]
        assert (shown["round"], shown["state"]) == (round_, verdict.name.lower())
    # (the Void round's fee is owed back to the griefer at the committee: its cost is gas)
    print(f"griefer spent, holder got (wei), blocks frozen per round: {spent}")

    # round 3: the victim's claim, upheld: the copy is revoked, not sold whatever the index says
    key = claim(committee, token, victim)
    api.index()
    blocked()
    claimed_block = api.client.get(f"/v1/products/{token}").json()["misattestation"][
        "claimed_block"
    ]
    deadlines.append(committee.committee().review(key).reveal_deadline)
    committee.vote(
        key, honest_votes(committee, key, token, Images({token: png(copy_of(camera()))}))
    )
    assert finalize(committee, token, victim) is DisputeState.UPHELD
    assert world.registry(world.deployer).record(token).status is TokenStatus.REVOKED
    assert _refused(lambda: list_token(api, world.attacker, token, nonce=99, wait=False)) != (
        CLAIM_OPEN
    )
    api.index()
    shown = api.client.get(f"/v1/products/{token}").json()["misattestation"]
    assert (shown["round"], shown["state"], shown["review_deadline"]) == (3, "upheld", deadlines[2])
    assert len(set(deadlines)) == 3  # each round's own review (the key holds the round)

    # a reorg past round 3's claim: round 2 (rejected) is the latest again
    market = api.client.app.state.market
    with Session(market.indexer.engine) as session, session.begin():
        session.execute(delete(ChainEvent).where(ChainEvent.block_number >= claimed_block))
        market._rewind(session, claimed_block - 1)
    market.read_cache.clear()
    shown = api.client.get(f"/v1/products/{token}").json()["misattestation"]
    assert (shown["round"], shown["state"], shown["review_deadline"]) == (
        2,
        "rejected",
        deadlines[1],
    )
    # the holder (the seller, while the escrow holds the token) is told of each round: its
    # sale is frozen until someone finalizes (a griefer never finalizes the claim it loses)
    notes = MarketClient(api.client, world.attacker).get("/v1/notifications")["items"]
    told = [n for n in notes if n["kind"] == "misattestation_claimed"]
    assert [(n["token_id"], n["round"], n["claimant"]) for n in told] == [
        (str(token), 2, griefer.address),
        (str(token), 1, griefer.address),
    ]  # round 3's note went with the reorg
    assert told[0]["prepared_finalize"] == {
        "action": "finalize-misattested",
        "endpoint": "/v1/tx/batch/court/finalize-misattested",
        "body": {"token": str(token)},
    }


def test_an_items_claim_blocks_that_item_only(court_api, committee):
    """Ids are not confused: a claim on batch item A refuses A's BatchRegistry listing (409) and
    leaves its sibling B (same batch, same owner) listable; the court refuses a single's claim
    below 2^96 (e1d44a9), so no single shares an item's claim slot."""
    api, world = court_api, court_api.world
    item = misattested_batch_item(committee)
    api.index()
    batch_id, index = item.token_id >> 32, item.token_id & 0xFFFFFFFF
    r = api.client.post(
        f"/v1/batches/{batch_id}/manifest",
        json=MANIFESTS[item.token_id],
        headers=api.sign_in(world.attacker),
    )
    assert r.status_code == 200, r.text
    sibling = (batch_id << 32) | (1 - index)
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    claim_item(committee, item, world.producer, draw=False)
    api.index()
    assert _refused(lambda: list_item(api, world.attacker, item.token_id)) == CLAIM_OPEN
    assert list_item(api, world.attacker, sibling, nonce=2)["status"] == "open"
    assert api.client.get(f"/v1/products/{sibling}").json()["misattestation"] is None
    # the seller's escrow lock (swap leg 1), approved: the item's is refused like its listing
    # (it was built, 200, before: the token would wait in the escrow for a buyer who cannot
    # pay), the sibling's is built
    assert _lock_route(api, world.attacker, item.token_id).status_code == 409
    assert _lock_route(api, world.attacker, item.token_id).json()["error"]["code"] == CLAIM_OPEN
    r = _lock_route(api, world.attacker, sibling)
    assert r.status_code == 200, r.text


def _lock_route(api: Api, seller, token: int):
    """``POST /v1/tx/locks/token`` for batch item ``token`` to the buyer, once approved."""
    world = api.world
    batch = BatchRegistryClient(world.deployment, world.tx(seller))
    world.tx(seller).send(batch.contract.functions.approve(world.deployment.htlc.address, token))
    return api.client.post(
        "/v1/tx/locks/token",
        json={
            "token_id": str(token),
            "collection": world.deployment.batch_registry.address,
            "receiver": world.buyer.address,
            "hashlock": "0x" + "11" * 32,
            "timelock": world.chain.timestamp() + 7200,
        },
        headers=api.sign_in(seller),
    )


# --- 71b4165: the ESP directory ----------------------------------------------------------------


BAD_PRICES = ["", " 1", "+1", "-0", "01", "1e18", "1.0", "0x", "0x" + "f" * 65, "0x1" + "0" * 64]


@pytest.mark.parametrize("bad", BAD_PRICES)
def test_a_malformed_max_price_query_is_a_422(api, bad):
    r = api.client.get("/v1/esps", params={"max_price": bad})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error"), r.text


@pytest.mark.parametrize(
    "bad", [*BAD_PRICES, -1, 1.5, 2**256, 2**128, 0, True, None, [], {"x": 1}, "１２"]
)
def test_a_malformed_max_price_body_is_a_422(api, bad):
    body = {"prompt": "a red circle", "seed": 1, "max_price": bad}
    r = api.client.post("/v1/tasks", json=body, headers=api.sign_in(api.world.producer))
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error"), r.text


def test_many_esp_events_in_the_unindexed_blocks_cost_one_esp_info_each(api):
    """The cost an attacker can put back on a task post: the ESPs it moves (an EspUpdated each,
    a transaction per ESP per poll) between two polls are read live, one ``espInfo`` each, in
    one ``eth_getLogs``; the 30 ESPs that did not move cost nothing. Bounded by the staked ESPs
    the attacker runs, as every post cost before (one ``espInfo`` per registered ESP)."""
    world = api.world
    _esps(world, 0, 40)
    api.index()
    headers = api.sign_in(world.producer)
    body = {"prompt": "a red circle", "seed": 1, "max_price": str(FEE)}
    from eth_account import Account
    from eth_utils import keccak

    moved = [Account.from_key(keccak(b"directory esp" + k.to_bytes(4, "big"))) for k in range(10)]
    for esp in moved:  # repriced out of the task, not indexed yet
        world.esps(esp).update("http://moved.example", price=2 * FEE)
    with rpc_calls(world.chain.w3) as calls:
        r = api.client.post("/v1/tasks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["esp"] not in {e.address for e in moved}
    assert (calls["eth_getLogs"], calls["eth_call"]) == (1, 11), calls


def test_a_stale_directory_never_has_a_task_draw_a_gone_esp(api):
    """A directory the chain has left behind (what a reorg the indexer has not seen yet leaves:
    written here): rows that say active and cheap for an ESP that exited, one repriced above
    the task's max_price and an address never registered. No event names them in the blocks not
    indexed, so only the drawn ESP's live ``espInfo`` stands between them and the draw: 12
    posts draw only the honest ESP; with the honest one gone too, 422 ``no_eligible_esp``."""
    world = api.world
    gone, dear, honest = world.accounts[5], world.accounts[6], world.accounts[7]
    for esp in (gone, dear, honest):
        register_esp(world, esp)
    world.esps(gone).deregister()
    world.esps(dear).update("http://dear.example", price=5 * FEE)
    api.index()
    market = api.client.app.state.market
    with Session(market.indexer.engine) as session, session.begin():
        for address in (gone.address, dear.address):
            row = session.get(EspDirectoryRow, address)
            row.active, row.price = True, str(FEE)
        stranger = "0x" + "5a" * 20
        session.add(
            EspDirectoryRow(
                address=to_checksum_address(stranger), listed=9, endpoint="http://x.example",
                price="1", stake=str(10**18), active=True, challenges_lost=0,
            )
        )  # fmt: skip
    headers = api.sign_in(world.producer)
    body = {"prompt": "a red circle", "seed": 1, "max_price": str(FEE)}
    drawn = set()
    for _ in range(12):
        r = api.client.post("/v1/tasks", json=body, headers=headers)
        assert r.status_code == 201, r.text
        drawn.add(r.json()["esp"])
    assert drawn == {honest.address}
    world.esps(honest).deregister()
    api.index()  # the honest ESP's exit indexed; the stale rows stay (no event of theirs)
    r = api.client.post("/v1/tasks", json=body, headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "no_eligible_esp"), r.text
