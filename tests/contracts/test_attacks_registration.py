"""Attacks on registration: front-running a reveal, forged or replayed attestations, malformed
registrations, each shown failing.

Every test runs on every chain backend (``world``): the guard holds with the exact custom
error, or balances and ownership come out exact.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger import (
    Registration,
    TokenStatus,
    errors,
)
from ledger.clients.htlc import ZERO_ADDRESS
from ledger.clients.registry import sign_attestation
from ledger.tx import call
from tests.conftest import World
from tests.contracts.attack_kit import (
    register_image,
)
from tests.contracts.helpers import (
    BASE_FP,
    FAR_FP,
    NEAR_FP,
    register_esp,
    registration,
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
    first = register_image(world, world.producer, world.producer.address, content=content)
    with pytest.raises(errors.RegistryDuplicateContent) as exc:
        register_image(world, world.attacker, world.attacker.address, fp=FAR_FP, content=content)
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
