"""Red team, round 3 (issue 11): the escrow's time accounting (``_escrows``, 7e154ee) against
``reclaim``, which refuses a token the swap escrow holds (``RegistryTokenEscrowed``).

Every test runs on every chain backend (``world``).
"""

from __future__ import annotations

import pytest

from ledger import errors
from tests.contracts.attack_kit import register_image
from tests.contracts.helpers import paid_lock, register_esp, registration
from tests.contracts.test_redteam2_escrow import _list

YEAR = 365 * 24 * 3600


@pytest.mark.xfail(
    strict=True,
    raises=errors.RegistryTokenEscrowed,
    reason=(
        "open: the HTLC bounds an ERC-721 lock's timelock only from below, so a taker parks "
        "its customer's token in the escrow for a century and reclaim refuses it all that time"
    ),
)
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
    Shown here a year of chain time (and twice the registration window) after the listing.

    Fix it needs (contract, not made: the HTLC is every fee's escrow, its gas goals are tight,
    and a reclaim out of the escrow needs the HTLC's ERC-721 payout to learn of it): bound an
    ERC-721 lock's timelock from above (``lockERC721``: at most a registration window's worth
    of seconds past the lock) so that a listing ends, and have the Registry refuse a token's
    return to the escrow for ``commitTtl + 1`` blocks after it left while it is still
    reclaimable, so that the customer always gets a commit and a reveal in between (an
    atomic refund-and-relist through a contract otherwise keeps it parked for good); or let
    ``reclaim`` take an escrowed token and void its open ERC-721 lock (an HTLC hook)."""
    register_esp(world)
    esp, customer_account = world.esp, world.producer
    customer_lock = paid_lock(world, customer_account, esp)  # the ESP has the image first
    content = b"the customer's image, parked in the escrow by the ESP's Sybil"
    taken = register_image(world, world.attacker, world.attacker.address, content=content, esp=esp)
    _list(world, world.attacker, taken, to=world.accounts[7].address, seconds=100 * YEAR)

    world.chain.mine(2 * world.params.registration_window_blocks)
    world.chain.increase_time(YEAR)
    world.chain.mine(1)
    customer = world.registry(customer_account)
    reg = registration(customer_account.address, esp.address, lock=customer_lock, content=content)
    customer.commit(reg)
    customer.reclaim(reg, customer_lock, customer.sign_attestation(esp, reg))
    assert customer.owner_of(taken) == customer_account.address
