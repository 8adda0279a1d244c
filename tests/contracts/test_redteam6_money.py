"""Red team, round 6: the on-chain money paths a prober would try, who pays and who profits.

The swap escrow (HashTimeLock) with the ERC-2981 royalty leg, the ESP stake's exit against the
images it attested, and the BatchRegistry's commit bond, item ids and transfer rules. A guard is
a passing test that shows the attack failing; a hole still open is a strict xfail with the hole
in one line and the fix it needs.

Every test runs on every chain backend (``world``).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger import LockStatus, errors, new_secret
from ledger.clients.registry import TokenStatus
from services.exchange._timelocks import SAFETY_MARGIN_S, check_seller_window
from services.exchange.errors import UnsafeTimelockOrder
from tests.conftest import World
from tests.contracts.attack_kit import HOUR, gas_cost
from tests.contracts.batch_kit import client as batch_client
from tests.contracts.batch_kit import random_fingerprints, register_batch, tid
from tests.contracts.helpers import (
    ESP_STAKE,
    FEE,
    lock_fee,
    paid_lock,
    past_reclaim,
    register_esp,
    register_image,
    registration,
    wait_out_exit_delay,
)
from tests.contracts.test_court_duplicate_image import _batch_holding, _rule, _single

PRICE = 10**17  # 0.1 ETH


def _list(
    world: World, seller, token: int, *, to: str, timelock: int, hashlock: bytes, batch=False
):
    """``seller`` puts ``token`` (a single, or a batch item) in the escrow for ``to``."""
    htlc = world.deployment.htlc.address
    if batch:
        collection = world.deployment.batch_registry.address
        world.tx(seller).send(world.deployment.batch_registry.functions.approve(htlc, token))
    else:
        collection = world.deployment.registry.address
        world.registry(seller).approve(htlc, token)
    return world.htlc(seller).lock_erc721(
        collection, to, token_id=token, hashlock=hashlock, timelock=timelock
    )


def _resale(world: World):
    """The producer's token, resold by its second holder (the attacker) to the buyer: returns
    (token, secret, token lock, payment lock, royalty lock, royalty), the buyer's two Ether
    locks made under the token lock's hashlock as the market builds them (price less the
    royalty to the seller, the royalty to the producer)."""
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)
    world.registry(world.producer).transfer(world.attacker.address, token)
    secret, hashlock = new_secret()
    now = world.chain.timestamp()
    token_lock = _list(
        world,
        world.attacker,
        token,
        to=world.buyer.address,
        timelock=now + 2 * HOUR,
        hashlock=hashlock,
    )
    receiver, royalty = world.registry(world.buyer).royalty_info(token, PRICE)
    assert receiver == world.producer.address and royalty == PRICE * 500 // 10_000
    t2 = now + 2 * HOUR - SAFETY_MARGIN_S
    buyer = world.htlc(world.buyer)
    payment = buyer.lock_ether(
        world.attacker.address, amount=PRICE - royalty, hashlock=hashlock, timelock=t2
    )
    royalty_lock = buyer.lock_ether(receiver, amount=royalty, hashlock=hashlock, timelock=t2)
    return token, secret, token_lock, payment, royalty_lock, royalty


def test_a_watcher_replaying_the_sellers_secret_pays_the_buyer_and_the_producer_not_itself(world):
    """The seller's claim publishes the secret, which opens all three legs of a resale (token,
    payment, royalty: one hashlock). A mempool watcher that replays it (or front-runs the
    buyer's own claim with it) can only pay each lock's stored receiver: the buyer gets the
    token, the producer its royalty, the watcher nothing but its gas; a lock naming the watcher
    as receiver never existed (``LockNotOpen``, status None)."""
    token, secret, token_lock, payment, royalty_lock, royalty = _resale(world)
    world.htlc(world.attacker).withdraw(payment, secret)
    watcher = world.accounts[7]
    leaked = world.htlc(watcher).revealed_preimage(payment)
    producer_before = world.balance(world.producer.address)
    watcher_before = world.balance(watcher.address)
    htlc = world.htlc(watcher)
    with pytest.raises(errors.LockNotOpen):
        htlc.withdraw(replace(royalty_lock, receiver=watcher.address), leaked)
    paid = 0
    for lock in (token_lock, royalty_lock):
        htlc.withdraw(lock, leaked)
        paid += gas_cost(htlc.last_receipt)
    assert world.registry(world.buyer).owner_of(token) == world.buyer.address
    assert world.balance(world.producer.address) == producer_before + royalty
    assert world.balance(watcher.address) == watcher_before - paid  # the refused try: estimated
    for lock in (token_lock, payment, royalty_lock):
        assert world.htlc(watcher).status(lock) is LockStatus.WITHDRAWN


def test_a_buyer_whose_token_lock_outlasts_its_payment_always_gets_the_token(world):
    """Can the buyer end with neither token nor Ether? Only with the timelocks in the wrong
    order, which the clients refuse. In the market's order (the token lock T1 outlasts the
    payment's T2 by ``SAFETY_MARGIN_S``) a seller claiming at the last second before T2 leaves
    the buyer T1 - T2 to take the token, and an ERC-721 leg has no claim window: the buyer
    claims it ``claimWindow`` blocks later still. In the wrong order (T1 < T2) the seller
    refunds its token at T1 and then claims the payment before T2: the buyer is left with
    nothing (the HTLC cannot tie two locks together), so the seller's and the buyer's clients
    refuse such a payment (``UnsafeTimelockOrder``)."""
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)
    seller, buyer = world.producer, world.buyer
    secret, hashlock = new_secret()
    now = world.chain.timestamp()
    t1, t2 = now + 2 * HOUR, now + 2 * HOUR - SAFETY_MARGIN_S
    token_lock = _list(world, seller, token, to=buyer.address, timelock=t1, hashlock=hashlock)
    payment = world.htlc(buyer).lock_ether(
        seller.address, amount=PRICE, hashlock=hashlock, timelock=t2
    )
    world.chain.increase_time(t2 - world.chain.timestamp() - 2)
    world.htlc(seller).withdraw(payment, secret)  # the last moment
    world.chain.mine(world.htlc(buyer).claim_window() + 1)
    assert world.chain.timestamp() < t1
    world.htlc(buyer).withdraw(token_lock, world.htlc(buyer).revealed_preimage(payment))
    assert world.registry(buyer).owner_of(token) == buyer.address

    # The wrong order: the seller's token lock ends first.
    world.chain.mine(world.params.commit_ttl_blocks + 2)  # the relist gap
    world.registry(buyer).transfer(seller.address, token)
    past_reclaim(world)
    secret, hashlock = new_secret()
    now = world.chain.timestamp()
    t1, t2 = now + HOUR, now + 2 * HOUR
    with pytest.raises(UnsafeTimelockOrder):
        check_seller_window(payment_timelock=t2, locked_at=t2 - 1, asset_timelock=t1)
    token_lock = _list(world, seller, token, to=buyer.address, timelock=t1, hashlock=hashlock)
    payment = world.htlc(buyer).lock_ether(
        seller.address, amount=PRICE, hashlock=hashlock, timelock=t2
    )
    world.chain.increase_time(HOUR + 1)
    seller_before = world.balance(seller.address)
    world.htlc(seller).refund(token_lock)
    world.htlc(seller).withdraw(payment, secret)
    assert world.registry(buyer).owner_of(token) == seller.address
    assert world.balance(seller.address) > seller_before + PRICE - 10**15
    with pytest.raises(errors.LockNotOpen):
        world.htlc(buyer).withdraw(token_lock, secret)


def test_a_sellers_claim_past_the_payment_claim_window_is_refused_and_both_sides_refund(world):
    """The payment leg is an Ether lock, claimed within ``claimWindow`` blocks of its block
    (the generation fee's rule); the token leg, an ERC-721 lock, has no window. A seller whose
    claim lands past the window is refused (``LockClaimWindowClosed``) and the secret is not
    published by the HTLC: the buyer cannot take the token (``revealed_preimage`` is None) and
    refunds its payment at T2, the seller its token at T1. (A secret the seller leaks otherwise,
    e.g. in the calldata of a claim mined past the window, gives the buyer both: the seller's
    client checks the claim's block against the window before it sends; left to the clients.)"""
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)
    seller, buyer = world.producer, world.buyer
    secret, hashlock = new_secret()
    now = world.chain.timestamp()
    t1 = now + 2 * HOUR
    token_lock = _list(world, seller, token, to=buyer.address, timelock=t1, hashlock=hashlock)
    payment = world.htlc(buyer).lock_ether(
        seller.address, amount=PRICE, hashlock=hashlock, timelock=t1 - SAFETY_MARGIN_S
    )
    world.chain.mine(world.htlc(seller).claim_window() + 1)
    assert world.chain.timestamp() < payment.timelock
    with pytest.raises(errors.LockClaimWindowClosed):
        world.htlc(seller).withdraw(payment, secret)
    assert world.htlc(buyer).revealed_preimage(payment) is None
    world.chain.increase_time(t1 - world.chain.timestamp() + 1)
    buyer_before = world.balance(buyer.address)
    refunder = world.htlc(buyer)
    refunder.refund(payment)
    assert world.balance(buyer.address) == buyer_before + PRICE - gas_cost(refunder.last_receipt)
    world.htlc(seller).refund(token_lock)
    assert world.registry(seller).owner_of(token) == seller.address


def test_a_zero_price_ether_leg_is_refused_and_a_foreign_token_lock_pays_no_royalty(world):
    """A price split to dodge the royalty: a zero-amount Ether leg is refused
    (``LockZeroAmount``); the HTLC moves only what each lock names, so the royalty is owed by
    the market's third lock, never by the escrow: a seller and buyer who agree off the market
    can always skip it (ERC-2981 is advisory), and nobody else can make the producer's lock
    pay anyone but the producer (the watcher test above)."""
    register_esp(world)
    _, hashlock = new_secret()
    with pytest.raises(errors.LockZeroAmount):
        world.htlc(world.buyer).lock_ether(
            world.producer.address,
            amount=0,
            hashlock=hashlock,
            timelock=world.chain.timestamp() + HOUR,
        )


def test_an_esp_that_left_cannot_rejoin_or_top_up_to_reset_its_exit_delay(world):
    """Stake timing: an ESP that deregistered cannot register again while its stake is held
    (``EspAlreadyRegistered``: the stake is still there), nor ``addStake`` (only a slash's
    deactivation is undone there: ``EspNotRegistered``), nor withdraw before ``exitDelay``
    blocks after its exit (``EspStakeHeld``), not even after the unbonding period. After the
    delay it withdraws all of it; a new registration then starts a new period and the new stake
    answers for the old period's copies too (``periodsOf`` keeps both)."""
    esp = register_esp(world)
    lock, _ = lock_fee(world, receiver=esp.address)  # paid in the first period
    client = world.esps(esp)
    client.deregister()
    with pytest.raises(errors.EspAlreadyRegistered):
        client.register("http://again.example", price=FEE, stake=ESP_STAKE)
    with pytest.raises(errors.EspNotRegistered):
        client.add_stake(ESP_STAKE)
    world.chain.increase_time(world.params.esp_unbonding_period + 1)
    with pytest.raises(errors.EspStakeHeld):
        client.withdraw_stake()
    wait_out_exit_delay(world)
    before = world.balance(esp.address)
    client.withdraw_stake()
    assert world.balance(esp.address) == before + ESP_STAKE - gas_cost(client.last_receipt)
    client.register("http://again.example", price=FEE, stake=ESP_STAKE)
    first, second = client.periods_of(esp.address)
    assert first[1] != 0 and second[1] == 0
    assert client.was_active_at(esp.address, world.htlc(esp).lock_info(lock.id)[1])


def test_a_batch_reveal_of_more_or_fewer_items_than_committed_registers_nothing(world):
    """The commitment hashes the item count (and the bond is paid per item): a reveal of one
    item fewer or one more than committed opens no commitment (``BatchUnknownCommit``), so a
    producer cannot commit the bond of one item and mint three, nor take back part of a bond by
    revealing fewer. Unrevealed, the commitment is forfeited by anyone after ``commitTtl``: its
    whole bond stays in the BatchRegistry (burned: no function moves it) and the forfeiter is
    paid nothing."""
    register_esp(world)
    owner, esp = world.producer, world.esp
    from tests.contracts.batch_kit import plan, reveal

    fps = random_fingerprints(3, seed=61)
    p = plan(owner.address, esp.address, fps)
    lock = paid_lock(world, owner, esp)
    c = batch_client(world, owner)
    c.commit(p.commitment(), p.count)
    world.chain.mine(1)
    fewer = plan(owner.address, esp.address, fps[:2])
    more = plan(owner.address, esp.address, [*fps, *random_fingerprints(1, seed=62)])
    for other in (fewer, more):
        with pytest.raises(errors.BatchUnknownCommit):
            reveal(world, owner, replace(other, salt=p.salt), lock, esp)
    world.chain.mine(world.params.commit_ttl_blocks + 1)
    registry = world.deployment.batch_registry.address
    held = world.balance(registry)
    forfeiter = world.accounts[7]
    before = world.balance(forfeiter.address)
    fc = batch_client(world, forfeiter)
    fc.forfeit_commit(p.commitment())
    assert world.balance(registry) == held  # the bond stays: burned
    assert world.balance(forfeiter.address) == before - gas_cost(fc.last_receipt)
    with pytest.raises(errors.BatchUnknownCommit):
        reveal(world, owner, p, lock, esp)


def test_a_single_forged_with_an_item_id_cannot_act_as_that_item(world):
    """An item id is ``batchId << 32 | index`` (below 2^96); a single's id is its content hash,
    which an ESP signs as any 32 bytes. A single forged with a small id (the ESP's own
    attestation) cannot open a BatchRegistry challenge as a single original
    (``BatchUnknownToken``) nor be claimed at the court as a single (``CourtUnknownToken``);
    the item of that id is untouched (its own owner, active)."""
    register_esp(world)
    batch_id, _ = register_batch(world, world.producer, n=2, esp=world.esp)
    item = tid(batch_id, 0)
    forger = world.attacker
    esp = world.esp
    lock = paid_lock(world, forger, esp)
    reg = replace(
        registration(forger.address, esp.address, lock=lock),
        content_hash=item.to_bytes(32, "big"),
    )
    rc = world.registry(forger)
    rc.commit(reg)
    single = rc.reveal(reg, lock, rc.sign_attestation(esp, reg))
    assert single == item
    from tests.contracts.attack_kit import proof

    bc = batch_client(world, forger)
    with pytest.raises(errors.BatchUnknownToken):
        bc.challenge_with_single(single, proof(world, single), item, b"\x00" * 32, [])
    from tests.contracts.test_court_duplicate_image import court

    with pytest.raises(errors.CourtUnknownToken):
        court(world, forger).claim_misattested(single, proof(world, single), review_fee=10**16)
    assert bc.owner_of(item) == world.producer.address
    assert bc.status(item) is TokenStatus.ACTIVE


def test_a_sybils_batched_copy_cannot_be_sold_before_the_customers_registration(world):
    """The Registry's transfer hold (ae9903b) keeps a single from moving while an earlier payer
    of its ESP can still ``reclaim`` it; a batch item has no ``reclaim`` but the court's
    ``revokeDuplicateImage`` (and ``revokeDuplicateItem``) is its remedy: the item whose lock
    is later is revoked, whoever holds it, at any time. The BatchRegistry has no hold: the ESP
    delivers its customer's image to its Sybil (a younger lock), the Sybil batches it and sells
    the item at once (here ``transferFrom`` to the buyer, paid ``PRICE`` off the chain; listed
    in the escrow the same happens mid-swap), before the customer's single exists, so the buyer
    could not see the twin. The customer registers within its window and anyone revokes the
    duplicate: the buyer's item is revoked, the buyer is out 0.1 ETH. The operator: +0.1 ETH
    price - 0.01 ETH item bond - 0.05 ETH slash (burned) = +0.04 ETH less two fees and gas.

    Fixed (a strict xfail before): the item does not move within ``registrationWindow +
    commitTtl`` blocks of its batch's reveal (the StoredBatch keeps its commit block and reveal
    delay), by when every earlier payer of its ESP has registered: one check in
    ``transferFrom``, ``BatchTokenReclaimable(tokenId, untilBlock)``, BatchRegistry 24,248 ->
    24,464 bytes (112 left); the market holds the item as long (409 ``token_reclaimable``)."""
    register_esp(world)
    esp, customer, sybil = world.esp, world.producer, world.attacker
    customer_lock = paid_lock(world, customer, esp)  # the customer pays first
    content = b"the customer's image, batched by the ESP's Sybil"
    sybil_lock = paid_lock(world, sybil, esp)
    _, p, item = _batch_holding(world, sybil, content, esp=esp, lock=sybil_lock)
    with pytest.raises(errors.BatchTokenReclaimable):  # held: the earlier payer may register
        batch_client(world, sybil).transfer(world.buyer.address, item)
    # The customer registers within its window and the ruling revokes the Sybil's item, still
    # the Sybil's: no buyer paid for it.
    single = _single(world, customer, content, esp=esp, lock=customer_lock)
    assert _rule(world, world.accounts[7], item, p, single) == item
    assert batch_client(world, world.buyer).status(item) is TokenStatus.REVOKED
    assert batch_client(world, world.buyer).owner_of(item) == sybil.address


@pytest.fixture
def cw(chain):
    from tests.contracts.committee_kit import committee_world

    yield from committee_world(chain)


def test_an_esp_that_left_after_a_misattested_copy_still_pays_the_courts_slash(cw):
    """Stake against the court's path: the plagiarist's ESP attests a copy with another image's
    values and deregisters in the next block. The mis-attestation claim comes at the end of the
    copy's first dispute window (as late as a watcher is expected) and its committee review
    runs its full course; the ESP cannot withdraw before the claim is decided (``EspStakeHeld``:
    ``exitDelay`` spans more than a dispute window and a review), and the upheld claim slashes
    (burns) ``slashAmount`` of the stake; the ESP later withdraws only the rest."""
    from services.provenance import detail_descriptor, fingerprint
    from tests.contracts.misattestation_kit import (
        Images,
        camera,
        claim,
        copy_of,
        finalize,
        honest_votes,
        png,
        register_pixels,
        unrelated,
    )

    world = cw.world
    esp = register_esp(world, world.accounts[8])
    copy, other = copy_of(camera()), unrelated()
    token = register_pixels(
        world,
        world.attacker,
        copy,
        esp=esp,
        fingerprint=fingerprint(other).to_bytes32(),
        detail=detail_descriptor(other),
    )
    esps = world.esps(esp)
    esps.deregister()
    cw.enroll()
    world.chain.mine(world.params.dispute_window_blocks - 1)
    key = claim(cw, token, world.buyer)
    cw.vote(key, honest_votes(cw, key, token, Images({token: png(copy)})))
    world.chain.increase_time(world.params.esp_unbonding_period + 1)
    with pytest.raises(errors.EspStakeHeld):
        esps.withdraw_stake()
    from ledger.clients.registry import DisputeState

    assert finalize(cw, token, world.buyer) is DisputeState.UPHELD
    slash = world.params.esp_slash_amount
    assert esps.esp_info(esp.address).stake == ESP_STAKE - slash
    assert esps.challenges_lost(esp.address) == 1
    wait_out_exit_delay(world)
    before = world.balance(esp.address)
    esps.withdraw_stake()
    assert world.balance(esp.address) == before + ESP_STAKE - slash - gas_cost(esps.last_receipt)


def test_a_buyer_account_without_the_erc721_hook_still_gets_the_token_it_paid_for(world):
    """Can the buyer end with neither token nor Ether? A buyer whose receiving account is a
    contract without ``onERC721Received`` (an ERC-1271 smart account as the market's sign-in
    accepts, a Safe with no fallback handler): the escrow paid an ERC-721 leg with
    ``safeTransferFrom``, so the buyer's claim of the token reverted (``ERC721InvalidReceiver``)
    while the seller's claim of the payment had succeeded; at T1 the seller refunded its token
    and kept both (+0.1 ETH and the token at a 0.1 ETH price). Fixed: the escrow moves an
    ERC-721 leg with ``transferFrom`` (the buyer named its own account; a token it cannot move
    on is its choice, not the seller's gain), so the claim lands whatever the receiver."""
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)
    seller, owner = world.producer, world.buyer
    wallet = world.deploy_test_contract("OwnedWallet1271", owner.address)
    secret, hashlock = new_secret()
    now = world.chain.timestamp()
    t1 = now + 2 * HOUR
    token_lock = _list(world, seller, token, to=wallet, timelock=t1, hashlock=hashlock)
    payment = world.htlc(owner).lock_ether(
        seller.address, amount=PRICE, hashlock=hashlock, timelock=t1 - SAFETY_MARGIN_S
    )
    world.htlc(seller).withdraw(payment, secret)
    world.htlc(owner).withdraw(token_lock, world.htlc(owner).revealed_preimage(payment))
    assert world.registry(owner).owner_of(token) == wallet
    world.chain.increase_time(2 * HOUR + 1)
    with pytest.raises(errors.LockNotOpen):
        world.htlc(seller).refund(token_lock)


def _early_royalty(world: World):
    """A resale where the buyer locks the producer's royalty first and the seller's payment
    ``claimWindow`` blocks later, both under the token lock's hashlock and until the same T2:
    returns (token, secret, token lock, payment lock, royalty lock, royalty)."""
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)
    world.registry(world.producer).transfer(world.attacker.address, token)
    secret, hashlock = new_secret()
    t1 = world.chain.timestamp() + world.params.max_token_lock_duration
    token_lock = _list(
        world, world.attacker, token, to=world.buyer.address, timelock=t1, hashlock=hashlock
    )
    receiver, royalty = world.registry(world.buyer).royalty_info(token, PRICE)
    t2 = t1 - SAFETY_MARGIN_S
    buyer = world.htlc(world.buyer)
    royalty_lock = buyer.lock_ether(receiver, amount=royalty, hashlock=hashlock, timelock=t2)
    world.chain.mine(buyer.claim_window())
    payment = buyer.lock_ether(
        world.attacker.address, amount=PRICE - royalty, hashlock=hashlock, timelock=t2
    )
    return token, secret, token_lock, payment, royalty_lock, royalty


def test_a_royalty_lock_made_a_claim_window_before_the_payment_cannot_be_collected(world):
    """The royalty leg is an Ether lock, so the generation fee's claim window (``claimWindow``
    blocks from its own block) bounds it too. A buyer alone (no collusion) locks the royalty
    right after the listing and the payment a claim window later (a day's listing leaves room:
    21.6 hours of 24 at the defaults): when the seller claims, publishing the secret, the royalty
    lock can no longer be withdrawn (``LockClaimWindowClosed``), the buyer takes the token and
    refunds the royalty at T2. The producer gets nothing (0.005 ETH at a 0.1 ETH price). The
    HTLC cannot tell a royalty from a fee; the guard belongs to whoever accepts the payment
    (next test)."""
    token, secret, token_lock, payment, royalty_lock, royalty = _early_royalty(world)
    world.htlc(world.attacker).withdraw(payment, secret)
    with pytest.raises(errors.LockClaimWindowClosed):
        world.htlc(world.producer).withdraw(royalty_lock, secret)
    buyer = world.htlc(world.buyer)
    buyer.withdraw(token_lock, buyer.revealed_preimage(payment))
    assert world.registry(world.buyer).owner_of(token) == world.buyer.address
    world.chain.increase_time(royalty_lock.timelock - world.chain.timestamp() + 1)
    before = world.balance(world.buyer.address)
    buyer.refund(royalty_lock)
    assert world.balance(world.buyer.address) == before + royalty - gas_cost(buyer.last_receipt)


def test_the_market_refuses_a_royalty_lock_whose_claim_window_closes_first(world):
    """What the market answers for the early royalty lock above: no ``payment_locked`` (None),
    so neither the web seller nor the SDK claims. It counted before (it pays the producer
    exactly and lasts until T2); ``check_buyer_locks`` now counts a royalty lock only if it was
    made in the payment lock's block or later (the market passes each lock's block), so its
    claim window outlasts the seller's claim. The same legs made in the other order count."""
    from services.exchange import TradeTerms, check_buyer_locks
    from services.exchange._payment import Royalty

    token, _, token_lock, payment, royalty_lock, royalty = _early_royalty(world)
    terms = TradeTerms(token, world.attacker.address, world.buyer.address, PRICE)
    htlc = world.htlc(world.buyer)
    locked_in = {lock.id: htlc.lock_info(lock.id)[1] for lock in (payment, royalty_lock)}
    locked_at = {
        lock_id: world.chain.w3.eth.get_block(block)["timestamp"]
        for lock_id, block in locked_in.items()
    }

    def paid(made: dict[bytes, int]):
        return check_buyer_locks(
            [royalty_lock, payment],
            terms,
            Royalty(world.producer.address, royalty),
            asset_lock=token_lock,
            locked_at=locked_at,
            locked_in=made,
        )

    assert paid(locked_in) is None
    # the guard is the order of the blocks: the payment made first, the same locks count
    swapped = {payment.id: locked_in[royalty_lock.id], royalty_lock.id: locked_in[payment.id]}
    counted = paid(swapped)
    assert counted is not None and counted.royalty == royalty_lock
