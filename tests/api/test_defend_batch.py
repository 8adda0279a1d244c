"""The defender of a batched item (the BatchRegistry): a squatter's earlier single token, whose
compact fingerprint happens to be admissible against one of the owner's batch items, challenges
it (``challengeWithSingle``). The contest must open the item from the owner's manifest: the
defender takes its detail and proof from the published manifest (checked against the batch's
items root), contests the pair the detail rule rejects, and finalizes after the squatter's
resolve window: rejected, both deposits to the owner, the item kept. Without its manifest the
item cannot be opened, and the defender does not pay a contest it could not make."""

from __future__ import annotations

from eth_utils import keccak

from ledger import Transactor
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.registry import DisputeState, RegistryClient, TokenStatus
from services.batch.layout import BatchItem, BatchLayout
from services.batch.manifest import BatchManifest
from services.market_client import MarketClient
from services.provenance.accusations import ApiAccusations, ApiItemDetails, ChainAccusations
from services.provenance.defender import Defender
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


def squatted_item(world):
    """Returns (the squatter's single token, the owner's challenged item, the owner's manifest)."""
    register_esp(world)
    squat = register_image(
        world, world.attacker, esp=copier_esp(world), fingerprint=BASE_FP, detail=details()["base"]
    )
    bid, pb = register_batch(
        world,
        world.producer,
        fingerprints=[*random_fingerprints(2, seed=7), NEAR_FP],
        item_details=[details()["far"]] * 3,  # the astronaut: unrelated to the camera
        esp=world.esp,
    )
    index = pb.fingerprints.index(NEAR_FP)
    item = tid(bid, index)
    squatter = BatchRegistryClient(world.deployment, world.tx(world.attacker))
    squatter.challenge_with_single(
        squat, proof(world, squat), item, pb.fingerprints[index], pb.fp_proof(index)
    )
    layout = BatchLayout.of(
        [BatchItem(it.content_hash, it.fingerprint, keccak(it.detail), it.seed) for it in pb.items]
    )
    return squat, item, BatchManifest(bid, layout, tuple(it.detail for it in pb.items))


def _defender(api, tmp_path, fees, *, chain_only=False) -> Defender:
    world = api.world
    registry = RegistryClient(
        world.deployment, Transactor(world.chain, world.producer, on_receipt=fees)
    )
    market = MarketClient(api.client, world.producer)
    items = ApiItemDetails(market, BatchRegistryClient(world.deployment))
    source = (
        ChainAccusations(registry, world.producer.address) if chain_only else ApiAccusations(market)
    )
    return Defender(
        registry,
        source,
        state_path=tmp_path / "batch.json",
        item_details=items,
        own_items=items.opening,
    )


def test_a_squatted_batch_item_is_opened_contested_and_kept(api, tmp_path):
    world = api.world
    squat, item, manifest = squatted_item(world)
    api.index()
    deposit = world.registry(world.producer).params().challenge_deposit
    fees = Fees()
    before = world.balance(world.producer.address)
    defender = _defender(api, tmp_path, fees)
    log = defender.step()
    assert fees.names == []  # its manifest is not published: the item cannot be opened
    assert any("BatchRegistry challenge" in line and "not published" in line for line in log)

    r = api.client.post(
        f"/v1/batches/{manifest.batch_id}/manifest",
        json=manifest.to_json(),
        headers=api.sign_in(world.producer),
    )
    assert r.status_code == 200, r.text
    log = defender.step()
    assert fees.names == ["contest"]
    batches = BatchRegistryClient(world.deployment)
    assert batches.dispute(squat, item).state is DisputeState.CONTESTED
    assert batches.opened_item(squat, item)["detail"] == details()["far"]  # opened on chain
    assert defender.step() == []

    world.chain.mine(world.params.dispute_window_blocks + 1)
    log = defender.step()
    assert fees.names == ["contest", "finalize"]
    assert any("decided: rejected, the token stays" in line for line in log)
    assert batches.dispute(squat, item).state is DisputeState.REJECTED
    assert batches.status(item) is TokenStatus.ACTIVE
    assert world.balance(world.producer.address) == before + deposit - sum(fees.paid)


def test_the_chain_alone_finds_a_challenge_of_a_batch_item(api, tmp_path):
    world = api.world
    squat, item, manifest = squatted_item(world)
    api.index()
    api.client.post(
        f"/v1/batches/{manifest.batch_id}/manifest",
        json=manifest.to_json(),
        headers=api.sign_in(world.producer),
    )
    fees = Fees()
    _defender(api, tmp_path, fees, chain_only=True).step()
    assert fees.names == ["contest"]
    assert BatchRegistryClient(world.deployment).dispute(squat, item).state is (
        DisputeState.CONTESTED
    )
