"""Registry (Proof-of-AIGC): commit-reveal, attestation, challenge, bond, ERC-721 and ERC-2981."""

from __future__ import annotations

import importlib
from dataclasses import replace

import pytest
from web3.logs import DISCARD

from ledger import EmbeddedChain, LedgerError, TokenStatus, deploy, errors, new_secret
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.registry import DisputeState
from ledger.errors import DeploymentError
from tests.conftest import TEST_PARAMS
from tests.contracts import attack_kit
from tests.contracts.attack_kit import Attacker
from tests.contracts.helpers import (
    BASE_FP,
    FAR_FP,
    NEAR_FP,
    challenge_and_finalize,
    copier_esp,
    details,
    lock_fee,
    paid_lock,
    past_reclaim,
    register_esp,
    register_image,
    registration,
)

# The standard interfaces as any wallet or marketplace sees them (not the project's ABI).
STANDARD_ABI = [
    {
        "type": "function",
        "name": "supportsInterface",
        "stateMutability": "view",
        "inputs": [{"name": "id", "type": "bytes4"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "type": "function",
        "name": "ownerOf",
        "stateMutability": "view",
        "inputs": [{"name": "id", "type": "uint256"}],
        "outputs": [{"name": "", "type": "address"}],
    },
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "o", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "type": "function",
        "name": "tokenURI",
        "stateMutability": "view",
        "inputs": [{"name": "id", "type": "uint256"}],
        "outputs": [{"name": "", "type": "string"}],
    },
    {
        "type": "function",
        "name": "name",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "string"}],
    },
    {
        "type": "function",
        "name": "royaltyInfo",
        "stateMutability": "view",
        "inputs": [{"name": "id", "type": "uint256"}, {"name": "price", "type": "uint256"}],
        "outputs": [{"name": "r", "type": "address"}, {"name": "a", "type": "uint256"}],
    },
]
IERC165, IERC721, IERC721_METADATA, IERC2981 = (
    "0x01ffc9a7",
    "0x80ac58cd",
    "0x5b5e139f",
    "0x2a55205a",
)


IERC4906 = "0x49064906"


def _registered(client, receipt_name="Registered"):
    return client.contract.events.Registered().process_receipt(client.last_receipt, errors=DISCARD)[
        0
    ]["args"]


def test_commit_then_reveal_mints_the_content_hash_token(world):
    register_esp(world)
    lock = paid_lock(world, world.producer, world.esp)
    _, locked_at = world.htlc(world.producer).lock_info(lock.id)
    reg = registration(world.producer.address, world.esp.address, lock=lock)
    client = world.registry(world.producer)
    client.commit(reg)
    assert client.contract.functions.commitBlock(reg.commitment).call() > 0
    assert world.balance(client.address) == world.params.registration_bond  # the commit's bond
    token = client.reveal(reg, lock, client.sign_attestation(world.esp, reg))
    assert token == reg.token_id == int.from_bytes(reg.content_hash, "big")
    event = _registered(client)
    assert event["taskId"] == lock.id and event["seed"] == reg.seed
    assert event["priorityBlock"] == locked_at  # priority is the paid lock's block
    record = client.record(token)
    published = client.registered(token)
    assert published.detail == reg.detail and published.fingerprint == BASE_FP
    assert record.record_hash == published.proof.record_hash
    assert record.producer == world.producer.address and record.status is TokenStatus.ACTIVE
    assert client.owner_of(token) == world.producer.address
    assert client.contract.functions.commitBlock(reg.commitment).call() == 0  # consumed
    assert world.balance(client.address) == world.params.registration_bond  # now the token's


def test_standard_erc721_erc2981_and_erc4906_queries(world):
    register_esp(world)
    token = register_image(world, world.producer)
    std = world.chain.w3.eth.contract(address=world.deployment.registry.address, abi=STANDARD_ABI)
    for iface in (IERC165, IERC721, IERC721_METADATA, IERC2981, IERC4906):
        assert std.functions.supportsInterface(iface).call(), iface
    assert not std.functions.supportsInterface("0xffffffff").call()
    assert std.functions.ownerOf(token).call() == world.producer.address
    assert std.functions.balanceOf(world.producer.address).call() == 1
    assert std.functions.name().call() == "Proof-of-AIGC"
    assert std.functions.tokenURI(token).call() == f"{world.params.base_uri}{token}"
    receiver, amount = std.functions.royaltyInfo(token, 10**18).call()
    assert receiver == world.producer.address
    assert amount == 10**18 * world.params.royalty_bps // 10_000


def test_royalty_receiver_stays_the_producer_after_resale(world):
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)  # a fresh token does not move (RegistryTokenReclaimable)
    world.registry(world.producer).transfer(world.buyer.address, token)
    world.registry(world.buyer).transfer(world.attacker.address, token)
    receiver, _ = world.registry(world.buyer).royalty_info(token, 1000)
    assert receiver == world.producer.address
    assert world.registry(world.buyer).record(token).producer == world.producer.address


def test_own_metadata_uri_is_kept(world):
    register_esp(world)
    lock = paid_lock(world, world.producer, world.esp)
    reg = registration(world.producer.address, world.esp.address, lock=lock)
    reg = type(reg)(**{**reg.__dict__, "metadata_uri": "ipfs://meta.json"})
    client = world.registry(world.producer)
    client.commit(reg)
    token = client.reveal(reg, lock, client.sign_attestation(world.esp, reg))
    assert client.contract.functions.tokenURI(token).call() == "ipfs://meta.json"


def test_commit_errors(world):
    register_esp(world)
    lock = paid_lock(world, world.producer, world.esp)
    reg = registration(world.producer.address, world.esp.address, lock=lock)
    client = world.registry(world.producer)
    with pytest.raises(errors.RegistryWrongValue) as exc:
        client.commit(reg, bond=0)  # a commitment costs the bond
    assert exc.value.required == world.params.registration_bond
    client.commit(reg)
    with pytest.raises(errors.RegistryCommitExists):
        client.commit(reg)
    wrong_salt = type(reg)(**{**reg.__dict__, "salt": b"\x01" * 32})
    with pytest.raises(errors.RegistryUnknownCommit):
        client.reveal(wrong_salt, lock, client.sign_attestation(world.esp, wrong_salt))


def test_commit_expires_and_its_bond_is_burned(world):
    register_esp(world)
    lock = paid_lock(world, world.producer, world.esp)
    reg = registration(world.producer.address, world.esp.address, lock=lock)
    client = world.registry(world.producer)
    client.commit(reg)
    with pytest.raises(errors.RegistryCommitNotExpired):
        world.registry(world.buyer).forfeit_commit(reg.commitment)
    world.chain.mine(world.params.commit_ttl_blocks + 1)
    with pytest.raises(errors.RegistryCommitExpired):
        client.reveal(reg, lock, client.sign_attestation(world.esp, reg))
    burn = client.contract.functions.BURN().call()
    before = world.balance(burn)
    world.registry(world.buyer).forfeit_commit(reg.commitment)  # anyone may burn it
    assert world.balance(burn) == before + world.params.registration_bond
    assert world.balance(client.address) == 0
    with pytest.raises(errors.RegistryUnknownCommit):
        world.registry(world.buyer).forfeit_commit(reg.commitment)


def _raw_reveal(world, sender, reg, lock, attestation):
    """The reveal as any wallet could send it (the Python client's own checks bypassed)."""
    fn = world.deployment.registry.functions.reveal(
        reg.as_tuple(), lock.as_tuple(), reg.detail, attestation
    )
    return world.tx(sender).send(fn)


def test_reveal_needs_valid_fields(world):
    register_esp(world)
    lock = paid_lock(world, world.producer, world.esp)
    reg = registration(world.producer.address, world.esp.address, lock=lock)
    client = world.registry(world.producer)
    client.commit(reg)
    sig = client.sign_attestation(world.esp, reg)
    zero = type(reg)(**{**reg.__dict__, "content_hash": b"\x00" * 32})
    with pytest.raises(errors.RegistryInvalidRegistration):
        client.reveal(zero, lock, sig)
    short = type(reg)(**{**reg.__dict__, "detail": reg.detail[:-1]})
    with pytest.raises(errors.RegistryInvalidDetail):
        client.reveal(short, lock, sig)


def test_reveal_needs_a_paid_generation_lock(world):
    register_esp(world)
    client = world.registry(world.producer)
    unpaid, _ = lock_fee(world, sender=world.producer, receiver=world.esp.address)
    reg = registration(world.producer.address, world.esp.address, lock=unpaid)
    client.commit(reg)
    with pytest.raises(errors.RegistryLockNotPaid):
        client.reveal(reg, unpaid, client.sign_attestation(world.esp, reg))


def test_only_the_locks_sender_can_register_what_it_paid_for(world):
    """Somebody else's paid lock cannot carry my registration: the owner IS the lock's sender,
    so the commitment I made for myself does not open with the other lock."""
    register_esp(world)
    client = world.registry(world.attacker)
    others = paid_lock(world, world.producer, world.esp)  # the producer's paid generation
    reg = registration(world.attacker.address, world.esp.address, lock=others)
    client.commit(reg)
    sig = client.sign_attestation(world.esp, reg)  # even with the ESP's help
    with pytest.raises(LedgerError):  # the client refuses to send it...
        client.reveal(reg, others, sig)
    with pytest.raises(errors.RegistryUnknownCommit):  # ...and the contract refuses it
        _raw_reveal(world, world.attacker, reg, others, sig)


def test_a_registration_after_its_locks_window_has_its_commit_block_as_priority(world):
    """A commitment after ``registrationWindow`` blocks of its lock still registers (the ESP
    chooses when it delivers), but its priority is its own commit block, not the lock's: an old
    lock gives no old priority. Before issue 11 v2 it reverted RegistryRegistrationTooLate."""
    register_esp(world)
    lock = paid_lock(world, world.producer, world.esp)
    locked_at = world.htlc(world.deployer).lock_info(lock.id)[1]
    world.chain.mine(world.params.registration_window_blocks + 1)
    reg = registration(world.producer.address, world.esp.address, lock=lock)
    client = world.registry(world.producer)
    client.commit(reg)
    token = client.reveal(reg, lock, client.sign_attestation(world.esp, reg))
    record = client.registered(token)
    assert record.priority_block == record.proof.commit_block > locked_at


def test_an_attestation_made_while_the_esp_served_registers_after_it_leaves(world):
    """Finding: an ESP that deregistered after claiming made its customer's reveal fail."""
    register_esp(world)
    lock = paid_lock(world, world.producer, world.esp)
    world.esps(world.esp).deregister()
    token = register_image(world, world.producer, lock=lock)
    assert world.registry(world.producer).record(token).status is TokenStatus.ACTIVE


def test_a_lock_made_before_the_esp_registered_does_not_count(world):
    lock, preimage = lock_fee(world, sender=world.producer, receiver=world.esp.address)
    register_esp(world)
    world.htlc(world.esp).withdraw(lock, preimage)
    with pytest.raises(errors.RegistryEspNotRegistered):
        register_image(world, world.producer, lock=lock)


def test_uncontested_challenge_revokes_after_the_window(world):
    register_esp(world)
    original = register_image(world, world.producer)
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    client = world.registry(world.producer)
    assert client.fingerprint_distance(BASE_FP, NEAR_FP) == 1
    before = world.balance(world.producer.address)
    client.challenge(original, copy)
    spent = client.last_receipt["gasUsed"] * client.last_receipt["effectiveGasPrice"]
    assert client.dispute(original, copy).state is DisputeState.OPEN
    with pytest.raises(errors.RegistryDisputeWindow):
        client.finalize(original, copy)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert world.registry(world.buyer).finalize(original, copy) is True  # anyone may finalize
    deposit, bond = world.params.challenge_deposit, world.params.registration_bond
    assert world.balance(world.producer.address) == before - spent - deposit  # held, not yet back
    assert client.record(copy).status is TokenStatus.REVOKED
    # the copy's ESP is reported when the revocation settles (it may still be reversed)
    copier = copier_esp(world).address  # the copy's ESP
    assert world.esps(world.producer).challenges_lost(copier) == 0
    # A's bond + B's held bond + the winner's held deposit
    assert world.balance(client.address) == 2 * bond + deposit


def test_settling_pays_only_the_challengers_costs_burns_the_rest_and_reports_the_esp(world):
    register_esp(world)
    original = register_image(world, world.producer)
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    assert challenge_and_finalize(world, world.producer, original, copy)
    client = world.registry(world.buyer)
    with pytest.raises(errors.RegistryRewardHeld):
        client.settle(original, copy)
    world.chain.mine(world.params.reward_hold_blocks)
    burn = client.contract.functions.BURN().call()
    producer_before, burn_before = world.balance(world.producer.address), world.balance(burn)
    client.settle(original, copy)
    copier = copier_esp(world).address  # the copy's ESP
    reward = world.params.challenge_reward
    deposit = world.params.challenge_deposit
    assert world.balance(world.producer.address) == producer_before + deposit + reward
    assert world.balance(burn) == burn_before + world.params.registration_bond - reward
    assert client.dispute(original, copy).state is DisputeState.SETTLED
    assert world.esps(world.producer).challenges_lost(copier) == 1
    assert world.balance(client.address) == world.params.registration_bond  # A's, still at stake


def test_contested_challenge_is_decided_by_the_detail_rule(world):
    register_esp(world)
    original = register_image(world, world.producer)
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    client = world.registry(world.producer)
    client.challenge(original, copy)
    world.registry(world.attacker).contest(original, copy)
    assert client.dispute(original, copy).state is DisputeState.CONTESTED
    before = world.balance(world.producer.address)
    assert world.registry(world.buyer).resolve(original, copy) is True
    assert client.record(copy).status is TokenStatus.REVOKED
    world.chain.mine(world.params.reward_hold_blocks)
    world.registry(world.buyer).settle(original, copy)
    # the challenger gets its deposit, the false contest's deposit and its costs
    deposit, reward = world.params.challenge_deposit, world.params.challenge_reward
    assert world.balance(world.producer.address) == before + 2 * deposit + reward


def test_a_false_compact_match_is_rejected_when_contested(world):
    """Admissible by the compact rule, but a different image: the accused wins both deposits."""
    register_esp(world)
    original = register_image(world, world.producer)
    other = register_image(world, world.buyer, fingerprint=NEAR_FP, detail=details()["far"])
    client = world.registry(world.producer)
    client.challenge(original, other)
    world.registry(world.buyer).contest(original, other)
    before = world.balance(world.buyer.address)
    assert world.registry(world.producer).resolve(original, other) is False
    spent = client.last_receipt["gasUsed"] * client.last_receipt["effectiveGasPrice"]
    assert spent > 0
    assert world.balance(world.buyer.address) == before + 2 * world.params.challenge_deposit
    assert client.record(other).status is TokenStatus.ACTIVE
    assert client.dispute(original, other).state is DisputeState.REJECTED
    with pytest.raises(errors.RegistryDisputeExists):  # one challenge per pair, ever
        client.challenge(original, other)


def test_contest_rules(world):
    register_esp(world)
    original = register_image(world, world.producer)
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP)
    world.registry(world.producer).challenge(original, copy)
    with pytest.raises(errors.RegistryNotOwner):
        world.registry(world.buyer).contest(original, copy)
    with pytest.raises(errors.RegistryWrongValue):
        world.registry(world.attacker).contest(original, copy, deposit=1)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    with pytest.raises(errors.RegistryDisputeWindow):
        world.registry(world.attacker).contest(original, copy)
    with pytest.raises(errors.RegistryDisputeState):
        world.registry(world.attacker).resolve(original, copy)  # never contested


def test_inadmissible_challenge_is_refused(world):
    register_esp(world)
    original = register_image(world, world.producer)
    other = register_image(world, world.buyer, fingerprint=FAR_FP)
    with pytest.raises(errors.RegistryNotAdmissible):
        world.registry(world.producer).challenge(original, other)
    assert world.balance(world.deployment.registry.address) == 2 * world.params.registration_bond


def test_challenge_input_errors(world):
    register_esp(world)
    original = register_image(world, world.producer)
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP)
    client = world.registry(world.producer)
    a, b = client.registered(original).proof, client.registered(copy).proof
    with pytest.raises(errors.RegistrySelfChallenge):
        client.challenge(original, original, proofs=(a, a))
    with pytest.raises(errors.RegistryUnknownToken):
        client.challenge(original, 12345, proofs=(a, b))
    with pytest.raises(errors.RegistryWrongValue):
        client.challenge(original, copy, deposit=0)
    forged = type(b)(**{**b.__dict__, "fingerprint": BASE_FP})  # claim the copy is exact
    with pytest.raises(errors.RegistryBadProof):
        client.challenge(original, copy, proofs=(a, forged))
    with pytest.raises(errors.RegistryChallengeOutOfOrder):
        world.registry(world.attacker).challenge(copy, original)
    with pytest.raises(errors.RegistryNotOwner):
        world.registry(world.buyer).challenge(original, copy)


def test_on_chain_rule_views(world):
    client = world.registry(world.producer)
    assert client.fingerprint_distance(BASE_FP, BASE_FP) == 0
    assert client.fingerprints_match(BASE_FP, NEAR_FP)
    assert not client.fingerprints_match(BASE_FP, FAR_FP)
    view = client.contract.functions.isDegenerateFingerprint
    assert view(b"\x00" * 8 + BASE_FP[8:]).call() and view(b"\xff" * 8 + BASE_FP[8:]).call()
    assert not view(BASE_FP).call()
    d = details()
    assert client.details_match(d["base"], d["near"]) and client.details_match(d["base"], d["base"])
    assert not client.details_match(d["base"], d["far"])
    assert not client.details_match(d["base"], d["far"][:-1])  # malformed: never a match


def test_the_earlier_payer_reclaims_exact_bytes_a_later_payer_registered_first(world):
    """Issue 11, ESP front-running with an exact copy: the ESP's Sybil pays after the producer,
    registers the very bytes first, and the producer's reveal is refused as a duplicate. The
    producer reclaims the token with its earlier lock; the Sybil's bond is burned and the ESP,
    which attested one image to two payers, is slashed to the Sybil it dispossesses (the chain
    cannot tell the ESP's Sybil from its customer: see the prepaid-Sybil tests)."""
    register_esp(world)
    producer_lock = paid_lock(world, world.producer, world.esp)
    content = b"the image the producer paid for"
    # later lock to the same ESP, earlier reveal
    sybil = register_image(world, world.attacker, content=content, esp=world.esp)
    reg = registration(
        world.producer.address, world.esp.address, lock=producer_lock, content=content
    )
    client = world.registry(world.producer)
    client.commit(reg)
    sig = client.sign_attestation(world.esp, reg)
    with pytest.raises(errors.RegistryDuplicateContent):
        client.reveal(reg, producer_lock, sig)
    burn = client.contract.functions.BURN().call()
    burned_before = world.balance(burn)
    stake_before = world.esps(world.producer).esp_info(world.esp.address).stake
    assert client.reclaim(reg, producer_lock, sig) == sybil
    assert client.owner_of(sybil) == world.producer.address
    assert client.royalty_info(sybil, 10_000)[0] == world.producer.address  # the producer now
    assert world.balance(burn) == burned_before + world.params.registration_bond
    assert world.esps(world.producer).esp_info(world.esp.address).stake < stake_before
    _, producer_block = world.htlc(world.producer).lock_info(producer_lock.id)
    assert client.registered(sybil).proof.priority_block == producer_block  # the current record
    assert world.balance(client.address) == world.params.registration_bond  # one token, one bond


def test_a_later_payer_cannot_reclaim(world):
    register_esp(world)
    content = b"first paid, first registered"
    token = register_image(world, world.producer, content=content)
    late_lock = paid_lock(world, world.attacker, world.esp)
    reg = registration(world.attacker.address, world.esp.address, lock=late_lock, content=content)
    client = world.registry(world.attacker)
    client.commit(reg)
    with pytest.raises(errors.RegistryChallengeOutOfOrder):
        client.reclaim(reg, late_lock, client.sign_attestation(world.esp, reg))
    assert client.owner_of(token) == world.producer.address


@pytest.mark.parametrize("review", [False, True], ids=["windows", "review"])
def test_a_reward_hold_shorter_than_two_windows_two_blocks_and_a_review_is_refused(
    monkeypatch, review
):
    """The hold must outlast a challenge of the winner opened within a window of its win (it is
    finalized from win + 2 x window + 1), or contested in its window's last block with a
    committee review (red team 7: resolved the block after the review's reveal deadline, its
    phases + 3 blocks later): ``deploy`` refuses a shorter one before sending anything, and the
    Registry's constructor refuses it on chain (reading the committee's phases)."""
    p = TEST_PARAMS
    least = 2 * p.dispute_window_blocks + 2 + p.review_commit_blocks + p.review_reveal_blocks + 3
    assert p.reward_hold_blocks == least
    chain = EmbeddedChain()
    deployer = chain.dev_accounts()[0]
    short = replace(p, reward_hold_blocks=least - 1 if review else 2 * p.dispute_window_blocks + 1)
    with pytest.raises(DeploymentError, match="reward_hold_blocks"):
        deploy(chain, deployer, short)
    assert chain.w3.eth.get_transaction_count(deployer.address) == 0
    monkeypatch.setattr(importlib.import_module("ledger.deploy"), "_check_params", lambda p: None)
    with pytest.raises(errors.RegistryWrongValue):
        deploy(chain, deployer, short)


def test_a_refused_payment_is_kept_for_its_receiver_to_collect(world):
    """Deposits are paid by push, but a refusal no longer reverts (a contester refusing Ether
    blocked an equivocation's ``resolve`` for good): the payment is kept for the receiver, who
    collects it with ``withdrawOwed`` once it accepts Ether; nobody else can take it."""
    register_esp(world)
    deposit = world.params.challenge_deposit
    sybil = Attacker(world, world.attacker)
    sybil.tx.send(sybil.contract.functions.setRejectEther(True))
    token = attack_kit.register_image(world, world.producer, world.producer.address)
    copy = attack_kit.register_image(
        world, world.attacker, sybil.address, fp=NEAR_FP, detail=details()["near"],
        lock=sybil.paid_lock(world.esp),
    )  # fmt: skip
    customer = world.registry(world.producer)
    customer.challenge(token, copy)
    sybil.execute(world.deployment.registry, "contest", token, copy, value=deposit)
    registry = world.deployment.registry.address
    held = world.balance(registry)
    world.registry(world.deployer).resolve(token, copy)  # Equivocated: both deposits back
    assert customer.dispute(token, copy).state is DisputeState.EQUIVOCATED
    assert world.balance(registry) == held - deposit  # the Sybil's deposit is kept for it
    world.registry(world.buyer).withdraw_owed()  # owed nothing: pays nothing
    sybil.execute(world.deployment.registry, "withdrawOwed")  # still refusing: kept
    assert world.balance(registry) == held - deposit
    sybil.tx.send(sybil.contract.functions.setRejectEther(False))
    before = world.balance(sybil.address)
    sybil.execute(world.deployment.registry, "withdrawOwed")
    assert world.balance(sybil.address) == before + deposit
    assert world.balance(registry) == held - 2 * deposit
    sybil.execute(world.deployment.registry, "withdrawOwed")  # once
    assert world.balance(sybil.address) == before + deposit


def test_the_seller_of_an_escrowed_resold_batch_item_may_contest_its_challenge(world):
    """As for a single token (``test_the_seller_of_an_escrowed_resold_token_may_contest_its_
    challenge``): while the swap escrow holds a batched item, whoever listed it answers for it.
    Before, its batch's owner did (it sold the item long ago): the buyer who listed it could not
    contest (``BatchNotOwner``) and a challenge of it won by default."""
    from tests.contracts.test_attacks_batch import _challenge, _contest, _original_and_copy

    original, pa, item, pb = _original_and_copy(world, copy_detail=details()["near"])
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    batches = BatchRegistryClient(world.deployment, world.tx(world.attacker))
    batches.transfer(world.buyer.address, item)  # sold once
    seller = BatchRegistryClient(world.deployment, world.tx(world.buyer))
    htlc = world.deployment.htlc.address
    seller._send(seller.contract.functions.approve(htlc, item))
    world.htlc(world.buyer).lock_erc721(
        world.deployment.batch_registry.address,
        world.accounts[7].address,
        token_id=item,
        hashlock=new_secret()[1],
        timelock=world.chain.timestamp() + 24 * 3600,  # listed for a day (the longest)
    )
    _challenge(world, original, pa, item, pb)
    with pytest.raises(errors.BatchNotOwner):
        _contest(world, original, item, pb)  # the batch's owner sold it: it answers for nothing

    _contest(world, original, item, pb, who=world.buyer)

    assert seller.dispute(original, item).contester == world.buyer.address


def test_a_contester_refusing_ether_cannot_block_a_batch_decision(world):
    """The BatchRegistry pays as the Registry does now: a payment its receiver refuses is kept
    for it (``withdrawOwed``) instead of reverting the decision. Before, a contester contract
    refusing Ether made ``resolve`` revert ``BatchTransferFailed`` every time (its Void branch
    refunds both sides, so it also locked the challenger's deposit)."""
    from tests.contracts.test_attacks_batch import _challenge, _original_and_copy

    original, pa, item, pb = _original_and_copy(world, copy_detail=details()["far"])
    deposit = world.params.challenge_deposit
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    sybil = Attacker(world, world.attacker)
    BatchRegistryClient(world.deployment, world.tx(world.attacker)).transfer(sybil.address, item)
    sybil.tx.send(sybil.contract.functions.setRejectEther(True))
    _challenge(world, original, pa, item, pb)
    ia, ib = original & 0xFFFFFFFF, item & 0xFFFFFFFF
    batch_registry = world.deployment.batch_registry
    opening = pb.opening(ib).as_tuple()
    sybil.execute(
        batch_registry, "contest", original, item, details()["far"], opening, value=deposit
    )
    held = world.balance(batch_registry.address)
    producer = BatchRegistryClient(world.deployment, world.tx(world.producer))

    upheld = producer.resolve(
        original,
        item,
        detail_a=details()["base"],
        opening_a=pa.opening(ia),
        detail_b=details()["far"],
        opening_b=pb.opening(ib),
    )

    assert upheld is False  # a compact false match: rejected, both deposits to the contester
    assert producer.dispute(original, item).state is DisputeState.REJECTED
    assert world.balance(batch_registry.address) == held  # kept for the refusing contester
    sybil.tx.send(sybil.contract.functions.setRejectEther(False))
    before = world.balance(sybil.address)
    sybil.execute(batch_registry, "withdrawOwed")
    assert world.balance(sybil.address) == before + 2 * deposit
    assert world.balance(batch_registry.address) == held - 2 * deposit
