"""A paid generation over REST: post, quote, lock, sealed delivery, claim, open, register.

The ESP is the real worker (:class:`services.esp_worker.EspWorker`), the producer the real client
session; both sign with their own keys; the API learns chain facts only from its indexer.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ledger import EspRegistryClient, HtlcClient, LockStatus, LockTerms, RegistryClient
from services import esp_worker
from services.content import canonical_hash
from services.esp_worker import EspWorker
from services.exchange import delivery_key, public_key_bytes
from services.market_client import MarketClient, MarketError
from services.producer import DeliveryMismatch, ProducerSession
from services.provenance import fingerprint
from tests.contracts.helpers import register_esp

PRICE = 10**15


def _image(prompt: str, seed: int):
    rng = np.random.default_rng(seed + len(prompt))
    small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((64, 64), Image.Resampling.BICUBIC), {
        "model_id": "test-painter"
    }


def _fp(img):
    return fingerprint(img).to_bytes32()


def _worker(world, client: MarketClient, esp, state_path) -> EspWorker:
    """An ESP worker for ``esp`` (a dev account) painting with the test's ``_image``."""
    return EspWorker(
        client,
        HtlcClient(world.deployment, world.tx(esp)),
        make_image=_image,
        fingerprint=_fp,
        state_path=state_path,
        price=PRICE,
    )


@pytest.fixture
def parties(api, tmp_path):
    world = api.world
    register_esp(world)
    esp_client = MarketClient(api.client, world.esp)
    producer_client = MarketClient(api.client, world.producer)
    esp_client.sign_in()
    producer_client.sign_in()
    worker = _worker(world, esp_client, world.esp, tmp_path / "esp-state.json")
    producer = ProducerSession(
        producer_client,
        HtlcClient(world.deployment, world.tx(world.producer)),
        RegistryClient(world.deployment, world.tx(world.producer)),
        EspRegistryClient(world.deployment, world.tx(world.producer)),
        fingerprint=_fp,
    )
    return worker, producer


def test_paid_generation_end_to_end(api, parties, tmp_path):
    worker, producer = parties
    world = api.world
    task = producer.post("a red circle on a blue background", seed=7, max_price=2 * PRICE)
    assert task["esp"] == world.esp.address and task["status"] == "posted"  # the only ESP
    assert worker.step() == [f"quoted {task['id'][:10]}"]
    quoted = producer.task(task["id"])
    assert quoted["status"] == "quoted" and int(quoted["price"]) == PRICE
    assert worker.step() == []  # nothing to do until the fee is locked on chain
    lock = producer.lock_fee(quoted)
    api.index()
    assert producer.task(task["id"])["status"] == "locked"
    # a worker restarted here resumes from its state file with the same secret
    restarted = EspWorker(
        worker.client,
        worker.htlc,
        make_image=_image,
        fingerprint=_fp,
        state_path=tmp_path / "esp-state.json",
        price=PRICE,
    )
    assert restarted.step() == [f"delivered {task['id'][:10]}"]
    assert worker.htlc.status(lock) is LockStatus.OPEN  # secret not revealed before delivery
    assert restarted.step() == [f"claimed {task['id'][:10]}"]
    api.index()
    claimed = producer.task(task["id"])
    assert claimed["status"] == "claimed"
    image, attestation = producer.collect(claimed)
    token = producer.register(claimed, image, attestation)
    # One number format: the fee lock as the task shows it (asset by name, amounts as decimal
    # strings) is what /v1/tx/feedback takes, as is.
    assert claimed["lock"]["asset"] == "ETHER" and claimed["lock"]["amount"] == str(PRICE)
    assert claimed["price"] == str(PRICE) and claimed["max_price"] == str(2 * PRICE)
    wallet_tx = producer.client.post(
        "/v1/tx/feedback", json={"lock": claimed["lock"], "positive": True}
    )
    assert wallet_tx["to"] == world.deployment.esp_registry.address
    producer.feedback(claimed, positive=True)
    api.index()
    registered = producer.task(task["id"])
    assert registered["status"] == "registered" and registered["token_id"] == str(token)
    product = api.client.get(f"/v1/products/{token}").json()
    assert product["producer"] == world.producer.address and product["esp"] == world.esp.address
    assert product["task_id"] == claimed["lock_id"]  # the attested task is the paid lock


def _claimed(api, worker, producer, prompt, *, seed, esp=None):
    """A task taken through quote, lock, delivery and claim; returns (posted, claimed) views."""
    task = producer.post(prompt, seed=seed, max_price=PRICE, esp=esp)
    worker.step()
    producer.lock_fee(producer.task(task["id"]))
    api.index()
    worker.step()
    worker.step()
    api.index()
    return task, producer.task(task["id"])


def test_the_preimage_alone_does_not_open_the_delivery_for_others(api, parties):
    worker, producer = parties
    task, claimed = _claimed(api, worker, producer, "a green square", seed=1)
    eve = MarketClient(api.client, api.world.buyer)
    with pytest.raises(MarketError) as exc:
        eve.get(f"/v1/tasks/{task['id']}/sealed")
    assert exc.value.status == 403
    # even with the sealed bytes and the on-chain preimage, Eve's ECDH secret is wrong
    eve_session = ProducerSession(
        eve, producer.htlc, producer.registry, producer.esps, fingerprint=_fp
    )
    eve.get_bytes = producer.client.get_bytes  # pretend the sealed bytes leaked
    with pytest.raises(DeliveryMismatch, match="does not open"):
        eve_session.collect(claimed)


def test_a_cheating_esp_is_caught_by_a_fraud_proof(api, parties, monkeypatch):
    worker, producer = parties
    task = producer.post("a blue star", seed=3, max_price=PRICE)
    worker.step()
    producer.lock_fee(producer.task(task["id"]))
    api.index()
    honest_seal = esp_worker.seal
    # The ESP attests one image but seals different bytes.
    monkeypatch.setattr(
        esp_worker,
        "seal",
        lambda data, *, key, task_id: honest_seal(b"junk" + data[4:], key=key, task_id=task_id),
    )
    worker.step()
    monkeypatch.undo()
    worker.step()
    api.index()
    claimed = producer.task(task["id"])
    with pytest.raises(DeliveryMismatch) as exc:
        producer.collect(claimed)
    proven = producer.report_fraud(exc.value)
    assert proven["status"] == "fraud_proven"
    assert proven["fraud"]["attested"] == claimed["delivery"]["content_hash"]


def test_an_honest_delivery_cannot_be_framed(api, parties):
    worker, producer = parties
    task, claimed = _claimed(api, worker, producer, "a yellow moon", seed=4)
    producer.collect(claimed)  # opens fine
    with pytest.raises(MarketError) as exc:  # a random key does not match the commitment
        producer.client.post(f"/v1/tasks/{task['id']}/fraud", json={"key": "0x" + "42" * 32})
    assert exc.value.code == "bad_key"
    lock = LockTerms.from_json(claimed["lock"])
    key = delivery_key(
        own_private=bytes(api.world.producer.key),
        peer_public=public_key_bytes(bytes(api.world.esp.key)),
        preimage=producer.htlc.revealed_preimage(lock),
        task_id=bytes.fromhex(task["id"][2:]),
    )
    with pytest.raises(MarketError) as exc:  # the real key opens an image matching its attestation
        producer.client.post(f"/v1/tasks/{task['id']}/fraud", json={"key": "0x" + key.hex()})
    assert exc.value.code == "no_fraud"


def test_task_rules(api, parties):
    worker, producer = parties
    world = api.world
    with pytest.raises(MarketError) as exc:
        producer.post("x", seed=1, max_price=PRICE, esp=world.buyer.address)
    assert exc.value.code == "esp_not_registered"
    task = producer.post("x", seed=1, max_price=PRICE)
    with pytest.raises(MarketError) as exc:  # only the ESP quotes
        producer.client.post(
            f"/v1/tasks/{task['id']}/quote",
            json={"price": 1, "hashlock": "0x" + "11" * 32, "deadline": 2**40},
        )
    assert exc.value.status == 403
    with pytest.raises(MarketError) as exc:  # delivering before the lock
        worker.client.post(
            f"/v1/tasks/{task['id']}/delivery",
            data={"meta": json.dumps({})},
            files={"sealed": ("s", b"x" * 40), "preview": ("p", b"y")},
        )
    assert exc.value.code == "task_not_ready"  # services.generation
    with pytest.raises(MarketError) as exc:
        producer.client.get("/v1/tasks/0x" + "ab" * 32)
    assert exc.value.status == 404


def test_a_reorged_fee_lock_sends_the_task_back_to_quoted(api, parties):
    """The indexer's task projection re-derives the state from the events a reorg leaves
    (services.generation.rewound_state), then follows the new branch."""
    worker, producer = parties
    world = api.world
    task = producer.post("a green square", seed=3, max_price=PRICE)
    worker.step()
    quoted = producer.task(task["id"])
    fork_point = world.chain.snapshot()
    producer.lock_fee(quoted)
    api.index()
    assert producer.task(task["id"])["status"] == "locked"
    world.chain.revert(fork_point)  # the block with the fee lock is orphaned...
    world.chain.mine(2)  # ...and another branch grows instead
    api.index()
    rewound = producer.task(task["id"])
    assert (rewound["status"], rewound["lock"], rewound["lock_id"]) == ("quoted", None, None)
    lock = producer.lock_fee(rewound)
    api.index()
    again = producer.task(task["id"])
    assert again["status"] == "locked" and again["lock_id"] == "0x" + lock.id.hex()


def test_an_esp_never_attests_the_same_bytes_to_two_payers(api, parties):
    """Two Sybils asking one honest ESP for the same prompt and seed (a deterministic model gives
    the same bytes) could register both, the earlier payer `reclaim` the later one's token, and
    the Registry slash the ESP to the dispossessed Sybil: 0.05 ETH farmed for a bond and two
    fees. The worker delivers the first and declines the second (its lock refunds). The seed is
    keyed by the payer (red team 3), so this backstop is for a model whose bytes ignore it."""
    worker, first = parties
    worker.make_image = lambda prompt, seed: _image(prompt, 0)  # the seed changes nothing
    world = api.world
    second_client = MarketClient(api.client, world.buyer)
    second_client.sign_in()
    second = ProducerSession(
        second_client,
        HtlcClient(world.deployment, world.tx(world.buyer)),
        RegistryClient(world.deployment, world.tx(world.buyer)),
        EspRegistryClient(world.deployment, world.tx(world.buyer)),
        fingerprint=_fp,
    )
    _, claimed = _claimed(api, worker, first, "a blue square", seed=11)
    assert claimed["status"] == "claimed"
    task = second.post("a blue square", seed=11, max_price=PRICE)
    worker.step()
    second.lock_fee(second.task(task["id"]))
    api.index()
    assert worker.step() == [f"declined {task['id'][:10]}"]
    assert worker.step() == []  # declined for good: no delivery, no claim
    api.index()
    assert second.task(task["id"])["status"] == "locked"  # refundable after its deadline
    # The same producer asking again is not a second payer: it is served.
    _, again = _claimed(api, worker, first, "a blue square", seed=11)
    assert again["status"] == "claimed"


def test_two_esps_asked_for_one_prompt_and_seed_deliver_different_images(api, parties, tmp_path):
    """The slash farm through two honest ESPs: the model's bytes are fixed by prompt and seed,
    so an attacker asking two ESPs for one seed (and synonym prompts) got two images of one
    layout, registered one through each, and revoked the second with the first: the copy's ESP
    lost 0.05 ETH of stake (then paid to the challenger, now burned) for two fees and one bond.
    Each ESP now generates
    with a seed keyed by its own secret (``EspWorker.generation_seed``): the same request gives
    two unrelated images, while one ESP asked again gives the same bytes (restart-safe)."""
    worker_a, producer = parties
    world = api.world
    register_esp(world, world.buyer)
    esp_b = MarketClient(api.client, world.buyer)
    esp_b.sign_in()
    worker_b = _worker(world, esp_b, world.buyer, tmp_path / "esp-b-state.json")
    prompt = "a yellow circle on a black background"
    hashes = []
    for worker, esp in ((worker_a, world.esp), (worker_b, world.buyer)):
        _task, claimed = _claimed(api, worker, producer, prompt, seed=7, esp=esp.address)
        assert claimed["status"] == "claimed" and int(claimed["seed"]) == 7
        image, _attestation = producer.collect(claimed)
        hashes.append(canonical_hash(image))
    assert hashes[0] != hashes[1]
    seed = worker_a.generation_seed(7, prompt=prompt)
    assert seed != worker_b.generation_seed(7, prompt=prompt)
    assert seed == worker_a.generation_seed(7, prompt=prompt) < 2**63
    assert seed != worker_a.generation_seed(7, prompt="a yellow disc on a black background")
