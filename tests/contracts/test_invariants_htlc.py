"""A Hypothesis state machine over HashTimeLock (Ether, ERC-20 plain and fee-on-transfer, and
ERC-721 locks) with a plain Python model beside it.

Every rule predicts its outcome from the model, then checks the chain agrees: the exact custom
error when it should fail, the exact balances and ownership when it should succeed. After every
step the contract must hold exactly what the model says is locked; at the end of each example
every lock and balance is reconciled, and the chain goes back to its snapshot so examples stay
independent. Harness: :mod:`tests.contracts.invariant_driver`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from web3.contract import Contract
from web3.logs import DISCARD

from ledger import Asset, LockStatus, LockTerms, errors
from ledger.clients.htlc import ZERO_ADDRESS
from tests.conftest import World
from tests.contracts.invariant_driver import SETTINGS, TICK, Driver, secret


@dataclass
class ModelLock:
    terms: LockTerms
    preimage: bytes
    status: LockStatus = LockStatus.OPEN


@dataclass
class HtlcGenesis:
    """What the HTLC machine starts from (read once, restored by every snapshot revert)."""

    tokens: list[tuple[Contract, bool]]  # (ERC-20, takes a 1% fee on transfer)
    nft: Contract
    eth: dict[str, int]
    erc20: dict[tuple[str, str], int]
    nft_owner: dict[int, str]


def htlc_genesis(world: World) -> HtlcGenesis:
    """Deploys a plain and a fee-on-transfer ERC-20 and an ERC-721, funds the actors, approves."""
    htlc = world.deployment.htlc.address
    actors = world.accounts[1:5]
    tokens = [
        (world.contract(name, world.deploy_test_contract(name)), fee)
        for name, fee in (("TestERC20", False), ("FeeOnTransferERC20", True))
    ]
    nft = world.contract("TestERC721", world.deploy_test_contract("TestERC721"))
    nft_owner: dict[int, str] = {}
    for i, actor in enumerate(actors):
        tx = world.tx(actor)
        for token, _ in tokens:
            tx.send(token.functions.mint(actor.address, 10**6))
            tx.send(token.functions.approve(htlc, 2**256 - 1))
        for token_id in (2 * i + 1, 2 * i + 2):
            tx.send(nft.functions.mint(actor.address, token_id))
            nft_owner[token_id] = actor.address
        tx.send(nft.functions.setApprovalForAll(htlc, True))
    return HtlcGenesis(
        tokens=tokens,
        nft=nft,
        eth={a.address: world.balance(a.address) for a in actors},
        erc20={(t.address, a.address): 10**6 for t, _ in tokens for a in actors},
        nft_owner=nft_owner,
    )


ACTOR = st.integers(min_value=0, max_value=3)
# Whole ticks, and two durations below the one-minute minimum.
DURATION = st.sampled_from([TICK, 3 * TICK, 10 * TICK, 20 * TICK, 30 * TICK, 0, 30])


class HtlcMachine(RuleBasedStateMachine):
    """Locks, withdrawals, refunds and time travel against a model of every lock and balance."""

    locks = Bundle("locks")

    def __init__(self, world: World, genesis: HtlcGenesis):
        super().__init__()
        self.world, self.genesis, self.d = world, genesis, Driver(world)
        self.snapshot = world.chain.snapshot()
        self.htlc = world.deployment.htlc
        self.actors = world.accounts[1:5]
        self.min_duration = world.params.min_lock_duration
        self.eth = dict(genesis.eth)
        self.erc20 = dict(genesis.erc20)
        self.nft_owner = dict(genesis.nft_owner)
        self.model: dict[bytes, ModelLock] = {}
        self.count = 0

    # -- helpers

    def _fee(self, token: str) -> bool:
        return next(fee for t, fee in self.genesis.tokens if t.address == token)

    def _move_erc20(self, token: str, src: str, dst: str, amount: int) -> int:
        """Moves ``amount`` in the model; returns what ``dst`` receives (fee tokens burn 1%)."""
        received = amount - amount // 100 if self._fee(token) else amount
        if src != self.htlc.address:
            self.erc20[(token, src)] -= amount
        if dst != self.htlc.address:
            self.erc20[(token, dst)] += received
        return received

    def _open(
        self, sender: LocalAccount, fn: Any, expected: LockTerms, preimage: bytes, *, value: int = 0
    ) -> bytes | Any:
        """Creates a lock the model expects to succeed; returns its id for the bundle."""
        receipt, gas = self.d.ok(sender, fn, value=value)
        self.eth[sender.address] -= value + gas
        (log,) = self.htlc.events.Locked().process_receipt(receipt, errors=DISCARD)
        assert LockTerms.from_event(dict(log["args"])) == expected
        self.model[expected.id] = ModelLock(expected, preimage)
        return expected.id

    def _refused_lock(
        self,
        sender: LocalAccount,
        fn: Any,
        amount: int,
        timelock: int,
        ts: int,
        *,
        value: int = 0,
        nft: bool = False,
        receiver: str | None = None,
    ) -> bool:
        """Asserts the refusal the model predicts for a new lock; False if none is predicted."""
        if receiver == sender.address:  # a lock to oneself is self-dealing, refused first
            self.d.fails(sender, fn, errors.LockSelfDealing, value=value)
            return True
        if amount == 0 and not nft:
            self.d.fails(sender, fn, errors.LockZeroAmount, value=value)
            return True
        if timelock < ts + self.min_duration:
            self.d.fails(sender, fn, errors.LockTimelockTooShort, value=value, timelock=timelock)
            return True
        return False

    def _new_secret(self) -> tuple[bytes, bytes]:
        self.count += 1
        preimage = secret("htlc", self.count)
        return preimage, hashlib.sha256(preimage).digest()

    # -- rules

    @rule(
        target=locks,
        sender=ACTOR,
        receiver=ACTOR,
        duration=DURATION,
        amount=st.sampled_from([10**15, 1, 7 * 10**15, 3, 0]),
    )
    def lock_ether(self, sender: int, receiver: int, amount: int, duration: int) -> Any:
        s, r = self.actors[sender], self.actors[receiver]
        preimage, hashlock = self._new_secret()
        ts = self.d.pending_timestamp()
        fn = self.htlc.functions.lockEther(r.address, hashlock, ts + duration)
        if self._refused_lock(s, fn, amount, ts + duration, ts, value=amount, receiver=r.address):
            return multiple()
        terms = LockTerms(
            s.address, r.address, Asset.ETHER, ZERO_ADDRESS, amount, hashlock, ts + duration
        )
        return self._open(s, fn, terms, preimage, value=amount)

    @rule(
        target=locks,
        token=st.integers(0, 1),
        sender=ACTOR,
        receiver=ACTOR,
        duration=DURATION,
        amount=st.sampled_from([10_000, 250, 100, 99, 1, 0]),
    )
    def lock_erc20(self, token: int, sender: int, receiver: int, amount: int, duration: int) -> Any:
        contract = self.genesis.tokens[token][0]
        s, r = self.actors[sender], self.actors[receiver]
        preimage, hashlock = self._new_secret()
        ts = self.d.pending_timestamp()
        fn = self.htlc.functions.lockERC20(
            contract.address, amount, r.address, hashlock, ts + duration
        )
        if self._refused_lock(s, fn, amount, ts + duration, ts, receiver=r.address):
            return multiple()
        received = self._move_erc20(contract.address, s.address, self.htlc.address, amount)
        terms = LockTerms(
            s.address, r.address, Asset.ERC20, contract.address, received, hashlock, ts + duration
        )
        return self._open(s, fn, terms, preimage)

    @rule(target=locks, sender=ACTOR, receiver=ACTOR, duration=DURATION, data=st.data())
    def lock_erc721(self, sender: int, receiver: int, duration: int, data: st.DataObject) -> Any:
        s, r = self.actors[sender], self.actors[receiver]
        owned = sorted(i for i, owner in self.nft_owner.items() if owner == s.address)
        if not owned:
            return multiple()
        token_id = data.draw(st.sampled_from(owned), label="token_id")
        preimage, hashlock = self._new_secret()
        ts = self.d.pending_timestamp()
        nft = self.genesis.nft.address
        fn = self.htlc.functions.lockERC721(nft, token_id, r.address, hashlock, ts + duration)
        if self._refused_lock(s, fn, token_id, ts + duration, ts, nft=True, receiver=r.address):
            return multiple()
        self.nft_owner[token_id] = self.htlc.address
        terms = LockTerms(
            s.address, r.address, Asset.ERC721, nft, token_id, hashlock, ts + duration
        )
        return self._open(s, fn, terms, preimage)

    @rule(lock_id=locks, caller=ACTOR)
    def relock_same_terms(self, lock_id: bytes, caller: int) -> None:
        """Re-creating an Ether lock with identical terms never makes a second lock."""
        lock = self.model[lock_id].terms
        if lock.asset is not Asset.ETHER:
            return
        sender = next(a for a in self.actors if a.address == lock.sender)
        fn = self.htlc.functions.lockEther(lock.receiver, lock.hashlock, lock.timelock)
        ts = self.d.pending_timestamp()
        if not self._refused_lock(sender, fn, lock.amount, lock.timelock, ts, value=lock.amount):
            self.d.fails(sender, fn, errors.LockAlreadyExists, value=lock.amount, id=lock_id)

    @rule(lock_id=locks, caller=ACTOR, how=st.sampled_from(["withdraw", "refund", "wrong"]))
    def settle_any_lock(self, lock_id: bytes, caller: int, how: str) -> None:
        """Withdraw (right or wrong preimage) or refund any lock ever made, settled or not."""
        if how == "refund":
            self._refund(lock_id, caller)
        else:
            self._withdraw(lock_id, caller, right_preimage=how == "withdraw")

    @rule(
        caller=ACTOR,
        refund=st.booleans(),
        when=st.sampled_from(["now", "last", "expiry"]),
        data=st.data(),
    )
    def settle_an_open_lock(
        self, caller: int, refund: bool, when: str, data: st.DataObject
    ) -> None:
        """Withdraw (right preimage) or refund an open lock now, in the last second before its
        timelock, or exactly at it: the boundaries of "before" and "at or after"."""
        open_ids = [i for i, m in self.model.items() if m.status is LockStatus.OPEN]
        if not open_ids:
            return
        lock_id = data.draw(st.sampled_from(open_ids), label="open lock")
        timelock = self.model[lock_id].terms.timelock
        if when != "now":
            self.d.advance_to(timelock - 1 if when == "last" else timelock)
        if refund:
            self._refund(lock_id, caller)
        else:
            self._withdraw(lock_id, caller, right_preimage=True)

    def _withdraw(self, lock_id: bytes, caller: int, *, right_preimage: bool) -> None:
        entry, who = self.model[lock_id], self.actors[caller]
        lock = entry.terms
        preimage = entry.preimage if right_preimage else secret("wrong", lock_id)
        fn = self.htlc.functions.withdraw(lock.as_tuple(), preimage)
        ts = self.d.pending_timestamp()
        if entry.status is not LockStatus.OPEN:
            self.d.fails(who, fn, errors.LockNotOpen, id=lock_id, status=entry.status)
        elif ts >= lock.timelock:
            self.d.fails(who, fn, errors.LockExpired, id=lock_id, expiredAt=lock.timelock)
        elif lock.asset is not Asset.ERC721 and self.d.next_block() > (
            last := self._last_claim_block(lock_id)
        ):
            self.d.fails(who, fn, errors.LockClaimWindowClosed, id=lock_id, lastBlock=last)
        elif not right_preimage:
            self.d.fails(who, fn, errors.LockPreimageMismatch, id=lock_id, hashlock=lock.hashlock)
        else:
            self._settle(who, fn, entry, LockStatus.WITHDRAWN, lock.receiver)

    def _last_claim_block(self, lock_id: bytes) -> int:
        """The last block an Ether or ERC-20 lock may be withdrawn in (its claim window)."""
        locked_at = int(self.htlc.functions.lockInfo(lock_id).call(self.d.caller)[1])
        return locked_at + int(self.htlc.functions.claimWindow().call(self.d.caller))

    def _refund(self, lock_id: bytes, caller: int) -> None:
        entry, who = self.model[lock_id], self.actors[caller]
        lock = entry.terms
        fn = self.htlc.functions.refund(lock.as_tuple())
        ts = self.d.pending_timestamp()
        if entry.status is not LockStatus.OPEN:
            self.d.fails(who, fn, errors.LockNotOpen, id=lock_id, status=entry.status)
        elif ts < lock.timelock:
            self.d.fails(who, fn, errors.LockNotExpired, id=lock_id, expiresAt=lock.timelock)
        else:
            self._settle(who, fn, entry, LockStatus.REFUNDED, lock.sender)

    def _settle(
        self, who: LocalAccount, fn: Any, entry: ModelLock, to: LockStatus, payee: str
    ) -> None:
        _, gas = self.d.ok(who, fn)
        self.eth[who.address] -= gas
        entry.status = to
        lock = entry.terms
        if lock.asset is Asset.ETHER:
            self.eth[payee] += lock.amount
        elif lock.asset is Asset.ERC20:
            self._move_erc20(lock.token, self.htlc.address, payee, lock.amount)
        else:
            self.nft_owner[lock.amount] = payee
        assert self.htlc.functions.statusOfId(lock.id).call(self.d.caller) == to

    @rule(ticks=st.sampled_from([1, 3, 10, 30]))
    def time_travel(self, ticks: int) -> None:
        self.d.advance_to(self.d.pending_timestamp() + ticks * TICK)

    # -- invariants

    def _open_locks(self, asset: Asset, token: str = ZERO_ADDRESS) -> list[LockTerms]:
        return [
            m.terms
            for m in self.model.values()
            if m.status is LockStatus.OPEN and m.terms.asset is asset and m.terms.token == token
        ]

    @invariant()
    def htlc_holds_exactly_the_open_locks(self) -> None:
        address = self.htlc.address
        assert self.d.balance(address) == sum(t.amount for t in self._open_locks(Asset.ETHER))
        for token, _ in self.genesis.tokens:
            held = token.functions.balanceOf(address).call(self.d.caller)
            assert held == sum(t.amount for t in self._open_locks(Asset.ERC20, token.address))
        for lock in self._open_locks(Asset.ERC721, self.genesis.nft.address):
            assert self.genesis.nft.functions.ownerOf(lock.amount).call(self.d.caller) == address

    def teardown(self) -> None:
        try:
            self._reconcile()
        finally:
            self.world.chain.revert(self.snapshot)

    def _reconcile(self) -> None:
        """Every account's Ether and ERC-20 balance, every lock's status and every NFT owner.

        Balances only ever drift, so checking them once per example (rather than after every
        step, at a dozen calls a step) still catches any wrong payment.
        """
        call = self.d.caller
        for address, expected in self.eth.items():
            assert self.d.balance(address) == expected, address
        for (token, holder), expected in self.erc20.items():
            contract = next(t for t, _ in self.genesis.tokens if t.address == token)
            assert contract.functions.balanceOf(holder).call(call) == expected
        for lock_id, entry in self.model.items():
            assert self.htlc.functions.statusOfId(lock_id).call(call) == entry.status
        for token_id, owner in self.nft_owner.items():
            assert self.genesis.nft.functions.ownerOf(token_id).call(call) == owner


def test_htlc_state_machine(embedded_world: World) -> None:
    genesis = htlc_genesis(embedded_world)
    run_state_machine_as_test(lambda: HtlcMachine(embedded_world, genesis), settings=SETTINGS)
