"""The defender against a squatter's batched item (the BatchCourt: a batch item challenges a
later single token). The item's descriptor is only in the squatter's manifest: while it is not
published the defender cannot judge and does not contest; once the API serves it (its item
proof checked against the batch's items root on chain), the defender contests a pair the
detail rule rejects and, the squatter having nothing to win by resolving, finalizes after the
window: rejected, both deposits to the owner. An API that lies about the item is not believed.
"""

from __future__ import annotations

from eth_utils import keccak

from ledger import Transactor
from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.registry import DisputeState, RegistryClient, TokenStatus
from services.batch.layout import BatchItem, BatchLayout
from services.batch.manifest import BatchManifest
from services.market_client import MarketClient
from services.provenance.accusations import ApiAccusations, ApiItemDetails
from services.provenance.defender import Defender, Plan
from tests.api.test_defend import Fees
from tests.contracts.attack_kit import proof
from tests.contracts.batch_kit import random_fingerprints, register_batch, tid
from tests.contracts.helpers import (
    BASE_FP,
    NEAR_FP,
    copier_esp,
    details,
    register_esp,
    register_image,
)


def _court_squat(api, victim_detail=None):
    """The attacker's batch (its own ESP) holds an item admissible against the producer's later
    single token, unrelated by default (the astronaut against the camera); the attacker
    challenges it at the court. Returns (item, victim, the batch's manifest)."""
    world = api.world
    register_esp(world)
    bid, pa = register_batch(
        world,
        world.attacker,
        fingerprints=[*random_fingerprints(2, seed=5), BASE_FP],
        item_details=[details()["far"], details()["far"], details()["base"]],
        esp=copier_esp(world),
    )
    index = pa.fingerprints.index(BASE_FP)
    item = tid(bid, index)
    victim = register_image(
        world, world.producer, fingerprint=NEAR_FP, detail=victim_detail or details()["far"]
    )
    court = BatchCourtClient(world.deployment, world.tx(world.attacker))
    court.challenge(item, pa.fingerprints[index], pa.fp_proof(index), victim, proof(world, victim))
    layout = BatchLayout.of(
        [BatchItem(it.content_hash, it.fingerprint, keccak(it.detail), it.seed) for it in pa.items]
    )
    manifest = BatchManifest(bid, layout, tuple(it.detail for it in pa.items))
    api.index()
    return item, victim, manifest


def _defender(api, tmp_path, fees, market=None) -> Defender:
    world = api.world
    registry = RegistryClient(
        world.deployment, Transactor(world.chain, world.producer, on_receipt=fees)
    )
    market = market or MarketClient(api.client, world.producer)
    items = ApiItemDetails(market, BatchRegistryClient(world.deployment))
    return Defender(
        registry, ApiAccusations(market), state_path=tmp_path / "court.json", item_details=items
    )


def test_a_batched_squat_is_contested_once_its_manifest_is_published_then_finalized(api, tmp_path):
    world = api.world
    item, victim, manifest = _court_squat(api)
    deposit = world.registry(world.producer).params().challenge_deposit
    fees = Fees()
    before = world.balance(world.producer.address)
    defender = _defender(api, tmp_path, fees)
    log = defender.step()
    assert fees.names == []  # the item's descriptor is unknown: no contest yet
    assert any("BatchCourt challenge" in line and "not published" in line for line in log)

    r = api.client.post(
        f"/v1/batches/{manifest.batch_id}/manifest",
        json=manifest.to_json(),
        headers=api.sign_in(world.buyer),  # anyone may publish the one true manifest
    )
    assert r.status_code == 200, r.text
    log = defender.step()
    assert fees.names == ["contest"]
    assert any("the detail rule rejects the pair" in line for line in log)
    court = BatchCourtClient(world.deployment)
    assert court.dispute(item, victim).state is DisputeState.CONTESTED
    key = next(iter(defender.state.disputes))
    assert defender.state.disputes[key]["plan"] == Plan.AWAIT
    assert defender.step() == []  # waits, quietly, for the squatter's resolve window

    world.chain.mine(world.params.dispute_window_blocks + 1)
    log = defender.step()
    assert fees.names == ["contest", "finalize"]
    assert any("decided: rejected, the token stays" in line for line in log)
    assert court.dispute(item, victim).state is DisputeState.REJECTED
    assert world.registry(world.producer).record(victim).status is TokenStatus.ACTIVE
    assert world.balance(world.producer.address) == before + deposit - sum(fees.paid)


class _LyingApi:
    """The real API, except that a batch item's detail is swapped for another (the lie that
    would make a defender contest a pair the rule matches, and lose its deposit)."""

    def __init__(self, market: MarketClient, detail: bytes):
        self.market = market
        self.detail = detail

    def get(self, path, **params):
        out = self.market.get(path, **params)
        if "/items/" in path and out.get("detail"):
            out = {**out, "detail": "0x" + self.detail.hex()}
        return out


def test_an_api_that_lies_about_the_item_is_not_believed(api, tmp_path):
    """The producer's token is a real copy of the item by the detail rule (the mirrored JPEG);
    an API claiming the item is the astronaut would have the defender contest and lose."""
    world = api.world
    item, _victim, manifest = _court_squat(api, victim_detail=details()["near"])
    api.client.post(
        f"/v1/batches/{manifest.batch_id}/manifest",
        json=manifest.to_json(),
        headers=api.sign_in(world.buyer),
    )
    market = MarketClient(api.client, world.producer)
    batches = BatchRegistryClient(world.deployment)
    assert ApiItemDetails(market, batches)(item) == details()["base"]
    liar = _LyingApi(market, details()["far"])
    assert ApiItemDetails(liar, batches)(item) is None  # its item proof does not verify
    fees = Fees()
    log = _defender(api, tmp_path, fees, market=liar).step()
    assert fees.names == [] and any("not published" in line for line in log)
    log = _defender(api, tmp_path / "honest", fees, market=market).step()  # the truth: a copy
    assert fees.names == [] and any("the detail rule matches the pair" in line for line in log)
