"""Red team (issue 11, the watch): a note must reach the one who can act on it.

The contracts let a token's holder challenge with it, and its holder (its producer while the
swap escrow holds it) contest a challenge of it. The API's notes went to the indexed owner at
the time they were written: the escrow contract itself while a token was listed (nobody can sign
in as it: the producer was never told of a challenge, ``aigc defend`` reading the API's notes
never saw it, and a squatter's admissible but wrong challenge revoked the token by default;
the buyer who got an escrowed original was never told of its copy), and nobody at all for a
copy of a token that was revoked when the copy registered and reinstated later.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ledger import TokenStatus, errors, new_secret
from tests.api.test_watch_order import _mirrored_jpeg, _picture, _register, _registration
from tests.contracts.helpers import copier_esp, paid_lock, past_reclaim, register_esp

HOUR = 3600


def test_a_challenge_of_an_escrowed_token_is_told_to_its_producer(api):
    world = api.world
    register_esp(world)
    squatter_esp = copier_esp(world)
    central = _picture()
    rng = np.random.default_rng(5)
    unrelated = Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
    # The squatter's early image, then the producer's unrelated one: the compact fingerprints
    # match (admissible), the detail rule would not (a contest wins).
    squat = _register(
        world, world.attacker, central, paid_lock(world, world.attacker, squatter_esp),
        esp=squatter_esp,
    )  # fmt: skip
    victim = _register(
        world, world.producer, unrelated, paid_lock(world, world.producer, world.esp),
        compact_of=central,
    )  # fmt: skip
    # The producer lists its token (once no earlier payer can reclaim it): the escrow now holds
    # it for the buyer.
    past_reclaim(world)
    registry = world.registry(world.producer)
    registry.approve(world.deployment.htlc.address, victim)
    _, hashlock = new_secret()
    world.htlc(world.producer).lock_erc721(
        registry.address,
        world.buyer.address,
        token_id=victim,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + HOUR,
    )
    api.index()
    world.registry(world.attacker).challenge(squat, victim)
    api.index()

    headers = api.sign_in(world.producer)
    notes = api.client.get("/v1/notifications", headers=headers).json()["items"]
    opened = [n for n in notes if n["kind"] == "challenge_opened"]
    assert [(n["original"], n["duplicate"]) for n in opened] == [(str(squat), str(victim))]
    prepared = opened[0]["prepared_contest"]
    r = api.client.post(prepared["endpoint"], json=prepared["body"], headers=headers)
    assert r.status_code == 200, r.text  # the contract accepts the producer's contest
    registry.contest(squat, victim)
    assert registry.dispute(squat, victim).contester == world.producer.address
    assert registry.record(victim).status is TokenStatus.ACTIVE


def test_a_copy_of_an_escrowed_original_is_told_to_whoever_gets_the_original(api):
    """The plagiarism watch addressed its prepared challenge to the original's indexed owner:
    while the original sits in the swap escrow that is the escrow contract (nobody can read its
    notifications, and the contract lets nobody challenge with an escrowed token). The owner who
    can actually win is whoever the escrow releases the token to (here the buyer, once the swap
    completes): it must get the note, and its prepared challenge must succeed."""
    world = api.world
    register_esp(world)
    copier = copier_esp(world)
    img = _picture()
    original = _register(world, world.producer, img, paid_lock(world, world.producer, world.esp))
    past_reclaim(world)  # the escrow takes it once no earlier payer can reclaim it
    registry = world.registry(world.producer)
    registry.approve(world.deployment.htlc.address, original)
    preimage, hashlock = new_secret()
    sale = world.htlc(world.producer).lock_erc721(
        registry.address,
        world.buyer.address,
        token_id=original,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + HOUR,
    )
    copy = _register(
        world, world.attacker, _mirrored_jpeg(img), paid_lock(world, world.attacker, copier),
        esp=copier,
    )  # fmt: skip
    api.index()
    world.htlc(world.buyer).withdraw(sale, preimage)  # the swap completes: the buyer owns it
    api.index()

    headers = api.sign_in(world.buyer)
    notes = api.client.get("/v1/notifications", headers=headers).json()["items"]
    (note,) = [n for n in notes if n["kind"] == "plagiarism_suspected"]
    assert note["original"] == str(original) and note["duplicate"] == str(copy)
    prepared = note["prepared_challenge"]
    r = api.client.post(prepared["endpoint"], json=prepared["body"], headers=headers)
    assert r.status_code == 200, r.text
    buyer = world.registry(world.buyer)
    buyer.challenge(original, copy)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert buyer.finalize(original, copy)
    assert buyer.record(copy).status is TokenStatus.REVOKED


def _smooth(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(base).resize((128, 128), Image.Resampling.BICUBIC)


def test_a_copy_registered_while_its_original_was_revoked_is_told_on_reinstatement(api):
    """The watch skips revoked originals. A token revoked by a squatter's copy A (Z's copy)
    and reinstated when Z revokes A within the hold (``settle`` reverses the win) is active
    again, and may challenge the copy C registered meanwhile: its owner must be told then, with
    a prepared challenge that succeeds. The watch ran only when C registered (nothing to say:
    the original was revoked), so the owner never heard of C."""
    world = api.world
    register_esp(world)
    other = copier_esp(world)
    central, own = _picture(), _smooth(12)
    z = _register(world, world.buyer, central, paid_lock(world, world.buyer, world.esp))
    a = _register(
        world, world.attacker, _mirrored_jpeg(central), paid_lock(world, world.attacker, other),
        esp=other,
    )  # fmt: skip
    # The victim's own image; its compact fingerprint happens to match the squatter's.
    victim = _register(
        world, world.producer, own, paid_lock(world, world.producer, world.esp),
        compact_of=central,
    )  # fmt: skip
    squatter = world.registry(world.attacker)
    squatter.challenge(a, victim)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert squatter.finalize(a, victim)  # the victim was away: revoked
    copy = _register(
        world, world.attacker, _mirrored_jpeg(own), paid_lock(world, world.attacker, other),
        esp=other, compact_of=central,
    )  # fmt: skip
    api.index()
    z_owner = world.registry(world.buyer)
    z_owner.challenge(z, a)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert z_owner.finalize(z, a)  # the squatter's token was Z's copy
    z_owner.settle(a, victim)  # A's win is reversed: the victim is active again
    assert z_owner.record(victim).status is TokenStatus.ACTIVE
    api.index()

    headers = api.sign_in(world.producer)
    notes = api.client.get("/v1/notifications", headers=headers).json()["items"]
    (note,) = [n for n in notes if n["kind"] == "plagiarism_suspected"]
    assert note["original"] == str(victim) and note["duplicate"] == str(copy)
    prepared = note["prepared_challenge"]
    r = api.client.post(prepared["endpoint"], json=prepared["body"], headers=headers)
    assert r.status_code == 200, r.text
    owner = world.registry(world.producer)
    owner.challenge(victim, copy)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert owner.finalize(victim, copy)


def test_a_challenge_of_an_escrowed_resold_token_is_told_to_its_seller(api):
    """A resold token in the escrow: the Registry lets whoever listed it (its seller) contest
    then (018fac0), not its first producer. The API told the producer, whose prepared contest
    reverts (RegistryNotOwner), and the seller only as a side notice (before this fix the
    producer's contest was tried here and reverted); now the seller is told, and its prepared
    contest succeeds while the escrow still holds the token."""
    world = api.world
    register_esp(world)
    squatter_esp = copier_esp(world)
    central = _picture()
    rng = np.random.default_rng(6)
    unrelated = Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
    squat = _register(
        world, world.attacker, central, paid_lock(world, world.attacker, squatter_esp),
        esp=squatter_esp,
    )  # fmt: skip
    victim = _register(
        world, world.producer, unrelated, paid_lock(world, world.producer, world.esp),
        compact_of=central,
    )  # fmt: skip
    past_reclaim(world)  # a fresh token does not move (RegistryTokenReclaimable)
    world.registry(world.producer).transfer(world.buyer.address, victim)  # sold once
    holder = world.registry(world.buyer)
    holder.approve(world.deployment.htlc.address, victim)
    _, hashlock = new_secret()
    world.htlc(world.buyer).lock_erc721(
        holder.address,
        world.accounts[7].address,
        token_id=victim,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + HOUR,
    )
    api.index()
    world.registry(world.attacker).challenge(squat, victim)
    api.index()

    def opened(who):
        notes = api.client.get("/v1/notifications", headers=api.sign_in(who)).json()["items"]
        return [n for n in notes if n["kind"] == "challenge_opened"]

    assert opened(world.producer) == []  # it cannot contest: not told
    with pytest.raises(errors.RegistryNotOwner):
        world.registry(world.producer).contest(squat, victim)
    (note,) = opened(world.buyer)
    assert (note["original"], note["duplicate"]) == (str(squat), str(victim))
    prepared = note["prepared_contest"]
    r = api.client.post(
        prepared["endpoint"], json=prepared["body"], headers=api.sign_in(world.buyer)
    )
    assert r.status_code == 200, r.text
    assert r.json()["to"].lower() == holder.address.lower()
    holder.contest(squat, victim)  # still escrowed: the seller answers for it
    assert holder.owner_of(victim) == world.deployment.htlc.address
    assert holder.dispute(squat, victim).contester == world.buyer.address


def test_a_reclaimed_token_carries_no_stale_note_to_its_earlier_payer(api):
    """Notes follow a token to its new holder, but a reclaim also changes the token's record (the
    earlier payer's ESP, priority and commitment): the notes written for the taker's record are
    not forwarded as they were; the watch of the new record says what holds now. Here the
    taker's token was attested by another ESP than its near copy's (a revoking
    ``plagiarism_suspected``); the earlier payer's ESP attested the copy too, so for it the pair
    is an ``equivocation``, and it must not also get the taker's revoking note."""
    world = api.world
    register_esp(world)
    other = copier_esp(world)
    img = _picture()
    # Across ESPs a registration revokes (or reclaims) only what was paid for after its commit,
    # and the copy's fee must follow the taker's commit, all within the producer's commit TTL:
    # the taker registers late (its lock older than the registration window), so its priority
    # is its own commit block, after the producer's commit.
    taker_lock = paid_lock(world, world.attacker, other)
    world.chain.mine(world.params.registration_window_blocks + 1)
    early = paid_lock(world, world.producer, world.esp)  # the earlier payer, through E
    reg = _registration(world, world.producer, img, early)
    producer = world.registry(world.producer)
    producer.commit(reg)  # committed first: a reclaim across ESPs needs it
    taken = _register(world, world.attacker, img, taker_lock, esp=other)
    copier_lock = paid_lock(world, world.buyer, world.esp)
    copy = _register(world, world.buyer, _mirrored_jpeg(img), copier_lock)
    api.index()
    notes = api.client.get("/v1/notifications", headers=api.sign_in(world.attacker)).json()
    assert [n["kind"] for n in notes["items"]] == ["plagiarism_suspected"]  # the taker's note

    assert producer.reclaim(reg, early, producer.sign_attestation(world.esp, reg)) == taken
    api.index()

    headers = api.sign_in(world.producer)
    notes = api.client.get("/v1/notifications", headers=headers).json()["items"]
    pair = [n["kind"] for n in notes if (n["original"], n["duplicate"]) == (str(taken), str(copy))]
    assert pair == ["equivocation"]
