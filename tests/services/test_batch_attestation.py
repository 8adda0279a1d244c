"""The ESP's batch attestation: it signs only its own paid deliveries to the asking producer,
truly described, under the producer's latest lock (services.batch.attestation); each attack is
refused with its own code. The locks here are plain values and their chain state a table: the
chain's side of the same rule is the BatchRegistry's (tests/contracts)."""

from __future__ import annotations

import hashlib

import pytest
from eth_account import Account

from ledger import Asset, HtlcClient, LockStatus, LockTerms, merkle
from ledger.clients import BatchRegistryClient
from ledger.errors import ContractRevert
from services.batch import (
    BatchError,
    BatchItem,
    BatchLayout,
    BatchRefused,
    BatchRequest,
    Delivery,
    RequestItem,
    SignedBatch,
    attest_batch,
)
from services.batch.attestation import RevealView, reveal_view
from services.esp_worker import EspWorker
from tests.contracts import batch_kit
from tests.contracts.helpers import paid_lock, register_esp

ESP = Account.from_key(b"\x01" * 32)
PRODUCER = Account.from_key(b"\x02" * 32).address
OTHER = Account.from_key(b"\x03" * 32).address
CONTRACT = "0x" + "ab" * 20
ZERO = "0x" + "00" * 20
MODEL = hashlib.sha256(b"test-painter").digest()
WINDOW = 40
# The chain at block 20 (every lock below was made at block 10-12), no lock used yet.
OPEN = RevealView(block=20, registration_window=WINDOW, lock_used=lambda _id, _at: False)


def _h(tag: str, i: int) -> bytes:
    return hashlib.sha256(f"{tag}{i}".encode()).digest()


def _lock(i: int, producer: str = PRODUCER) -> LockTerms:
    return LockTerms(producer, ESP.address, Asset.ETHER, ZERO, 10**15, _h("lock", i), 10**9 + i)


def _world(n: int = 3, producer: str = PRODUCER):
    """n deliveries to ``producer``, lock i made at block 10 + i and paid."""
    deliveries, chain = {}, {}
    for i in range(n):
        lock = _lock(i, producer)
        d = Delivery(_h("img", i), producer, lock, _h("fp", i), _h("detail", i), i, MODEL)
        deliveries[d.content_hash] = d
        chain[lock.id] = (LockStatus.WITHDRAWN, 10 + i)
    return deliveries, chain


def _item(d: Delivery, **change) -> BatchItem:
    fields = dict(
        content_hash=d.content_hash,
        fingerprint=d.fingerprint,
        detail_hash=d.detail_hash,
        seed=d.seed,
    )
    return BatchItem(**{**fields, **change})


def _attest(
    deliveries, chain, items, task_id, *, max_batch=2048, registered=frozenset(), reveal=OPEN
):
    return attest_batch(
        BatchRequest(PRODUCER, task_id, tuple(items)),
        deliveries,
        lambda lock_id: chain.get(lock_id, (LockStatus.NONE, 0)),
        esp=ESP,
        chain_id=1337,
        contract=CONTRACT,
        max_batch=max_batch,
        reveal=reveal,
        registered=lambda content_hash: content_hash in registered,
    )


def test_an_honest_batch_is_signed_over_the_roots_in_fingerprint_order():
    deliveries, chain = _world(3)
    ds = list(deliveries.values())
    signed = _attest(deliveries, chain, [_item(d) for d in ds], ds[2].lock.id)
    assert signed.signer() == ESP.address and signed.task_id == ds[2].lock.id
    fps = [it.fingerprint for it in signed.layout.items]
    assert fps == sorted(fps) and signed.layout.count == 3
    leaves = [merkle.fingerprint_leaf(i, fp) for i, fp in enumerate(fps)]
    assert signed.layout.fp_root == merkle.merkle_root(leaves)
    # the file round-trips and checks; a tampered root does not parse
    again = SignedBatch.from_json(signed.to_json())
    again.check()
    assert again.layout.items_root == signed.layout.items_root
    bad = signed.to_json()
    bad["items"][0]["seed"] = "99"
    with pytest.raises(BatchError, match="do not follow"):
        SignedBatch.from_json(bad)


def test_someone_elses_image_is_refused():
    deliveries, chain = _world(2)
    ds = list(deliveries.values())
    stranger = Delivery(_h("img", 9), PRODUCER, ds[0].lock, _h("fp", 9), _h("d", 9), 0, MODEL)
    with pytest.raises(BatchRefused) as exc:
        _attest(deliveries, chain, [_item(ds[0]), _item(stranger)], ds[1].lock.id)
    assert exc.value.code == "not_generated" and exc.value.index == 1


def test_an_image_delivered_to_another_producer_is_refused():
    deliveries, chain = _world(2)
    theirs, their_chain = _world(1, producer=OTHER)
    (their,) = theirs.values()
    their = Delivery(_h("img", 7), OTHER, their.lock, _h("fp", 7), _h("d", 7), 0, MODEL)
    deliveries[their.content_hash] = their
    chain.update(their_chain)
    ds = list(deliveries.values())
    with pytest.raises(BatchRefused) as exc:
        _attest(deliveries, chain, [_item(ds[0]), _item(their)], ds[0].lock.id)
    assert exc.value.code == "not_delivered_to_producer" and exc.value.index == 1


def test_a_lock_older_than_one_items_is_refused_no_backdating():
    deliveries, chain = _world(3)
    ds = list(deliveries.values())
    with pytest.raises(BatchRefused) as exc:
        _attest(deliveries, chain, [_item(d) for d in ds], ds[0].lock.id)  # block 10 < 12
    assert exc.value.code == "stale_lock"
    # nor a lock that is none of the items' own (even a later one)
    later = _lock(42)
    chain[later.id] = (LockStatus.WITHDRAWN, 99)
    with pytest.raises(BatchRefused) as exc:
        _attest(deliveries, chain, [_item(d) for d in ds], later.id)
    assert exc.value.code == "foreign_lock"


@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("fingerprint", "wrong_fingerprint"),
        ("detail_hash", "wrong_detail_hash"),
        ("seed", "wrong_seed"),
    ],
)
def test_a_false_description_is_refused(field, code):
    deliveries, chain = _world(2)
    ds = list(deliveries.values())
    forged = _h("forged", 0) if field != "seed" else 12345
    with pytest.raises(BatchRefused) as exc:
        _attest(deliveries, chain, [_item(ds[0]), _item(ds[1], **{field: forged})], ds[1].lock.id)
    assert exc.value.code == code and exc.value.index == 1


@pytest.mark.parametrize("status", [LockStatus.OPEN, LockStatus.REFUNDED, LockStatus.NONE])
def test_an_unpaid_lock_is_refused(status):
    deliveries, chain = _world(2)
    ds = list(deliveries.values())
    chain[ds[1].lock.id] = (status, 11)
    with pytest.raises(BatchRefused) as exc:
        _attest(deliveries, chain, [_item(d) for d in ds], ds[1].lock.id)
    assert exc.value.code == "unpaid_lock"


def test_size_repeats_and_models_are_bounded():
    deliveries, chain = _world(3)
    ds = list(deliveries.values())
    with pytest.raises(BatchError) as exc:
        _attest(deliveries, chain, [_item(d) for d in ds], ds[2].lock.id, max_batch=2)
    assert exc.value.code == "batch_too_large"
    with pytest.raises(BatchError) as exc:
        _attest(deliveries, chain, [], ds[2].lock.id)
    assert exc.value.code == "batch_empty"
    with pytest.raises(BatchError) as exc:
        _attest(deliveries, chain, [_item(ds[0]), _item(ds[0])], ds[0].lock.id)
    assert exc.value.code == "batch_duplicate_item"
    other_model = Delivery(**{**ds[1].__dict__, "model_id": b"\x09" * 32})
    deliveries[other_model.content_hash] = other_model
    with pytest.raises(BatchRefused) as exc:
        _attest(deliveries, chain, [_item(ds[0]), _item(other_model)], ds[1].lock.id)
    assert exc.value.code == "mixed_models"


def test_two_images_with_one_fingerprint_cannot_share_a_batch():
    a = BatchItem(_h("a", 0), _h("fp", 0), _h("d", 0), 1)
    b = BatchItem(_h("b", 0), _h("fp", 0), _h("d", 1), 2)
    with pytest.raises(BatchError) as exc:
        BatchLayout.of([a, b])
    assert exc.value.code == "batch_duplicate_fingerprint"


class _Chain:
    chain_id = 1337


class _Deployment:
    chain = _Chain()


class _Htlc:
    deployment = _Deployment()

    def __init__(self, table):
        self.table = table

    def lock_info(self, lock_id):
        return self.table.get(lock_id, (LockStatus.NONE, 0))


class _Client:
    account = ESP
    address = ESP.address


def test_the_worker_attests_from_its_own_records_and_one_image_goes_in_one_batch(tmp_path):
    deliveries, chain = _world(3)
    worker = EspWorker(
        _Client(),
        _Htlc(chain),
        make_image=None,
        fingerprint=None,
        state_path=tmp_path / "state.json",
        price=1,
    )
    worker._registered_singly = lambda content_hash: False  # no Registry behind the stubs
    worker._reveal_view = lambda producer: OPEN  # nor a BatchRegistry
    for n, d in enumerate(deliveries.values()):
        worker.state.tasks[f"0x{n:064x}"] = {
            "stage": "claimed",
            "content_hash": "0x" + d.content_hash.hex(),
            "producer": d.producer,
            "fingerprint": "0x" + d.fingerprint.hex(),
            "detail_hash": "0x" + d.detail_hash.hex(),
            "seed": d.seed,
            "model_id": "0x" + d.model_id.hex(),
            "lock": d.lock.to_json(),
        }
    ds = list(deliveries.values())
    first = BatchRequest(PRODUCER, ds[1].lock.id, (_item(ds[0]), _item(ds[1])))
    signed = worker.attest_batch(first, contract=CONTRACT, max_batch=8)
    assert signed.signer() == ESP.address
    assert worker.attest_batch(first, contract=CONTRACT, max_batch=8).layout == signed.layout
    second = BatchRequest(PRODUCER, ds[2].lock.id, (_item(ds[1]), _item(ds[2])))
    with pytest.raises(BatchRefused) as exc:
        worker.attest_batch(second, contract=CONTRACT, max_batch=8)
    assert exc.value.code == "already_batched" and exc.value.index == 0
    # the refusal survives a restart (the state file records the batch)
    restarted = EspWorker(
        _Client(),
        _Htlc(chain),
        make_image=None,
        fingerprint=None,
        state_path=tmp_path / "state.json",
        price=1,
    )
    restarted._registered_singly = lambda content_hash: False
    restarted._reveal_view = lambda producer: OPEN
    with pytest.raises(BatchRefused, match="already attested"):
        restarted.attest_batch(second, contract=CONTRACT, max_batch=8)


def test_without_a_named_lock_the_esp_names_the_latest_and_requests_round_trip():
    deliveries, chain = _world(3)
    ds = list(deliveries.values())
    request = BatchRequest(PRODUCER, None, tuple(_item(d) for d in ds))
    assert BatchRequest.from_json(request.to_json()).to_json() == request.to_json()
    signed = attest_batch(
        request,
        deliveries,
        lambda lock_id: chain[lock_id],
        esp=ESP,
        chain_id=1337,
        contract=CONTRACT,
        max_batch=8,
        reveal=OPEN,
    )
    assert signed.task_id == ds[2].lock.id  # block 12, the latest
    with pytest.raises(BatchError) as exc:
        BatchRequest.from_json({"producer": PRODUCER, "items": [{"content_hash": "0x00"}]})
    assert exc.value.code == "bad_request"
    with pytest.raises(BatchError) as exc:
        BatchRequest.from_json({"producer": PRODUCER, "task_id": "0xzz", "items": []})
    assert exc.value.code == "bad_hex"


def test_a_request_without_seeds_gets_the_esps_own():
    deliveries, chain = _world(2)
    ds = list(deliveries.values())
    items = [RequestItem(d.content_hash, d.fingerprint, d.detail_hash) for d in ds]
    signed = _attest(deliveries, chain, items, ds[1].lock.id)
    assert sorted(it.seed for it in signed.layout.items) == sorted(d.seed for d in ds)


def test_an_image_the_registry_already_holds_is_refused():
    """Exact duplicates of a single registration are refused (the chain cannot see a batched
    item's bytes; two tokens of one image from one ESP could never revoke each other)."""
    deliveries, chain = _world(2)
    ds = list(deliveries.values())
    with pytest.raises(BatchRefused) as exc:
        _attest(
            deliveries,
            chain,
            [_item(d) for d in ds],
            ds[1].lock.id,
            registered={ds[1].content_hash},
        )
    assert exc.value.code == "already_registered" and exc.value.index == 1


def test_a_delivery_recorded_under_someone_elses_lock_is_refused():
    """The worker records the lock the marketplace showed it; one not from this producer to
    this ESP would revert at reveal (or name another payer's priority): refused up front."""
    deliveries, chain = _world(2)
    ds = list(deliveries.values())
    stolen = _lock(7, producer=OTHER)
    chain[stolen.id] = (LockStatus.WITHDRAWN, 20)
    deliveries[ds[1].content_hash] = Delivery(**{**ds[1].__dict__, "lock": stolen})
    with pytest.raises(BatchRefused) as exc:
        _attest(deliveries, chain, [_item(d) for d in ds], None)
    assert exc.value.code == "foreign_lock" and exc.value.index == 1


def test_a_lock_whose_registration_window_has_closed_is_refused():
    """The reveal reverts (BatchRegistrationTooLate) when the commit lands after the lock's block
    plus the window, burning bondPerItem x count: the ESP does not sign such a batch. The commit
    lands at the next block at the earliest, so the last block at which to sign is one before."""
    deliveries, chain = _world(3)
    ds = list(deliveries.values())
    items = [_item(d) for d in ds]
    last = 12 + WINDOW  # the named (latest) lock was made at block 12

    def at(block):
        return RevealView(block=block, registration_window=WINDOW, lock_used=lambda *_: False)

    assert _attest(deliveries, chain, items, ds[2].lock.id, reveal=at(last - 1)).task_id
    with pytest.raises(BatchRefused) as exc:
        _attest(deliveries, chain, items, ds[2].lock.id, reveal=at(last))
    assert exc.value.code == "registration_window_closed" and str(last) in str(exc.value)
    # the ESP naming the lock itself is held to the same window
    with pytest.raises(BatchRefused) as exc:
        _attest(deliveries, chain, items, None, reveal=at(last + 100))
    assert exc.value.code == "registration_window_closed"


def test_a_lock_that_already_registered_a_batch_is_refused():
    """One batch per lock (BatchTaskUsed at reveal): a second batch under a used lock, even the
    same batch signed again after it registered, would only burn its bond."""
    deliveries, chain = _world(2)
    ds = list(deliveries.values())
    used = {ds[1].lock.id}
    view = RevealView(block=20, registration_window=WINDOW, lock_used=lambda t, _: t in used)
    with pytest.raises(BatchRefused) as exc:
        _attest(deliveries, chain, [_item(d) for d in ds], ds[1].lock.id, reveal=view)
    assert exc.value.code == "lock_used"
    # a batch of the earlier item alone names its own (unused) lock and is signed
    assert _attest(deliveries, chain, [_item(ds[0])], ds[0].lock.id, reveal=view).task_id


def test_the_chain_view_agrees_with_the_batch_registry(embedded_world):
    """reveal_view reads the window and the used locks from the chain, and its verdict is the
    reveal's: a lock that registered a batch reads used; at the last block it allows, the commit
    lands in time and registers; one block later it refuses, and the chain would revert."""
    world = embedded_world
    register_esp(world)
    producer, esp = world.producer, world.esp
    batches = BatchRegistryClient(world.deployment)
    window = batches.params().registration_window
    used, edge, late = (paid_lock(world, producer, esp) for _ in range(3))
    made = {x.id: HtlcClient(world.deployment).lock_info(x.id)[1] for x in (used, edge, late)}

    def refusal(lock):
        return reveal_view(batches, producer.address).refusal(lock.id, made[lock.id])

    def block():
        return int(world.chain.w3.eth.block_number)

    assert refusal(used) is None
    batch_kit.register_batch(world, producer, lock=used, esp=esp)
    assert getattr(refusal(used), "code", None) == "lock_used"
    world.chain.mine(made[edge.id] + window - 1 - block())
    assert refusal(edge) is None  # its commit lands at the window's last block
    batch_kit.register_batch(world, producer, lock=edge, esp=esp)
    world.chain.mine(max(0, made[late.id] + window - block()))
    assert getattr(refusal(late), "code", None) == "registration_window_closed"
    with pytest.raises(ContractRevert) as exc:
        batch_kit.register_batch(world, producer, lock=late, esp=esp)
    assert exc.value.name == "BatchRegistrationTooLate"


def test_the_worker_refuses_a_lock_the_chain_has_used(embedded_world, tmp_path):
    """The worker (what `aigc esp run` and `aigc esp attest-batch` call) reads the chain's
    reveal view itself: once a batch registered under the lock, the same batch is not signed
    again (its answer lost, the producer asking twice, would otherwise burn a second bond)."""
    world = embedded_world
    register_esp(world)
    producer, esp = world.producer, world.esp
    lock = paid_lock(world, producer, esp)

    class Client:
        account, address = esp, esp.address

    worker = EspWorker(
        Client(),
        HtlcClient(world.deployment),
        make_image=None,
        fingerprint=None,
        state_path=tmp_path / "state.json",
        price=1,
    )
    deliveries = [
        Delivery(_h("img", i), producer.address, lock, _h("fp", i), _h("d", i), i, MODEL)
        for i in range(2)
    ]
    for n, d in enumerate(deliveries):
        worker.state.tasks[f"0x{n:064x}"] = {
            "stage": "claimed",
            "content_hash": "0x" + d.content_hash.hex(),
            "producer": d.producer,
            "fingerprint": "0x" + d.fingerprint.hex(),
            "detail_hash": "0x" + d.detail_hash.hex(),
            "seed": d.seed,
            "model_id": "0x" + d.model_id.hex(),
            "lock": d.lock.to_json(),
        }
    request = BatchRequest(producer.address, None, tuple(_item(d) for d in deliveries))
    contract = BatchRegistryClient(world.deployment).address
    assert worker.attest_batch(request, contract=contract, max_batch=8).task_id == lock.id
    batch_kit.register_batch(world, producer, lock=lock, esp=esp)
    with pytest.raises(BatchRefused) as exc:
        worker.attest_batch(request, contract=contract, max_batch=8)
    assert exc.value.code == "lock_used"
