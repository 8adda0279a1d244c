"""Attacks on the contracts, each shown failing: the guard holds with the exact custom error, or
balances and ownership come out exact. Every test runs on every chain backend (``world``).

Sections: re-entrancy (ETH and ERC-721 receivers, stake and challenge payouts), settlement races,
preimage reuse, registration front-running, challenge abuse, forged or replayed attestations,
malformed registrations, non-standard ERC-20s, forged feedback and privileged calls.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.logs import DISCARD

from ledger import (
    Asset,
    LockStatus,
    LockTerms,
    Registration,
    TokenStatus,
    errors,
    new_secret,
)
from ledger.clients.htlc import ZERO_ADDRESS
from ledger.clients.registry import sign_attestation
from ledger.tx import call
from tests.conftest import World
from tests.contracts.helpers import (
    BASE_FP,
    ESP_STAKE,
    FAR_FP,
    FEE,
    NEAR_FP,
    lock_fee,
    register_esp,
    registration,
)

HOUR = 3600


# --- private helpers -------------------------------------------------------------------------


def _cost(receipt: Any) -> int:
    """Wei a transaction cost its sender in gas."""
    return int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])


def _locked(world: World, receipt: Any) -> LockTerms:
    """The terms of the one lock created in ``receipt``."""
    (log,) = world.deployment.htlc.events.Locked().process_receipt(receipt, errors=DISCARD)
    return LockTerms.from_event(dict(log["args"]))


class _Attacker:
    """A deployed ``ReentrantReceiver`` driven by its owner's externally owned account."""

    def __init__(self, world: World, owner: LocalAccount):
        self.address = world.deploy_test_contract("ReentrantReceiver")
        self.contract = world.contract("ReentrantReceiver", self.address)
        self.tx = world.tx(owner)

    def arm(self, target: Contract, fn: str, *args: Any) -> None:
        """Re-enter ``target.fn(*args)`` on the next Ether or ERC-721 receipt."""
        data = target.encode_abi(fn, args=list(args))
        self.tx.send(self.contract.functions.arm(target.address, data))

    def execute(self, target: Contract, fn: str, *args: Any, value: int = 0) -> Any:
        """Calls ``target.fn(*args)`` as the attacker contract (reverts bubble up)."""
        data = target.encode_abi(fn, args=list(args))
        return self.tx.send(
            self.contract.functions.execute(target.address, value, data), value=value
        )

    @property
    def attempted(self) -> bool:
        return bool(self.contract.functions.attempted().call())

    @property
    def reentered(self) -> bool:
        return bool(self.contract.functions.reentered().call())


def _token(world: World, name: str, holder: LocalAccount, amount: int) -> Contract:
    """Deploys test token ``name``, mints ``amount`` to ``holder`` and approves the HTLC."""
    token = world.contract(name, world.deploy_test_contract(name))
    world.tx(holder).send(token.functions.mint(holder.address, amount))
    world.tx(holder).send(token.functions.approve(world.deployment.htlc.address, amount))
    return token


def _nft(world: World, holder: str, *token_ids: int) -> Contract:
    nft = world.contract("TestERC721", world.deploy_test_contract("TestERC721"))
    for token_id in token_ids:
        world.tx(world.deployer).send(nft.functions.mint(holder, token_id))
    return nft


def _register(
    world: World,
    sender: LocalAccount,
    owner: str,
    *,
    fp: bytes = BASE_FP,
    content: bytes | None = None,
) -> int:
    """Commit and reveal (sent by ``sender``) an image owned by ``owner``, attested by the ESP."""
    reg = registration(owner, world.esp.address, fingerprint=fp, content=content)
    client = world.registry(sender)
    client.commit(reg)
    return client.reveal(reg, client.sign_attestation(world.esp, reg))


# --- re-entrancy -----------------------------------------------------------------------------


@pytest.mark.parametrize("reenter", ["withdraw_same", "withdraw_other", "refund_other"])
def test_ether_receiver_reentering_the_htlc_is_paid_once(world, reenter):
    register_esp(world)
    attacker = _Attacker(world, world.attacker)
    htlc = world.deployment.htlc
    lock, preimage = lock_fee(world, receiver=attacker.address, duration=HOUR)
    other, other_preimage = lock_fee(world, receiver=attacker.address, amount=2 * FEE, duration=120)
    if reenter == "withdraw_same":
        attacker.arm(htlc, "withdraw", lock.as_tuple(), preimage)
    elif reenter == "withdraw_other":
        attacker.arm(htlc, "withdraw", other.as_tuple(), other_preimage)
    else:
        world.chain.increase_time(121)  # `other` is refundable, `lock` still withdrawable
        attacker.arm(htlc, "refund", other.as_tuple())
    producer_before = world.balance(world.producer.address)

    world.htlc(world.buyer).withdraw(lock, preimage)  # the payment triggers the re-entry

    assert attacker.attempted and not attacker.reentered
    assert world.balance(attacker.address) == FEE
    assert world.balance(htlc.address) == 2 * FEE
    assert world.balance(world.producer.address) == producer_before
    htlc_client = world.htlc(world.buyer)
    assert htlc_client.status(lock) is LockStatus.WITHDRAWN
    assert htlc_client.status(other) is LockStatus.OPEN
    with pytest.raises(errors.LockNotOpen) as exc:
        htlc_client.withdraw(lock, preimage)
    assert exc.value.status == LockStatus.WITHDRAWN
    # Outside the guarded call the inner operation is valid: only the guard stopped it.
    if reenter == "refund_other":
        htlc_client.refund(other)
        assert world.balance(world.producer.address) == producer_before + 2 * FEE
    else:
        htlc_client.withdraw(other, other_preimage)
        assert world.balance(attacker.address) == 3 * FEE
    assert world.balance(htlc.address) == 0


def test_ether_sender_reentering_refund_is_refunded_once(world):
    attacker = _Attacker(world, world.attacker)
    htlc = world.deployment.htlc
    timelock = world.chain.timestamp() + 120
    locks = []
    for amount in (FEE, 2 * FEE):
        _, hashlock = new_secret()
        receipt = attacker.execute(
            htlc, "lockEther", world.esp.address, hashlock, timelock, value=amount
        )
        locks.append(_locked(world, receipt))
    first, second = locks
    assert first.sender == attacker.address and first.amount == FEE
    attacker.arm(htlc, "refund", second.as_tuple())
    world.chain.increase_time(121)

    world.htlc(world.buyer).refund(first)

    assert attacker.attempted and not attacker.reentered
    assert world.balance(attacker.address) == FEE
    assert world.htlc(world.buyer).status(second) is LockStatus.OPEN
    assert world.balance(htlc.address) == 2 * FEE
    world.htlc(world.buyer).refund(second)
    assert world.balance(attacker.address) == 3 * FEE


@pytest.mark.parametrize("path", ["withdraw", "refund"])
def test_erc721_receiver_reentering_on_transfer_gets_only_its_own_token(world, path):
    attacker = _Attacker(world, world.attacker)
    htlc = world.deployment.htlc
    timelock = world.chain.timestamp() + 120
    secrets_ = [new_secret(), new_secret()]
    locks: list[LockTerms] = []
    if path == "withdraw":  # the attacker is the receiver: onERC721Received fires on withdraw
        nft = _nft(world, world.producer.address, 1, 2)
        world.tx(world.producer).send(nft.functions.setApprovalForAll(htlc.address, True))
        for token_id, (_, hashlock) in zip((1, 2), secrets_, strict=True):
            locks.append(
                world.htlc(world.producer).lock_erc721(
                    nft.address,
                    attacker.address,
                    token_id=token_id,
                    hashlock=hashlock,
                    timelock=timelock,
                )
            )
        attacker.arm(htlc, "withdraw", locks[1].as_tuple(), secrets_[1][0])
        world.htlc(world.buyer).withdraw(locks[0], secrets_[0][0])
    else:  # the attacker is the sender: onERC721Received fires on refund
        nft = _nft(world, attacker.address, 1, 2)
        attacker.execute(nft, "setApprovalForAll", htlc.address, True)
        for token_id, (_, hashlock) in zip((1, 2), secrets_, strict=True):
            receipt = attacker.execute(
                htlc, "lockERC721", nft.address, token_id, world.buyer.address, hashlock, timelock
            )
            locks.append(_locked(world, receipt))
        attacker.arm(htlc, "refund", locks[1].as_tuple())
        world.chain.increase_time(121)
        world.htlc(world.buyer).refund(locks[0])

    assert attacker.attempted and not attacker.reentered
    assert nft.functions.ownerOf(1).call() == attacker.address
    assert nft.functions.ownerOf(2).call() == htlc.address
    assert world.htlc(world.buyer).status(locks[1]) is LockStatus.OPEN


def test_challenger_reentering_on_its_reward_cannot_release_its_bond_twice(world):
    register_esp(world)
    attacker = _Attacker(world, world.attacker)
    registry = world.deployment.registry
    params = world.registry(world.producer).params()
    bond, deposit = params["bond"], params["challenge_deposit"]
    original = _register(world, world.attacker, attacker.address, fp=BASE_FP)
    duplicate = _register(world, world.producer, world.producer.address, fp=NEAR_FP)
    world.chain.mine(params["bond_lock_blocks"])  # the original's bond is now releasable
    attacker.arm(registry, "releaseBond", original)

    attacker.execute(registry, "challenge", original, duplicate, value=deposit)

    assert attacker.attempted and not attacker.reentered
    assert world.balance(attacker.address) == deposit + bond  # deposit back + the plagiarist's bond
    assert world.balance(registry.address) == bond  # the original's bond, still held
    assert world.registry(world.buyer).record(original).bond_held
    assert world.registry(world.buyer).record(duplicate).status is TokenStatus.REVOKED
    world.registry(world.buyer).release_bond(original)
    assert world.balance(attacker.address) == deposit + 2 * bond
    assert world.balance(registry.address) == 0


def test_esp_reentering_withdraw_stake_is_paid_its_stake_once(world):
    register_esp(world)  # an honest ESP whose stake must stay put
    attacker = _Attacker(world, world.attacker)
    esps = world.deployment.esp_registry
    attacker.execute(esps, "register", "http://evil.example", FEE, value=ESP_STAKE)
    attacker.execute(esps, "deregister")
    world.chain.increase_time(world.params.esp_unbonding_period)
    attacker.arm(esps, "withdrawStake")

    attacker.execute(esps, "withdrawStake")

    assert attacker.attempted and not attacker.reentered
    assert world.balance(attacker.address) == ESP_STAKE
    assert world.balance(esps.address) == ESP_STAKE
    with pytest.raises(errors.EspStakeLocked):
        attacker.execute(esps, "withdrawStake")


def test_receiver_refusing_ether_cannot_freeze_the_lock(world):
    attacker = _Attacker(world, world.attacker)
    attacker.tx.send(attacker.contract.functions.setRejectEther(True))
    lock, preimage = lock_fee(world, receiver=attacker.address, duration=120)
    with pytest.raises(errors.LockTransferFailed) as exc:
        world.htlc(world.buyer).withdraw(lock, preimage)
    assert exc.value.to == attacker.address.lower() and exc.value.amount == FEE
    assert world.htlc(world.buyer).status(lock) is LockStatus.OPEN
    world.chain.increase_time(121)
    before = world.balance(world.producer.address)
    world.htlc(world.buyer).refund(lock)
    assert world.balance(world.producer.address) == before + FEE
    assert world.balance(world.deployment.htlc.address) == 0


# --- settlement races and preimage reuse -----------------------------------------------------


def test_refund_then_withdraw_pays_only_the_sender(world):
    lock, preimage = lock_fee(world, duration=120)
    world.chain.increase_time(121)
    producer_before, esp_before = (
        world.balance(world.producer.address),
        world.balance(world.esp.address),
    )
    world.htlc(world.buyer).refund(lock)
    with pytest.raises(errors.LockNotOpen) as exc:
        world.htlc(world.buyer).withdraw(lock, preimage)
    assert exc.value.id == lock.id and exc.value.status == LockStatus.REFUNDED
    assert world.balance(world.producer.address) == producer_before + FEE
    assert world.balance(world.esp.address) == esp_before
    assert world.balance(world.deployment.htlc.address) == 0


def test_withdraw_after_expiry_fails_even_with_the_right_preimage(world):
    lock, preimage = lock_fee(world, duration=120)
    world.chain.increase_time(121 + HOUR)
    with pytest.raises(errors.LockExpired) as exc:
        world.htlc(world.esp).withdraw(lock, preimage)
    assert exc.value.id == lock.id and exc.value.expiredAt == lock.timelock
    assert world.htlc(world.esp).status(lock) is LockStatus.OPEN
    world.htlc(world.esp).refund(lock)  # the money is not stuck: it goes back
    assert world.htlc(world.esp).status(lock) is LockStatus.REFUNDED


def test_third_party_with_the_revealed_preimage_can_only_pay_the_stored_receiver(world):
    """Atomic swap: once the seller reveals s' to take the price, anyone may replay s'."""
    seller, buyer, thief = world.producer, world.buyer, world.attacker
    nft = _nft(world, seller.address, 7)
    world.tx(seller).send(nft.functions.approve(world.deployment.htlc.address, 7))
    preimage, hashlock = new_secret()
    now = world.chain.timestamp()
    token_lock = world.htlc(seller).lock_erc721(
        nft.address, buyer.address, token_id=7, hashlock=hashlock, timelock=now + 2 * HOUR
    )
    price_lock = world.htlc(buyer).lock_ether(
        seller.address, amount=FEE, hashlock=hashlock, timelock=now + HOUR
    )
    world.htlc(seller).withdraw(price_lock, preimage)
    leaked = world.htlc(thief).revealed_preimage(price_lock)
    assert leaked == preimage
    thief_before = world.balance(thief.address)

    stolen = replace(token_lock, receiver=thief.address)  # a lock naming the thief never existed
    with pytest.raises(errors.LockNotOpen) as exc:
        world.htlc(thief).withdraw(stolen, leaked)
    assert exc.value.status == LockStatus.NONE
    thief_htlc = world.htlc(thief)
    thief_htlc.withdraw(token_lock, leaked)  # allowed, but it pays the buyer

    assert nft.functions.ownerOf(7).call() == buyer.address
    assert world.balance(thief.address) == thief_before - _cost(thief_htlc.last_receipt)
    with pytest.raises(errors.LockNotOpen):
        world.htlc(thief).withdraw(price_lock, leaked)


@pytest.mark.parametrize("asset", [Asset.ETHER, Asset.ERC20, Asset.ERC721])
@pytest.mark.parametrize("offset", ["past", "now", "just_short"])
def test_too_short_timelocks_are_refused_and_move_nothing(world, asset, offset):
    sender, htlc = world.producer, world.htlc(world.producer)
    _, hashlock = new_secret()
    now = world.chain.timestamp()
    timelock = {"past": now - 1, "now": now, "just_short": now + world.params.min_lock_duration - 5}
    args = {"hashlock": hashlock, "timelock": timelock[offset]}
    token: Contract | None = None
    with pytest.raises(errors.LockTimelockTooShort) as exc:
        if asset is Asset.ETHER:
            htlc.lock_ether(world.esp.address, amount=FEE, **args)
        elif asset is Asset.ERC20:
            token = _token(world, "TestERC20", sender, 1000)
            htlc.lock_erc20(token.address, world.esp.address, amount=1000, **args)
        else:
            token = _nft(world, sender.address, 1)
            world.tx(sender).send(token.functions.approve(htlc.address, 1))
            htlc.lock_erc721(token.address, world.esp.address, token_id=1, **args)
    assert exc.value.timelock == timelock[offset]
    assert exc.value.earliestAllowed > now + world.params.min_lock_duration - 5
    assert world.balance(htlc.address) == 0
    if asset is Asset.ERC20:
        assert token is not None and token.functions.balanceOf(htlc.address).call() == 0
    elif asset is Asset.ERC721:
        assert token is not None and token.functions.ownerOf(1).call() == sender.address


# --- registration front-running --------------------------------------------------------------


def _signed_tx(world: World, account: LocalAccount, fn: Any, *, value: int = 0, tip: int) -> bytes:
    """``fn`` signed by ``account`` with a fixed gas limit (no estimate: it may not succeed)."""
    w3 = world.chain.w3
    base = int(w3.eth.get_block("latest").get("baseFeePerGas", 0))
    tx = fn.build_transaction(
        {
            "from": account.address,
            "value": value,
            "gas": 1_000_000,
            "chainId": world.chain.chain_id,
            "nonce": w3.eth.get_transaction_count(account.address, "pending"),
            "maxPriorityFeePerGas": tip,
            "maxFeePerGas": 2 * base + tip,
        }
    )
    return bytes(account.sign_transaction(tx).raw_transaction)


def _in_one_block(world: World, raw_txs: list[bytes]) -> list[Any]:
    """Sends ``raw_txs`` with auto-mining off and mines them together; returns their receipts."""
    chain, w3 = world.chain, world.chain.w3
    embedded = chain.kind == "embedded"
    if embedded:
        chain.tester.disable_auto_mine_transactions()  # type: ignore[attr-defined]
    else:
        chain._rpc("evm_setAutomine", [False])  # type: ignore[attr-defined]
    try:
        hashes = [w3.eth.send_raw_transaction(raw) for raw in raw_txs]
        if embedded:
            chain.mine(1)
        else:
            chain._rpc("evm_mine", [])  # type: ignore[attr-defined]
    finally:
        if embedded:
            chain.tester.enable_auto_mine_transactions()  # type: ignore[attr-defined]
        else:
            chain._rpc("evm_setAutomine", [True])  # type: ignore[attr-defined]
    return [w3.eth.get_transaction_receipt(h) for h in hashes]


def test_reveal_in_the_commit_block_is_too_early(world):
    register_esp(world)
    reg = registration(world.producer.address, world.esp.address)
    registry = world.deployment.registry
    attestation = world.registry(world.producer).sign_attestation(world.esp, reg)
    bond = world.params.registration_bond
    reveal = registry.functions.reveal(reg.as_tuple(), attestation)
    commit_tx = _signed_tx(
        world, world.producer, registry.functions.commit(reg.commitment), tip=3 * 10**9
    )  # the higher tip orders it first on anvil too
    reveal_tx = _signed_tx(world, world.buyer, reveal, value=bond, tip=10**9)  # a relayer

    commit_receipt, reveal_receipt = _in_one_block(world, [commit_tx, reveal_tx])

    block = commit_receipt["blockNumber"]
    assert reveal_receipt["blockNumber"] == block
    assert commit_receipt["status"] == 1 and reveal_receipt["status"] == 0
    # The exact error: the same reveal evaluated in the commit's block.
    with pytest.raises(errors.RegistryRevealTooEarly) as exc:
        call(
            lambda: reveal.call(
                {"from": world.buyer.address, "value": bond}, block_identifier=block
            )
        )
    assert exc.value.commitment == reg.commitment and exc.value.committedBlock == block
    assert world.registry(world.buyer).record(reg.token_id).status is TokenStatus.NONE
    assert world.balance(registry.address) == 0
    # One block later the same reveal is valid: the commitment was not consumed.
    assert world.registry(world.buyer).reveal(reg, attestation) == reg.token_id
    assert world.registry(world.buyer).owner_of(reg.token_id) == world.producer.address


def test_copied_commitment_cannot_register_to_the_copier(world):
    register_esp(world)
    reg = registration(world.producer.address, world.esp.address)
    attestation = world.registry(world.producer).sign_attestation(world.esp, reg)
    world.registry(world.attacker).commit(reg)  # copied from the mempool and sent first
    with pytest.raises(errors.RegistryCommitExists) as exc:
        world.registry(world.producer).commit(reg)
    assert exc.value.commitment == reg.commitment
    # Naming himself as owner changes the commitment, even with an attestation for himself
    # from a colluding ESP.
    stolen = replace(reg, owner=world.attacker.address)
    colluding = world.registry(world.attacker).sign_attestation(world.esp, stolen)
    with pytest.raises(errors.RegistryUnknownCommit) as unknown:
        world.registry(world.attacker).reveal(stolen, colluding)
    assert unknown.value.commitment == stolen.commitment
    # The copied commitment still registers the image to the producer.
    token_id = world.registry(world.producer).reveal(reg, attestation)
    assert world.registry(world.buyer).owner_of(token_id) == world.producer.address


def test_relaying_a_copied_reveal_mints_to_the_producer_at_the_copiers_expense(world):
    register_esp(world)
    reg = registration(world.producer.address, world.esp.address)
    attestation = world.registry(world.producer).sign_attestation(world.esp, reg)
    world.registry(world.producer).commit(reg)
    copier = world.registry(world.attacker)
    token_id = copier.reveal(reg, attestation)  # front-runs the producer's own reveal
    assert copier.owner_of(token_id) == world.producer.address
    assert copier.record(token_id).producer == world.producer.address
    with pytest.raises(errors.RegistryUnknownCommit):
        world.registry(world.producer).reveal(reg, attestation)
    world.chain.mine(world.params.bond_lock_blocks)
    before = world.balance(world.producer.address)
    copier.release_bond(token_id)  # even the copier's call pays the bond to the producer
    assert world.balance(world.producer.address) == before + world.params.registration_bond


def test_copying_revealed_data_after_the_fact_is_too_late(world):
    register_esp(world)
    original = registration(world.producer.address, world.esp.address)
    client = world.registry(world.producer)
    client.commit(original)
    token_id = client.reveal(original, client.sign_attestation(world.esp, original))
    copy = replace(original, owner=world.attacker.address, salt=b"\x01" * 32)
    thief = world.registry(world.attacker)
    thief.commit(copy)
    with pytest.raises(errors.RegistryDuplicateContent) as exc:
        thief.reveal(copy, thief.sign_attestation(world.esp, copy))
    assert exc.value.tokenId == token_id
    assert thief.owner_of(token_id) == world.producer.address


def test_near_copy_front_running_a_pending_reveal_cannot_win_the_challenge(world):
    """The victim commits first; while its reveal waits in the mempool (two blocks here), the
    watcher copies the fingerprint from it, commits and reveals a near copy attested by an ESP
    it controls, and challenges the original with the copy."""
    register_esp(world)
    register_esp(world, world.attacker)  # a dishonest (or colluding) ESP signs the copy
    victim = registration(world.producer.address, world.esp.address, fingerprint=BASE_FP)
    victim_client = world.registry(world.producer)
    victim_client.commit(victim)
    attestation = victim_client.sign_attestation(world.esp, victim)
    # The victim's reveal is now pending: its fingerprint is public.
    copy = registration(world.attacker.address, world.attacker.address, fingerprint=NEAR_FP)
    thief = world.registry(world.attacker)
    thief.commit(copy)
    copy_id = thief.reveal(copy, thief.sign_attestation(world.attacker, copy))
    original_id = victim_client.reveal(victim, attestation)  # lands two blocks late

    with pytest.raises(errors.RegistryChallengeOutOfOrder):
        thief.challenge(copy_id, original_id)
    assert victim_client.challenge(original_id, copy_id) is True


def test_reveal_after_the_commit_expired_is_refused(world):
    register_esp(world)
    reg = registration(world.producer.address, world.esp.address)
    client = world.registry(world.producer)
    client.commit(reg)
    committed = client.contract.functions.commitBlock(reg.commitment).call()
    world.chain.mine(world.params.commit_ttl_blocks + 5)
    with pytest.raises(errors.RegistryCommitExpired) as exc:
        client.reveal(reg, client.sign_attestation(world.esp, reg))
    assert exc.value.expiredAtBlock == committed + world.params.commit_ttl_blocks


# --- challenge abuse -------------------------------------------------------------------------


def _original_and_copy(world: World, copy_fp: bytes = NEAR_FP) -> tuple[int, int]:
    """The producer's image, then the attacker's later registration with ``copy_fp``."""
    register_esp(world)
    original = _register(world, world.producer, world.producer.address, fp=BASE_FP)
    copy = _register(world, world.attacker, world.attacker.address, fp=copy_fp)
    return original, copy


def test_later_registrant_cannot_challenge_an_earlier_one(world):
    original, copy = _original_and_copy(world)
    with pytest.raises(errors.RegistryChallengeOutOfOrder) as exc:
        world.registry(world.attacker).challenge(copy, original)
    assert exc.value.original == copy and exc.value.duplicate == original
    assert world.registry(world.producer).challenge(original, copy) is True  # the real owner wins
    assert world.registry(world.buyer).record(copy).status is TokenStatus.REVOKED


def test_challenge_by_a_non_owner_is_refused(world):
    original, copy = _original_and_copy(world)
    with pytest.raises(errors.RegistryNotOwner) as exc:
        world.registry(world.buyer).challenge(original, copy)
    assert exc.value.tokenId == original and exc.value.caller == world.buyer.address.lower()
    # The right to challenge follows the token: once sold, the seller has lost it.
    world.registry(world.producer).transfer(world.buyer.address, original)
    with pytest.raises(errors.RegistryNotOwner):
        world.registry(world.producer).challenge(original, copy)
    assert world.registry(world.buyer).challenge(original, copy) is True


def test_upheld_challenge_pays_back_the_deposit_plus_the_copys_bond(world):
    original, copy = _original_and_copy(world)
    bond = world.params.registration_bond
    before = world.balance(world.producer.address)
    challenger = world.registry(world.producer)
    assert challenger.challenge(original, copy) is True
    assert world.balance(world.producer.address) == before + bond - _cost(challenger.last_receipt)
    assert world.balance(world.deployment.registry.address) == bond  # only the original's
    assert world.esps(world.buyer).challenges_lost(world.esp.address) == 1
    record = challenger.record(copy)
    assert record.status is TokenStatus.REVOKED and not record.bond_held


def test_revoked_token_cannot_move_be_listed_or_challenge(world):
    original, copy = _original_and_copy(world)
    later = _register(world, world.buyer, world.buyer.address, fp=NEAR_FP)
    world.registry(world.producer).challenge(original, copy)
    thief = world.registry(world.attacker)
    with pytest.raises(errors.RegistryTokenRevoked) as exc:
        thief.transfer(world.buyer.address, copy)
    assert exc.value.tokenId == copy
    thief.approve(world.deployment.htlc.address, copy)  # approving moves nothing...
    _, hashlock = new_secret()
    with pytest.raises(errors.RegistryTokenRevoked):  # ...and listing it in the HTLC is refused
        world.htlc(world.attacker).lock_erc721(
            thief.address,
            world.buyer.address,
            token_id=copy,
            hashlock=hashlock,
            timelock=world.chain.timestamp() + HOUR,
        )
    with pytest.raises(errors.RegistryTokenRevoked):
        thief.challenge(copy, later)
    with pytest.raises(errors.RegistryTokenRevoked):  # no second reward for the same copy
        world.registry(world.producer).challenge(original, copy)
    with pytest.raises(errors.RegistryTokenRevoked):
        thief.release_bond(copy)
    assert thief.owner_of(copy) == world.attacker.address


def test_token_revoked_while_escrowed_still_leaves_the_escrow(world):
    original, copy = _original_and_copy(world)
    htlc = world.deployment.htlc
    world.registry(world.attacker).approve(htlc.address, copy)
    _, hashlock = new_secret()
    lock = world.htlc(world.attacker).lock_erc721(
        world.deployment.registry.address,
        world.buyer.address,
        token_id=copy,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + 120,
    )
    world.registry(world.producer).challenge(original, copy)
    world.chain.increase_time(121)
    world.htlc(world.attacker).refund(lock)  # never stuck in the escrow...
    assert world.registry(world.buyer).owner_of(copy) == world.attacker.address
    with pytest.raises(errors.RegistryTokenRevoked):  # ...but frozen once out
        world.registry(world.attacker).transfer(world.buyer.address, copy)


@pytest.mark.parametrize("escrowed", [False, True])
def test_challenge_beyond_the_threshold_forfeits_the_deposit(world, escrowed):
    original, other = _original_and_copy(world, copy_fp=FAR_FP)
    registry = world.registry(world.producer)
    threshold = registry.params()["match_threshold"]
    assert registry.fingerprint_distance(BASE_FP, FAR_FP) > threshold
    if escrowed:  # the other image is listed: the escrow takes no Ether, its producer does
        world.registry(world.attacker).approve(world.deployment.htlc.address, other)
        _, hashlock = new_secret()
        world.htlc(world.attacker).lock_erc721(
            registry.address,
            world.buyer.address,
            token_id=other,
            hashlock=hashlock,
            timelock=world.chain.timestamp() + HOUR,
        )
    deposit, bond = world.params.challenge_deposit, world.params.registration_bond
    challenger_before = world.balance(world.producer.address)
    owner_before = world.balance(world.attacker.address)

    assert registry.challenge(original, other) is False

    assert world.balance(world.producer.address) == (
        challenger_before - deposit - _cost(registry.last_receipt)
    )
    assert world.balance(world.attacker.address) == owner_before + deposit
    assert world.balance(world.deployment.htlc.address) == 0
    assert world.balance(registry.address) == 2 * bond
    assert registry.record(other).status is TokenStatus.ACTIVE


def test_wrong_deposit_and_self_challenge_are_refused(world):
    original, copy = _original_and_copy(world)
    registry = world.registry(world.producer)
    deposit = world.params.challenge_deposit
    with pytest.raises(errors.RegistryWrongValue) as exc:
        registry.challenge(original, copy, deposit=deposit - 1)
    assert exc.value.sent == deposit - 1 and exc.value.required == deposit
    with pytest.raises(errors.RegistrySelfChallenge):
        registry.challenge(original, original)


def test_plagiarist_cannot_pull_the_bond_before_the_lock_ends(world):
    _, copy = _original_and_copy(world)
    thief = world.registry(world.attacker)
    registered = thief.record(copy).registered_block
    with pytest.raises(errors.RegistryBondLocked) as exc:
        thief.release_bond(copy)
    assert exc.value.releasableAtBlock == registered + world.params.bond_lock_blocks
    assert thief.record(copy).bond_held


# --- forged and replayed attestations --------------------------------------------------------


def _reveal_with(world: World, reg: Registration, attestation: bytes) -> int:
    client = world.registry(world.attacker)
    client.commit(reg)
    return client.reveal(reg, attestation)


@pytest.mark.parametrize("replayed_on", ["other_content", "other_producer", "other_fingerprint"])
def test_attestation_replayed_on_other_data_is_refused(world, replayed_on):
    register_esp(world)
    signed = registration(world.producer.address, world.esp.address)
    attestation = world.registry(world.producer).sign_attestation(world.esp, signed)
    forged = {
        "other_content": replace(signed, content_hash=b"\x42" * 32),
        "other_producer": replace(signed, owner=world.attacker.address),
        "other_fingerprint": replace(signed, fingerprint=NEAR_FP),
    }[replayed_on]
    with pytest.raises(errors.RegistryInvalidAttestation) as exc:
        _reveal_with(world, forged, attestation)
    assert exc.value.esp == world.esp.address.lower()
    assert exc.value.recovered not in (world.esp.address.lower(), ZERO_ADDRESS)


@pytest.mark.parametrize("domain", ["other_chain", "other_deployment"])
def test_attestation_from_another_chain_or_deployment_is_refused(world, domain):
    register_esp(world)
    reg = registration(world.attacker.address, world.esp.address)
    registry = world.deployment.registry.address
    chain_id = world.chain.chain_id
    if domain == "other_chain":
        attestation = sign_attestation(world.esp, reg, chain_id=chain_id + 1, registry=registry)
    else:
        attestation = sign_attestation(
            world.esp, reg, chain_id=chain_id, registry=world.deployment.htlc.address
        )
    with pytest.raises(errors.RegistryInvalidAttestation) as exc:
        _reveal_with(world, reg, attestation)
    assert exc.value.recovered != world.esp.address.lower()
    # The very same registration signed for this chain and deployment is accepted.
    good = sign_attestation(world.esp, reg, chain_id=chain_id, registry=registry)
    assert world.registry(world.attacker).reveal(reg, good) == reg.token_id


def test_attestation_by_an_unregistered_key_is_refused(world):
    register_esp(world)
    # Naming the unregistered key as the ESP:
    reg = registration(world.attacker.address, world.attacker.address)
    with pytest.raises(errors.RegistryEspNotRegistered) as exc:
        _reveal_with(
            world, reg, world.registry(world.attacker).sign_attestation(world.attacker, reg)
        )
    assert exc.value.esp == world.attacker.address.lower()
    # Naming a registered ESP but signing with the unregistered key:
    reg = registration(world.attacker.address, world.esp.address)
    with pytest.raises(errors.RegistryInvalidAttestation) as invalid:
        _reveal_with(
            world, reg, world.registry(world.attacker).sign_attestation(world.attacker, reg)
        )
    assert invalid.value.recovered == world.attacker.address.lower()


@pytest.mark.parametrize("signature", [b"", b"\x00" * 65, b"\xff" * 65, b"\x01" * 64])
def test_malformed_attestation_signatures_are_refused(world, signature):
    register_esp(world)
    reg = registration(world.attacker.address, world.esp.address)
    with pytest.raises(errors.RegistryInvalidAttestation) as exc:
        _reveal_with(world, reg, signature)
    assert exc.value.esp == world.esp.address.lower()


def test_deregistered_esp_can_no_longer_attest(world):
    register_esp(world)
    world.esps(world.esp).deregister()
    reg = registration(world.producer.address, world.esp.address)
    with pytest.raises(errors.RegistryEspNotRegistered):
        _reveal_with(world, reg, world.registry(world.esp).sign_attestation(world.esp, reg))


# --- malformed registrations -----------------------------------------------------------------


@pytest.mark.parametrize("word", [0, 1, 2, 3])
@pytest.mark.parametrize("fill", [b"\x00", b"\xff"])
def test_degenerate_fingerprints_are_refused(world, word, fill):
    register_esp(world)
    fp = BASE_FP[: 8 * word] + fill * 8 + BASE_FP[8 * word + 8 :]
    reg = registration(world.producer.address, world.esp.address, fingerprint=fp)
    with pytest.raises(errors.RegistryDegenerateFingerprint) as exc:
        _reveal_with(world, reg, world.registry(world.esp).sign_attestation(world.esp, reg))
    assert exc.value.fingerprint == fp


def test_exact_duplicate_content_is_refused_whatever_the_fingerprint(world):
    register_esp(world)
    content = b"the same canonical image bytes"
    first = _register(world, world.producer, world.producer.address, content=content)
    with pytest.raises(errors.RegistryDuplicateContent) as exc:
        _register(world, world.attacker, world.attacker.address, fp=FAR_FP, content=content)
    assert exc.value.tokenId == first
    assert world.balance(world.deployment.registry.address) == world.params.registration_bond


def test_registration_with_a_zero_owner_or_zero_content_is_refused(world):
    register_esp(world)
    for reg in (
        registration(ZERO_ADDRESS, world.esp.address),
        replace(registration(world.producer.address, world.esp.address), content_hash=bytes(32)),
    ):
        with pytest.raises(errors.RegistryInvalidRegistration):
            _reveal_with(world, reg, world.registry(world.esp).sign_attestation(world.esp, reg))


def test_reveal_with_the_wrong_bond_is_refused(world):
    register_esp(world)
    reg = registration(world.producer.address, world.esp.address)
    client = world.registry(world.producer)
    client.commit(reg)
    bond = world.params.registration_bond
    for sent in (0, bond - 1, bond + 1):
        with pytest.raises(errors.RegistryWrongValue) as exc:
            client.reveal(reg, client.sign_attestation(world.esp, reg), bond=sent)
        assert exc.value.sent == sent and exc.value.required == bond


# --- non-standard ERC-20s --------------------------------------------------------------------


def test_no_return_erc20_locks_withdraws_and_refunds(world):
    token = _token(world, "NoReturnERC20", world.producer, 1000)
    htlc = world.htlc(world.producer)
    preimage, hashlock = new_secret()
    now = world.chain.timestamp()
    paid = htlc.lock_erc20(
        token.address, world.esp.address, amount=300, hashlock=hashlock, timelock=now + HOUR
    )
    _, other_hash = new_secret()
    back = htlc.lock_erc20(
        token.address, world.esp.address, amount=700, hashlock=other_hash, timelock=now + 120
    )
    assert (paid.amount, back.amount) == (300, 700)
    assert token.functions.balanceOf(htlc.address).call() == 1000
    world.htlc(world.esp).withdraw(paid, preimage)
    world.chain.increase_time(121)
    htlc.refund(back)
    assert token.functions.balanceOf(world.esp.address).call() == 300
    assert token.functions.balanceOf(world.producer.address).call() == 700
    assert token.functions.balanceOf(htlc.address).call() == 0


def test_no_return_erc20_transfer_failure_reverts_the_lock(world):
    token = _token(world, "NoReturnERC20", world.producer, 100)
    _, hashlock = new_secret()
    # The token reverts with no data when the balance is short; SafeERC20 passes that on
    # instead of reading the missing return value as success.
    with pytest.raises(errors.TransactionFailed):
        world.htlc(world.producer).lock_erc20(
            token.address,
            world.esp.address,
            amount=101,
            hashlock=hashlock,
            timelock=world.chain.timestamp() + HOUR,
        )
    assert token.functions.balanceOf(world.producer.address).call() == 100


def test_fee_on_transfer_lock_records_and_pays_what_arrived(world):
    token = _token(world, "FeeOnTransferERC20", world.producer, 15_000)
    htlc = world.htlc(world.producer)
    preimage, hashlock = new_secret()
    now = world.chain.timestamp()
    paid = htlc.lock_erc20(
        token.address, world.esp.address, amount=10_000, hashlock=hashlock, timelock=now + HOUR
    )
    _, other_hash = new_secret()
    back = htlc.lock_erc20(
        token.address, world.esp.address, amount=5_000, hashlock=other_hash, timelock=now + 120
    )
    assert (paid.amount, back.amount) == (9_900, 4_950)  # 1% burnt on the way in
    balance = token.functions.balanceOf
    assert balance(htlc.address).call() == 9_900 + 4_950
    world.htlc(world.esp).withdraw(paid, preimage)
    assert balance(htlc.address).call() == 4_950  # the other lock is still fully backed
    assert balance(world.esp.address).call() == 9_900 - 99  # the token's own fee on the way out
    world.chain.increase_time(121)
    htlc.refund(back)
    assert balance(htlc.address).call() == 0
    assert balance(world.producer.address).call() == 4_950 - 49


# --- forged feedback and privileged calls ----------------------------------------------------


def _settled_fee(world: World) -> LockTerms:
    """A generation fee from the producer to the registered ESP, withdrawn by the ESP."""
    register_esp(world)
    lock, preimage = lock_fee(world)
    world.htlc(world.esp).withdraw(lock, preimage)
    return lock


def test_feedback_by_someone_other_than_the_lock_sender_is_refused(world):
    lock = _settled_fee(world)
    with pytest.raises(errors.FeedbackNotLockSender) as exc:
        world.esps(world.attacker).submit_feedback(lock, positive=False)
    assert exc.value.lockId == lock.id and exc.value.caller == world.attacker.address.lower()
    assert not world.esps(world.attacker).feedback_recorded(lock)
    assert world.esps(world.attacker).producers_of(world.esp.address) == []


def test_feedback_twice_on_one_lock_is_refused(world):
    lock = _settled_fee(world)
    world.esps(world.producer).submit_feedback(lock, positive=True)
    with pytest.raises(errors.FeedbackAlreadyRecorded) as exc:
        world.esps(world.producer).submit_feedback(lock, positive=True)
    assert exc.value.lockId == lock.id
    evidence = world.esps(world.producer).evidence(world.producer.address, world.esp.address)
    assert evidence["positive"] == 10**18 and evidence["negative"] == 0


def test_feedback_on_an_open_refunded_or_unknown_lock_is_refused(world):
    register_esp(world)
    esps = world.esps(world.producer)
    open_lock, _ = lock_fee(world, duration=120)
    with pytest.raises(errors.FeedbackLockNotSettled) as exc:
        esps.submit_feedback(open_lock, positive=True)
    assert exc.value.status == LockStatus.OPEN
    with pytest.raises(errors.FeedbackLockNotSettled):
        esps.record_refund(open_lock)
    forged = replace(open_lock, amount=open_lock.amount * 100)  # a lock that never existed
    with pytest.raises(errors.FeedbackLockNotSettled) as unknown:
        esps.submit_feedback(forged, positive=True)
    assert unknown.value.status == LockStatus.NONE
    world.chain.increase_time(121)
    world.htlc(world.producer).refund(open_lock)
    with pytest.raises(errors.FeedbackLockNotSettled) as refunded:
        esps.submit_feedback(open_lock, positive=True)  # a refund is never positive evidence
    assert refunded.value.status == LockStatus.REFUNDED


def test_refund_is_recorded_once_even_after_the_esp_leaves(world):
    register_esp(world)
    lock, _ = lock_fee(world, duration=120)
    world.esps(world.esp).deregister()  # leaving does not erase its failures
    world.chain.increase_time(121)
    world.htlc(world.producer).refund(lock)
    world.esps(world.buyer).record_refund(lock)  # anyone may record it, once
    with pytest.raises(errors.FeedbackAlreadyRecorded):
        world.esps(world.producer).record_refund(lock)
    evidence = world.esps(world.buyer).evidence(world.producer.address, world.esp.address)
    assert evidence["negative"] == 10**18 and evidence["positive"] == 0


def test_feedback_on_an_erc721_lock_is_refused(world):
    register_esp(world)
    nft = _nft(world, world.producer.address, 3)
    world.tx(world.producer).send(nft.functions.approve(world.deployment.htlc.address, 3))
    preimage, hashlock = new_secret()
    lock = world.htlc(world.producer).lock_erc721(
        nft.address,
        world.esp.address,
        token_id=3,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + HOUR,
    )
    world.htlc(world.esp).withdraw(lock, preimage)
    with pytest.raises(errors.FeedbackNotPayment) as exc:
        world.esps(world.producer).submit_feedback(lock, positive=True)
    assert exc.value.lockId == lock.id


def test_feedback_about_a_receiver_that_is_not_an_esp_is_refused(world):
    lock, preimage = lock_fee(world, receiver=world.attacker.address)  # a sock puppet
    world.htlc(world.attacker).withdraw(lock, preimage)
    with pytest.raises(errors.EspNotRegistered) as exc:
        world.esps(world.producer).submit_feedback(lock, positive=True)
    assert exc.value.esp == world.attacker.address.lower()


@pytest.mark.parametrize("caller", ["attacker", "deployer", "esp"])
def test_only_the_registry_may_report_an_upheld_challenge(world, caller):
    register_esp(world)
    account = getattr(world, caller)
    esps = world.deployment.esp_registry
    with pytest.raises(errors.EspUnauthorizedRegistry) as exc:
        world.tx(account).send(esps.functions.recordChallengeUpheld(world.esp.address))
    assert exc.value.caller == account.address.lower()
    assert world.esps(world.buyer).challenges_lost(world.esp.address) == 0


def test_bind_registry_happens_once_and_only_by_the_deployer(world):
    esps = world.deployment.esp_registry
    bound = esps.functions.registry().call()
    assert bound == world.deployment.registry.address
    with pytest.raises(errors.EspRegistryAlreadyBound) as exc:
        world.tx(world.deployer).send(esps.functions.bindRegistry(world.attacker.address))
    assert exc.value.registry == bound.lower()
    with pytest.raises(errors.EspUnauthorizedRegistry) as unauthorized:
        world.tx(world.attacker).send(esps.functions.bindRegistry(world.attacker.address))
    assert unauthorized.value.caller == world.attacker.address.lower()
    assert esps.functions.registry().call() == bound


# --- the ledger's read path ------------------------------------------------------------------


def test_reads_that_revert_raise_the_typed_custom_error(world):
    with pytest.raises(errors.ERC721NonexistentToken) as exc:
        world.registry(world.buyer).owner_of(12345)
    assert exc.value.tokenId == 12345
