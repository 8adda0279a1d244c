"""Attacks on registration: front-running a commit or a reveal, forged or replayed attestations,
borrowed, unpaid, refunded or non-fee generation locks, malformed registrations, each shown
failing.

Every test runs on the backend of ``world``: the guard holds with the exact custom
error, or balances and ownership come out exact.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger import LockStatus, LockTerms, Registration, TokenStatus, errors, new_secret
from ledger.clients.htlc import ZERO_ADDRESS
from ledger.clients.registry import DisputeState, sign_attestation
from ledger.tx import call
from tests.conftest import World
from tests.contracts.attack_kit import (
    HOUR,
    burn_address,
    erc20,
    erc721,
    gas_cost,
    register_image,
    send_reveal,
)
from tests.contracts.helpers import (
    BASE_FP,
    FAR_FP,
    NEAR_FP,
    challenge_and_finalize,
    copier_esp,
    details,
    lock_fee,
    paid_lock,
    register_esp,
    registration,
    wait_out_exit_delay,
)

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


def _paid_registration(
    world: World, owner: LocalAccount, esp: LocalAccount | None = None, **fields: Any
) -> tuple[Registration, LockTerms]:
    """``owner``'s paid generation lock to ``esp`` and a registration naming it."""
    esp = esp or world.esp
    lock = paid_lock(world, owner, esp)
    return registration(owner.address, esp.address, lock=lock, **fields), lock


def test_reveal_in_the_commit_block_is_too_early(world):
    register_esp(world)
    reg, lock = _paid_registration(world, world.producer)
    registry = world.deployment.registry
    attestation = world.registry(world.producer).sign_attestation(world.esp, reg)
    bond = world.params.registration_bond
    reveal = registry.functions.reveal(reg.as_tuple(), lock.as_tuple(), reg.detail, attestation)
    commit_tx = _signed_tx(
        world,
        world.producer,
        registry.functions.commit(reg.commitment),
        value=bond,
        tip=3 * 10**9,
    )  # the higher tip orders it first on anvil too
    reveal_tx = _signed_tx(world, world.buyer, reveal, tip=10**9)  # a relayer

    commit_receipt, reveal_receipt = _in_one_block(world, [commit_tx, reveal_tx])

    block = commit_receipt["blockNumber"]
    assert reveal_receipt["blockNumber"] == block
    assert commit_receipt["status"] == 1 and reveal_receipt["status"] == 0
    # The exact error: the same reveal evaluated in the commit's block.
    with pytest.raises(errors.RegistryRevealTooEarly) as exc:
        call(lambda: reveal.call({"from": world.buyer.address}, block_identifier=block))
    assert exc.value.commitment == reg.commitment and exc.value.committedBlock == block
    assert world.registry(world.buyer).record(reg.token_id).status is TokenStatus.NONE
    assert world.balance(registry.address) == bond  # the commitment's bond only
    # One block later the same reveal is valid: the commitment was not consumed.
    assert world.registry(world.buyer).reveal(reg, lock, attestation) == reg.token_id
    assert world.registry(world.buyer).owner_of(reg.token_id) == world.producer.address
    assert world.balance(registry.address) == bond  # now the token's


def test_copied_commitment_cannot_register_to_the_copier(world):
    register_esp(world)
    reg, lock = _paid_registration(world, world.producer)
    attestation = world.registry(world.producer).sign_attestation(world.esp, reg)
    thief = world.registry(world.attacker)
    before = world.balance(world.attacker.address)
    thief.commit(reg)  # copied from the mempool and sent first: the copier pays the bond
    spent = gas_cost(thief.last_receipt)
    with pytest.raises(errors.RegistryCommitExists) as exc:
        world.registry(world.producer).commit(reg)
    assert exc.value.commitment == reg.commitment
    # The registrant is the lock's sender: naming himself as owner with the producer's lock,
    # even with an attestation for himself from a colluding ESP, leaves the attestation
    # signed for the wrong producer.
    stolen = replace(reg, owner=world.attacker.address)
    colluding = thief.sign_attestation(world.esp, stolen)
    with pytest.raises(errors.RegistryInvalidAttestation) as invalid:
        send_reveal(world, world.attacker, stolen, lock, colluding)
    assert invalid.value.esp == world.esp.address.lower()
    # The copied commitment still registers the image to the producer, on the copier's bond.
    token_id = world.registry(world.producer).reveal(reg, lock, attestation)
    assert world.registry(world.buyer).owner_of(token_id) == world.producer.address
    assert world.balance(world.attacker.address) == before - world.params.registration_bond - spent


def test_relaying_a_copied_reveal_mints_to_the_producer(world):
    register_esp(world)
    reg, lock = _paid_registration(world, world.producer)
    attestation = world.registry(world.producer).sign_attestation(world.esp, reg)
    world.registry(world.producer).commit(reg)
    copier = world.registry(world.attacker)
    before = world.balance(world.attacker.address)
    token_id = copier.reveal(reg, lock, attestation)  # front-runs the producer's own reveal
    assert world.balance(world.attacker.address) == before - gas_cost(copier.last_receipt)
    assert copier.owner_of(token_id) == world.producer.address
    assert copier.record(token_id).producer == world.producer.address
    assert copier.registered(token_id).task_id == lock.id
    with pytest.raises(errors.RegistryDuplicateContent):  # registered, once
        world.registry(world.producer).reveal(reg, lock, attestation)
    # The producer's commitment bond now backs its token; nothing was paid to the copier.
    assert world.balance(world.deployment.registry.address) == world.params.registration_bond


def test_copying_revealed_data_after_the_fact_is_too_late(world):
    register_esp(world)
    original, lock = _paid_registration(world, world.producer)
    client = world.registry(world.producer)
    client.commit(original)
    token_id = client.reveal(original, lock, client.sign_attestation(world.esp, original))
    thief_lock = paid_lock(world, world.attacker, world.esp)
    copy = replace(original, owner=world.attacker.address, salt=b"\x01" * 32, task_id=thief_lock.id)
    thief = world.registry(world.attacker)
    thief.commit(copy)
    with pytest.raises(errors.RegistryDuplicateContent) as exc:
        thief.reveal(copy, thief_lock, thief.sign_attestation(world.esp, copy))
    assert exc.value.tokenId == token_id
    # Nor can it take the token over with `reclaim`: its lock is the later one.
    with pytest.raises(errors.RegistryChallengeOutOfOrder) as order:
        thief.reclaim(copy, thief_lock, thief.sign_attestation(world.esp, copy))
    assert order.value.original == order.value.duplicate == token_id
    assert thief.owner_of(token_id) == world.producer.address
    # The thief's commitment is never revealed: its bond is burned.
    world.chain.mine(world.params.commit_ttl_blocks + 1)
    burned_before = world.balance(burn_address(world))
    thief.forfeit_commit(copy.commitment)
    assert world.balance(burn_address(world)) == burned_before + world.params.registration_bond


def test_near_copy_front_running_a_pending_reveal_cannot_win_the_challenge(world):
    """The victim's generation is paid first; while its reveal waits in the mempool, the watcher
    copies the fingerprint from it, pays a generation of its own to an ESP it controls, commits
    and reveals a near copy before the victim, and challenges the original with the copy."""
    register_esp(world)
    register_esp(world, world.buyer)  # a dishonest (or colluding) ESP signs the copy
    victim, lock = _paid_registration(world, world.producer, fingerprint=BASE_FP)
    victim_client = world.registry(world.producer)
    victim_client.commit(victim)
    attestation = victim_client.sign_attestation(world.esp, victim)
    # The victim's reveal is now pending: its fingerprint is public.
    copy, copy_lock = _paid_registration(
        world, world.attacker, world.buyer, fingerprint=NEAR_FP, detail=details()["near"]
    )
    thief = world.registry(world.attacker)
    thief.commit(copy)
    world.chain.mine(1)
    copy_id = thief.reveal(copy, copy_lock, thief.sign_attestation(world.buyer, copy))
    original_id = victim_client.reveal(victim, lock, attestation)  # lands blocks late

    assert (
        thief.registered(copy_id).priority_block
        > victim_client.registered(original_id).priority_block
    )  # priority follows the paid lock, not the reveal
    with pytest.raises(errors.RegistryChallengeOutOfOrder):
        thief.challenge(copy_id, original_id)
    assert challenge_and_finalize(world, world.producer, original_id, copy_id) is True
    assert thief.record(copy_id).status is TokenStatus.REVOKED


def test_front_running_a_pending_reveal_with_a_prepaid_lock_cannot_win(world):
    """The front-running attack above, with the thief's fee prepaid to its own ESP before the
    victim paid (found in the issue 12 review): the thief copies a reveal that waits in the
    mempool for two blocks, so its copy has the older lock and was committed before the victim's
    reveal. Across ESPs the original must have been committed before the duplicate was
    (the victim's commitment hid the image until its reveal): RegistryCommittedAfterPublication."""
    register_esp(world)
    register_esp(world, world.buyer)  # the thief's own ESP
    copy, copy_lock = _paid_registration(
        world, world.attacker, world.buyer, fingerprint=NEAR_FP, detail=details()["near"]
    )  # prepaid: before the victim's lock
    victim, lock = _paid_registration(world, world.producer, fingerprint=BASE_FP)
    victim_client = world.registry(world.producer)
    victim_client.commit(victim)
    attestation = victim_client.sign_attestation(world.esp, victim)
    thief = world.registry(world.attacker)  # the victim's reveal is pending: copy it now
    thief.commit(copy)
    world.chain.mine(1)
    copy_id = thief.reveal(copy, copy_lock, thief.sign_attestation(world.buyer, copy))
    original_id = victim_client.reveal(victim, lock, attestation)  # lands two blocks late
    with pytest.raises(errors.RegistryCommittedAfterPublication):
        thief.challenge(copy_id, original_id)
    assert thief.record(original_id).status is TokenStatus.ACTIVE


def test_reveal_after_the_commit_expired_is_refused(world):
    register_esp(world)
    reg, lock = _paid_registration(world, world.producer)
    client = world.registry(world.producer)
    client.commit(reg)
    committed = client.contract.functions.commitBlock(reg.commitment).call()
    world.chain.mine(world.params.commit_ttl_blocks + 5)
    with pytest.raises(errors.RegistryCommitExpired) as exc:
        client.reveal(reg, lock, client.sign_attestation(world.esp, reg))
    assert exc.value.expiredAtBlock == committed + world.params.commit_ttl_blocks


# --- generation locks ------------------------------------------------------------------------


def _reveal_with(world: World, reg: Registration, lock: LockTerms, attestation: bytes) -> int:
    world.registry(world.attacker).commit(reg)
    return send_reveal(world, world.attacker, reg, lock, attestation)


def test_a_refunded_generation_lock_gives_no_registration(world):
    """The producer takes its fee back after the ESP failed to claim, then registers anyway."""
    register_esp(world)
    lock, _ = lock_fee(world, sender=world.producer, receiver=world.esp.address, duration=120)
    world.chain.increase_time(121)
    world.htlc(world.producer).refund(lock)
    reg = registration(world.producer.address, world.esp.address, lock=lock)
    with pytest.raises(errors.RegistryLockNotPaid) as exc:
        _reveal_with(world, reg, lock, world.registry(world.esp).sign_attestation(world.esp, reg))
    assert exc.value.lockId == lock.id and exc.value.status == LockStatus.REFUNDED


def test_a_lock_to_another_esp_or_of_an_nft_is_not_this_esps_fee(world):
    register_esp(world)
    register_esp(world, world.buyer)
    to_other = paid_lock(world, world.producer, world.buyer)  # paid, but to another ESP
    reg = registration(world.producer.address, world.esp.address, lock=to_other)
    with pytest.raises(errors.RegistryInvalidAttestation) as exc:  # the lock's receiver attests
        _reveal_with(
            world, reg, to_other, world.registry(world.esp).sign_attestation(world.esp, reg)
        )
    assert exc.value.esp == world.buyer.address.lower()
    assert exc.value.recovered == world.esp.address.lower()
    # An NFT swap from the producer to the ESP, withdrawn by the ESP, is not a generation fee.
    nft = erc721(world, world.producer.address, 1)
    world.tx(world.producer).send(nft.functions.approve(world.deployment.htlc.address, 1))
    preimage, hashlock = new_secret()
    swap = world.htlc(world.producer).lock_erc721(
        nft.address,
        world.esp.address,
        token_id=1,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + HOUR,
    )
    world.htlc(world.esp).withdraw(swap, preimage)
    reg = registration(world.producer.address, world.esp.address, lock=swap)
    with pytest.raises(errors.RegistryLockMismatch) as exc:
        _reveal_with(world, reg, swap, world.registry(world.esp).sign_attestation(world.esp, reg))
    assert exc.value.lockId == swap.id


def test_an_erc20_generation_fee_registers(world):
    register_esp(world)
    token = erc20(world, "TestERC20", world.producer, 1000)
    preimage, hashlock = new_secret()
    lock = world.htlc(world.producer).lock_erc20(
        token.address,
        world.esp.address,
        amount=1000,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + HOUR,
    )
    world.htlc(world.esp).withdraw(lock, preimage)
    token_id = register_image(world, world.producer, world.producer.address, lock=lock)
    assert world.registry(world.buyer).registered(token_id).task_id == lock.id


def test_an_esp_that_leaves_and_rejoins_cannot_void_its_customers_registration(world):
    """Finding (issue 11): an ESP that deregisters after claiming a fee made its customer's
    reveal fail. Leaving is handled; leaving and registering again is too: EspRegistry keeps
    every registration period, so the lock's block is found in the first one (before, only the
    latest period was kept and ``wasActiveAt`` said no). The stake's exit delay (longer than the
    registration window) means a rejoined ESP's old customers are past their window by then, so
    the old period shows in ``wasActiveAt`` and in ``acknowledge`` of the old lock."""
    register_esp(world)
    lock = paid_lock(world, world.producer, world.esp)
    token = register_image(world, world.producer, world.producer.address, lock=lock)
    world.esps(world.esp).deregister()
    world.chain.increase_time(world.params.esp_unbonding_period)
    wait_out_exit_delay(world)
    world.esps(world.esp).withdraw_stake()
    register_esp(world)  # a fresh active period
    esps = world.esps(world.producer)
    _, locked_at = world.htlc(world.buyer).lock_info(lock.id)
    assert esps.was_active_at(world.esp.address, locked_at)
    esps.acknowledge(lock, esps.sign_quote(world.esp, lock))  # EspNotRegistered before the fix
    assert esps.acknowledged(lock)
    periods = esps.periods_of(world.esp.address)
    assert len(periods) == 2 and periods[1][1] == 0  # the first closed, the second open
    # Between the periods the ESP was not active: a lock made then counts for nothing (the
    # deregistration block itself still counts: a fee locked before the ESP left in it).
    assert esps.was_active_at(world.esp.address, periods[0][1])
    assert not esps.was_active_at(world.esp.address, periods[0][1] + 1)
    assert world.registry(world.producer).record(token).status is TokenStatus.ACTIVE


# --- forged and replayed attestations --------------------------------------------------------


@pytest.mark.parametrize(
    "replayed_on",
    ["other_content", "other_producer", "other_fingerprint", "other_detail", "other_task"],
)
def test_attestation_replayed_on_other_data_is_refused(world, replayed_on):
    register_esp(world)
    signed, lock = _paid_registration(world, world.producer)
    attestation = world.registry(world.producer).sign_attestation(world.esp, signed)
    forged, forged_lock = {
        "other_content": (replace(signed, content_hash=b"\x42" * 32), lock),
        "other_fingerprint": (replace(signed, fingerprint=NEAR_FP), lock),
        "other_detail": (replace(signed, detail=details()["far"]), lock),
    }.get(replayed_on, (signed, lock))
    if replayed_on == "other_producer":  # the attacker's own paid lock, the producer's signature
        forged_lock = paid_lock(world, world.attacker, world.esp)
        forged = replace(signed, owner=world.attacker.address, task_id=forged_lock.id)
    elif replayed_on == "other_task":  # the producer's second paid generation
        forged_lock = paid_lock(world, world.producer, world.esp)
        forged = replace(signed, task_id=forged_lock.id)
    with pytest.raises(errors.RegistryInvalidAttestation) as exc:
        _reveal_with(world, forged, forged_lock, attestation)
    assert exc.value.esp == world.esp.address.lower()
    assert exc.value.recovered not in (world.esp.address.lower(), ZERO_ADDRESS)


@pytest.mark.parametrize("domain", ["other_chain", "other_deployment"])
def test_attestation_from_another_chain_or_deployment_is_refused(world, domain):
    register_esp(world)
    reg, lock = _paid_registration(world, world.attacker)
    registry = world.deployment.registry.address
    chain_id = world.chain.chain_id
    if domain == "other_chain":
        attestation = sign_attestation(world.esp, reg, chain_id=chain_id + 1, registry=registry)
    else:
        attestation = sign_attestation(
            world.esp, reg, chain_id=chain_id, registry=world.deployment.htlc.address
        )
    with pytest.raises(errors.RegistryInvalidAttestation) as exc:
        _reveal_with(world, reg, lock, attestation)
    assert exc.value.recovered != world.esp.address.lower()
    # The very same registration signed for this chain and deployment is accepted.
    good = sign_attestation(world.esp, reg, chain_id=chain_id, registry=registry)
    assert world.registry(world.attacker).reveal(reg, lock, good) == reg.token_id


def test_attestation_by_an_unregistered_key_is_refused(world):
    register_esp(world)
    # Naming an unregistered key as the ESP (it claimed the attacker's fee):
    reg, lock = _paid_registration(world, world.attacker, world.buyer)
    with pytest.raises(errors.RegistryEspNotRegistered) as exc:
        _reveal_with(
            world, reg, lock, world.registry(world.buyer).sign_attestation(world.buyer, reg)
        )
    assert exc.value.esp == world.buyer.address.lower()
    # Naming a registered ESP but signing with the unregistered key:
    reg, lock = _paid_registration(world, world.attacker)
    with pytest.raises(errors.RegistryInvalidAttestation) as invalid:
        _reveal_with(
            world, reg, lock, world.registry(world.attacker).sign_attestation(world.attacker, reg)
        )
    assert invalid.value.recovered == world.attacker.address.lower()


@pytest.mark.parametrize("signature", [b"", b"\x00" * 65, b"\xff" * 65, b"\x01" * 64])
def test_malformed_attestation_signatures_are_refused(world, signature):
    register_esp(world)
    reg, lock = _paid_registration(world, world.attacker)
    with pytest.raises(errors.RegistryInvalidAttestation) as exc:
        _reveal_with(world, reg, lock, signature)
    assert exc.value.esp == world.esp.address.lower()


def test_deregistered_esp_can_no_longer_attest_new_generations(world):
    """A generation paid after the ESP left gives no registration (one paid while it served
    still does: see test_registry)."""
    register_esp(world)
    world.esps(world.esp).deregister()
    reg, lock = _paid_registration(world, world.producer)
    with pytest.raises(errors.RegistryEspNotRegistered) as exc:
        _reveal_with(world, reg, lock, world.registry(world.esp).sign_attestation(world.esp, reg))
    assert exc.value.esp == world.esp.address.lower()


# --- malformed registrations -----------------------------------------------------------------


@pytest.mark.parametrize("word", [0, 1, 2, 3])
@pytest.mark.parametrize("fill", [b"\x00", b"\xff"])
def test_degenerate_fingerprints_are_refused(world, word, fill):
    register_esp(world)
    fp = BASE_FP[: 8 * word] + fill * 8 + BASE_FP[8 * word + 8 :]
    reg, lock = _paid_registration(world, world.producer, fingerprint=fp)
    with pytest.raises(errors.RegistryDegenerateFingerprint) as exc:
        _reveal_with(world, reg, lock, world.registry(world.esp).sign_attestation(world.esp, reg))
    assert exc.value.fingerprint == fp


def test_exact_duplicate_content_is_refused_whatever_the_fingerprint(world):
    register_esp(world)
    content = b"the same canonical image bytes"
    first = register_image(world, world.producer, world.producer.address, content=content)
    with pytest.raises(errors.RegistryDuplicateContent) as exc:
        register_image(world, world.attacker, world.attacker.address, fp=FAR_FP, content=content)
    assert exc.value.tokenId == first
    # The first token's bond and the refused copy's commitment bond (forfeitable).
    assert world.balance(world.deployment.registry.address) == 2 * world.params.registration_bond


def test_registration_with_zero_content_is_refused(world):
    """(The owner is the lock's sender, so it can no longer be the zero address.)"""
    register_esp(world)
    reg, lock = _paid_registration(world, world.producer)
    reg = replace(reg, content_hash=bytes(32))
    with pytest.raises(errors.RegistryInvalidRegistration):
        _reveal_with(world, reg, lock, world.registry(world.esp).sign_attestation(world.esp, reg))


def test_commit_with_the_wrong_bond_is_refused(world):
    register_esp(world)
    reg, _ = _paid_registration(world, world.producer)
    client = world.registry(world.producer)
    bond = world.params.registration_bond
    for sent in (0, bond - 1, bond + 1):
        with pytest.raises(errors.RegistryWrongValue) as exc:
            client.commit(reg, bond=sent)
        assert exc.value.sent == sent and exc.value.required == bond
    assert world.balance(client.address) == 0


# --- one paid lock, several registrations -----------------------------------------------------


def test_a_lock_reused_for_a_later_copy_gains_no_revocation(world):
    """Nothing marks a lock used (a fee may back a batch; marking it does not fit the reveal's
    150,000-gas budget: docs/contracts.md). Reuse is bounded instead: the attacker registers one
    image under its lock, then a copy of a victim's image published later under the same lock
    (the copy's priority is the lock's block, before the victim's). Across ESPs the copy was
    committed after the victim's reveal: RegistryCommittedAfterPublication. Through the victim's
    own ESP it is an equivocation: the window's end revokes nothing. After the registration
    window the lock gives no priority: a late registration's priority is its own commit block."""
    register_esp(world)
    for esp in (copier_esp(world), world.esp):
        lock = paid_lock(world, world.attacker, esp)
        first = register_image(world, world.attacker, world.attacker.address, lock=lock)
        victim = register_image(world, world.producer, world.producer.address)
        published = world.registry(world.deployer).registered(victim)
        copy = register_image(
            world,
            world.attacker,
            world.attacker.address,
            fp=published.fingerprint,
            detail=published.detail,
            lock=lock,
        )
        attacker = world.registry(world.attacker)
        assert attacker.registered(copy).task_id == attacker.registered(first).task_id
        assert attacker.registered(copy).priority_block < published.priority_block
        if esp is world.esp:
            assert challenge_and_finalize(world, world.attacker, copy, victim) is False
            assert attacker.dispute(copy, victim).state is DisputeState.VOID
        else:
            with pytest.raises(errors.RegistryCommittedAfterPublication):
                attacker.challenge(copy, victim)
        assert attacker.record(victim).status is TokenStatus.ACTIVE
    world.chain.mine(world.params.registration_window_blocks + 1)
    late = registration(world.attacker.address, world.esp.address, lock=lock)
    attacker.commit(late)
    token = attacker.reveal(late, lock, attacker.sign_attestation(world.esp, late))
    record = attacker.registered(token)
    assert record.priority_block == record.proof.commit_block
