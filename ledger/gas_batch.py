"""Gas of batch settlement and batch registration (issue 16).

Settlement, per lock, at N = 1, 10, 100: a fresh deployment, one registered ESP, one producer
locking N acknowledged Ether fees; then the ESP claims all N in one ``withdrawBatch`` and the
producer rates all N in one ``submitFeedbackBatch`` (which also frees the ESP's stake from them).
Every secret and timelock is fixed and free of zero bytes, so calldata, and so gas, is exact and
repeatable.

Registration, per image, at N = 1, 10, 100, 1,000 (:func:`measure_batch_registration`): commit +
reveal of one producer's batch, each transaction charged as a Prague chain would, its calldata
priced under EIP-7623's floor (``max(gasUsed, 21,000 + 10 x tokens)``, a token per zero byte and
four per non-zero byte; py-evm runs Cancun, which has no floor); and an uncontested challenge
(challenge + finalize) of an item of a later 1,000-image batch by an item of an earlier one.
Every value is derived from fixed seeds and ground free of zero bytes, so figures are exact.
Last, the BatchCourt's path (:func:`_measure_court`): an item of the earlier batch challenges a
later single near copy, uncontested (challenge + finalize), and the settle after the reward hold;
and its mis-attestation claim (:func:`_measure_misattestation`): a claim against a single token's
record (with the committee's review request) and its finalize after a unanimous "mis-attested"
review (the revocation, the ESP's slash, the payments).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.chain import Chain
from ledger.clients import EspRegistryClient, HtlcClient, LockTerms, RegistryClient
from ledger.clients.batch import submit_feedback_batch, withdraw_batch
from ledger.clients.batch_court import BatchCourtClient, MisattestedItem
from ledger.clients.batch_registry import BatchRegistryClient, ItemOpening, attestation_message
from ledger.clients.committee import CommitteeClient
from ledger.deploy import Deployment, DeployParams, deploy
from ledger.gas import SNAPSHOT_PARAMS, _deadline, _detail, _secret, _signed_registration
from ledger.merkle import (
    batch_commitment,
    fingerprint_leaf,
    fingerprints_hash,
    item_leaf,
    merkle_proof,
    merkle_root,
    ordered_proof,
    ordered_root,
    token_id,
)
from ledger.tx import Transactor

SIZES = (1, 10, 100)
REGISTRATION_SIZES = (1, 10, 100, 1000)
# Issue 16: "a batched fee claim <= 15,000 per lock at N = 100"; registration per image (commit
# + reveal, calldata under EIP-7623's floor) <= 5,000 at N = 100 and <= 2,000 at N = 1,000; a
# challenge against a batched item (challenge + finalize) <= 160,000.
GOALS = {
    "htlc_withdraw_batch_per_lock@100": 15_000,
    "batch_register_per_image@100": 5_000,
    "batch_register_per_image@1000": 2_000,
    "batch_challenge_uncontested": 160_000,
}


def measure_batches(
    chain: Chain,
    accounts: list[LocalAccount],
    params: DeployParams | None = None,
    sizes: tuple[int, ...] = SIZES,
) -> dict[str, int]:
    """``{"htlc_withdraw_batch_per_lock@N": gas // N, "feedback_submit_batch_per_lock@N": ...}``
    (the 21,000 base of the one transaction included, shared by the N locks), deployed with
    ``params`` (``ledger.gas.SNAPSHOT_PARAMS`` unless given: the court rows depend on them)."""
    deployer, producer, esp = accounts[:3]
    params = params or SNAPSHOT_PARAMS
    dep: Deployment = deploy(chain, deployer, params)
    # The claims are measured at a second deployment whose registration window (and so the
    # HTLC's claim window) holds the largest batch: the chain mines a block per transaction, so
    # N locks and their acknowledgements span 2N blocks, which the tests' 40-block window (a
    # 36-block claim window) does not; a batch of 100 fees locked within 6,480 blocks is the
    # production case. The window is an immutable: the gas does not depend on it.
    claims = deploy(
        chain, deployer, replace(params, registration_window_blocks=4 * max(sizes) + 40)
    )
    for d in (dep, claims):
        esps = EspRegistryClient(d, Transactor(chain, esp))
        esps.register("http://esp.example", price=10**15, stake=d.manifest.params["esp_min_stake"])
    htlc = HtlcClient(claims, Transactor(chain, producer))
    fb = EspRegistryClient(claims, Transactor(chain, producer))
    esp_htlc = HtlcClient(claims, Transactor(chain, esp))
    gas: dict[str, int] = {}
    n_secret = 1000
    for n in sizes:
        locks: list[LockTerms] = []
        preimages: list[bytes] = []
        timelock = _deadline(chain, 3600)
        for _ in range(n):
            n_secret += 1
            preimage, hashlock = _secret(n_secret)
            while 0 in preimage:
                n_secret += 1
                preimage, hashlock = _secret(n_secret)
            lock = htlc.lock_ether(esp.address, amount=10**15, hashlock=hashlock, timelock=timelock)
            fb.acknowledge(lock, fb.sign_quote(esp, lock))
            locks.append(lock)
            preimages.append(preimage)
        receipt = withdraw_batch(esp_htlc, locks, preimages)
        gas[f"htlc_withdraw_batch_per_lock@{n}"] = int(receipt["gasUsed"]) // n
        receipt = submit_feedback_batch(fb, locks, [True] * n)
        gas[f"feedback_submit_batch_per_lock@{n}"] = int(receipt["gasUsed"]) // n
    gas.update(measure_batch_registration(chain, dep, accounts))
    return gas


def charged(chain: Chain, receipt: Any) -> int:
    """The gas a Prague chain charges for the transaction of ``receipt``: its gas used, or the
    EIP-7623 calldata floor (21,000 + 10 per token; a zero byte 1 token, others 4) if higher."""
    data = bytes(chain.w3.eth.get_transaction(receipt["transactionHash"])["input"])
    zeros = data.count(0)
    floor = 21_000 + 10 * (zeros + 4 * (len(data) - zeros))
    return max(int(receipt["gasUsed"]), floor)


def _no_zero(*values: bytes) -> bool:
    return all(0 not in v for v in values)


def _fingerprints(tag: bytes, n: int) -> list[bytes]:
    """``n`` sorted fingerprints, no zero byte, bit 4 of every byte set (flipping bit 0 to make a
    near-duplicate never makes a zero byte), distinct and far apart."""
    fps = {bytes(b | 0x10 for b in hashlib.sha256(tag + b"-%d" % i).digest()) for i in range(n)}
    return sorted(fps)


def _near(fp: bytes) -> bytes:
    """``fp`` with the lowest bit of each 64-bit word flipped (compact distance 1)."""
    out = bytearray(fp)
    for i in (7, 15, 23, 31):
        out[i] ^= 1
    return bytes(out)


def _register(
    chain: Chain,
    dep: Deployment,
    owner: LocalAccount,
    esp: LocalAccount,
    fps: list[bytes],
    secret: int,
) -> tuple[int, int, list[bytes]]:
    """Pays a generation, commits and reveals a batch of ``fps`` (sorted); returns the charged
    gas of commit + reveal, the batch id and the fingerprint leaves."""
    htlc = HtlcClient(dep, Transactor(chain, owner))
    preimage, hashlock = _secret(secret)
    lock = htlc.lock_ether(
        esp.address, amount=10**15, hashlock=hashlock, timelock=_deadline(chain, 3600)
    )
    HtlcClient(dep, Transactor(chain, esp)).withdraw(lock, preimage)
    br = BatchRegistryClient(dep, Transactor(chain, owner))
    fp_leaves = [fingerprint_leaf(i, fp) for i, fp in enumerate(fps)]
    fp_root = merkle_root(fp_leaves)
    for k in range(1, 10_000):  # the first roots, model id, salt and signature free of zero bytes
        items_root = ordered_root(
            [
                item_leaf(i, hashlib.sha256(b"c%d-%d-%d" % (secret, k, i)).digest(), fp, i + 1)
                for i, fp in enumerate(fps)
            ]
        )
        model_id = hashlib.sha256(b"model-%d" % k).digest()
        salt = hashlib.sha256(b"salt-%d" % k).digest()
        commitment = batch_commitment(
            items_root=items_root,
            fingerprints_hash=fingerprints_hash(fps),
            count=len(fps),
            owner=owner.address,
            salt=salt,
        )
        message = attestation_message(
            task_id=lock.id,
            producer=owner.address,
            items_root=items_root,
            fp_root=fp_root,
            count=len(fps),
            model_id=model_id,
        )
        signature = br.sign_attestation(esp, message)
        if _no_zero(items_root, model_id, salt, commitment, signature):
            break
    br.commit(commitment, len(fps))
    gas = charged(chain, br.last_receipt)
    batch_id = br.reveal(
        items_root=items_root,
        salt=salt,
        model_id=model_id,
        metadata_uri="",
        fingerprints=fps,
        lock=lock,
        signature=signature,
    )
    return gas + charged(chain, br.last_receipt), batch_id, fp_leaves


def measure_batch_registration(
    chain: Chain, dep: Deployment, accounts: list[LocalAccount]
) -> dict[str, int]:
    """``{"batch_register_per_image@N": (commit + reveal) // N, "batch_challenge": ...,
    "batch_finalize": ..., "batch_challenge_uncontested": challenge + finalize, "batch_settle":
    the payment and the ESP slash after the reward hold}`` on ``dep`` (whose ESP ``accounts[2]``
    is registered). The producer registers one batch first, so each row is a later batch of a
    producer (no first-write of its balance or of the batch counter)."""
    producer, esp, copier_esp, plagiarist = accounts[1], accounts[2], accounts[3], accounts[4]
    gas: dict[str, int] = {}
    _register(chain, dep, producer, esp, _fingerprints(b"warm", 1), 2000)
    original_fps: list[bytes] = []
    original_leaves: list[bytes] = []
    original_batch = 0
    for n in REGISTRATION_SIZES:
        fps = _fingerprints(b"batch-%d" % n, n)
        used, original_batch, original_leaves = _register(chain, dep, producer, esp, fps, 2000 + n)
        original_fps = fps
        gas[f"batch_register_per_image@{n}"] = used // n
    # A plagiarist's later batch of 1,000 (through another ESP) holds a near copy of item 500.
    EspRegistryClient(dep, Transactor(chain, copier_esp)).register(
        "http://copier.example", price=10**15, stake=dep.manifest.params["esp_min_stake"]
    )
    ia = 500
    copy_fps = sorted([*_fingerprints(b"copy", 999), _near(original_fps[ia])])
    _, copy_batch, copy_leaves = _register(chain, dep, plagiarist, copier_esp, copy_fps, 3000)
    ib = copy_fps.index(_near(original_fps[ia]))
    br = BatchRegistryClient(dep, Transactor(chain, producer))
    original, copy = token_id(original_batch, ia), token_id(copy_batch, ib)
    br.challenge(
        original,
        original_fps[ia],
        merkle_proof(original_leaves, ia),
        copy,
        copy_fps[ib],
        merkle_proof(copy_leaves, ib),
    )
    gas["batch_challenge"] = charged(chain, br.last_receipt)
    chain.mine(int(dep.manifest.params["dispute_window_blocks"]) + 1)
    br.finalize(original, copy)
    gas["batch_finalize"] = charged(chain, br.last_receipt)
    gas["batch_challenge_uncontested"] = gas["batch_challenge"] + gas["batch_finalize"]
    # The separate step after the reward hold (as the Registry's `settle`): pays the challenger
    # and slashes the copy's ESP; the ESP here is staked at the minimum, so the slash also
    # deactivates it.
    chain.mine(int(dep.manifest.params["reward_hold_blocks"]))
    br.settle(original, copy)
    gas["batch_settle"] = charged(chain, br.last_receipt)
    gas.update(_measure_court(chain, dep, accounts, original_batch, original_fps, original_leaves))
    gas.update(_measure_misattestation(chain, dep, accounts))
    return gas


def _fund_burn(chain: Chain, dep: Deployment, sender: LocalAccount) -> None:
    """Gives ``0xdEaD`` one wei unless it holds some (as on any live chain), so that the burn in
    a measured revocation never pays the 25,000 for a new account and the row is the same on a
    fresh test chain as after the single-image rows."""
    burn = dep.registry.functions.BURN().call()
    if int(chain.w3.eth.get_balance(burn)) > 0:
        return
    w3 = chain.w3
    tx = {
        "to": burn,
        "value": 1,
        "gas": 30_000,
        "gasPrice": int(w3.eth.gas_price) * 2,
        "nonce": int(w3.eth.get_transaction_count(sender.address, "pending")),
        "chainId": chain.chain_id,
    }
    raw = sender.sign_transaction(tx).raw_transaction
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw))


def _measure_court(
    chain: Chain,
    dep: Deployment,
    accounts: list[LocalAccount],
    batch_id: int,
    fps: list[bytes],
    leaves: list[bytes],
) -> dict[str, int]:
    """``{"court_challenge": ..., "court_finalize": ..., "court_challenge_uncontested": ...,
    "court_settle": ...}``: item 300 of the producer's 1,000-image batch challenges, through the
    BatchCourt, a later single near copy (a third ESP's), uncontested; finalize revokes it at the
    Registry (``revokeCopied``: the bond and the ESP's slash, which deactivates it, come to the
    court and are held); after the reward hold, settle pays the challenger and burns the rest."""
    producer, plagiarist, third_esp = accounts[1], accounts[4], accounts[5]
    EspRegistryClient(dep, Transactor(chain, third_esp)).register(
        "http://third.example", price=10**15, stake=dep.manifest.params["esp_min_stake"]
    )
    preimage, hashlock = _secret(4000)
    lock = HtlcClient(dep, Transactor(chain, plagiarist)).lock_ether(
        third_esp.address, amount=10**15, hashlock=hashlock, timelock=_deadline(chain, 3600)
    )
    HtlcClient(dep, Transactor(chain, third_esp)).withdraw(lock, preimage)
    thief = RegistryClient(dep, Transactor(chain, plagiarist))
    ia = 300
    reg, signature = _signed_registration(
        thief,
        plagiarist,
        third_esp,
        _near(fps[ia]),
        b"court-copy",
        lock=lock,
        detail=_detail(thief),
    )
    thief.commit(reg)
    revealed_after = int(chain.w3.eth.block_number)
    copy = thief.reveal(reg, lock, signature)
    _fund_burn(chain, dep, plagiarist)
    court = BatchCourtClient(dep, Transactor(chain, producer))
    original = token_id(batch_id, ia)
    # From the reveal's block: a scan from the deployment would read a week of mined blocks.
    record = thief.registered(copy, from_block=revealed_after).proof
    court.challenge(original, fps[ia], merkle_proof(leaves, ia), copy, record)
    gas = {"court_challenge": charged(chain, court.last_receipt)}
    chain.mine(int(dep.manifest.params["dispute_window_blocks"]) + 1)
    court.finalize(original, copy, record)
    gas["court_finalize"] = charged(chain, court.last_receipt)
    gas["court_challenge_uncontested"] = gas["court_challenge"] + gas["court_finalize"]
    chain.mine(int(dep.manifest.params["reward_hold_blocks"]))
    court.settle(original, copy)
    gas["court_settle"] = charged(chain, court.last_receipt)
    return gas


def _uphold(
    chain: Chain,
    dep: Deployment,
    committee: CommitteeClient,
    key: bytes,
    jurors: Sequence[LocalAccount],
    tag: bytes,
) -> None:
    """Draws review ``key``, has every juror commit and reveal "yes" and mines past its reveal
    deadline: the claim's finalize is then Upheld."""
    chain.mine(1)
    committee.draw(key)
    salt = hashlib.sha256(tag).digest()
    for juror in jurors:
        CommitteeClient(dep, Transactor(chain, juror)).commit(key, True, salt)
    review = committee.review(key)
    chain.mine(max(0, review.commit_deadline - int(chain.w3.eth.block_number)))
    for juror in jurors:
        CommitteeClient(dep, Transactor(chain, juror)).reveal(key, True, salt)
    chain.mine(max(0, review.reveal_deadline - int(chain.w3.eth.block_number)))


def _measure_misattestation(
    chain: Chain, dep: Deployment, accounts: list[LocalAccount]
) -> dict[str, int]:
    """``{"court_claim_misattested": ..., "court_finalize_misattested": ...}`` (then the batch
    item's rows, :func:`_measure_misattested_item`): the plagiarist
    registers a single token through a fourth ESP (staked at the minimum); the producer claims
    its record mis-attested (deposit + review fee: the committee's ``requestRecordReview``, a
    pool of five enrolled juror ESPs scanned); the five vote "yes"; after the reveal deadline
    the finalize revokes the token (``revokeCopied``: the ESP's slash, burned, deactivates it)
    and pays the claimant its deposit and the reward, burning the rest of the bond."""
    producer, plagiarist, fourth_esp = accounts[1], accounts[4], accounts[6]
    jurors = [accounts[0], accounts[2], accounts[7], accounts[8], accounts[9]]
    stake = dep.manifest.params["esp_min_stake"]
    for esp in [fourth_esp, *jurors]:
        esps = EspRegistryClient(dep, Transactor(chain, esp))
        if not esps.is_active(esp.address):
            esps.register(f"http://{esp.address[:10]}.example", price=10**15, stake=stake)
    for juror in jurors:
        CommitteeClient(dep, Transactor(chain, juror)).enroll()
    preimage, hashlock = _secret(5000)
    lock = HtlcClient(dep, Transactor(chain, plagiarist)).lock_ether(
        fourth_esp.address, amount=10**15, hashlock=hashlock, timelock=_deadline(chain, 3600)
    )
    HtlcClient(dep, Transactor(chain, fourth_esp)).withdraw(lock, preimage)
    thief = RegistryClient(dep, Transactor(chain, plagiarist))
    fp = _near(_fingerprints(b"misattested", 1)[0])
    reg, signature = _signed_registration(
        thief, plagiarist, fourth_esp, fp, b"misattested-copy", lock=lock, detail=_detail(thief)
    )
    thief.commit(reg)
    revealed_after = int(chain.w3.eth.block_number)
    token = thief.reveal(reg, lock, signature)
    record = thief.registered(token, from_block=revealed_after).proof
    court = BatchCourtClient(dep, Transactor(chain, producer))
    committee = CommitteeClient(dep, Transactor(chain, producer))
    params = committee.params()
    key = court.claim_misattested(token, record, review_fee=params.review_fee)
    gas = {"court_claim_misattested": charged(chain, court.last_receipt)}
    _uphold(chain, dep, committee, key, jurors, b"misattested vote")
    court.finalize_misattested(token, record)
    gas["court_finalize_misattested"] = charged(chain, court.last_receipt)
    committee.settle(key)  # frees the five jurors for the batch item's review
    gas.update(_measure_misattested_item(chain, dep, plagiarist, fourth_esp, producer, jurors))
    return gas


def _measure_misattested_item(
    chain: Chain,
    dep: Deployment,
    plagiarist: LocalAccount,
    esp: LocalAccount,
    producer: LocalAccount,
    jurors: list[LocalAccount],
) -> dict[str, int]:
    """``{"court_claim_misattested_item": ..., "court_finalize_misattested_item": ...}``: the
    plagiarist's ten-image batch through the same ESP (its stake topped up to the minimum after
    the single's slash); the producer claims item 3 mis-attested (its fingerprint proof, its
    descriptor and item opening, the court's ``ItemOpened``, the committee's review request);
    the same five jurors vote "yes"; the finalize revokes the item at the BatchRegistry (the
    ESP's slash burned) and pays the claimant its deposit and the reward."""
    esps = EspRegistryClient(dep, Transactor(chain, esp))
    stake = int(dep.manifest.params["esp_min_stake"])
    if not esps.is_active(esp.address):
        esps.add_stake(stake - esps.esp_info(esp.address).stake)
    preimage, hashlock = _secret(5001)
    lock = HtlcClient(dep, Transactor(chain, plagiarist)).lock_ether(
        esp.address, amount=10**15, hashlock=hashlock, timelock=_deadline(chain, 3600)
    )
    HtlcClient(dep, Transactor(chain, esp)).withdraw(lock, preimage)
    br = BatchRegistryClient(dep, Transactor(chain, plagiarist))
    detail = _detail(RegistryClient(dep))
    fps = _fingerprints(b"misattested-items", 10)
    contents = [hashlib.sha256(b"item-%d" % i).digest() for i in range(len(fps))]
    fp_leaves = [fingerprint_leaf(i, fp) for i, fp in enumerate(fps)]
    leaves = [item_leaf(i, c, keccak(detail), i + 1) for i, c in enumerate(contents)]
    items_root, salt = ordered_root(leaves), hashlib.sha256(b"misattested-items salt").digest()
    model_id = hashlib.sha256(b"misattested-items model").digest()
    br.commit(
        batch_commitment(
            items_root=items_root,
            fingerprints_hash=fingerprints_hash(fps),
            count=len(fps),
            owner=plagiarist.address,
            salt=salt,
        ),
        len(fps),
    )
    message = attestation_message(
        task_id=lock.id,
        producer=plagiarist.address,
        items_root=items_root,
        fp_root=merkle_root(fp_leaves),
        count=len(fps),
        model_id=model_id,
    )
    batch_id = br.reveal(
        items_root=items_root,
        salt=salt,
        model_id=model_id,
        metadata_uri="",
        fingerprints=fps,
        lock=lock,
        signature=br.sign_attestation(esp, message),
    )
    i = 3
    item = MisattestedItem(
        token_id(batch_id, i),
        fps[i],
        tuple(merkle_proof(fp_leaves, i)),
        detail,
        ItemOpening(contents[i], i + 1, tuple(ordered_proof(leaves, i))),
        esp.address,
    )
    court = BatchCourtClient(dep, Transactor(chain, producer))
    committee = CommitteeClient(dep, Transactor(chain, producer))
    key = court.claim_misattested_item(item, review_fee=committee.params().review_fee)
    gas = {"court_claim_misattested_item": charged(chain, court.last_receipt)}
    _uphold(chain, dep, committee, key, jurors, b"misattested item vote")
    court.finalize_misattested(item.token_id, item.record)
    gas["court_finalize_misattested_item"] = charged(chain, court.last_receipt)
    return gas
