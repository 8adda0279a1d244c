"""A Hypothesis state machine over Registry (Proof-of-AIGC v2) with EspRegistry and the HTLC's
generation locks, with a plain Python model beside them.

Every rule predicts its outcome from the model, then checks the chain agrees: the exact custom
error when it should fail, the exact ownership, bonds, deposits and stakes when it should succeed.
After every step the Registry must hold exactly

    bond x (open commitments + active tokens + upheld, unsettled revocations)
    + the deposits of open, contested and upheld-unsettled challenges,

the burn address must have received exactly the forfeited commitments' bonds and the settled
revocations' bonds but the reward, and every token's status must be the model's (a token leaves
Revoked only through ``settle`` reinstating it). Each ordered pair is challenged at most once. At
the end of each example every balance, token and dispute is reconciled and the chain goes back to
its snapshot. Harness: :mod:`tests.contracts.invariant_driver`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from web3.logs import DISCARD

from ledger import LockStatus, LockTerms, Registration, TokenStatus, errors
from ledger.clients.registry import DisputeState, RecordProof, RegistryClient, sign_attestation
from tests.conftest import World
from tests.contracts.helpers import (
    BASE_FP,
    FAR_FP,
    FEE,
    NEAR_FP,
    details,
    paid_lock,
    registration,
)
from tests.contracts.invariant_driver import SETTINGS, TICK, Driver, secret

WORD = 2**64 - 1
DETAILS = ("base", "near", "far")


def words(fp: bytes) -> list[int]:
    return [int.from_bytes(fp[i : i + 8], "big") for i in range(0, 32, 8)]


def distance(a: bytes, b: bytes) -> int:
    """The compact (admissibility) rule, written from its NatSpec: the smallest Hamming distance
    over the 16 (word of a, word of b) pairs."""
    return min((x ^ y).bit_count() for x in words(a) for y in words(b))


def degenerate(fp: bytes) -> bool:
    return any(w in (0, WORD) for w in words(fp))


def fingerprint(ws: list[int]) -> bytes:
    return b"".join(w.to_bytes(8, "big") for w in ws)


@dataclass
class ModelToken:
    content: bytes
    fingerprint: bytes
    detail: str  # a key of ``details()``
    owner: str
    producer: str
    esp: str
    priority: int  # the generation lock's block
    commit_block: int
    reveal_block: int
    status: TokenStatus = TokenStatus.ACTIVE

    def proof(self) -> RecordProof:
        detail_hash = bytes(keccak(details()[self.detail]))
        return RecordProof(
            self.fingerprint,
            detail_hash,
            self.esp,
            self.priority,
            self.commit_block,
            self.reveal_block,
        )


@dataclass
class ModelCommit:
    """A commitment's fields (the task id is chosen at reveal) and its block."""

    content: bytes
    fingerprint: bytes
    detail: str
    owner: str
    salt: bytes
    block: int


@dataclass
class ModelLock:
    terms: LockTerms
    block: int
    paid: bool


@dataclass
class ModelDispute:
    challenger: str
    deadline: int
    state: DisputeState = DisputeState.OPEN
    contester: str = ""
    equivocal: bool = False  # one ESP attested both images: priority cannot decide

    @property
    def held(self) -> int:
        """Deposits the Registry holds for this dispute."""
        if self.state is DisputeState.OPEN:
            return 1
        if self.state is DisputeState.CONTESTED:
            return 2
        if self.state is DisputeState.UPHELD:
            return 2 if self.contester else 1
        return 0


@dataclass
class ModelEsp:
    stake: int = 0
    active: bool = False
    unbonding_ends_at: int = 0
    challenges_lost: int = 0
    # The latest registration period, and the earlier ones (EspRegistry keeps them all: a lock
    # paid in any of them still registers after the ESP leaves and rejoins).
    since_block: int = 0
    until_block: int = 0
    past: list[tuple[int, int]] = field(default_factory=list)

    def was_active_at(self, block: int) -> bool:
        periods = [*self.past, (self.since_block, self.until_block)]
        return any(
            since != 0 and since <= block and (until == 0 or block <= until)
            for since, until in periods
        )


PRODUCER_ACCOUNTS, ESP_ACCOUNTS = (1, 3, 4), (2, 5)  # indices into the dev accounts
PRODUCER = st.integers(min_value=0, max_value=2)
ESP = st.integers(min_value=0, max_value=1)
DETAIL = st.sampled_from(DETAILS)
FINGERPRINT_WORDS = st.lists(st.integers(min_value=1, max_value=WORD - 1), min_size=4, max_size=4)


class RegistryMachine(RuleBasedStateMachine):
    """ESPs stake and leave; producers pay generations, commit, reveal, trade, challenge,
    contest; anyone forfeits expired commitments, finalizes, resolves and settles.

    Tokens are drawn from the model (not a Bundle) so that the images registered at genesis are
    there to copy and challenge from the first step.
    """

    def __init__(self, world: World, genesis: RegistryGenesis):
        super().__init__()
        self.world, self.d = world, Driver(world)
        self.snapshot = world.chain.snapshot()
        self.registry = world.deployment.registry
        self.espreg = world.deployment.esp_registry
        self.htlc = world.deployment.htlc
        self.producers = [world.accounts[i] for i in PRODUCER_ACCOUNTS]
        self.esp_accounts = [world.accounts[i] for i in ESP_ACCOUNTS]
        p = world.params
        self.bond, self.deposit, self.reward = (
            p.registration_bond,
            p.challenge_deposit,
            p.challenge_reward,
        )
        self.threshold = p.match_threshold
        self.burn_address = genesis.burn_address
        self.burned = genesis.burned
        self.matches = genesis.matches
        self.eth = dict(genesis.eth)
        self.model = {i: replace(t) for i, t in genesis.tokens.items()}
        self.esps = {a: replace(e) for a, e in genesis.esps.items()}
        self.locks: list[ModelLock] = []
        self.commits: dict[bytes, ModelCommit] = {}  # open commitments (bond held)
        self.spent_commits: dict[bytes, ModelCommit] = {}  # revealed or forfeited
        self.disputes: dict[tuple[int, int], ModelDispute] = {}
        self.owed: dict[str, int] = {}  # slashed ESP stake owed to challengers
        self.exit_delay = int(self.espreg.functions.exitDelay().call())
        self.count = 0

    # -- draws

    def _token(self, data: st.DataObject, label: str = "token", *, any_status: bool = False) -> int:
        """A registered token; unless ``any_status``, a revoked one half of the time (if any),
        so that actions on revoked tokens are tried often."""
        revoked = sorted(i for i, t in self.model.items() if t.status is TokenStatus.REVOKED)
        if not any_status and revoked and data.draw(st.booleans(), label=f"{label} revoked"):
            return data.draw(st.sampled_from(revoked), label=label)
        return data.draw(st.sampled_from(sorted(self.model)), label=label)

    def _account(self, address: str) -> LocalAccount:
        return next(a for a in (*self.producers, *self.esp_accounts) if a.address == address)

    def _dispute(self, data: st.DataObject) -> tuple[int, int] | None:
        """A challenged pair (most of the time), or any pair of tokens."""
        if self.disputes and data.draw(st.integers(0, 4), label="known pair") > 0:
            return data.draw(st.sampled_from(sorted(self.disputes)), label="pair")
        return self._token(data, "original"), self._token(data, "duplicate")

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
            held = state.until_block + self.exit_delay + 1 - self.d.next_block()
            if held > 0:  # and past the dispute window of the images it attested
                self.world.chain.mine(held)
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
            receipt, gas = self.d.ok(account, fn, value=value)
            self.eth[account.address] -= value + gas
            state.stake, state.active, state.unbonding_ends_at = value, True, 0
            if state.since_block:
                state.past.append((state.since_block, state.until_block))
            state.since_block, state.until_block = int(receipt["blockNumber"]), 0

    def _esp_deregister(self, account: LocalAccount, state: ModelEsp) -> None:
        fn = self.espreg.functions.deregister()
        if not state.active:
            self.d.fails(account, fn, errors.EspNotRegistered, esp=account.address)
            return
        ts = self.d.pending_timestamp()
        receipt, gas = self.d.ok(account, fn)
        self.eth[account.address] -= gas
        state.active = False
        state.unbonding_ends_at = ts + self.world.params.esp_unbonding_period
        state.until_block = int(receipt["blockNumber"])

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
        held_until = state.until_block + self.exit_delay
        if self.d.next_block() <= held_until:
            self.d.fails(
                account, fn, errors.EspStakeHeld, esp=account.address, heldUntilBlock=held_until
            )
            return
        _, gas = self.d.ok(account, fn)
        self.eth[account.address] += state.stake - gas
        state.stake = 0

    # -- generation locks

    @rule(producer=PRODUCER, esp=ESP, paid=st.booleans())
    def pay_generation(self, producer: int, esp: int, paid: bool) -> None:
        """The producer locks a fee to the ESP; unless ``paid`` is False the ESP claims it."""
        self._pay(self.producers[producer], self.esp_accounts[esp], paid)

    def _pay(self, sender: LocalAccount, receiver: LocalAccount, paid: bool) -> ModelLock:
        self.count += 1
        preimage = secret("preimage", self.count)
        hashlock = hashlib.sha256(preimage).digest()
        timelock = self.d.pending_timestamp() + 40 * TICK
        fn = self.htlc.functions.lockEther(receiver.address, hashlock, timelock)
        receipt, gas = self.d.ok(sender, fn, value=FEE)
        self.eth[sender.address] -= FEE + gas
        (log,) = self.htlc.events.Locked().process_receipt(receipt, errors=DISCARD)
        terms = LockTerms.from_event(dict(log["args"]))
        if paid:
            _, gas = self.d.ok(receiver, self.htlc.functions.withdraw(terms.as_tuple(), preimage))
            self.eth[receiver.address] += FEE - gas
        self.locks.append(ModelLock(terms, int(receipt["blockNumber"]), paid))
        return self.locks[-1]

    # -- registration

    @rule(
        producer=PRODUCER,
        ws=FINGERPRINT_WORDS,
        detail=DETAIL,
        kind=st.sampled_from(["new", "near", "same_content", "flat"]),
        data=st.data(),
    )
    def commit(
        self, producer: int, ws: list[int], detail: str, kind: str, data: st.DataObject
    ) -> None:
        """Commits (with the bond) a new image, a near copy of a registered one (some bits of
        one word flipped), registered content again, or a flat image (one word all 0 or 1)."""
        owner = self.producers[producer]
        self.count += 1
        content = secret("content", self.count)
        if kind == "near":
            base = self.model[self._token(data, "base", any_status=True)]
            ws = words(base.fingerprint)
            bits = data.draw(st.sets(st.integers(0, 63), max_size=16), label="bits")
            ws[data.draw(st.integers(0, 3), label="word")] ^= sum(1 << b for b in bits)
        elif kind == "same_content":
            content = self.model[self._token(data, "base", any_status=True)].content
        elif kind == "flat":
            ws[data.draw(st.integers(0, 3), label="word")] = data.draw(
                st.sampled_from([0, WORD]), label="flat"
            )
        c = ModelCommit(
            content, fingerprint(ws), detail, owner.address, secret("salt", self.count), 0
        )
        commitment = self._registration(c, task_id=bytes(32), esp=owner.address).commitment
        receipt, gas = self.d.ok(owner, self.registry.functions.commit(commitment), value=self.bond)
        self.eth[owner.address] -= self.bond + gas
        c.block = int(receipt["blockNumber"])
        self.commits[commitment] = c
        if data.draw(st.integers(0, 2), label="reveal now") > 0:  # most registrations go through
            self._reveal(commitment, owner, 0, data)

    def _registration(self, c: ModelCommit, *, task_id: bytes, esp: str) -> Registration:
        return Registration(
            content_hash=hashlib.sha256(c.content).digest(),
            fingerprint=c.fingerprint,
            detail=details()[c.detail],
            owner=c.owner,
            esp=esp,
            task_id=task_id,
            model_id=secret("model"),
            seed=1,
            salt=c.salt,
        )

    @rule(caller=PRODUCER, wait=st.sampled_from([0, 0, 5, 20]), data=st.data())
    def reveal(self, caller: int, wait: int, data: st.DataObject) -> None:
        """Anyone reveals an open commitment (or a spent one), after ``wait`` blocks, with a
        generation lock (the owner's own most of the time, or anybody's)."""
        if not self.commits:
            return
        spent = self.spent_commits and data.draw(st.integers(0, 5), label="spent") == 0
        pool = sorted(self.spent_commits if spent else self.commits)
        commitment = data.draw(st.sampled_from(pool), label="commitment")
        self._reveal(commitment, self.producers[caller], wait, data)

    def _reveal(self, commitment: bytes, who: LocalAccount, wait: int, data: st.DataObject) -> None:
        c = self.commits.get(commitment) or self.spent_commits[commitment]
        own = [lk for lk in self.locks if lk.terms.sender == c.owner]
        how = data.draw(st.sampled_from(["fresh", "fresh", "own", "any"]), label="lock")
        if how == "fresh" or not self.locks or (how == "own" and not own):
            esp_account = data.draw(st.sampled_from(self.esp_accounts), label="esp")
            lock = self._pay(self._account(c.owner), esp_account, paid=True)
        else:
            lock = data.draw(st.sampled_from(own if how == "own" else self.locks), label="lock")
        esp = self._account(lock.terms.receiver)
        if wait:
            self.world.chain.mine(wait)
        # The registrant is the lock's sender: a foreign lock names another commitment.
        reg = self._registration(
            replace(c, owner=lock.terms.sender), task_id=lock.terms.id, esp=esp.address
        )
        attestation = sign_attestation(
            esp, reg, chain_id=self.world.chain.chain_id, registry=self.registry.address
        )
        fn = self.registry.functions.reveal(
            reg.as_tuple(), lock.terms.as_tuple(), reg.detail, attestation
        )
        ttl, window = (
            self.world.params.commit_ttl_blocks,
            self.world.params.registration_window_blocks,
        )
        status = LockStatus.WITHDRAWN if lock.paid else LockStatus.OPEN
        if reg.token_id in self.model:  # checked first, before the commitment
            self.d.fails(who, fn, errors.RegistryDuplicateContent, tokenId=reg.token_id)
        elif commitment not in self.commits or lock.terms.sender != c.owner:
            self.d.fails(who, fn, errors.RegistryUnknownCommit, commitment=reg.commitment)
        elif self.d.next_block() > c.block + ttl:
            self.d.fails(
                who,
                fn,
                errors.RegistryCommitExpired,
                commitment=commitment,
                expiredAtBlock=c.block + ttl,
            )
        elif degenerate(c.fingerprint):
            self.d.fails(who, fn, errors.RegistryDegenerateFingerprint, fingerprint=c.fingerprint)
        elif not lock.paid:
            self.d.fails(who, fn, errors.RegistryLockNotPaid, lockId=lock.terms.id, status=status)
        elif not self.esps[esp.address].was_active_at(lock.block):
            self.d.fails(who, fn, errors.RegistryEspNotRegistered, esp=esp.address)
        elif c.block > lock.block + window and not self.esps[esp.address].was_active_at(c.block):
            # late (committed after the lock's window): its priority is the commit's block, and
            # the ESP must be active there too, so exitDelay holds its stake for the image
            self.d.fails(who, fn, errors.RegistryEspNotRegistered, esp=esp.address)
        else:
            receipt, gas = self.d.ok(who, fn)
            self.eth[who.address] -= gas
            self.spent_commits[commitment] = self.commits.pop(commitment)
            self.model[reg.token_id] = ModelToken(
                c.content,
                c.fingerprint,
                c.detail,
                c.owner,
                c.owner,
                esp.address,
                lock.block if c.block <= lock.block + window else c.block,  # late: its commit
                c.block,
                int(receipt["blockNumber"]),
            )

    @rule(caller=PRODUCER, wait=st.booleans(), data=st.data())
    def forfeit_commit(self, caller: int, wait: bool, data: st.DataObject) -> None:
        """Anyone burns a commitment's bond: now, or in its first forfeitable block."""
        pool = sorted(self.commits) + sorted(self.spent_commits)
        if not pool:
            return
        commitment = data.draw(st.sampled_from(pool), label="commitment")
        who, c = self.producers[caller], self.commits.get(commitment)
        fn = self.registry.functions.forfeitCommit(commitment)
        if c is None:
            self.d.fails(who, fn, errors.RegistryUnknownCommit, commitment=commitment)
            return
        expires = c.block + self.world.params.commit_ttl_blocks
        if wait and self.d.next_block() <= expires:
            self.world.chain.mine(expires + 1 - self.d.next_block())
        if self.d.next_block() <= expires:
            self.d.fails(
                who,
                fn,
                errors.RegistryCommitNotExpired,
                commitment=commitment,
                expiresAtBlock=expires,
            )
            return
        _, gas = self.d.ok(who, fn)
        self.eth[who.address] -= gas
        self.burned += self.bond
        self.spent_commits[commitment] = self.commits.pop(commitment)

    # -- challenges

    @rule(caller=PRODUCER, as_owner=st.booleans(), forged=st.integers(0, 9), data=st.data())
    def challenge(self, caller: int, as_owner: bool, forged: int, data: st.DataObject) -> None:
        """Any token against any token, by its owner or by anyone; now and then with a forged
        proof (the duplicate's fingerprint claimed to be the original's)."""
        original, duplicate = self._token(data, "original"), self._token(data, "duplicate")
        owner = self._account(self.model[original].owner)
        self._challenge(
            owner if as_owner else self.producers[caller], original, duplicate, forged == 0
        )

    @rule(reverse=st.booleans(), data=st.data())
    def challenge_between_active_images(self, reverse: bool, data: st.DataObject) -> None:
        """The owner of an active image challenges a later active one (near or far), or, with
        ``reverse``, the owner of the later one challenges the earlier one."""
        active = sorted(
            (t.priority, i) for i, t in self.model.items() if t.status is TokenStatus.ACTIVE
        )
        pairs = [(a, b) for x, (_, a) in enumerate(active) for _, b in active[x + 1 :]]
        if not pairs:
            return
        original, duplicate = data.draw(st.sampled_from(pairs), label="pair")
        if reverse:
            original, duplicate = duplicate, original
        self._challenge(self._account(self.model[original].owner), original, duplicate, False)
        if (original, duplicate) in self.disputes and data.draw(st.booleans(), label="drive"):
            self._drive((original, duplicate), data)

    def _challenge(self, who: LocalAccount, original: int, duplicate: int, forged: bool) -> None:
        a, b = self.model[original], self.model[duplicate]
        proof_b = b.proof()
        if forged:
            proof_b = replace(proof_b, fingerprint=a.fingerprint if b is not a else FAR_FP)
        fn = self.registry.functions.challenge(
            original, duplicate, a.proof().as_tuple(), proof_b.as_tuple()
        )
        deposit, pair = self.deposit, (original, duplicate)
        if original == duplicate:
            self.d.fails(who, fn, errors.RegistrySelfChallenge, value=deposit, tokenId=original)
        elif a.status is TokenStatus.REVOKED:
            self.d.fails(who, fn, errors.RegistryTokenRevoked, value=deposit, tokenId=original)
        elif forged and proof_b != b.proof():
            self.d.fails(who, fn, errors.RegistryBadProof, value=deposit, tokenId=duplicate)
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
        elif a.priority >= b.priority:
            self.d.fails(
                who,
                fn,
                errors.RegistryChallengeOutOfOrder,
                value=deposit,
                original=original,
                duplicate=duplicate,
            )
        elif a.esp != b.esp and a.commit_block >= min(b.priority, b.commit_block):
            self.d.fails(
                who,
                fn,
                errors.RegistryCommittedAfterPublication,
                value=deposit,
                original=original,
                committedAt=a.commit_block,
                duplicateCommittedAt=min(b.priority, b.commit_block),
            )
        elif (dist := distance(a.fingerprint, b.fingerprint)) > self.threshold:
            self.d.fails(
                who,
                fn,
                errors.RegistryNotAdmissible,
                value=deposit,
                original=original,
                duplicate=duplicate,
                distance=dist,
            )
        elif pair in self.disputes and self.disputes[pair].state is not DisputeState.VOID:
            self.d.fails(
                who,
                fn,
                errors.RegistryDisputeExists,
                value=deposit,
                original=original,
                duplicate=duplicate,
                state=self.disputes[pair].state,
            )
        else:
            deadline = self.d.next_block() + self.world.params.dispute_window_blocks
            receipt, gas = self.d.ok(who, fn, value=deposit)
            self.eth[who.address] -= deposit + gas
            (log,) = self.registry.events.ChallengeOpened().process_receipt(receipt, errors=DISCARD)
            assert log["args"]["distance"] == dist and log["args"]["deadline"] == deadline
            self.disputes[pair] = ModelDispute(who.address, deadline, equivocal=a.esp == b.esp)

    @rule(caller=PRODUCER, as_accused=st.booleans(), wait=st.booleans(), data=st.data())
    def contest(self, caller: int, as_accused: bool, wait: bool, data: st.DataObject) -> None:
        """The accused (or anyone) contests a challenge, now or after its window."""
        pair = self._dispute(data)
        if pair is not None:
            self._contest(pair, caller, as_accused, wait)

    def _contest(self, pair: tuple[int, int], caller: int, as_accused: bool, wait: bool) -> None:
        original, duplicate = pair
        dup = self.model[duplicate]
        who = self._account(dup.owner) if as_accused else self.producers[caller]
        dispute = self.disputes.get(pair)
        if wait and dispute is not None and self.d.next_block() <= dispute.deadline:
            self.world.chain.mine(dispute.deadline + 1 - self.d.next_block())
        fn = self.registry.functions.contest(original, duplicate)
        deposit = self.deposit
        state = dispute.state if dispute else DisputeState.NONE
        if state is not DisputeState.OPEN:
            self.d.fails(
                who,
                fn,
                errors.RegistryDisputeState,
                value=deposit,
                original=original,
                duplicate=duplicate,
                state=state,
            )
        elif self.d.next_block() > dispute.deadline:
            self.d.fails(
                who,
                fn,
                errors.RegistryDisputeWindow,
                value=deposit,
                original=original,
                duplicate=duplicate,
                deadline=dispute.deadline,
            )
        elif dup.owner != who.address and not (
            dispute.equivocal and who.address == dispute.challenger
        ):
            self.d.fails(
                who,
                fn,
                errors.RegistryNotOwner,
                value=deposit,
                tokenId=duplicate,
                caller=who.address,
            )
        else:
            _, gas = self.d.ok(who, fn, value=deposit)
            self.eth[who.address] -= deposit + gas
            dispute.state, dispute.contester = DisputeState.CONTESTED, who.address

    @rule(caller=PRODUCER, data=st.data())
    def resolve(self, caller: int, data: st.DataObject) -> None:
        """Anyone decides a contested challenge with both published details."""
        pair = self._dispute(data)
        if pair is not None:
            self._resolve(pair, caller)

    def _resolve(self, pair: tuple[int, int], caller: int) -> None:
        original, duplicate = pair
        a, b = self.model[original], self.model[duplicate]
        who, dispute = self.producers[caller], self.disputes.get(pair)
        fn = self.registry.functions.resolve(
            original,
            duplicate,
            a.proof().as_tuple(),
            b.proof().as_tuple(),
            details()[a.detail],
            details()[b.detail],
        )
        state = dispute.state if dispute else DisputeState.NONE
        if state is not DisputeState.CONTESTED:
            self.d.fails(
                who,
                fn,
                errors.RegistryDisputeState,
                original=original,
                duplicate=duplicate,
                state=state,
            )
            return
        ts = self.d.pending_timestamp()
        receipt, gas = self.d.ok(who, fn)
        self.eth[who.address] -= gas
        if b.status is not TokenStatus.ACTIVE:
            dispute.state = DisputeState.VOID
            self.eth[dispute.challenger] += self.deposit
            self.eth[dispute.contester] += self.deposit
        elif dispute.equivocal and self.matches[a.detail, b.detail]:
            # one ESP attested the same image twice: nothing revoked, deposits back, the ESP's
            # slash burned (owed to the burn address, which nobody can claim)
            dispute.state = DisputeState.EQUIVOCATED
            self.eth[dispute.challenger] += self.deposit
            self.eth[dispute.contester] += self.deposit
            block = int(receipt["blockNumber"])
            self._slash(self.esps[a.esp], self.burn_address, ts, block)
        elif a.status is TokenStatus.ACTIVE and self.matches[a.detail, b.detail]:
            self._uphold(dispute, b)
        else:
            dispute.state = DisputeState.REJECTED
            self.eth[dispute.contester] += 2 * self.deposit
        event(f"resolve: {dispute.state.name}")

    @rule(caller=PRODUCER, wait=st.booleans(), data=st.data())
    def finalize(self, caller: int, wait: bool, data: st.DataObject) -> None:
        """Anyone decides an uncontested challenge: now, or once its window has passed."""
        pair = self._dispute(data)
        if pair is not None:
            self._finalize(pair, caller, wait)

    def _finalize(self, pair: tuple[int, int], caller: int, wait: bool) -> None:
        original, duplicate = pair
        a, b = self.model[original], self.model[duplicate]
        who, dispute = self.producers[caller], self.disputes.get(pair)
        if wait and dispute is not None and self.d.next_block() <= dispute.deadline:
            self.world.chain.mine(dispute.deadline + 1 - self.d.next_block())
        fn = self.registry.functions.finalize(original, duplicate)
        state = dispute.state if dispute else DisputeState.NONE
        if state is not DisputeState.OPEN:
            self.d.fails(
                who,
                fn,
                errors.RegistryDisputeState,
                original=original,
                duplicate=duplicate,
                state=state,
            )
            return
        if self.d.next_block() <= dispute.deadline:
            self.d.fails(
                who,
                fn,
                errors.RegistryDisputeWindow,
                original=original,
                duplicate=duplicate,
                deadline=dispute.deadline,
            )
            return
        _, gas = self.d.ok(who, fn)
        self.eth[who.address] -= gas
        if dispute.equivocal or b.status is not TokenStatus.ACTIVE:
            dispute.state = DisputeState.VOID
            self.eth[dispute.challenger] += self.deposit
        elif a.status is not TokenStatus.ACTIVE:
            dispute.state = DisputeState.REJECTED
            self.eth[b.owner] += self.deposit
        else:
            self._uphold(dispute, b)
        event(f"finalize: {dispute.state.name}")

    def _uphold(self, dispute: ModelDispute, duplicate: ModelToken) -> None:
        dispute.state = DisputeState.UPHELD
        dispute.deadline = self.d.next_block() - 1 + self.world.params.reward_hold_blocks
        duplicate.status = TokenStatus.REVOKED

    @rule(caller=PRODUCER, wait=st.booleans(), data=st.data())
    def settle(self, caller: int, wait: bool, data: st.DataObject) -> None:
        """Anyone settles an upheld revocation: now, or once its hold is over."""
        pair = self._dispute(data)
        if pair is not None:
            self._settle(pair, caller, wait)

    def _settle(self, pair: tuple[int, int], caller: int, wait: bool) -> None:
        original, duplicate = pair
        a, b = self.model[original], self.model[duplicate]
        who, dispute = self.producers[caller], self.disputes.get(pair)
        if wait and dispute is not None and self.d.next_block() < dispute.deadline:
            self.world.chain.mine(dispute.deadline - self.d.next_block())
        fn = self.registry.functions.settle(original, duplicate, b.proof().as_tuple())
        state = dispute.state if dispute else DisputeState.NONE
        if state is not DisputeState.UPHELD:
            self.d.fails(
                who,
                fn,
                errors.RegistryDisputeState,
                original=original,
                duplicate=duplicate,
                state=state,
            )
            return
        deposits = dispute.held * self.deposit
        if a.status is TokenStatus.REVOKED:
            _, gas = self.d.ok(who, fn)
            self.eth[who.address] -= gas
            dispute.state = DisputeState.REVERSED
            b.status = TokenStatus.ACTIVE  # the only way out of Revoked
            self.eth[dispute.contester or b.owner] += deposits
        elif self.d.next_block() < dispute.deadline:
            self.d.fails(
                who,
                fn,
                errors.RegistryRewardHeld,
                duplicate=duplicate,
                releasableAtBlock=dispute.deadline,
            )
            return
        else:
            ts = self.d.pending_timestamp()
            receipt, gas = self.d.ok(who, fn)
            self.eth[who.address] -= gas
            dispute.state = DisputeState.SETTLED
            self.eth[dispute.challenger] += deposits + self.reward
            self.burned += self.bond - self.reward
            # burned: a challenge slash paid to anyone is farmable (test_attacks_slash_farm.py)
            self._slash(self.esps[b.esp], self.burn_address, ts, int(receipt["blockNumber"]))
        event(f"settle: {dispute.state.name}")

    def _slash(self, esp: ModelEsp, injured: str, ts: int, block: int) -> None:
        """The copy's ESP answers: part of its stake is owed to the burn address (every challenge
        slash is burned), and an ESP left under half the minimum stake stops serving."""
        esp.challenges_lost += 1
        cut = min(esp.stake, self.world.params.esp_slash_amount)
        esp.stake -= cut
        self.owed[injured] = self.owed.get(injured, 0) + cut
        if esp.active and esp.stake < self.world.params.esp_min_stake // 2:
            esp.active, esp.until_block = False, block
            esp.unbonding_ends_at = ts + self.world.params.esp_unbonding_period

    @rule(caller=PRODUCER)
    def claim_compensation(self, caller: int) -> None:
        """A challenger claims the ESP stake slashed to it (or has none to claim)."""
        who = self.producers[caller]
        fn = self.espreg.functions.claimCompensation()
        owed = self.owed.get(who.address, 0)
        if not owed:
            self.d.fails(who, fn, errors.NoCompensation, caller=who.address)
            return
        _, gas = self.d.ok(who, fn)
        self.eth[who.address] += owed - gas
        self.owed[who.address] = 0

    @rule(
        caller=PRODUCER,
        contest=st.booleans(),
        settle=st.sampled_from(["wait", "now", "no"]),
        data=st.data(),
    )
    def dispute_to_the_end(
        self, caller: int, contest: bool, settle: str, data: st.DataObject
    ) -> None:
        """Drives an undecided or unsettled challenge on: the accused contests (or not), the
        window passes, it is resolved (or finalized), then settled after (or before) the hold."""
        live = sorted(
            pair
            for pair, d in self.disputes.items()
            if d.state in (DisputeState.OPEN, DisputeState.CONTESTED, DisputeState.UPHELD)
        )
        if not live:
            return
        self._drive(data.draw(st.sampled_from(live), label="pair"), data, caller, contest, settle)

    def _drive(
        self,
        pair: tuple[int, int],
        data: st.DataObject,
        caller: int | None = None,
        contest: bool | None = None,
        settle: str | None = None,
    ) -> None:
        caller = data.draw(PRODUCER, label="caller") if caller is None else caller
        if contest is None:
            contest = data.draw(st.booleans(), label="contest")
        if settle is None:
            settle = data.draw(st.sampled_from(["wait", "now", "no"]), label="settle")
        if self.disputes[pair].state is DisputeState.OPEN and contest:
            self._contest(pair, caller, as_accused=True, wait=False)
        if self.disputes[pair].state is DisputeState.CONTESTED:
            self._resolve(pair, caller)
        elif self.disputes[pair].state is DisputeState.OPEN:
            self._finalize(pair, caller, wait=True)
        if settle != "no":
            self._settle(pair, caller, wait=settle == "wait")

    # -- transfers and time

    @rule(to=PRODUCER, data=st.data())
    def transfer(self, to: int, data: st.DataObject) -> None:
        token = self._token(data)
        t = self.model[token]
        owner, receiver = self._account(t.owner), self.producers[to]
        fn = self.registry.functions.transferFrom(owner.address, receiver.address, token)
        if t.status is TokenStatus.REVOKED:
            self.d.fails(owner, fn, errors.RegistryTokenRevoked, tokenId=token)
            return
        p = self.world.params
        until = t.reveal_block + p.registration_window_blocks + p.commit_ttl_blocks
        if self.d.next_block() <= until:  # no move while an earlier payer may reclaim it
            self.d.fails(
                owner, fn, errors.RegistryTokenReclaimable, tokenId=token, untilBlock=until
            )
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
    def registry_holds_exactly_the_bonds_and_deposits(self) -> None:
        active = sum(t.status is TokenStatus.ACTIVE for t in self.model.values())
        upheld = sum(d.state is DisputeState.UPHELD for d in self.disputes.values())
        held = sum(d.held for d in self.disputes.values())
        expected = self.bond * (len(self.commits) + active + upheld) + self.deposit * held
        assert self.d.balance(self.registry.address) == expected

    @invariant()
    def burned_exactly_the_forfeits_and_settled_bonds(self) -> None:
        assert self.d.balance(self.burn_address) == self.burned

    @invariant()
    def every_token_has_the_models_status(self) -> None:
        for token_id, t in self.model.items():
            record = self.registry.functions.recordOf(token_id).call(self.d.caller)
            assert TokenStatus(record[2]) is t.status, token_id

    @invariant()
    def esp_registry_holds_exactly_the_stakes_and_compensation(self) -> None:
        stakes = sum(e.stake for e in self.esps.values())
        assert self.d.balance(self.espreg.address) == stakes + sum(self.owed.values())

    def teardown(self) -> None:
        try:
            self._reconcile()
        finally:
            self.world.chain.revert(self.snapshot)

    def _reconcile(self) -> None:
        """Every balance, every token's owner and record, every dispute, every ESP's record."""
        call = self.d.caller
        for address, expected in self.eth.items():
            assert self.d.balance(address) == expected, address
        for token_id, t in self.model.items():
            assert self.registry.functions.ownerOf(token_id).call(call) == t.owner
            record_hash, producer, status = self.registry.functions.recordOf(token_id).call(call)
            assert (bytes(record_hash), producer, status) == (
                t.proof().record_hash,
                t.producer,
                t.status,
            )
        for token_id in self.model:  # one dispute per ordered pair: the rest were never opened
            for other in self.model:
                d = self.disputes.get((token_id, other))
                got = self.registry.functions.disputeOf(token_id, other).call(call)
                assert DisputeState(got[2]) is (d.state if d else DisputeState.NONE)
                if d:
                    assert (got[0], got[1]) == (d.challenger, d.deadline)
        for commitment, c in self.commits.items():
            assert self.registry.functions.commitBlock(commitment).call(call) == c.block
        for address, e in self.esps.items():
            stake, unbonding, lost, active, _, _ = self.espreg.functions.espInfo(address).call(call)
            assert (stake, unbonding, lost, active) == (
                e.stake,
                e.unbonding_ends_at,
                e.challenges_lost,
                e.active,
            )


class DetailMatches(dict[tuple[str, str], bool]):
    """The Registry's ``detailsMatch`` of each (detail, detail) pair, asked of the chain the first
    time a resolve needs it and kept for every later example. Each answer runs the detail rule
    (about 2M gas: seconds on py-evm), and its verifier is immutable, so the answer is the same
    whenever it is asked; asking all nine pairs up front cost the most of the genesis."""

    def __init__(self, client: RegistryClient):
        super().__init__()
        self.client = client

    def __missing__(self, pair: tuple[str, str]) -> bool:
        x, y = pair
        self[pair] = answer = self.client.details_match(details()[x], details()[y])
        return answer


@dataclass
class RegistryGenesis:
    """What the registry machine starts from: staked ESPs and three registered images."""

    eth: dict[str, int]
    esps: dict[str, ModelEsp]
    tokens: dict[int, ModelToken]
    burn_address: str
    burned: int
    matches: DetailMatches


def registry_genesis(world: World) -> RegistryGenesis:
    """Registers both ESPs with the minimum stake, then an image, a near copy of it and an
    unrelated image (one per producer, each with its own paid generation), so challenges have
    material from the first step."""
    stake = world.params.esp_min_stake
    esps = [world.accounts[i] for i in ESP_ACCOUNTS]
    periods = {}
    for esp in esps:
        world.esps(esp).register(f"http://{esp.address}.example", price=10**15, stake=stake)
        periods[esp.address] = int(world.chain.w3.eth.block_number)
    producers = [world.accounts[i] for i in PRODUCER_ACCOUNTS]
    tokens: dict[int, ModelToken] = {}
    for n, (producer, fp, detail) in enumerate(
        zip(producers, [BASE_FP, NEAR_FP, FAR_FP], DETAILS, strict=True)
    ):
        esp = esps[n % 2]
        lock = paid_lock(world, producer, esp)
        reg = registration(
            producer.address,
            esp.address,
            lock=lock,
            fingerprint=fp,
            detail=details()[detail],
            content=secret("genesis", n),
        )
        client = world.registry(producer)
        client.commit(reg)
        client.reveal(reg, lock, client.sign_attestation(esp, reg))
        proof = client.registered(reg.token_id).proof
        tokens[reg.token_id] = ModelToken(
            secret("genesis", n),
            fp,
            detail,
            producer.address,
            producer.address,
            esp.address,
            proof.priority_block,
            proof.commit_block,
            proof.reveal_block,
        )
    matches = DetailMatches(world.registry(world.deployer))
    burn = str(world.deployment.registry.functions.BURN().call())
    return RegistryGenesis(
        eth={a.address: world.balance(a.address) for a in (*producers, *esps)},
        esps={
            e.address: ModelEsp(stake, active=True, since_block=periods[e.address]) for e in esps
        },
        tokens=tokens,
        burn_address=burn,
        burned=world.balance(burn),
        matches=matches,
    )


def test_registry_state_machine(embedded_world: World) -> None:
    genesis = registry_genesis(embedded_world)
    run_state_machine_as_test(lambda: RegistryMachine(embedded_world, genesis), settings=SETTINGS)
