"""Transactions and model records of the BatchCourt state machine (``test_invariants_court.py``).

Every transaction goes through the invariant :class:`Driver`, which returns the exact wei its
sender paid for gas: the machine debits it from its ledger of balances, so the Ether across the
accounts, the contracts and the burn address is conserved to the wei.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.logs import DISCARD

from ledger import LockTerms, Registration, TokenStatus
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.registry import DisputeState, RecordProof, sign_attestation
from ledger.errors import ContractRevert
from ledger.tx import call
from tests.conftest import World
from tests.contracts.batch_kit import MODEL_ID, BatchPlan, plan, tid
from tests.contracts.helpers import FEE, details
from tests.contracts.invariant_driver import GAS_LIMIT, PRIORITY_FEE, TICK, Driver, secret

WORD = 2**64 - 1
DETAILS = ("base", "near", "far")


def words(fp: bytes) -> list[int]:
    return [int.from_bytes(fp[i : i + 8], "big") for i in range(0, 32, 8)]


def fingerprint(ws: Sequence[int]) -> bytes:
    return b"".join(w.to_bytes(8, "big") for w in ws)


def distance(a: bytes, b: bytes) -> int:
    """The compact (admissibility) rule from its NatSpec: the smallest Hamming distance over the
    16 (word of a, word of b) pairs."""
    return min((x ^ y).bit_count() for x in words(a) for y in words(b))


def degenerate(fp: bytes) -> bool:
    return any(w in (0, WORD) for w in words(fp))


def detail_key(detail: bytes) -> str:
    return next(k for k in DETAILS if details()[k] == detail)


# -- the model's records ---------------------------------------------------------------------------


@dataclass
class Single:
    """A Registry token."""

    fingerprint: bytes
    detail: str  # a key of ``details()``
    owner: str  # the HTLC's address while escrowed
    producer: str  # the registrant: who answers for it while escrowed
    esp: str
    priority: int  # its generation lock's block
    commit_block: int
    reveal_block: int
    status: TokenStatus = TokenStatus.ACTIVE

    def proof(self) -> RecordProof:
        return RecordProof(
            self.fingerprint,
            bytes(keccak(details()[self.detail])),
            self.esp,
            self.priority,
            self.commit_block,
            self.reveal_block,
        )


@dataclass
class Item:
    """A BatchRegistry token."""

    batch: int
    index: int
    fingerprint: bytes
    detail: str
    owner: str
    producer: str  # the batch's owner: who answers for it while escrowed
    esp: str
    priority: int
    commit_block: int
    reveal_block: int
    content_hash: bytes
    revoked: bool = False


@dataclass
class Dispute:
    """A dispute in any of the three contracts (the Registry's are never contested here)."""

    challenger: str
    deadline: int
    state: DisputeState = DisputeState.OPEN
    contester: str = ""
    record_hash: bytes = b""  # the court's: the copy's record at the challenge
    slash: int = 0  # the court's: the copy's ESP slash it holds from the decision to `settle`

    @property
    def held(self) -> int:
        """Deposits its contract holds (every win is held until `settle`: one deposit, two when
        it was contested)."""
        if self.state is DisputeState.UPHELD:
            return 2 if self.contester else 1
        return {DisputeState.OPEN: 1, DisputeState.CONTESTED: 2}.get(self.state, 0)


@dataclass
class Escrow:
    """A token locked in the HTLC for a buyer."""

    terms: LockTerms
    preimage: bytes
    collection: str  # "single" or "item"


@dataclass(frozen=True)
class Paid:
    """A generation lock its ESP claimed, not used by a registration yet."""

    terms: LockTerms
    block: int


# -- transactions ----------------------------------------------------------------------------------


class SetupDriver(Driver):
    """The driver outside an example (a genesis): sends through ``Transactor`` (no Hypothesis
    events to record there)."""

    def ok(self, account: LocalAccount, fn: Any, *, value: int = 0) -> tuple[Any, int]:
        receipt = self.world.tx(account).send(fn, value=value)
        return receipt, int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])


class Ledger:
    """Sends the machine's transactions through ``d`` and keeps every account's balance."""

    def __init__(self, world: World, d: Driver, eth: dict[str, int], *, first: int = 0):
        self.world, self.d, self.eth = world, d, eth
        self.htlc = world.deployment.htlc
        self.registry = world.deployment.registry
        self.batches = BatchRegistryClient(world.deployment)
        self.n = first  # numbers the contents, salts and secrets (a genesis counts elsewhere)
        self.gas = 0  # wei paid for gas by every transaction sent

    def send(self, account: LocalAccount, fn, *, value: int = 0):
        """Sends ``fn`` expecting success; debits its value and gas; returns the receipt."""
        try:
            receipt, gas = self.d.ok(account, fn, value=value)
        except AssertionError as exc:  # name the contract's error (replayed as a call)
            try:
                call(lambda: fn.call({"from": account.address, "value": value}))
            except ContractRevert as revert:
                raise AssertionError(f"{exc}: {revert!r}") from revert
            raise
        self.eth[account.address] -= value + gas
        self.gas += gas
        return receipt

    def send_reverting(self, account: LocalAccount, fn: Any, *, value: int = 0) -> None:
        """Mines ``fn`` expecting it to revert: the value stays with the sender, only its gas
        is spent (the machine's invariants then show nothing else moved)."""
        w3 = self.d.w3
        base = int(w3.eth.get_block("latest").get("baseFeePerGas", 0))
        tx = fn.build_transaction(
            {
                "from": account.address,
                "value": value,
                "gas": GAS_LIMIT,
                "chainId": self.world.chain.chain_id,
                "nonce": w3.eth.get_transaction_count(account.address, "pending"),
                "maxPriorityFeePerGas": PRIORITY_FEE,
                "maxFeePerGas": 2 * base + PRIORITY_FEE,
            }
        )
        tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        receipt = w3.eth.get_transaction_receipt(tx_hash)
        assert receipt["status"] == 0, f"{fn.fn_name} was expected to revert"
        gas = int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])
        self.eth[account.address] -= gas
        self.gas += gas

    def pay(self, sender: LocalAccount, esp: LocalAccount) -> Paid:
        """The sender locks a generation fee to the ESP, which claims it."""
        self.n += 1
        preimage = secret("court fee", self.n)
        timelock = self.d.pending_timestamp() + 40 * TICK
        fn = self.htlc.functions.lockEther(esp.address, hashlib.sha256(preimage).digest(), timelock)
        receipt = self.send(sender, fn, value=FEE)
        (log,) = self.htlc.events.Locked().process_receipt(receipt, errors=DISCARD)
        terms = LockTerms.from_event(dict(log["args"]))
        self.send(esp, self.htlc.functions.withdraw(terms.as_tuple(), preimage))
        self.eth[esp.address] += FEE
        return Paid(terms, int(receipt["blockNumber"]))

    def register_single(
        self,
        owner: LocalAccount,
        esp: LocalAccount,
        lock: Paid,
        fp: bytes,
        detail: str,
        content_hash: bytes | None = None,
    ) -> tuple[int, Single]:
        """Commits (with the bond) and reveals a single image under ``lock`` (its bytes
        ``content_hash``'s: a batch item's again, or new ones)."""
        self.n += 1
        reg = Registration(
            content_hash=content_hash or hashlib.sha256(secret("court content", self.n)).digest(),
            fingerprint=fp,
            detail=details()[detail],
            owner=owner.address,
            esp=esp.address,
            task_id=lock.terms.id,
            model_id=MODEL_ID,
            seed=1,
            salt=secret("court salt", self.n),
        )
        bond = self.world.params.registration_bond
        committed = self.send(owner, self.registry.functions.commit(reg.commitment), value=bond)
        attestation = sign_attestation(
            esp, reg, chain_id=self.world.chain.chain_id, registry=self.registry.address
        )
        revealed = self.send(
            owner,
            self.registry.functions.reveal(
                reg.as_tuple(), lock.terms.as_tuple(), reg.detail, attestation
            ),
        )
        return reg.token_id, Single(
            fp,
            detail,
            owner.address,
            owner.address,
            esp.address,
            lock.block,
            int(committed["blockNumber"]),
            int(revealed["blockNumber"]),
        )

    def register_batch(
        self,
        owner: LocalAccount,
        esp: LocalAccount,
        lock: Paid,
        fps: Sequence[bytes],
        dets: Sequence[str],
        same_bytes: tuple[bytes, bytes] | None = None,
    ) -> tuple[int, BatchPlan, dict[int, Item]]:
        """Commits (with a bond per item) and reveals a batch under ``lock``; with
        ``same_bytes`` (fingerprint, content hash) the item of that fingerprint holds those
        bytes (a single token's image again)."""
        p = plan(owner.address, esp.address, fps, [details()[k] for k in dets])
        if same_bytes is not None:
            fp, content_hash = same_bytes
            p = replace(
                p,
                items=tuple(
                    replace(it, content_hash=content_hash) if it.fingerprint == fp else it
                    for it in p.items
                ),
            )
        commit = self.batches.commit_call(p.commitment(), p.count)
        committed = self.send(owner, commit.fn, value=commit.value)
        reveal = self.batches.reveal_call(
            items_root=p.items_root,
            salt=p.salt,
            model_id=MODEL_ID,
            metadata_uri="",
            fingerprints=p.fingerprints,
            lock=lock.terms,
            signature=self.batches.sign_attestation(esp, p.message(lock.terms)),
        )
        receipt = self.send(owner, reveal.fn)
        contract = self.world.deployment.batch_registry
        (log,) = contract.events.BatchRegistered().process_receipt(receipt, errors=DISCARD)
        batch_id = int(log["args"]["batchId"])
        items = {
            tid(batch_id, i): Item(
                batch_id,
                i,
                it.fingerprint,
                detail_key(it.detail),
                owner.address,
                owner.address,
                esp.address,
                lock.block,
                int(committed["blockNumber"]),
                int(receipt["blockNumber"]),
                it.content_hash,
            )
            for i, it in enumerate(p.items)
        }
        return batch_id, p, items


def revoked_events(world: World, receipt) -> list[tuple[int, int]]:
    """The Registry's ``Revoked`` (token, original) pairs emitted in ``receipt``."""
    registry = world.deployment.registry
    logs = registry.events.Revoked().process_receipt(receipt, errors=DISCARD)
    # The BatchRegistry's `Revoked` has the same signature: only the Registry's logs count.
    return [
        (int(x["args"]["tokenId"]), int(x["args"]["original"]))
        for x in logs
        if x["address"] == registry.address
    ]
