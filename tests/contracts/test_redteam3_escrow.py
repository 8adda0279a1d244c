"""Red team, round 3 (issue 11): the escrow's time accounting (``_escrows``, 7e154ee) against
``reclaim``, which refuses a token the swap escrow holds (``RegistryTokenEscrowed``).

Every test runs on every chain backend (``world``).
"""

from __future__ import annotations

import pytest

from ledger import errors
from tests.contracts.attack_kit import register_image
from tests.contracts.helpers import paid_lock, past_reclaim, register_esp, registration
from tests.contracts.test_redteam2_escrow import _list

YEAR = 365 * 24 * 3600


def test_a_taker_cannot_park_the_token_in_the_escrow_until_the_reclaim_is_moot(world):
    """``test_a_taker_cannot_outlast_the_reclaim_window_by_listing_the_token`` (fixed: the
    escrow's time extends the reclaim window) assumed the listing ends. It need not: the ESP's
    Sybil registers its customer's exact bytes (the customer's reveal reverts
    ``RegistryDuplicateContent``), then lists the token for a second Sybil with a timelock a
    century away (``lockERC721`` checks only a minimum duration). ``reclaim`` refuses an
    escrowed token, so the customer, who paid the fee first, cannot have its image for as long
    as the taker likes; the window extension is never counted (the token never leaves), the
    ESP's equivocation is never reported (no slash), and the taker's bond is never at risk. The
    taker pays an approve and a lock; the customer loses its fee (0.001 ETH) and the image.

    Fixed (a strict xfail before: a year of chain time and twice the registration window
    after the century's listing, ``reclaim`` still reverted ``RegistryTokenEscrowed``): the
    HTLC bounds an ERC-721 lock's timelock from above (``maxTokenLockDuration``, a day:
    ``LockTimelockTooLong``), and the Registry refuses a token's return to the escrow for
    ``commitTtl + 1`` blocks after it left (``RegistryRelistTooSoon``). The taker's longest
    listing ends; anyone may refund it then (here the customer); the taker's relist is refused,
    and the customer commits and reclaims (its window extended by the escrow's blocks), the ESP
    slashed. Since the escrow refuses a token while it may be reclaimed
    (``RegistryTokenReclaimable``, red team 2's buyer fix) the day's listing is refused too: the
    customer commits and reclaims at once; the bound and the relist gap still hold for every
    listing after the window (the next test)."""
    register_esp(world)
    esp, customer_account = world.esp, world.producer
    customer_lock = paid_lock(world, customer_account, esp)  # the ESP has the image first
    content = b"the customer's image, parked in the escrow by the ESP's Sybil"
    taken = register_image(world, world.attacker, world.attacker.address, content=content, esp=esp)
    second_sybil = world.accounts[7].address
    with pytest.raises(errors.LockTimelockTooLong):
        _list(world, world.attacker, taken, to=second_sybil, seconds=100 * YEAR)
    longest = world.htlc(world.attacker).max_token_lock_duration()
    assert longest == world.params.max_token_lock_duration == 24 * 3600
    with pytest.raises(errors.RegistryTokenReclaimable):
        _list(world, world.attacker, taken, to=second_sybil, seconds=longest)
    customer = world.registry(customer_account)
    reg = registration(customer_account.address, esp.address, lock=customer_lock, content=content)
    customer.commit(reg)
    customer.reclaim(reg, customer_lock, customer.sign_attestation(esp, reg))
    assert customer.owner_of(taken) == customer_account.address
    assert world.esps(world.buyer).challenges_lost(esp.address) == 1


def test_an_honest_seller_lists_for_a_day_at_most_and_relists_after_a_few_blocks(world):
    """What the fix costs an honest seller: a listing longer than a day is refused with its
    bound (``LockTimelockTooLong(timelock, latestAllowed)``; the SDK's default listing is two
    hours), and a token back from the escrow (refunded, or bought and resold at once) waits
    ``commitTtl + 1`` blocks (nine, under two minutes at 12 s) before its next listing
    (``RegistryRelistTooSoon(tokenId, untilBlock)``: listed again from the block after). A new
    token waits ``registrationWindow + commitTtl`` blocks after its reveal before its first
    (``RegistryTokenReclaimable``: a day and nine blocks at the default parameters)."""
    register_esp(world)
    token = register_image(world, world.producer, world.producer.address)
    with pytest.raises(errors.RegistryTokenReclaimable):
        _list(world, world.producer, token, to=world.buyer.address, seconds=3600)
    past_reclaim(world)
    buyer = world.buyer.address
    week = 7 * 24 * 3600
    with pytest.raises(errors.LockTimelockTooLong) as refused:
        _list(world, world.producer, token, to=buyer, seconds=week)
    assert 0 < refused.value.latestAllowed < refused.value.timelock
    listing = _list(world, world.producer, token, to=buyer, seconds=3600)
    world.chain.increase_time(3600)
    world.htlc(world.producer).refund(listing)
    released = int(world.chain.w3.eth.block_number)
    with pytest.raises(errors.RegistryRelistTooSoon) as early:
        _list(world, world.producer, token, to=buyer, seconds=3600)
    until = released + world.params.commit_ttl_blocks + 1
    assert early.value.untilBlock == until
    world.chain.mine(until - int(world.chain.w3.eth.block_number) - 1)  # approve in `until`
    _list(world, world.producer, token, to=buyer, seconds=3600)
    assert world.registry(world.producer).owner_of(token) == world.deployment.htlc.address
