"""Hypothesis state machines over the contracts, each with a plain Python model beside them.

One machine drives HashTimeLock with Ether, ERC-20 (plain and fee-on-transfer) and ERC-721 locks;
the other drives Registry with EspRegistry. Every rule predicts its outcome from the model, then
checks the chain agrees: the exact custom error when it should fail, the exact balances and
ownership when it should succeed. After every step the contracts must hold exactly what the model
says is locked, bonded or staked; at the end of each example every lock, token and balance is
reconciled, and the chain goes back to its snapshot so examples stay independent.

Speed: transactions the model expects to succeed are signed with a fixed gas limit (estimating
costs a dozen EVM runs on py-evm); those it expects to fail go through ``Transactor``, whose
estimate raises the typed error without sending anything.

Time: predictions read the pending block's timestamp, which eth-tester fixes before the
transaction runs, and rules that aim at a boundary travel so the next block runs exactly at it.
Lock durations and free time travel come in whole ``TICK`` s, so while the chain still follows the
wall clock (before an example's first travel) a second or two of drift cannot flip a prediction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, event, settings
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

from ledger import Asset, LockStatus, LockTerms, Registration, TokenStatus, errors
from ledger.clients.htlc import ZERO_ADDRESS
from ledger.clients.registry import sign_attestation
from ledger.errors import ContractRevert
from tests.conftest import World
from tests.contracts.helpers import BASE_FP, FAR_FP, NEAR_FP, registration

SETTINGS = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TICK = 100  # seconds; see the module docstring
GAS_LIMIT = 1_500_000
PRIORITY_FEE = 10**9


def secret(*parts: object) -> bytes:
    """A deterministic 32-byte value (preimages, salts, contents) from ``parts``."""
    return hashlib.sha256(repr(parts).encode()).digest()


class Driver:
    """Sends a state machine's transactions and reads the chain's clock and balances."""

    def __init__(self, world: World):
        self.world = world
        self.w3 = world.chain.w3
        # Reads name a sender: without one web3 asks the node for its accounts on every call.
        self.caller = {"from": world.deployer.address}

    def pending_timestamp(self) -> int:
        """The timestamp the next transaction will see (eth-tester fixes it when it mines)."""
        return int(self.w3.eth.get_block("pending")["timestamp"])

    def advance_to(self, timestamp: int) -> None:
        """Makes the next transaction run at ``timestamp`` (if that is in the future).

        Measured from the pending block, not the latest: after a snapshot revert the wall clock
        may be ahead of the latest block, and eth-tester refuses to travel backwards. Its time
        travel mines a block at the target and leaves the pending block there too.
        """
        if timestamp > self.pending_timestamp():
            self.world.chain.increase_time(timestamp - self.world.chain.timestamp())
            assert self.pending_timestamp() == timestamp

    def next_block(self) -> int:
        return int(self.w3.eth.block_number) + 1

    def balance(self, address: str) -> int:
        return int(self.w3.eth.get_balance(address))

    def ok(self, account: LocalAccount, fn: Any, *, value: int = 0) -> tuple[Any, int]:
        """Sends ``fn`` expecting success; returns (receipt, wei spent on gas)."""
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        tx = fn.build_transaction(
            {
                "from": account.address,
                "value": value,
                "gas": GAS_LIMIT,
                "chainId": self.world.chain.chain_id,
                "nonce": self.w3.eth.get_transaction_count(account.address, "pending"),
                "maxPriorityFeePerGas": PRIORITY_FEE,
                "maxFeePerGas": 2 * base + PRIORITY_FEE,
            }
        )
        tx_hash = self.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        receipt = self.w3.eth.get_transaction_receipt(tx_hash)
        event(f"{fn.fn_name}: ok")
        if receipt["status"] != 1:
            raise AssertionError(f"model expected {fn.fn_name} to succeed; it reverted")
        return receipt, int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])

    def fails(
        self,
        account: LocalAccount,
        fn: Any,
        error: type[ContractRevert],
        *,
        value: int = 0,
        **fields: Any,
    ) -> None:
        """Asserts ``fn`` reverts with ``error`` carrying ``fields`` (nothing is sent)."""
        event(f"{fn.fn_name}: {error.__name__}")
        with pytest.raises(error) as exc:
            self.world.tx(account).send(fn, value=value)
        for name, expected in fields.items():
            got = getattr(exc.value, name)
            if isinstance(expected, str):
                got, expected = got.lower(), expected.lower()
            assert got == expected, f"{error.__name__}.{name}: {got!r} != {expected!r}"


# --- HashTimeLock ----------------------------------------------------------------------------


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
    ) -> bool:
        """Asserts the refusal the model predicts for a new lock; False if none is predicted."""
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
        if self._refused_lock(s, fn, amount, ts + duration, ts, value=amount):
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
        if self._refused_lock(s, fn, amount, ts + duration, ts):
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
        if self._refused_lock(s, fn, token_id, ts + duration, ts, nft=True):
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
        elif not right_preimage:
            self.d.fails(who, fn, errors.LockPreimageMismatch, id=lock_id, hashlock=lock.hashlock)
        else:
            self._settle(who, fn, entry, LockStatus.WITHDRAWN, lock.receiver)

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


# --- Registry + EspRegistry ------------------------------------------------------------------

WORD = 2**64 - 1


def words(fp: bytes) -> list[int]:
    return [int.from_bytes(fp[i : i + 8], "big") for i in range(0, 32, 8)]


def distance(a: bytes, b: bytes) -> int:
    """The near-duplicate rule, written from its NatSpec: the smallest Hamming distance over the
    16 (word of a, word of b) pairs."""
    return min((x ^ y).bit_count() for x in words(a) for y in words(b))


def degenerate(fp: bytes) -> bool:
    return any(w in (0, WORD) for w in words(fp))


def fingerprint(ws: list[int]) -> bytes:
    return b"".join(w.to_bytes(8, "big") for w in ws)


@dataclass
class ModelToken:
    content: bytes
    fingerprint: bytes
    owner: str
    producer: str
    esp: str
    block: int
    status: TokenStatus = TokenStatus.ACTIVE
    bond_held: bool = True


@dataclass
class ModelEsp:
    stake: int = 0
    active: bool = False
    unbonding_ends_at: int = 0
    challenges_lost: int = 0


PRODUCER_ACCOUNTS, ESP_ACCOUNTS = (1, 3, 4), (2, 5)  # indices into the dev accounts
PRODUCER = st.integers(min_value=0, max_value=2)
ESP = st.integers(min_value=0, max_value=1)
FINGERPRINT_WORDS = st.lists(st.integers(min_value=1, max_value=WORD - 1), min_size=4, max_size=4)


class RegistryMachine(RuleBasedStateMachine):
    """ESPs stake and leave; producers register, trade and challenge images; bonds come back.

    Tokens are drawn from the model (not a Bundle) so that the images registered at genesis are
    there to copy and challenge from the first step.
    """

    def __init__(self, world: World, genesis: RegistryGenesis):
        super().__init__()
        self.world, self.d = world, Driver(world)
        self.snapshot = world.chain.snapshot()
        self.registry = world.deployment.registry
        self.espreg = world.deployment.esp_registry
        self.producers = [world.accounts[i] for i in PRODUCER_ACCOUNTS]
        self.esp_accounts = [world.accounts[i] for i in ESP_ACCOUNTS]
        p = world.params
        self.bond, self.deposit = p.registration_bond, p.challenge_deposit
        self.threshold = p.match_threshold
        self.eth = dict(genesis.eth)
        self.model = {i: replace(t) for i, t in genesis.tokens.items()}
        self.esps = {a: replace(e) for a, e in genesis.esps.items()}
        self.count = 0

    def _token(self, data: st.DataObject, label: str = "token", *, any_status: bool = False) -> int:
        """A registered token; unless ``any_status``, a revoked one half of the time (if any),
        so that actions on revoked tokens are tried often."""
        revoked = sorted(i for i, t in self.model.items() if t.status is TokenStatus.REVOKED)
        if not any_status and revoked and data.draw(st.booleans(), label=f"{label} revoked"):
            return data.draw(st.sampled_from(revoked), label=label)
        return data.draw(st.sampled_from(sorted(self.model)), label=label)

    def _account(self, address: str) -> LocalAccount:
        return next(a for a in self.producers if a.address == address)

    # -- ESPs

    @rule(
        esp=ESP,
        stake=st.sampled_from([1, 2, 0]),
        action=st.sampled_from(["register", "deregister", "withdraw", "leave", "rejoin"]),
    )
    def esp_lifecycle(self, esp: int, action: str, stake: int) -> None:
        """Register (stake = 0 sends one wei too little), deregister, withdraw the stake now,
        leave (deregister if active, then withdraw exactly when the unbonding ends), or rejoin
        (leave, then register)."""
        account = self.esp_accounts[esp]
        state = self.esps[account.address]
        if action == "register":
            self._esp_register(account, state, stake)
            return
        leave = action in ("leave", "rejoin")
        if action == "deregister" or (leave and state.active):
            self._esp_deregister(account, state)
        if leave and state.stake:
            self.d.advance_to(state.unbonding_ends_at)
        if action == "withdraw" or (leave and state.stake):
            self._esp_withdraw(account, state)
        if action == "rejoin":
            self._esp_register(account, state, stake)

    def _esp_register(self, account: LocalAccount, state: ModelEsp, stake: int) -> None:
        minimum = self.world.params.esp_min_stake
        value = minimum * stake if stake else minimum - 1
        fn = self.espreg.functions.register(f"http://{account.address}.example", 10**15)
        if state.active or state.stake:
            self.d.fails(account, fn, errors.EspAlreadyRegistered, value=value, esp=account.address)
        elif value < minimum:
            self.d.fails(
                account, fn, errors.EspStakeTooLow, value=value, sent=value, minimum=minimum
            )
        else:
            _, gas = self.d.ok(account, fn, value=value)
            self.eth[account.address] -= value + gas
            state.stake, state.active, state.unbonding_ends_at = value, True, 0

    def _esp_deregister(self, account: LocalAccount, state: ModelEsp) -> None:
        fn = self.espreg.functions.deregister()
        if not state.active:
            self.d.fails(account, fn, errors.EspNotRegistered, esp=account.address)
            return
        ts = self.d.pending_timestamp()
        _, gas = self.d.ok(account, fn)
        self.eth[account.address] -= gas
        state.active = False
        state.unbonding_ends_at = ts + self.world.params.esp_unbonding_period

    def _esp_withdraw(self, account: LocalAccount, state: ModelEsp) -> None:
        fn = self.espreg.functions.withdrawStake()
        ts = self.d.pending_timestamp()
        if state.active or not state.stake or ts < state.unbonding_ends_at:
            self.d.fails(
                account,
                fn,
                errors.EspStakeLocked,
                esp=account.address,
                unbondingEndsAt=state.unbonding_ends_at,
            )
            return
        _, gas = self.d.ok(account, fn)
        self.eth[account.address] += state.stake - gas
        state.stake = 0

    # -- registration

    @rule(producer=PRODUCER, esp=ESP, ws=FINGERPRINT_WORDS)
    def register_image(self, producer: int, esp: int, ws: list[int]) -> None:
        self._register(self.producers[producer], self.esp_accounts[esp], fingerprint(ws))

    @rule(
        producer=PRODUCER,
        esp=ESP,
        word=st.integers(0, 3),
        bits=st.sets(st.integers(0, 63), max_size=16),
        data=st.data(),
    )
    def register_near_copy(
        self, producer: int, esp: int, word: int, bits: set[int], data: st.DataObject
    ) -> None:
        """A registered image with some bits of one word flipped (near or far, by count)."""
        ws = words(self.model[self._token(data, "base", any_status=True)].fingerprint)
        ws[word] ^= sum(1 << b for b in bits)
        self._register(self.producers[producer], self.esp_accounts[esp], fingerprint(ws))

    @rule(
        producer=PRODUCER,
        esp=ESP,
        ws=FINGERPRINT_WORDS,
        flat=st.sampled_from([None, 0, WORD]),
        data=st.data(),
    )
    def register_refused_image(
        self, producer: int, esp: int, ws: list[int], flat: int | None, data: st.DataObject
    ) -> None:
        """Registered content again (under any fingerprint), or a flat image: one word all zeros
        or all ones."""
        if flat is None:
            content = self.model[self._token(data, "base", any_status=True)].content
            self._register(
                self.producers[producer], self.esp_accounts[esp], fingerprint(ws), content
            )
            return
        ws[data.draw(st.integers(0, 3), label="word")] = flat
        self._register(self.producers[producer], self.esp_accounts[esp], fingerprint(ws))

    def _register(
        self, owner: LocalAccount, esp: LocalAccount, fp: bytes, content: bytes | None = None
    ) -> None:
        self.count += 1
        content = content or secret("content", self.count)
        reg = Registration(
            content_hash=hashlib.sha256(content).digest(),
            fingerprint=fp,
            owner=owner.address,
            esp=esp.address,
            task_id=secret("task", self.count),
            model_id=secret("model"),
            seed=self.count,
            salt=secret("salt", self.count),
        )
        committed = self.d.next_block()  # registration priority is the commit's block
        _, gas = self.d.ok(owner, self.registry.functions.commit(reg.commitment))
        self.eth[owner.address] -= gas
        attestation = sign_attestation(
            esp, reg, chain_id=self.world.chain.chain_id, registry=self.registry.address
        )
        fn = self.registry.functions.reveal(reg.as_tuple(), attestation)
        bond = self.bond
        if reg.token_id in self.model:
            self.d.fails(
                owner, fn, errors.RegistryDuplicateContent, value=bond, tokenId=reg.token_id
            )
        elif degenerate(fp):
            self.d.fails(
                owner, fn, errors.RegistryDegenerateFingerprint, value=bond, fingerprint=fp
            )
        elif not self.esps[esp.address].active:
            self.d.fails(owner, fn, errors.RegistryEspNotRegistered, value=bond, esp=esp.address)
        else:
            _, gas = self.d.ok(owner, fn, value=bond)
            self.eth[owner.address] -= bond + gas
            self.model[reg.token_id] = ModelToken(
                content, fp, owner.address, owner.address, esp.address, committed
            )

    # -- challenges, bonds, transfers

    @rule(caller=PRODUCER, as_owner=st.booleans(), data=st.data())
    def challenge(self, caller: int, as_owner: bool, data: st.DataObject) -> None:
        """Any token against any token, by its owner or by anyone."""
        original, duplicate = self._token(data, "original"), self._token(data, "duplicate")
        owner = self._account(self.model[original].owner)
        self._challenge(owner if as_owner else self.producers[caller], original, duplicate)

    @rule(reverse=st.booleans(), data=st.data())
    def challenge_between_active_images(self, reverse: bool, data: st.DataObject) -> None:
        """The owner of an active image challenges a later active one (near or far), or, with
        ``reverse``, the owner of the later one challenges the earlier one."""
        active = sorted(
            (t.block, i) for i, t in self.model.items() if t.status is TokenStatus.ACTIVE
        )
        pairs = [(a, b) for x, (_, a) in enumerate(active) for _, b in active[x + 1 :]]
        if not pairs:
            return
        original, duplicate = data.draw(st.sampled_from(pairs), label="pair")
        if reverse:
            original, duplicate = duplicate, original
        self._challenge(self._account(self.model[original].owner), original, duplicate)

    def _challenge(self, who: LocalAccount, original: int, duplicate: int) -> None:
        a, b = self.model[original], self.model[duplicate]
        fn = self.registry.functions.challenge(original, duplicate)
        deposit = self.deposit
        if original == duplicate:
            self.d.fails(who, fn, errors.RegistrySelfChallenge, value=deposit, tokenId=original)
        elif a.status is TokenStatus.REVOKED:
            self.d.fails(who, fn, errors.RegistryTokenRevoked, value=deposit, tokenId=original)
        elif b.status is TokenStatus.REVOKED:
            self.d.fails(who, fn, errors.RegistryTokenRevoked, value=deposit, tokenId=duplicate)
        elif a.owner != who.address:
            self.d.fails(
                who,
                fn,
                errors.RegistryNotOwner,
                value=deposit,
                tokenId=original,
                caller=who.address,
            )
        elif a.block >= b.block:
            self.d.fails(
                who,
                fn,
                errors.RegistryChallengeOutOfOrder,
                value=deposit,
                original=original,
                duplicate=duplicate,
            )
        else:
            receipt, gas = self.d.ok(who, fn, value=deposit)
            self.eth[who.address] -= deposit + gas
            (log,) = self.registry.events.Challenged().process_receipt(receipt, errors=DISCARD)
            d = distance(a.fingerprint, b.fingerprint)
            assert log["args"]["distance"] == d
            assert log["args"]["upheld"] == (d <= self.threshold)
            event(f"challenge: {'upheld' if d <= self.threshold else 'dismissed'}")
            if d <= self.threshold:
                self.eth[who.address] += deposit + (self.bond if b.bond_held else 0)
                b.status, b.bond_held = TokenStatus.REVOKED, False
                self.esps[b.esp].challenges_lost += 1
            else:
                self.eth[b.owner] += deposit

    @rule(caller=PRODUCER, wait=st.booleans(), data=st.data())
    def release_bond(self, caller: int, wait: bool, data: st.DataObject) -> None:
        """Anyone releases a bond (to its producer) now, or in exactly its first allowed block."""
        token = self._token(data)
        t, who = self.model[token], self.producers[caller]
        fn = self.registry.functions.releaseBond(token)
        releasable = t.block + self.world.params.bond_lock_blocks
        if wait and self.d.next_block() < releasable:
            self.world.chain.mine(releasable - self.d.next_block())
        if t.status is TokenStatus.REVOKED:
            self.d.fails(who, fn, errors.RegistryTokenRevoked, tokenId=token)
        elif not t.bond_held or self.d.next_block() < releasable:
            self.d.fails(
                who, fn, errors.RegistryBondLocked, tokenId=token, releasableAtBlock=releasable
            )
        else:
            _, gas = self.d.ok(who, fn)
            self.eth[who.address] -= gas
            self.eth[t.producer] += self.bond
            t.bond_held = False

    @rule(to=PRODUCER, data=st.data())
    def transfer(self, to: int, data: st.DataObject) -> None:
        token = self._token(data)
        t = self.model[token]
        owner, receiver = self._account(t.owner), self.producers[to]
        fn = self.registry.functions.transferFrom(owner.address, receiver.address, token)
        if t.status is TokenStatus.REVOKED:
            self.d.fails(owner, fn, errors.RegistryTokenRevoked, tokenId=token)
            return
        _, gas = self.d.ok(owner, fn)
        self.eth[owner.address] -= gas
        t.owner = receiver.address

    @rule(blocks=st.sampled_from([1, 5, 20]), ticks=st.sampled_from([0, 1, 10, 40]))
    def pass_time(self, blocks: int, ticks: int) -> None:
        if ticks:
            self.d.advance_to(self.d.pending_timestamp() + ticks * TICK)
        self.world.chain.mine(blocks)

    # -- invariants

    @invariant()
    def registry_holds_exactly_the_held_bonds(self) -> None:
        held = sum(t.bond_held for t in self.model.values())
        assert self.d.balance(self.registry.address) == self.bond * held

    @invariant()
    def esp_registry_holds_exactly_the_stakes(self) -> None:
        assert self.d.balance(self.espreg.address) == sum(e.stake for e in self.esps.values())

    def teardown(self) -> None:
        try:
            self._reconcile()
        finally:
            self.world.chain.revert(self.snapshot)

    def _reconcile(self) -> None:
        """Every balance, every token's owner and record, every ESP's record."""
        call = self.d.caller
        for address, expected in self.eth.items():
            assert self.d.balance(address) == expected, address
        for token_id, t in self.model.items():
            assert self.registry.functions.ownerOf(token_id).call(call) == t.owner
            fp, producer, block, status, bond_held, esp = self.registry.functions.recordOf(
                token_id
            ).call(call)
            assert (bytes(fp), producer, block, status, bond_held, esp) == (
                t.fingerprint,
                t.producer,
                t.block,
                t.status,
                t.bond_held,
                t.esp,
            )
        for address, e in self.esps.items():
            stake, unbonding, lost, active, _, _ = self.espreg.functions.espInfo(address).call(call)
            assert (stake, unbonding, lost, active) == (
                e.stake,
                e.unbonding_ends_at,
                e.challenges_lost,
                e.active,
            )


@dataclass
class RegistryGenesis:
    """What the registry machine starts from: staked ESPs and three registered images."""

    eth: dict[str, int]
    esps: dict[str, ModelEsp]
    tokens: dict[int, ModelToken]


def registry_genesis(world: World) -> RegistryGenesis:
    """Registers both ESPs with the minimum stake, then an image, a near copy of it and an
    unrelated image (one per producer), so challenges have material from the first step."""
    stake = world.params.esp_min_stake
    esps = [world.accounts[i] for i in ESP_ACCOUNTS]
    for esp in esps:
        world.esps(esp).register(f"http://{esp.address}.example", price=10**15, stake=stake)
    producers = [world.accounts[i] for i in PRODUCER_ACCOUNTS]
    tokens: dict[int, ModelToken] = {}
    fps = [BASE_FP, NEAR_FP, FAR_FP]
    for n, (producer, fp) in enumerate(zip(producers, fps, strict=True)):
        reg = registration(
            producer.address, esps[n % 2].address, fingerprint=fp, content=secret("genesis", n)
        )
        client = world.registry(producer)
        client.commit(reg)
        client.reveal(reg, client.sign_attestation(esps[n % 2], reg))
        record = client.record(reg.token_id)
        tokens[reg.token_id] = ModelToken(
            secret("genesis", n),
            fp,
            producer.address,
            producer.address,
            esps[n % 2].address,
            record.registered_block,
        )
    return RegistryGenesis(
        eth={a.address: world.balance(a.address) for a in (*producers, *esps)},
        esps={e.address: ModelEsp(stake, active=True) for e in esps},
        tokens=tokens,
    )


def test_registry_state_machine(embedded_world: World) -> None:
    genesis = registry_genesis(embedded_world)
    run_state_machine_as_test(lambda: RegistryMachine(embedded_world, genesis), settings=SETTINGS)
