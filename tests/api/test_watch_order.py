"""The plagiarism watch orders candidates as the contract does (issue 11's watch-order finding).

Priority is the block of the paid generation lock, not the reveal order: a producer who paid
first but revealed late holds the original. The watch must tell that producer, and its prepared
challenge must succeed; the copier, who revealed first, must not be told to challenge.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps

from ledger import LockTerms, Registration, TokenStatus
from services.content import canonical_hash
from services.provenance import detail_descriptor, fingerprint
from tests.contracts.helpers import copier_esp, paid_lock, register_esp


def _picture() -> Image.Image:
    rng = np.random.default_rng(11)
    base = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(base).resize((128, 128), Image.Resampling.BICUBIC)


def _mirrored_jpeg(img: Image.Image) -> Image.Image:
    buf = io.BytesIO()
    ImageOps.mirror(img).save(buf, format="JPEG", quality=40)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _registration(
    world, owner, img: Image.Image, lock: LockTerms, *, esp=None, compact_of=None
) -> Registration:
    return Registration(
        content_hash=canonical_hash(img),
        fingerprint=fingerprint(compact_of or img).to_bytes32(),
        detail=detail_descriptor(img),
        owner=owner.address,
        esp=(esp or world.esp).address,
        task_id=lock.id,
        model_id=b"\x03" * 32,
        seed=5,
    )


def _register(world, owner, img: Image.Image, lock: LockTerms, *, esp=None, compact_of=None) -> int:
    """Commits and reveals ``img`` for ``owner``, attested by ``esp`` (``world.esp`` if None)."""
    reg = _registration(world, owner, img, lock, esp=esp, compact_of=compact_of)
    client = world.registry(owner)
    client.commit(reg)
    return client.reveal(reg, lock, client.sign_attestation(esp or world.esp, reg))


def test_the_watch_tells_the_owner_who_paid_first_even_when_it_revealed_last(api):
    """Two ESPs: the producer paid and committed first, the copier revealed first; priority
    (and the commitment before the copy's fee lock and commit) gives the producer a revoking
    challenge.
    One ESP attesting both is an equivocation instead: tests/api/test_watch_equivocation.py."""
    world = api.world
    register_esp(world)
    other_esp = copier_esp(world)
    original_img = _picture()
    early_lock = paid_lock(world, world.producer, world.esp)  # the producer pays first...
    reg = _registration(world, world.producer, original_img, early_lock)
    world.registry(world.producer).commit(reg)  # ...and commits before the copy's fee is locked,
    late_lock = paid_lock(world, world.attacker, other_esp)
    copy = _register(world, world.attacker, _mirrored_jpeg(original_img), late_lock, esp=other_esp)
    client = world.registry(world.producer)
    original = client.reveal(reg, early_lock, client.sign_attestation(world.esp, reg))  # ...last
    api.index()

    copier_notes = api.client.get("/v1/notifications", headers=api.sign_in(world.attacker))
    assert "plagiarism_suspected" not in [n["kind"] for n in copier_notes.json()["items"]]
    headers = api.sign_in(world.producer)
    notes = api.client.get("/v1/notifications", headers=headers).json()["items"]
    assert "equivocation" not in [n["kind"] for n in notes]  # two ESPs: priority decides
    (note,) = [n for n in notes if n["kind"] == "plagiarism_suspected"]
    assert note["original"] == str(original) and note["duplicate"] == str(copy)

    prepared = note["prepared_challenge"]
    r = api.client.post(prepared["endpoint"], json=prepared["body"], headers=headers)
    assert r.status_code == 200, r.text  # the contract would accept it (gas estimated as the owner)
    client.challenge(original, copy)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert client.finalize(original, copy)  # uncontested: the copy is revoked
    assert client.record(copy).status is TokenStatus.REVOKED


def test_the_watch_stays_silent_on_a_copy_whose_fee_was_locked_before_the_originals_commit(api):
    """Two ESPs, the copier's fee locked between the producer's lock and commit (the block
    pattern of an ESP leaking its customer's image to a Sybil of its second ESP): the contracts
    refuse both challenges (``RegistryCommittedAfterPublication`` one way, the younger lock the
    other), a stalemate, so the watch tells neither owner to challenge."""
    world = api.world
    register_esp(world)
    other_esp = copier_esp(world)
    original_img = _picture()
    early_lock = paid_lock(world, world.producer, world.esp)
    late_lock = paid_lock(world, world.attacker, other_esp)  # before the producer's commit
    _register(world, world.producer, original_img, early_lock)
    _register(world, world.attacker, _mirrored_jpeg(original_img), late_lock, esp=other_esp)
    api.index()
    for who in (world.producer, world.attacker):
        notes = api.client.get("/v1/notifications", headers=api.sign_in(who)).json()["items"]
        assert "plagiarism_suspected" not in [n["kind"] for n in notes]


def test_the_watch_stays_silent_when_the_detail_rule_would_reject(api):
    """A compact-only near match between different images is not worth a challenge: the
    owner would lose the contested dispute and its deposit, so the watch does not propose it."""
    world = api.world
    register_esp(world)
    a = _picture()
    rng = np.random.default_rng(99)
    b = Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
    _register(world, world.producer, a, paid_lock(world, world.producer, world.esp))
    # b carries a's compact fingerprint (the admissibility rule matches) but its own detail
    _register(world, world.buyer, b, paid_lock(world, world.buyer, world.esp), compact_of=a)
    api.index()
    for who in (world.producer, world.buyer):
        notes = api.client.get("/v1/notifications", headers=api.sign_in(who)).json()["items"]
        assert "plagiarism_suspected" not in [n["kind"] for n in notes]


def test_a_reclaimed_token_shows_its_earlier_payer(api):
    """The indexer follows a reclaim: the product becomes the earlier payer's registration."""
    world = api.world
    register_esp(world)
    img = _picture()
    early = paid_lock(world, world.producer, world.esp)
    taken = _register(world, world.attacker, img, paid_lock(world, world.attacker, world.esp))
    api.index()
    reg = Registration(
        content_hash=canonical_hash(img),
        fingerprint=fingerprint(img).to_bytes32(),
        detail=detail_descriptor(img),
        owner=world.producer.address,
        esp=world.esp.address,
        task_id=early.id,
        model_id=b"\x03" * 32,
        seed=5,
    )
    client = world.registry(world.producer)
    client.commit(reg)
    assert client.reclaim(reg, early, client.sign_attestation(world.esp, reg)) == taken
    api.index()
    product = api.client.get(f"/v1/products/0x{taken:064x}").json()
    assert product["owner"] == product["producer"] == world.producer.address
    assert "reclaimed" in [h["kind"] for h in product["history"]]
