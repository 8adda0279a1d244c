"""The trade lifecycle's rules (services.exchange.trade), alone and through the swap client."""

from __future__ import annotations

import pytest

from ledger import Asset, LockStatus, LockTerms, TokenStatus
from services.exchange import (
    SAFETY_MARGIN_S,
    LegRole,
    LockMismatch,
    Royalty,
    TokenNotTradable,
    TradeNotReady,
    TradeState,
    TradeTerms,
    UnsafeTimelockOrder,
    buyer_lock_payment,
    buyer_pay,
    check_buyer_locks,
    check_seller_lock,
    check_timelocks,
    check_tradable,
    check_trade_state,
    payment_timelock,
    required_payment_locks,
    seller_claim_payment,
    seller_lock_token,
    settled_state,
)
from tests.contracts.helpers import past_reclaim, register_esp, register_image

SELLER = "0x" + "11" * 20
BUYER = "0x" + "22" * 20
PRODUCER = "0x" + "33" * 20
REGISTRY = "0x" + "44" * 20
HASHLOCK = b"\x55" * 32
T1 = 100_000
TERMS = TradeTerms(token_id=7, seller=SELLER, buyer=BUYER, price=1000)
RESALE = Royalty(PRODUCER, 50)
PRIMARY = Royalty(SELLER, 50)  # the producer sells its own token: the royalty is its own


def _asset_lock(**kw) -> LockTerms:
    fields = dict(
        sender=SELLER,
        receiver=BUYER,
        asset=Asset.ERC721,
        token=REGISTRY,
        amount=7,
        hashlock=HASHLOCK,
        timelock=T1,
    )
    return LockTerms(**{**fields, **kw})


def _ether(receiver: str, amount: int, *, timelock: int = T1 - SAFETY_MARGIN_S, **kw) -> LockTerms:
    fields = dict(
        sender=BUYER,
        receiver=receiver,
        asset=Asset.ETHER,
        token="0x" + "00" * 20,
        amount=amount,
        hashlock=HASHLOCK,
        timelock=timelock,
    )
    return LockTerms(**{**fields, **kw})


def test_the_seller_lock_must_hold_the_registry_token():
    check_seller_lock(_asset_lock(), TERMS, token=REGISTRY.upper().replace("0X", "0x"))
    for field, bad in (
        ("token", {"token": "0x" + "99" * 20}),  # a same-id token of another contract
        ("asset", {"asset": Asset.ERC20}),
        ("amount", {"amount": 8}),
        ("receiver", {"receiver": PRODUCER}),
        ("sender", {"sender": PRODUCER}),
    ):
        with pytest.raises(LockMismatch, match=field):
            check_seller_lock(_asset_lock(**bad), TERMS, token=REGISTRY)
    with pytest.raises(LockMismatch, match="status"):
        check_seller_lock(_asset_lock(), TERMS, token=REGISTRY, status=LockStatus.WITHDRAWN)


def test_required_locks_split_the_royalty_only_on_a_resale():
    (leg,) = required_payment_locks(TERMS, PRIMARY)
    assert (leg.role, leg.receiver, leg.amount) == (LegRole.PAYMENT, SELLER, 1000)
    payment, royalty = required_payment_locks(TERMS, RESALE)
    assert (payment.receiver, payment.amount) == (SELLER, 950)
    assert (royalty.role, royalty.receiver, royalty.amount) == (LegRole.ROYALTY, PRODUCER, 50)
    buy_back = TradeTerms(token_id=7, seller=SELLER, buyer=PRODUCER, price=1000)
    (leg,) = required_payment_locks(buy_back, RESALE)  # the producer owes itself nothing
    assert (leg.receiver, leg.amount) == (SELLER, 950)
    with pytest.raises(ValueError, match="royalty"):
        required_payment_locks(TERMS, Royalty(PRODUCER, 1001))


def test_buyer_locks_must_pay_the_offer_exactly():
    asset = _asset_lock()
    assert check_buyer_locks([_ether(SELLER, 950)], TERMS, RESALE, asset_lock=asset) is None
    assert check_buyer_locks([_ether(SELLER, 950)], TERMS, PRIMARY, asset_lock=asset) is None
    paid = check_buyer_locks([_ether(SELLER, 1000)], TERMS, PRIMARY, asset_lock=asset)
    assert paid is not None and paid.state is TradeState.PAYMENT_LOCKED and paid.royalty is None
    both = [_ether(SELLER, 950), _ether(PRODUCER, 50)]
    paid = check_buyer_locks(both, TERMS, RESALE, asset_lock=asset)
    assert paid is not None and paid.royalty is not None and paid.safe
    # a royalty of the wrong amount, from someone else, or expiring before the payment: no
    for royalty in (
        _ether(PRODUCER, 49),
        _ether(PRODUCER, 50, sender=SELLER),
        _ether(PRODUCER, 50, timelock=T1 - SAFETY_MARGIN_S - 1),
        _ether(PRODUCER, 50, hashlock=b"\x66" * 32),
    ):
        assert check_buyer_locks([both[0], royalty], TERMS, RESALE, asset_lock=asset) is None


def test_one_margin_for_the_route_and_the_projection():
    asset = _asset_lock()
    late = [_ether(SELLER, 1000, timelock=T1 - SAFETY_MARGIN_S + 1)]
    paid = check_buyer_locks(late, TERMS, PRIMARY, asset_lock=asset)
    assert paid is not None and paid.state is TradeState.UNSAFE_PAYMENT
    with pytest.raises(UnsafeTimelockOrder):
        payment_timelock(T1, timelock=T1 - SAFETY_MARGIN_S + 1, margin=None)
    with pytest.raises(UnsafeTimelockOrder):  # a smaller margin cannot relax the rule
        payment_timelock(T1, timelock=None, margin=60)
    assert payment_timelock(T1, timelock=None, margin=None) == T1 - SAFETY_MARGIN_S
    assert payment_timelock(T1, timelock=None, margin=3600) == T1 - 3600
    with pytest.raises(UnsafeTimelockOrder):
        check_timelocks(asset_timelock=T1, payment_timelock=T1 - 60, margin=60)


def test_states_and_revocation():
    check_tradable(TokenStatus.ACTIVE, 7)
    with pytest.raises(TokenNotTradable, match="revoked"):
        check_tradable(TokenStatus.REVOKED, 7)
    assert check_trade_state("asset_locked", TradeState.ASSET_LOCKED) is TradeState.ASSET_LOCKED
    with pytest.raises(TradeNotReady, match="requested"):
        check_trade_state("requested", TradeState.ASSET_LOCKED)


@pytest.mark.parametrize(
    ("asset", "payment", "royalty", "expected"),
    [
        (LockStatus.OPEN, LockStatus.WITHDRAWN, None, TradeState.PAYMENT_CLAIMED),
        (LockStatus.WITHDRAWN, LockStatus.WITHDRAWN, None, TradeState.COMPLETED),
        (LockStatus.WITHDRAWN, LockStatus.WITHDRAWN, LockStatus.OPEN, TradeState.PAYMENT_CLAIMED),
        (LockStatus.WITHDRAWN, LockStatus.WITHDRAWN, LockStatus.WITHDRAWN, TradeState.COMPLETED),
        (LockStatus.WITHDRAWN, LockStatus.WITHDRAWN, LockStatus.REFUNDED, TradeState.REFUNDED),
        (LockStatus.OPEN, LockStatus.REFUNDED, None, TradeState.REFUNDED),
        (LockStatus.WITHDRAWN, None, None, TradeState.OFF_TERMS),  # token gone, nothing paid
        (LockStatus.REFUNDED, None, None, TradeState.REFUNDED),
    ],
)
def test_a_trade_completes_only_when_every_leg_is_withdrawn(asset, payment, royalty, expected):
    current = TradeState.PAYMENT_LOCKED if payment else TradeState.ASSET_LOCKED
    assert settled_state(current, asset=asset, payment=payment, royalty=royalty) is expected


def _resale(world):
    """The producer's token, sold on to the attacker, now locked by the attacker for the buyer."""
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)  # the Registry's escrow refuses a fresh token (RegistryTokenReclaimable)
    world.registry(world.producer).transfer(world.attacker.address, token)
    world.registry(world.attacker).approve(world.deployment.htlc.address, token)
    offer = seller_lock_token(
        world.htlc(world.attacker),
        token=world.deployment.registry.address,
        token_id=token,
        buyer=world.buyer.address,
        timelock=world.chain.timestamp() + 7200,
    )
    return token, offer


def test_the_swap_client_pays_the_royalty_on_a_resale(world):
    token, offer = _resale(world)
    price = 10**17
    royalty = price * world.params.royalty_bps // 10_000
    paid = buyer_pay(
        world.htlc(world.buyer),
        world.registry(world.buyer),
        offer.asset_lock,
        seller=world.attacker.address,
        token_id=token,
        price=price,
        timelock=offer.asset_lock.timelock - SAFETY_MARGIN_S,
    )
    assert (paid.payment.receiver, paid.payment.amount) == (world.attacker.address, price - royalty)
    assert paid.royalty is not None
    assert (paid.royalty.receiver, paid.royalty.amount) == (world.producer.address, royalty)


def test_the_swap_client_refuses_a_same_id_token_of_another_contract(world):
    register_esp(world)
    token = register_image(world, world.producer)
    fake = world.deploy_test_contract("TestERC721")
    nft = world.contract("TestERC721", fake)
    world.tx(world.producer).send(nft.functions.mint(world.producer.address, token))
    world.tx(world.producer).send(nft.functions.approve(world.deployment.htlc.address, token))
    offer = seller_lock_token(
        world.htlc(world.producer),
        token=fake,
        token_id=token,
        buyer=world.buyer.address,
        timelock=world.chain.timestamp() + 7200,
    )
    before = world.balance(world.buyer.address)
    with pytest.raises(LockMismatch, match="token"):
        buyer_lock_payment(
            world.htlc(world.buyer),
            offer.asset_lock,
            token=world.deployment.registry.address,
            token_id=token,
            price=10**17,
            timelock=offer.asset_lock.timelock - SAFETY_MARGIN_S,
        )
    assert world.balance(world.buyer.address) == before


def test_the_seller_client_refuses_a_payment_short_of_the_offer(world):
    _, offer = _resale(world)
    price = 10**17
    short = world.htlc(world.buyer).lock_ether(
        world.attacker.address,
        amount=price - price * world.params.royalty_bps // 10_000 - 1,
        hashlock=offer.asset_lock.hashlock,
        timelock=offer.asset_lock.timelock - SAFETY_MARGIN_S,
    )
    seller = world.htlc(world.attacker)
    with pytest.raises(LockMismatch, match="amount"):
        seller_claim_payment(
            seller, short, offer, registry=world.registry(world.attacker), price=price
        )
    assert seller.status(short) is LockStatus.OPEN  # the secret never left


def test_a_pending_challenge_blocks_a_sale_and_a_decided_one_does_not():
    from ledger.clients.registry import DisputeState

    for pending in (DisputeState.OPEN, DisputeState.CONTESTED):
        with pytest.raises(TokenNotTradable, match="challenged"):
            check_tradable(TokenStatus.ACTIVE, 7, disputes=[DisputeState.REJECTED, pending])
    check_tradable(TokenStatus.ACTIVE, 7, disputes=[DisputeState.REJECTED, DisputeState.VOID])
    with pytest.raises(TokenNotTradable, match="revoked"):  # revoked wins over any dispute
        check_tradable(TokenStatus.REVOKED, 7, disputes=[DisputeState.OPEN])


def _challenged_copy(world, collection: str):
    """The attacker's copy of the producer's image (a single registration or a batched item),
    under an open challenge by the producer, locked by the attacker for the buyer."""
    from ledger.clients.batch_registry import BatchRegistryClient
    from tests.contracts.attack_kit import proof
    from tests.contracts.batch_kit import random_fingerprints, register_batch, tid
    from tests.contracts.helpers import BASE_FP, NEAR_FP, copier_esp

    register_esp(world)
    original = register_image(world, world.producer, fingerprint=BASE_FP)
    if collection == "registry":
        client = world.registry(world.attacker)
        copy = register_image(world, world.attacker, esp=copier_esp(world), fingerprint=NEAR_FP)
        past_reclaim(world)  # before the challenge: its window must still be open below
        world.registry(world.producer).challenge(original, copy)
    else:
        fps = [*random_fingerprints(2, seed=21), NEAR_FP]
        batch_id, p = register_batch(world, world.attacker, fingerprints=fps)
        index = p.fingerprints.index(NEAR_FP)
        copy = tid(batch_id, index)
        past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
        BatchRegistryClient(world.deployment, world.tx(world.producer)).challenge_with_single(
            original, proof(world, original), copy, NEAR_FP, p.fp_proof(index)
        )
        client = BatchRegistryClient(world.deployment, world.tx(world.attacker))
    world.tx(world.attacker).send(
        client.contract.functions.approve(world.deployment.htlc.address, copy)
    )
    offer = seller_lock_token(
        world.htlc(world.attacker),
        token=client.address,
        token_id=copy,
        buyer=world.buyer.address,
        timelock=world.chain.timestamp() + 7200,
    )
    return copy, offer, client


@pytest.mark.parametrize("collection", ["registry", "batch"])
def test_the_swap_client_does_not_pay_for_a_token_under_an_open_challenge(world, collection):
    """The API's rule in the Python client: a dispute may still revoke the token, so the buyer
    locks nothing (before: only a revoked token was refused)."""
    copy, offer, client = _challenged_copy(world, collection)
    before = world.balance(world.buyer.address)
    with pytest.raises(TokenNotTradable) as exc:
        buyer_pay(
            world.htlc(world.buyer),
            client,
            offer.asset_lock,
            seller=world.attacker.address,
            token_id=copy,
            price=10**17,
            timelock=offer.asset_lock.timelock - SAFETY_MARGIN_S,
        )
    assert exc.value.status == "challenged"
    assert world.balance(world.buyer.address) == before


def test_the_default_payment_timelock_ends_within_the_payment_window():
    from services.exchange import MAX_PAYMENT_WINDOW_S

    far = 10**9
    now = far - 365 * 86400
    assert payment_timelock(far, timelock=None, margin=None, now=now) == now + MAX_PAYMENT_WINDOW_S
    near = now + 7200  # a lock shorter than the window keeps T1 - margin
    assert payment_timelock(near, timelock=None, margin=None, now=now) == near - SAFETY_MARGIN_S
    assert payment_timelock(far, timelock=far - 600, margin=None, now=now) == far - 600


def test_a_leg_that_expires_too_soon_after_it_was_made_is_unsafe():
    asset = _asset_lock()
    leg = _ether(SELLER, TERMS.price, timelock=T1 - 3600)
    made = {leg.id: leg.timelock - SAFETY_MARGIN_S}
    assert check_buyer_locks([leg], TERMS, Royalty(PRODUCER, 0), asset_lock=asset, locked_at=made)
    late = {leg.id: leg.timelock - SAFETY_MARGIN_S + 1}
    paid = check_buyer_locks([leg], TERMS, Royalty(PRODUCER, 0), asset_lock=asset, locked_at=late)
    assert paid is not None and paid.state is TradeState.UNSAFE_PAYMENT
    with pytest.raises(UnsafeTimelockOrder):
        payment_timelock(T1, timelock=T1 - 3600, margin=None, now=T1 - 3600 - 599)


def test_the_swap_client_does_not_pay_for_a_single_copy_under_a_batchcourt_challenge(world):
    from tests.contracts.helpers import details
    from tests.contracts.test_batch_court import _batched_original_and_single_copy, _challenge

    original, pa, copy = _batched_original_and_single_copy(world, copy_detail=details()["near"])
    past_reclaim(world)  # before the challenge: its window must still be open below
    _challenge(world, original, pa, copy)
    world.registry(world.attacker).approve(world.deployment.htlc.address, copy)
    offer = seller_lock_token(
        world.htlc(world.attacker),
        token=world.deployment.registry.address,
        token_id=copy,
        buyer=world.buyer.address,
        timelock=world.chain.timestamp() + 7200,
    )
    with pytest.raises(TokenNotTradable) as exc:
        buyer_pay(
            world.htlc(world.buyer),
            world.registry(world.buyer),
            offer.asset_lock,
            seller=world.attacker.address,
            token_id=copy,
            price=10**17,
            timelock=offer.asset_lock.timelock - SAFETY_MARGIN_S,
        )
    assert exc.value.status == "challenged"
