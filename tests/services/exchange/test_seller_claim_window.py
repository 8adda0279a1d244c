"""The seller's claim of the price is refused before it is sent when the payment lock's claim
window closes within :data:`CLAIM_MARGIN_BLOCKS` blocks.

The payment leg is an Ether lock: the HashTimeLock lets it be withdrawn only within
``claimWindow`` blocks of the lock's own block (``LockClaimWindowClosed`` later), while the
token leg, an ERC-721 lock, has no such window. A claim that is mined past the window reverts,
but its calldata (``withdraw(lock, secret)``) is public: the buyer reads the secret from it,
takes the token and refunds its payment at T2, and the seller loses the token and the price.
The client's gas estimate does not protect the seller: it runs against the block it is asked
in, and the transaction lands a block (or, in a busy market, several) later. Before this guard
the seller's client checked only the payment lock's timelock (``CLAIM_MARGIN_S``), never its
claim window: the first test shows the seller's loss (0.1 ETH and the token at a 0.1 ETH
price), the others the refusal and its boundary.
"""

from __future__ import annotations

import pytest

from ledger import HtlcClient, LockStatus, LockTerms
from services.exchange import (
    SAFETY_MARGIN_S,
    ClaimWindowClosed,
    SellerOffer,
    buyer_pay,
    seller_claim_payment,
    seller_lock_token,
)
from services.exchange.swap import CLAIM_MARGIN_BLOCKS, CLAIM_MARGIN_S, check_claim_in_time
from services.generation import SECONDS_PER_BLOCK
from tests.contracts.helpers import past_reclaim, register_esp, register_image

PRICE = 10**17


def _sale(world) -> tuple[SellerOffer, LockTerms, int]:
    """The producer's token locked for the buyer, and the buyer's payment of the whole price
    (a primary sale: no royalty leg); the payment lock's last claimable block."""
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)  # the Registry's escrow refuses a fresh token (RegistryTokenReclaimable)
    world.registry(world.producer).approve(world.deployment.htlc.address, token)
    offer = seller_lock_token(
        world.htlc(world.producer),
        token=world.deployment.registry.address,
        token_id=token,
        buyer=world.buyer.address,
        timelock=world.chain.timestamp() + 7200,
    )
    paid = buyer_pay(
        world.htlc(world.buyer),
        world.registry(world.buyer),
        offer.asset_lock,
        seller=world.producer.address,
        token_id=token,
        price=PRICE,
        timelock=offer.asset_lock.timelock - SAFETY_MARGIN_S,
    )
    htlc = world.htlc(world.buyer)
    last = htlc.lock_info(paid.payment.id)[1] + htlc.claim_window()
    return offer, paid.payment, last


def _mine_to(world, block: int) -> None:
    world.chain.mine(block - world.chain.w3.eth.block_number)
    assert world.chain.w3.eth.block_number == block


def _one_block_late(monkeypatch, world, seller: HtlcClient) -> None:
    """The seller's transaction is estimated at one block and mined a block later (another
    transaction, or simply the next slot, came first)."""
    estimate = seller.tx.unsigned

    def late(*args, **kwargs):
        tx = estimate(*args, **kwargs)
        world.chain.mine(1)
        return tx

    monkeypatch.setattr(seller.tx, "unsigned", late)


def _leaked_secret(world, seller: str) -> bytes | None:
    """The secret of a withdrawal the seller sent to the HTLC, read from the head block's
    transactions (a reverted one included): what any watcher of the chain sees."""
    htlc = HtlcClient(world.deployment)
    for tx in world.chain.w3.eth.get_block("latest", full_transactions=True)["transactions"]:
        if tx["from"] != seller or tx["to"] != htlc.address:
            continue
        fn, args = htlc.contract.decode_function_input(tx["input"])
        if fn.fn_name == "withdraw":
            return bytes(args["preimage"])
    return None


def test_a_claim_mined_a_block_past_the_window_is_not_sent(world, monkeypatch):
    """The attack: the seller claims in the window's last block but one; the estimate (the
    window's last block) passes, the transaction lands a block later, past the window. Before
    the guard it was sent, reverted with ``LockClaimWindowClosed`` and published the secret: the
    buyer took the token with it and refunded its 0.1 ETH at T2 (the seller kept neither). Now
    the seller's client refuses before anything is estimated or signed (``ClaimWindowClosed``
    with the last claimable block and the head) and both sides refund."""
    offer, payment, last = _sale(world)
    seller = world.htlc(world.producer)
    _one_block_late(monkeypatch, world, seller)
    _mine_to(world, last - 1)
    nonce = world.chain.w3.eth.get_transaction_count(world.producer.address)
    with pytest.raises(ClaimWindowClosed) as refused:
        seller_claim_payment(seller, payment, offer, price=PRICE)
    assert (refused.value.last_block, refused.value.block) == (last, last - 1)
    assert refused.value.margin == CLAIM_MARGIN_BLOCKS
    assert str(last) in str(refused.value) and str(last - 1) in str(refused.value)
    assert world.chain.w3.eth.get_transaction_count(world.producer.address) == nonce  # unsent
    assert _leaked_secret(world, world.producer.address) is None
    assert seller.revealed_preimage(payment) is None

    # Both sides refund: the buyer its payment at T2, the seller its token at T1.
    world.chain.increase_time(offer.asset_lock.timelock - world.chain.timestamp() + 1)
    buyer = world.htlc(world.buyer)
    buyer.refund(payment)
    seller.refund(offer.asset_lock)
    token = offer.asset_lock.amount
    assert world.registry(world.buyer).owner_of(token) == world.producer.address


def test_the_seller_claims_up_to_the_margin_and_not_within_it(world):
    """The boundary: with ``CLAIM_MARGIN_BLOCKS`` blocks still ahead in the window (the head
    ``last - CLAIM_MARGIN_BLOCKS``: the claim may land in any of the next blocks up to ``last``)
    the seller claims; a block later it is refused. Past the window, refused too (the HTLC would
    refuse it at the estimate; the client now says why, with the blocks)."""
    offer, payment, last = _sale(world)
    seller = world.htlc(world.producer)
    _mine_to(world, last - CLAIM_MARGIN_BLOCKS + 1)
    with pytest.raises(ClaimWindowClosed):
        seller_claim_payment(seller, payment, offer, price=PRICE)
    assert seller.status(payment) is LockStatus.OPEN
    snapshot = world.chain.snapshot()
    world.chain.mine(CLAIM_MARGIN_BLOCKS)
    with pytest.raises(ClaimWindowClosed):  # past the window
        seller_claim_payment(seller, payment, offer, price=PRICE)
    world.chain.revert(snapshot)


def test_the_seller_claims_with_the_margin_left(world):
    offer, payment, last = _sale(world)
    seller = world.htlc(world.producer)
    _mine_to(world, last - CLAIM_MARGIN_BLOCKS)
    seller_claim_payment(seller, payment, offer, price=PRICE)
    assert seller.status(payment) is LockStatus.WITHDRAWN
    assert world.htlc(world.buyer).revealed_preimage(payment) == offer.secret


def test_the_margin_is_the_claim_margin_in_blocks_and_the_window_is_read_from_the_chain(world):
    """Five blocks: ``CLAIM_MARGIN_S`` (60 s, the time a claim needs to be mined before T2) at
    Ethereum's 12 s slot. The window is the deployment's own ``claimWindow``; an ERC-721 lock has
    none (its buyer claims after the seller), and a lock never made is left to the estimate
    (``LockNotOpen``)."""
    assert CLAIM_MARGIN_BLOCKS == CLAIM_MARGIN_S // SECONDS_PER_BLOCK == 5
    offer, payment, last = _sale(world)
    htlc = world.htlc(world.producer)
    assert check_claim_in_time(htlc, payment) == last
    assert check_claim_in_time(htlc, offer.asset_lock) is None
    _mine_to(world, last + 1)
    check_claim_in_time(htlc, offer.asset_lock)  # no window
    with pytest.raises(ClaimWindowClosed):
        check_claim_in_time(htlc, payment)
