"""A Hypothesis state machine over the BatchCourt (issue 16) with the Registry, the BatchRegistry,
the EspRegistry and the HTLC's escrow around it, and a plain Python model beside them.

Producers register single images (near copies of batch items or of each other, and unrelated
ones) and batches, some under generation locks paid ahead (an older lock committed later); the
owner of a batch item challenges singles through the court (valid, and with a malformed
fingerprint proof, a proof of another item, a forged record proof, a wrong deposit, an unknown
token; in and out of order, one ESP for both), the accused, the challenger or a stranger
contests, anyone resolves with the right or a wrong opening (another detail or seed, a padded
proof, the copy's wrong detail or record) and finalizes before or after the window; tokens move,
into and out of the HTLC escrow; ordinary Registry and BatchRegistry challenges run beside, so a
copy can be revoked (and reinstated) under an open court dispute and a batch item revoked under
its own challenge. Every rule predicts its exact outcome (the custom error and its fields, or
every wei moved) from the model. After every step:

- the court holds exactly the deposits of its open (one) and contested (two) disputes and, for
  each Upheld one, its deposits, the copy's bond and the ESP slash it claimed (held until its
  `settle`: paid to the challenger after the reward hold, or, when the batched original was
  revoked since, the deposits and bond to the copy's side and the slash burned); the
  Registry, the BatchRegistry and the EspRegistry hold what their headers say; the burn address
  got exactly the burned bonds; and the Ether across the accounts, the contracts and the burn
  address is the start's less the gas paid, to the wei;
- in each collection every balance is the model's count and each token the step moved has the
  model's one owner (every token, at the end of the example);
- every disputed or ruled token's status is the model's (only a dispute or a ruling naming a
  token can change it; every token's at the end); a single leaves Revoked only through the
  Registry's `settle` reversal, and one revoked by the court was named by a court dispute that
  ended Upheld with its record (each court decision's receipt revokes exactly that single, or
  nothing; a duplicate-image ruling's exactly the later registration);
- each court dispute is the model's (so each ordered pair has at most one non-Void dispute);

and a malformed proof (fingerprint proof, record proof, item opening, detail) is refused with
its typed error naming the forged side, tried in the very state where the well-formed call then
succeeds; mined anyway it reverts, and the invariants show only its sender's gas moved. At the
end of each example every balance, owner, status and the court dispute of every (item, single)
pair is reconciled. Harness: :mod:`tests.contracts.invariant_driver`; transactions:
:mod:`tests.contracts.court_kit`. Checked to fail when the court is broken on purpose (finalize
revoking a contested, unresolved dispute; an item opening not checked).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import replace
from hashlib import sha256

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from web3.logs import DISCARD

from ledger import LockTerms, TokenStatus, errors
from ledger.clients.batch_registry import ItemOpening
from ledger.clients.registry import DisputeState
from services.provenance.detail import detail_matches
from tests.conftest import World
from tests.contracts.batch_kit import BatchPlan, random_fingerprints
from tests.contracts.court_kit import (
    DETAILS,
    Dispute,
    Escrow,
    Item,
    Ledger,
    Paid,
    SetupDriver,
    Single,
    degenerate,
    distance,
    fingerprint,
    revoked_events,
    words,
)
from tests.contracts.helpers import BASE_FP, NEAR_FP, details
from tests.contracts.invariant_driver import SETTINGS, TICK, Driver, secret

# A registration is four transactions and a court step up to four, and a resolve runs the detail
# rule on py-evm (about a second): fewer, shorter examples than the Registry's machine, enough for
# the paths that matter (the test asserts they ran); about 20 s of CPU.
COURT_SETTINGS = settings(SETTINGS, max_examples=9, stateful_step_count=10)
SEEN: Counter[str] = Counter()
PRODUCER_ACCOUNTS, ESP_ACCOUNTS = (1, 3, 4), (2, 6)  # indices into the dev accounts
ESP_STAKE = 10**18  # ten minimum stakes: no ESP is slashed out of service within an example
WHO = st.integers(0, 2)
MALFORMED_CHALLENGE = ("fp", "fp_proof", "record_fp", "record_esp", "record_priority")
MALFORMED_RESOLVE = ("detail_a", "seed", "padded", "detail_b", "record_b")


class CourtMachine(RuleBasedStateMachine):
    def __init__(self, world: World, genesis: dict):
        super().__init__()
        self.world, self.d = world, Driver(world)
        self.snapshot = world.chain.snapshot()
        dep = world.deployment
        self.registry, self.batch_registry = dep.registry, dep.batch_registry
        self.court, self.espreg, self.htlc = dep.batch_court, dep.esp_registry, dep.htlc
        self.producers = [world.accounts[i] for i in PRODUCER_ACCOUNTS]
        self.esp_accounts = [world.accounts[i] for i in ESP_ACCOUNTS]
        p = world.params
        self.bond, self.item_bond = p.registration_bond, p.batch_bond_per_item
        self.deposit, self.reward = p.challenge_deposit, p.challenge_reward
        self.window, self.hold, self.threshold = (
            p.dispute_window_blocks,
            p.reward_hold_blocks,
            p.match_threshold,
        )
        self.matches: dict[tuple[str, str], bool] = genesis["matches"]
        self.burn: str = genesis["burn"]
        self.eth: dict[str, int] = dict(genesis["eth"])
        self.ledger = Ledger(world, self.d, self.eth, first=1_000_000)
        self.singles: dict[int, Single] = {t: replace(s) for t, s in genesis["singles"].items()}
        self.items: dict[int, Item] = {t: replace(i) for t, i in genesis["items"].items()}
        self.plans: dict[int, BatchPlan] = dict(genesis["plans"])
        self.stakes: dict[str, int] = {e.address: ESP_STAKE for e in self.esp_accounts}
        self.lost: dict[str, int] = {e.address: 0 for e in self.esp_accounts}
        self.owed: dict[str, int] = {}
        self.burned = genesis["burned"]  # at the burn address
        self.batch_burned = genesis["batch_burned"]  # held by the BatchRegistry for good
        self.court_disputes: dict[tuple[int, int], Dispute] = {}
        self.court_history: dict[tuple[int, int], list[Dispute]] = {}
        self.reg_disputes: dict[tuple[int, int], Dispute] = {}
        self.batch_disputes: dict[tuple[int, int], Dispute] = {}
        self.escrows: dict[int, Escrow] = {}
        self.prepaid: list[Paid] = []
        self.revoked_by_court: dict[int, int] = {}  # single -> the item whose dispute revoked it
        self.reinstated: set[int] = set()  # singles the last step reversed (Registry `settle`)
        self.moved: set[int] = set()  # tokens the last step moved
        self.probes = 0  # malformed copies of well-formed calls tried so far
        self.image_rulings: dict[tuple[int, int], int] = {}  # (item, single) -> the one revoked
        self.genesis_singles: list[int] = genesis["order"]  # real copy, false match, same ESP
        self.last_status = {t: s.status for t, s in self.singles.items()}
        self.total = genesis["total"]

    # -- helpers

    def _account(self, address: str) -> LocalAccount:
        return next(a for a in (*self.producers, *self.esp_accounts) if a.address == address)

    def _send(self, account: LocalAccount, fn, *, value: int = 0):
        return self.ledger.send(account, fn, value=value)

    def _fails(self, account: LocalAccount, fn, error, *, value: int = 0, **fields) -> None:
        self.d.fails(account, fn, error, value=value, **fields)

    def _refused_on_chain(
        self, account: LocalAccount, fn, error, *, value: int = 0, **fields
    ) -> None:
        """A malformed proof: refused with ``error`` (simulated), then mined anyway: it reverts
        and only its gas moves (every invariant after the step checks the rest stayed)."""
        self._fails(account, fn, error, value=value, **fields)
        self.ledger.send_reverting(account, fn, value=value)

    def _accused(self, single: Single) -> str:
        return single.producer if single.owner == self.htlc.address else single.owner

    def _item_accused(self, item: Item) -> str:
        return item.producer if item.owner == self.htlc.address else item.owner

    def _slash(self, esp: str, injured: str | None) -> int:
        """``esp`` slashed: whoever is named (``injured``; None: the court), the EspRegistry owes
        every challenge slash to the burn address (paid to anyone it is farmable), so the court
        claims nothing; returns what the court holds of it (0)."""
        del injured
        cut = min(self.stakes[esp], self.world.params.esp_slash_amount)
        self.stakes[esp] -= cut
        self.lost[esp] += 1
        self.owed[self.burn] = self.owed.get(self.burn, 0) + cut
        return 0

    def _lock(self, owner: LocalAccount, esp: LocalAccount, data: st.DataObject) -> Paid:
        """A lock paid ahead by ``owner`` still inside its registration window (half the time,
        if any: its priority is older than registrations committed since), else a fresh one."""
        window = self.world.params.registration_window_blocks
        usable = [
            p
            for p in self.prepaid
            if p.terms.sender == owner.address and p.block + window >= self.d.next_block() + 1
        ]
        if usable and data.draw(st.booleans(), label="prepaid"):
            lock = data.draw(st.sampled_from(usable), label="lock")
            self.prepaid.remove(lock)
            return lock
        return self.ledger.pay(owner, esp)

    def _near(self, data: st.DataObject, label: str) -> bytes:
        """A copy of a registered image's fingerprint with 0 to threshold + 3 bits flipped in
        each word (the compact distance is about the fewest), or an unrelated one."""
        pool = sorted(
            {s.fingerprint for s in self.singles.values()}
            | {i.fingerprint for i in self.items.values()}
        )
        if data.draw(st.integers(0, 3), label=f"{label} unrelated") == 0:
            return random_fingerprints(1, seed=data.draw(st.integers(0, 2**32), label="seed"))[0]
        ws = words(data.draw(st.sampled_from(pool), label=f"{label} of"))
        flips = data.draw(st.integers(0, self.threshold + 3), label=f"{label} flips")
        for w in range(4):
            for b in data.draw(
                st.sets(st.integers(0, 63), min_size=flips, max_size=flips), label="bits"
            ):
                ws[w] ^= 1 << b
        fp = fingerprint(ws)
        return fp if not degenerate(fp) else random_fingerprints(1, seed=flips)[0]

    # -- registrations

    @initialize(contest=st.sampled_from([(), (0,), (1,), (0, 1)]))
    def challenge_the_genesis_copies(self, contest: tuple[int, ...]) -> None:
        """The batch item's owner challenges the real copy and the false match, and the owners
        of none, either or both contest: live court disputes from the first step."""
        item = next(t for t, i in self.items.items() if i.fingerprint == BASE_FP)
        for single in self.genesis_singles:
            if self._court_refusal(item, single, self.producers[0], None) is None:
                self._court_challenge(item, single, self.producers[0], None)
        for n in contest:
            self._contest((item, self.genesis_singles[n]), None, "accused", False, False)

    @rule(
        owner=WHO,
        esp=st.integers(0, 1),
        size=st.integers(0, 3),
        detail=st.sampled_from(DETAILS),
        ahead=st.integers(0, 2),
        data=st.data(),
    )
    def register(
        self, owner: int, esp: int, size: int, detail: str, ahead: int, data: st.DataObject
    ) -> None:
        """A producer registers a single image (``size`` 0) or a batch of ``size``; now and
        then it also pays a generation it registers later (an older priority, a later
        commitment)."""
        if size:
            self._register_batch(owner, esp, size, data)
            return
        producer = self.producers[owner]
        if ahead == 0:
            self.prepaid.append(self.ledger.pay(producer, self.esp_accounts[1 - esp]))
        fp = self._near(data, "single")
        lock = self._lock(producer, self.esp_accounts[esp], data)
        esp_account = self._account(lock.terms.receiver)
        token, single = self.ledger.register_single(producer, esp_account, lock, fp, detail)
        self.singles[token] = single
        self.last_status[token] = TokenStatus.ACTIVE

    def _register_batch(self, owner: int, esp: int, size: int, data: st.DataObject) -> None:
        producer = self.producers[owner]
        fps = sorted({self._near(data, f"item {i}") for i in range(size)})
        dets = [data.draw(st.sampled_from(DETAILS), label="detail") for _ in fps]
        lock = self._lock(producer, self.esp_accounts[esp], data)
        esp_account = self._account(lock.terms.receiver)
        batch_id, p, items = self.ledger.register_batch(producer, esp_account, lock, fps, dets)
        self.plans[batch_id] = p
        self.items.update(items)

    # -- the court

    def _court_candidates(self) -> list[tuple[int, int]]:
        """Pairs the model expects a challenge of to succeed (if their owner sends it)."""
        return [
            (i, s)
            for i, it in sorted(self.items.items())
            for s, sg in sorted(self.singles.items())
            if self._court_refusal(i, s, self._account_or_none(it.owner), None) is None
        ]

    def _account_or_none(self, address: str) -> LocalAccount | None:
        return next((a for a in self.producers if a.address == address), None)

    def _court_refusal(
        self, original: int, duplicate: int, who: LocalAccount | None, bad: str | None
    ) -> tuple[type, dict] | None:
        """The court's refusal of ``who``'s challenge (with ``bad`` malformed), in its order."""
        a, b = self.items[original], self.singles.get(duplicate)
        if who is None:
            return errors.CourtNotOwner, {}
        if bad == "value":
            return errors.CourtWrongValue, {"sent": self.deposit - 1, "required": self.deposit}
        if a.revoked:
            return errors.CourtTokenRevoked, {"tokenId": original}
        if bad in ("fp", "fp_proof"):
            return errors.CourtBadProof, {"tokenId": original}
        if a.owner != who.address:
            return errors.CourtNotOwner, {"tokenId": original, "caller": who.address}
        if b is None:
            return errors.CourtUnknownToken, {"tokenId": duplicate}
        if b.status is not TokenStatus.ACTIVE:
            return errors.CourtTokenRevoked, {"tokenId": duplicate}
        if bad is not None and bad.startswith("record"):
            return errors.CourtBadProof, {"tokenId": duplicate}
        if a.priority >= b.priority:
            return errors.CourtChallengeOutOfOrder, {"original": original, "duplicate": duplicate}
        if a.esp == b.esp:
            return errors.CourtSameEsp, {"original": original, "duplicate": duplicate, "esp": a.esp}
        if a.commit_block >= b.commit_block:
            return errors.CourtCommittedAfterPublication, {
                "original": original,
                "committedAt": a.commit_block,
                "duplicateCommittedAt": b.commit_block,
            }
        dist = distance(a.fingerprint, b.fingerprint)
        if dist > self.threshold:
            return errors.CourtNotAdmissible, {
                "original": original,
                "duplicate": duplicate,
                "distance": dist,
            }
        d = self.court_disputes.get((original, duplicate))
        if d is not None and d.state not in (DisputeState.VOID, DisputeState.REVERSED):
            return errors.CourtDisputeExists, {
                "original": original,
                "duplicate": duplicate,
                "state": d.state,
            }
        return None

    @rule(
        data=st.data(),
        as_owner=st.integers(0, 3),
        bad=st.sampled_from([None] * 6 + [*MALFORMED_CHALLENGE, "value", "unknown"]),
    )
    def court_challenge(self, data: st.DataObject, as_owner: int, bad: str | None) -> None:
        """The owner of a batch item (or, one time in four, anyone) challenges a single: a pair
        the model admits two times in three, any pair otherwise; now and then malformed."""
        candidates = self._court_candidates()
        if candidates and data.draw(st.integers(0, 2), label="candidate") > 0:
            original, duplicate = data.draw(st.sampled_from(candidates), label="pair")
        else:
            original = data.draw(st.sampled_from(sorted(self.items)), label="item")
            duplicate = data.draw(st.sampled_from(sorted(self.singles)), label="single")
        a = self.items[original]
        owner = self._account_or_none(a.owner)
        if owner is None:  # escrowed: its seller tries
            owner = self._account(self.escrows[original].terms.sender)
        who = owner if as_owner else self.producers[data.draw(WHO, label="stranger")]
        if bad == "unknown":
            duplicate = int.from_bytes(secret("never registered", duplicate), "big")
            bad = None
        self._court_challenge(original, duplicate, who, bad)

    def _challenge_fn(self, original: int, duplicate: int, bad: str | None):
        """The court's ``challenge`` of the pair, with one argument malformed by ``bad``."""
        a = self.items[original]
        plan = self.plans[a.batch]
        fp_a, proof_a = a.fingerprint, plan.fp_proof(a.index)
        single = self.singles.get(duplicate) or next(iter(self.singles.values()))
        record = single.proof()
        if bad == "fp":
            fp_a = NEAR_FP if fp_a != NEAR_FP else BASE_FP
        elif bad == "fp_proof":
            proof_a = plan.fp_proof((a.index + 1) % plan.count) if plan.count > 1 else [b"\1" * 32]
        elif bad == "record_fp":
            record = replace(record, fingerprint=bytes(31) + b"\1")
        elif bad == "record_esp":
            record = replace(record, esp=self.producers[0].address)
        elif bad == "record_priority":
            record = replace(record, priority_block=record.priority_block - 1)
        return self.court.functions.challenge(
            original, fp_a, list(proof_a), duplicate, record.as_tuple()
        )

    def _court_challenge(
        self, original: int, duplicate: int, who: LocalAccount, bad: str | None
    ) -> None:
        """Sends the challenge (``bad``: malformed) or asserts the model's refusal. Before a
        challenge the model admits, a malformed copy of it (each kind in turn) must be refused
        with ``CourtBadProof`` naming the forged side: in the very state where the well-formed
        one succeeds, so the proof alone is refused."""
        fn = self._challenge_fn(original, duplicate, bad)
        value = self.deposit - 1 if bad == "value" else self.deposit
        refusal = self._court_refusal(original, duplicate, who, bad)
        if refusal is not None:
            error, fields = refusal
            self._fails(who, fn, error, value=value, **fields)
            SEEN[f"challenge refused: {error.__name__}"] += 1
            return
        probe = MALFORMED_CHALLENGE[self.probes % len(MALFORMED_CHALLENGE)]
        self.probes += 1
        forged = original if probe.startswith("fp") else duplicate
        self._refused_on_chain(
            who,
            self._challenge_fn(original, duplicate, probe),
            errors.CourtBadProof,
            value=value,
            tokenId=forged,
        )
        SEEN["malformed challenge refused"] += 1
        deadline = self.d.next_block() + self.window
        receipt = self._send(who, fn, value=value)
        assert revoked_events(self.world, receipt) == []
        pair = (original, duplicate)
        self.court_disputes[pair] = Dispute(
            who.address, deadline, record_hash=self.singles[duplicate].proof().record_hash
        )
        self.court_history.setdefault(pair, []).append(self.court_disputes[pair])
        SEEN["court challenge"] += 1

    def _court_pair(self, data: st.DataObject, prefer: DisputeState) -> tuple[int, int]:
        """A pair whose dispute is in state ``prefer`` (most of the time, if any), a pair the
        court knows, or any (item, single) pair."""
        live = sorted(p for p, d in self.court_disputes.items() if d.state is prefer)
        if live and data.draw(st.integers(0, 3), label="live") > 0:
            return data.draw(st.sampled_from(live), label="pair")
        if self.court_disputes and data.draw(st.integers(0, 4), label="known") > 0:
            return data.draw(st.sampled_from(sorted(self.court_disputes)), label="pair")
        return (
            data.draw(st.sampled_from(sorted(self.items)), label="item"),
            data.draw(st.sampled_from(sorted(self.singles)), label="single"),
        )

    def _state(self, pair: tuple[int, int]) -> DisputeState:
        d = self.court_disputes.get(pair)
        return d.state if d else DisputeState.NONE

    @rule(
        data=st.data(),
        who=st.sampled_from(["accused", "accused", "owner", "challenger", "stranger"]),
        wait=st.integers(0, 3),
        bad_value=st.integers(0, 9),
    )
    def court_contest(self, data: st.DataObject, who: str, wait: int, bad_value: int) -> None:
        """The accused (the single's owner, its producer while escrowed), its seller, the
        challenger or anyone contests; now or after the window; now and then underpaid."""
        pair = self._court_pair(data, DisputeState.OPEN)
        self._contest(pair, data, who, wait == 0, bad_value == 0)

    def _contest(
        self,
        pair: tuple[int, int],
        data: st.DataObject | None,
        who: str,
        wait: bool,
        underpaid: bool,
    ) -> None:
        original, duplicate = pair
        b, d = self.singles[duplicate], self.court_disputes.get(pair)
        if who == "accused":
            sender = self._account(self._accused(b))
        elif who == "owner":
            escrow = self.escrows.get(duplicate)
            sender = self._account(escrow.terms.sender if escrow else b.owner)
        elif who == "challenger" and d is not None:
            sender = self._account(d.challenger)
        else:
            sender = self.producers[data.draw(WHO, label="stranger")]
        if wait and d is not None and self.d.next_block() <= d.deadline:
            self.world.chain.mine(d.deadline + 1 - self.d.next_block())
        fn = self.court.functions.contest(original, duplicate)
        value = self.deposit - 1 if underpaid else self.deposit
        state = self._state(pair)
        if underpaid:
            self._fails(
                sender, fn, errors.CourtWrongValue, value=value, sent=value, required=self.deposit
            )
        elif state is not DisputeState.OPEN:
            self._fails(
                sender,
                fn,
                errors.CourtDisputeState,
                value=value,
                original=original,
                duplicate=duplicate,
                state=state,
            )
        elif self.d.next_block() > d.deadline:
            self._fails(
                sender,
                fn,
                errors.CourtDisputeWindow,
                value=value,
                original=original,
                duplicate=duplicate,
                deadline=d.deadline,
            )
            SEEN["contest too late"] += 1
        elif self._accused(b) != sender.address:
            self._fails(
                sender,
                fn,
                errors.CourtNotOwner,
                value=value,
                tokenId=duplicate,
                caller=sender.address,
            )
            SEEN["contest by a stranger refused"] += 1
        else:
            deadline = self.d.next_block() + self.window
            receipt = self._send(sender, fn, value=value)
            assert revoked_events(self.world, receipt) == []
            d.state, d.contester, d.deadline = DisputeState.CONTESTED, sender.address, deadline
            SEEN["contested" + (" from escrow" if b.owner == self.htlc.address else "")] += 1

    @rule(data=st.data(), bad=st.sampled_from([None] * 5 + list(MALFORMED_RESOLVE)))
    def court_resolve(self, data: st.DataObject, bad: str | None) -> None:
        """Anyone decides a contested challenge with the item's opening and the single's detail
        and record: right, or one of them wrong."""
        self._resolve(self._court_pair(data, DisputeState.CONTESTED), data, bad)

    def _resolve(self, pair: tuple[int, int], data: st.DataObject, bad: str | None) -> None:
        original, duplicate = pair
        a, b, d = self.items[original], self.singles[duplicate], self.court_disputes.get(pair)
        who = self.producers[data.draw(WHO, label="caller")]
        plan = self.plans[a.batch]
        opening = plan.opening(a.index)
        detail_a, detail_b, record = details()[a.detail], details()[b.detail], b.proof()
        other = {"base": "far", "near": "far", "far": "base"}
        if bad == "detail_a":
            detail_a = details()[other[a.detail]]
        elif bad == "seed":
            opening = replace(opening, seed=opening.seed + 1)
        elif bad == "padded":
            opening = ItemOpening(opening.content_hash, opening.seed, (*opening.proof, b"\1" * 32))
        elif bad == "detail_b":
            detail_b = details()[other[b.detail]]
        elif bad == "record_b":
            record = replace(record, esp=a.esp if a.esp != b.esp else self.producers[0].address)
        fn = self.court.functions.resolve(
            original, duplicate, detail_a, opening.as_tuple(), detail_b, record.as_tuple()
        )
        state = self._state(pair)
        if state is not DisputeState.CONTESTED:
            self._fails(
                who,
                fn,
                errors.CourtDisputeState,
                original=original,
                duplicate=duplicate,
                state=state,
            )
            return
        if bad is not None:
            forged = duplicate if bad in ("detail_b", "record_b") else original
            self._refused_on_chain(who, fn, errors.CourtBadProof, tokenId=forged)
            SEEN["malformed resolve refused"] += 1
            return
        # A malformed copy of this well-formed resolve (each kind in turn) is refused first.
        probe = MALFORMED_RESOLVE[self.probes % len(MALFORMED_RESOLVE)]
        self.probes += 1
        self._resolve(pair, data, probe)
        receipt = self._send(who, fn)
        if b.status is not TokenStatus.ACTIVE:
            d.state = DisputeState.VOID
            self.eth[d.challenger] += self.deposit
            self.eth[d.contester] += self.deposit
        elif not a.revoked and self.matches[a.detail, b.detail]:
            self._uphold(pair, d, 2)
        else:
            d.state = DisputeState.REJECTED
            self.eth[d.contester] += 2 * self.deposit
        self._decided(pair, d, receipt)
        SEEN[f"resolve: {d.state.name}"] += 1

    def _uphold(self, pair: tuple[int, int], d: Dispute, deposits: int) -> None:
        original, duplicate = pair
        b = self.singles[duplicate]
        d.state = DisputeState.UPHELD
        b.status = TokenStatus.REVOKED
        self.revoked_by_court[duplicate] = original
        # Nothing paid: deposits, bond and the slash (claimed by the court) held for the hold.
        assert deposits == (2 if d.contester else 1)
        d.deadline = self.d.next_block() - 1 + self.hold
        d.slash = self._slash(b.esp, None)

    def _decided(self, pair: tuple[int, int], d: Dispute, receipt) -> None:
        """The decision's receipt revokes exactly the named single when Upheld, else nothing."""
        original, duplicate = pair
        expected = [(duplicate, original)] if d.state is DisputeState.UPHELD else []
        assert revoked_events(self.world, receipt) == expected

    @rule(data=st.data(), wait=st.integers(0, 2), bad=st.integers(0, 5))
    def court_finalize(self, data: st.DataObject, wait: int, bad: int) -> None:
        """Anyone decides a challenge: now (mostly too early) or after its window; now and then
        with the single's record forged (checked only when it would revoke)."""
        self._finalize(self._court_pair(data, DisputeState.OPEN), data, wait == 0, bad == 0)

    def _finalize(
        self, pair: tuple[int, int], data: st.DataObject, wait: bool, forged: bool
    ) -> None:
        original, duplicate = pair
        a, b, d = self.items[original], self.singles[duplicate], self.court_disputes.get(pair)
        who = self.producers[data.draw(WHO, label="caller")]
        if wait and d is not None and self.d.next_block() <= d.deadline:
            self.world.chain.mine(d.deadline + 1 - self.d.next_block())
        record = b.proof()
        if forged:
            record = replace(record, reveal_block=record.reveal_block + 1)
        fn = self.court.functions.finalize(original, duplicate, record.as_tuple())
        state = self._state(pair)
        if state not in (DisputeState.OPEN, DisputeState.CONTESTED):
            self._fails(
                who,
                fn,
                errors.CourtDisputeState,
                original=original,
                duplicate=duplicate,
                state=state,
            )
            return
        if self.d.next_block() <= d.deadline:
            self._fails(
                who,
                fn,
                errors.CourtDisputeWindow,
                original=original,
                duplicate=duplicate,
                deadline=d.deadline,
            )
            SEEN["finalize too early"] += 1
            return
        contested = state is DisputeState.CONTESTED
        would_uphold = b.status is TokenStatus.ACTIVE and not contested and not a.revoked
        if would_uphold:  # the forged record refused (also just before the right one)
            bad_record = replace(b.proof(), reveal_block=b.reveal_block + 1)
            bad_fn = self.court.functions.finalize(original, duplicate, bad_record.as_tuple())
            self._refused_on_chain(who, bad_fn, errors.CourtBadProof, tokenId=duplicate)
            SEEN["forged finalize refused"] += 1
            if forged:
                return
        receipt = self._send(who, fn)
        if b.status is not TokenStatus.ACTIVE:
            d.state = DisputeState.VOID
            self.eth[d.challenger] += self.deposit
            if contested:
                self.eth[d.contester] += self.deposit
        elif contested:
            d.state = DisputeState.REJECTED
            self.eth[d.contester] += 2 * self.deposit
        elif a.revoked:
            d.state = DisputeState.REJECTED
            self.eth[self._accused(b)] += self.deposit
        else:
            self._uphold(pair, d, 1)
        self._decided(pair, d, receipt)
        SEEN[f"finalize: {d.state.name}" + (" contested" if contested else "")] += 1

    def _settle_court_wins(self, who: LocalAccount) -> None:
        """``who`` settles every held court win it can: reversed when the batched original was
        revoked since (the copy's side compensated, the slash burned), paid after the hold; one
        still within its hold is refused (``CourtRewardHeld``). Draws nothing, so the machine's
        other rules are drawn as before the hold."""
        for pair, d in sorted(self.court_disputes.items()):
            if d.state is not DisputeState.UPHELD:
                continue
            original, duplicate = pair
            a, b = self.items[original], self.singles[duplicate]
            fn = self.court.functions.settle(original, duplicate)
            if not a.revoked and self.d.next_block() < d.deadline:
                self._fails(
                    who,
                    fn,
                    errors.CourtRewardHeld,
                    duplicate=duplicate,
                    releasableAtBlock=d.deadline,
                )
                SEEN["court settle held"] += 1
                continue
            deposits = d.held * self.deposit
            receipt = self._send(who, fn)
            assert revoked_events(self.world, receipt) == []  # the single stays revoked
            if a.revoked:
                d.state = DisputeState.REVERSED
                self.eth[d.contester or self._accused(b)] += deposits + self.bond
                self.burned += d.slash
            else:
                d.state = DisputeState.SETTLED
                self.eth[d.challenger] += deposits + self.reward + d.slash
                self.burned += self.bond - self.reward
            SEEN[f"court settle: {d.state.name}"] += 1
            settled = self.court.functions.settle(original, duplicate)
            self._fails(  # once
                who,
                settled,
                errors.CourtDisputeState,
                original=original,
                duplicate=duplicate,
                state=d.state,
            )

    @rule(data=st.data(), contest=st.integers(0, 3), resolve=st.integers(0, 2))
    def court_to_the_end(self, data: st.DataObject, contest: int, resolve: int) -> None:
        """Drives a live court dispute on: the accused contests (3 times in 4), then it is
        resolved (2 times in 3) or finalized after the window."""
        live = sorted(
            pair
            for pair, d in self.court_disputes.items()
            if d.state in (DisputeState.OPEN, DisputeState.CONTESTED)
        )
        if not live:
            return
        pair = data.draw(st.sampled_from(live), label="pair")
        if contest and self.court_disputes[pair].state is DisputeState.OPEN:  # 3 times in 4
            self._contest(pair, data, "accused", False, False)
        if self.court_disputes[pair].state is DisputeState.CONTESTED and resolve:
            self._resolve(pair, data, None)
        else:
            self._finalize(pair, data, True, False)

    # -- one image registered in a batch and alone under one ESP (`revokeDuplicateImage`)

    def _register_same_image(
        self, data: st.DataObject, same_producer: bool, alone_later: bool
    ) -> None:
        """A batch item's bytes registered again alone, or a single's again in a batch (of one),
        under the same ESP, by the same producer or another payer."""
        if alone_later:
            item = data.draw(st.sampled_from(sorted(self.items)), label="item")
            i = self.items[item]
            token = int.from_bytes(i.content_hash, "big")
            if token in self.singles:  # the Registry refuses the same bytes twice
                return
            producer = self._producer(i.producer, same_producer, data)
            esp = self._account(i.esp)
            lock = self.ledger.pay(producer, esp)
            token, single = self.ledger.register_single(
                producer, esp, lock, i.fingerprint, i.detail, content_hash=i.content_hash
            )
            self.singles[token] = single
            self.last_status[token] = TokenStatus.ACTIVE
        else:
            token = data.draw(st.sampled_from(sorted(self.singles)), label="single")
            sg = self.singles[token]
            producer = self._producer(sg.producer, same_producer, data)
            esp = self._account(sg.esp)
            lock = self.ledger.pay(producer, esp)
            batch_id, p, items = self.ledger.register_batch(
                producer,
                esp,
                lock,
                [sg.fingerprint],
                [sg.detail],
                same_bytes=(sg.fingerprint, token.to_bytes(32, "big")),
            )
            self.plans[batch_id] = p
            self.items.update(items)
        SEEN["same image registered twice"] += 1

    def _same_image_pairs(self) -> list[tuple[int, int]]:
        return [
            (i, s)
            for i, it in sorted(self.items.items())
            for s in sorted(self.singles)
            if int.from_bytes(it.content_hash, "big") == s
        ]

    def _producer(self, address: str, same: bool, data: st.DataObject) -> LocalAccount:
        if same:
            return self._account(address)
        others = [p for p in self.producers if p.address != address]
        return data.draw(st.sampled_from(others), label="other payer")

    @rule(
        data=st.data(),
        caller=WHO,
        bad=st.sampled_from([None, None, None, "opening", "record", "other"]),
    )
    def revoke_duplicate_image(self, data: st.DataObject, caller: int, bad: str | None) -> None:
        """Anyone asks the court to rule on one image registered twice (an item and a single
        of the same bytes, mostly: registered here first, one time in three or when there is
        none): the later publication of one producer, or the later lock of two payers, is
        revoked; now and then with a malformed opening or record, or a single of other bytes."""
        pairs = self._same_image_pairs()
        if not pairs or data.draw(st.integers(0, 2), label="register first") == 0:
            self._register_same_image(
                data,
                data.draw(st.booleans(), label="same producer"),
                data.draw(st.booleans(), label="alone later"),
            )
            pairs = self._same_image_pairs()
        if pairs and bad != "other":
            item, single = data.draw(st.sampled_from(pairs), label="pair")
        else:
            item = data.draw(st.sampled_from(sorted(self.items)), label="item")
            single = data.draw(st.sampled_from(sorted(self.singles)), label="single")
        a, b = self.items[item], self.singles[single]
        who = self.producers[caller]
        opening = self.plans[a.batch].opening(a.index)
        if bad == "opening":
            opening = replace(opening, seed=opening.seed + 1)
        record = b.proof()
        if bad == "record":
            record = replace(record, esp=self.producers[0].address)
        fn = self.court.functions.revokeDuplicateImage(
            item, keccak(details()[a.detail]), opening.as_tuple(), single, record.as_tuple()
        )
        same_bytes = int.from_bytes(a.content_hash, "big") == single
        two_payers = a.producer != b.producer
        refusal: tuple[type, dict] | None = None
        if a.revoked:
            refusal = errors.CourtTokenRevoked, {"tokenId": item}
        elif bad == "opening":
            refusal = errors.CourtBadProof, {"tokenId": item}
        elif not same_bytes:
            refusal = errors.CourtNotSameImage, {"item": item, "single": single}
        elif b.status is not TokenStatus.ACTIVE:
            refusal = errors.CourtTokenRevoked, {"tokenId": single}
        elif bad == "record":
            refusal = errors.CourtBadProof, {"tokenId": single}
        elif a.esp != b.esp:
            refusal = errors.CourtNotSameEsp, {"item": item, "single": single}
        elif two_payers and a.priority == b.priority:
            refusal = errors.CourtChallengeOutOfOrder, {"original": item, "duplicate": single}
        if refusal is not None:
            error, fields = refusal
            if bad in ("opening", "record"):
                self._refused_on_chain(who, fn, error, **fields)
            else:
                self._fails(who, fn, error, **fields)
            SEEN[f"image ruling refused: {error.__name__}"] += 1
            return
        item_first = a.priority < b.priority if two_payers else a.reveal_block < b.reveal_block
        receipt = self._send(who, fn)
        self.eth[who.address] += self.reward
        self.image_rulings[item, single] = single if item_first else item
        if item_first:
            assert revoked_events(self.world, receipt) == [(single, item)]
            b.status = TokenStatus.REVOKED
            self.burned += self.bond - self.reward
        else:
            assert revoked_events(self.world, receipt) == []
            a.revoked = True
            self.batch_burned += self.item_bond - self.reward
        if two_payers:  # the ESP sold one image twice: its slash is burned, nobody is paid it
            self._slash(a.esp, self.burn)
        SEEN[
            "image ruling: "
            + ("single" if item_first else "item")
            + (" (two payers)" if two_payers else "")
        ] += 1

    # -- the Registry's and the BatchRegistry's own challenges

    def _registry_pairs(self) -> list[tuple[int, int]]:
        return [
            (x, y)
            for x, a in sorted(self.singles.items())
            for y, b in sorted(self.singles.items())
            if a.status is TokenStatus.ACTIVE
            and b.status is TokenStatus.ACTIVE
            and a.owner != self.htlc.address
            and a.priority < b.priority
            and a.esp != b.esp
            and a.commit_block < b.commit_block
            and distance(a.fingerprint, b.fingerprint) <= self.threshold
            and self.reg_disputes.get((x, y), Dispute("", 0, DisputeState.VOID)).state
            is DisputeState.VOID
        ]

    @rule(data=st.data(), decide=st.booleans(), wait=st.booleans())
    def registry_step(self, data: st.DataObject, decide: bool, wait: bool) -> None:
        """A Registry challenge between singles is opened, or one is decided or settled."""
        pairs = self._registry_pairs()
        live = any(
            d.state in (DisputeState.OPEN, DisputeState.UPHELD) for d in self.reg_disputes.values()
        )
        if (decide and live) or not pairs:
            self._registry_decide(data, wait)
            return
        original, duplicate = data.draw(st.sampled_from(pairs), label="pair")
        a, b = self.singles[original], self.singles[duplicate]
        who = self._account(a.owner)
        deadline = self.d.next_block() + self.window
        fn = self.registry.functions.challenge(
            original, duplicate, a.proof().as_tuple(), b.proof().as_tuple()
        )
        self._send(who, fn, value=self.deposit)
        self.reg_disputes[original, duplicate] = Dispute(who.address, deadline)
        SEEN["registry challenge"] += 1

    def _registry_decide(self, data: st.DataObject, wait: bool) -> None:
        """Anyone finalizes an open Registry challenge after its window, or settles an upheld
        one (after its hold, or at once when its winner was revoked since: a reversal)."""
        live = sorted(
            p
            for p, d in self.reg_disputes.items()
            if d.state in (DisputeState.OPEN, DisputeState.UPHELD)
        )
        if not live:
            return
        pair = data.draw(st.sampled_from(live), label="pair")
        original, duplicate = pair
        a, b, d = self.singles[original], self.singles[duplicate], self.reg_disputes[pair]
        who = self.producers[data.draw(WHO, label="caller")]
        if d.state is DisputeState.OPEN:
            if self.d.next_block() <= d.deadline:
                self.world.chain.mine(d.deadline + 1 - self.d.next_block())
            self._send(who, self.registry.functions.finalize(original, duplicate))
            if b.status is not TokenStatus.ACTIVE:
                d.state = DisputeState.VOID
                self.eth[d.challenger] += self.deposit
            elif a.status is not TokenStatus.ACTIVE:
                d.state = DisputeState.REJECTED
                self.eth[self._accused(b)] += self.deposit
            else:
                d.state, b.status = DisputeState.UPHELD, TokenStatus.REVOKED
                d.deadline = self.d.next_block() - 1 + self.hold
            SEEN[f"registry finalize: {d.state.name}"] += 1
            return
        fn = self.registry.functions.settle(original, duplicate, b.proof().as_tuple())
        if a.status is TokenStatus.REVOKED:
            self._send(who, fn)
            d.state, b.status = DisputeState.REVERSED, TokenStatus.ACTIVE
            self.reinstated.add(duplicate)
            self.eth[self._accused(b)] += self.deposit
        else:
            if wait and self.d.next_block() < d.deadline:
                self.world.chain.mine(d.deadline - self.d.next_block())
            if self.d.next_block() < d.deadline:
                self._fails(
                    who,
                    fn,
                    errors.RegistryRewardHeld,
                    duplicate=duplicate,
                    releasableAtBlock=d.deadline,
                )
                return
            self._send(who, fn)
            d.state = DisputeState.SETTLED
            self.eth[d.challenger] += self.deposit + self.reward
            self.burned += self.bond - self.reward
            self._slash(b.esp, d.challenger)
        SEEN[f"registry settle: {d.state.name}"] += 1

    def _original(self, token: int) -> tuple[bool, str, int, int, str, bytes, str] | None:
        """(single?, owner, priority, commit block, ESP, fingerprint, ...) of an active
        original that its owner holds."""
        if token in self.singles:
            s = self.singles[token]
            if s.status is not TokenStatus.ACTIVE:
                return None
            return True, s.owner, s.priority, s.commit_block, s.esp, s.fingerprint, s.detail
        i = self.items[token]
        if i.revoked:
            return None
        return False, i.owner, i.priority, i.commit_block, i.esp, i.fingerprint, i.detail

    def _batch_pairs(self) -> list[tuple[int, int]]:
        pairs = []
        for x in [*sorted(self.singles), *sorted(self.items)]:
            a = self._original(x)
            if a is None or a[1] == self.htlc.address:
                continue
            for y, b in sorted(self.items.items()):
                if (
                    x != y
                    and not b.revoked
                    and a[2] < b.priority
                    and a[4] != b.esp
                    and a[3] < b.commit_block
                    and distance(a[5], b.fingerprint) <= self.threshold
                    and self.batch_disputes.get((x, y), Dispute("", 0, DisputeState.VOID)).state
                    is DisputeState.VOID
                ):
                    pairs.append((x, y))
        return pairs

    @rule(data=st.data(), decide=st.booleans())
    def batch_step(self, data: st.DataObject, decide: bool) -> None:
        """An earlier item's owner (`challenge`) or single's owner (`challengeWithSingle`)
        challenges a later batched copy at the BatchRegistry (admissible pairs), or such a
        challenge is decided or settled."""
        pairs = self._batch_pairs()
        live = any(
            d.state in (DisputeState.OPEN, DisputeState.UPHELD)
            for d in self.batch_disputes.values()
        )
        if decide and live:
            self._batch_decide(data)
            return
        if not pairs:  # a batch of near copies first (swarm testing may have disabled the rule)
            self._register_batch(data.draw(WHO, label="owner"), 1, 2, data)
            pairs = self._batch_pairs()
        if not pairs:
            return
        original, duplicate = data.draw(st.sampled_from(pairs), label="pair")
        b = self.items[duplicate]
        proof_b = self.plans[b.batch].fp_proof(b.index)
        fns = self.batch_registry.functions
        if original in self.singles:
            a = self.singles[original]
            fn = fns.challengeWithSingle(
                original, a.proof().as_tuple(), duplicate, b.fingerprint, proof_b
            )
        else:
            a = self.items[original]
            proof_a = self.plans[a.batch].fp_proof(a.index)
            fn = fns.challenge(original, a.fingerprint, proof_a, duplicate, b.fingerprint, proof_b)
        deadline = self.d.next_block() + self.window
        self._send(self._account(a.owner), fn, value=self.deposit)
        self.batch_disputes[original, duplicate] = Dispute(a.owner, deadline)
        SEEN["batch challenge" + (" by a single" if original in self.singles else "")] += 1

    def _batch_decide(self, data: st.DataObject) -> None:
        """Anyone finalizes an open BatchRegistry challenge after its window, or settles an
        upheld one (slashing the copy's ESP)."""
        live = sorted(
            p
            for p, d in self.batch_disputes.items()
            if d.state in (DisputeState.OPEN, DisputeState.UPHELD)
        )
        if not live:
            return
        pair = data.draw(st.sampled_from(live), label="pair")
        original, duplicate = pair
        b, d = self.items[duplicate], self.batch_disputes[pair]
        who = self.producers[data.draw(WHO, label="caller")]
        if d.state is DisputeState.UPHELD:
            fn = self.batch_registry.functions.settle(original, duplicate)
            if self._original_revoked(original):
                self._send(who, fn)
                d.state, b.revoked = DisputeState.REVERSED, False
                self.eth[self._item_accused(b)] += self.deposit
            else:
                if self.d.next_block() < d.deadline and data.draw(st.booleans(), label="wait"):
                    self.world.chain.mine(d.deadline - self.d.next_block())
                if self.d.next_block() < d.deadline:
                    self._fails(
                        who,
                        fn,
                        errors.BatchRewardHeld,
                        duplicate=duplicate,
                        releasableAtBlock=d.deadline,
                    )
                    return
                self._send(who, fn)
                d.state = DisputeState.SETTLED
                self.eth[d.challenger] += self.deposit + self.reward
                self.batch_burned += self.item_bond - self.reward
                self._slash(b.esp, d.challenger)
            SEEN[f"batch settle: {d.state.name}"] += 1
            return
        if self.d.next_block() <= d.deadline:
            self.world.chain.mine(d.deadline + 1 - self.d.next_block())
        self._send(who, self.batch_registry.functions.finalize(original, duplicate))
        if b.revoked:
            d.state = DisputeState.VOID
            self.eth[d.challenger] += self.deposit
        elif self._original(original) is None:
            d.state = DisputeState.REJECTED
            self.eth[self._item_accused(b)] += self.deposit
        else:
            d.state, b.revoked = DisputeState.UPHELD, True  # nothing paid: held until `settle`
            d.deadline = self.d.next_block() - 1 + self.hold
        SEEN[f"batch finalize: {d.state.name}"] += 1

    def _original_revoked(self, token: int) -> bool:
        """A BatchRegistry challenge's original (a single or an item) is revoked now."""
        if token in self.singles:
            return self.singles[token].status is TokenStatus.REVOKED
        return self.items[token].revoked

    # -- tokens moving, compensation, time

    def _token(self, data: st.DataObject) -> tuple[int, Single | Item]:
        token = data.draw(st.sampled_from([*sorted(self.singles), *sorted(self.items)]), "token")
        return token, self.singles.get(token) or self.items[token]

    def _transfer(self, data: st.DataObject, to: int) -> None:
        """An owner moves a token (a revoked one is refused with its collection's error)."""
        token, t = self._token(data)
        if t.owner == self.htlc.address:
            return
        owner, receiver = self._account(t.owner), self.producers[to]
        single = isinstance(t, Single)
        contract = self.registry if single else self.batch_registry
        fn = contract.functions.transferFrom(owner.address, receiver.address, token)
        if (t.status is TokenStatus.REVOKED) if single else t.revoked:
            error = errors.RegistryTokenRevoked if single else errors.BatchTokenRevoked
            self._fails(owner, fn, error, tokenId=token)
            SEEN["revoked token stayed"] += 1
            return
        # a single moves only once no earlier payer can reclaim it from its holder; an item
        # only once no earlier payer can register its image and have the court revoke it
        p = self.world.params
        until = t.reveal_block + p.registration_window_blocks + p.commit_ttl_blocks
        if self.d.next_block() <= until:
            held = errors.RegistryTokenReclaimable if single else errors.BatchTokenReclaimable
            self._fails(owner, fn, held, tokenId=token, untilBlock=until)
            SEEN["move refused: reclaimable"] += 1
            return
        self._send(owner, fn)
        t.owner = receiver.address
        self.moved.add(token)

    @rule(data=st.data(), to=WHO, how=st.integers(0, 3), withdraw=st.booleans())
    def move(self, data: st.DataObject, to: int, how: int, withdraw: bool) -> None:
        """An owner moves a token (``how`` 0), or locks an active one in the HTLC for a buyer
        (a pending sale), or such a sale ends (``how`` 1, if any)."""
        if how == 0:
            self._transfer(data, to)
            return
        if self.escrows and how == 1:
            self._escrow_end(data, withdraw)
            return
        token, t = self._token(data)
        single = isinstance(t, Single)
        revoked = (t.status is TokenStatus.REVOKED) if single else t.revoked
        if t.owner == self.htlc.address or revoked:
            return
        owner = self._account(t.owner)
        buyer = [p for p in self.producers if p != owner][to % 2]
        contract = self.registry if single else self.batch_registry
        # the escrow takes a token only once its hold is over (an item's too; the BatchRegistry
        # checks the escrow's approval first, the Registry its hold)
        if not single:
            self._send(owner, contract.functions.approve(self.htlc.address, token))
        p = self.world.params
        until = t.reveal_block + p.registration_window_blocks + p.commit_ttl_blocks
        if self.d.next_block() <= until:
            fn = self.htlc.functions.lockERC721(
                contract.address,
                token,
                buyer.address,
                bytes(32),
                self.d.pending_timestamp() + 10 * TICK,
            )
            held = errors.RegistryTokenReclaimable if single else errors.BatchTokenReclaimable
            self._fails(owner, fn, held, tokenId=token, untilBlock=until)
            SEEN["listing refused: reclaimable"] += 1
            self.world.chain.mine(until + 1 - self.d.next_block())  # then it is listed
        self._send(owner, contract.functions.approve(self.htlc.address, token))
        preimage = secret("sale", token, self.d.next_block())
        timelock = self.d.pending_timestamp() + 10 * TICK
        receipt = self._send(
            owner,
            self.htlc.functions.lockERC721(
                contract.address, token, buyer.address, sha256(preimage).digest(), timelock
            ),
        )
        (log,) = self.htlc.events.Locked().process_receipt(receipt, errors=DISCARD)
        terms = LockTerms.from_event(dict(log["args"]))
        self.escrows[token] = Escrow(terms, preimage, "single" if single else "item")
        t.owner = self.htlc.address
        self.moved.add(token)
        SEEN["escrowed"] += 1

    def _escrow_end(self, data: st.DataObject, withdraw: bool) -> None:
        """The buyer takes an escrowed token with the secret before the timelock, or the
        seller refunds it at the timelock (a revoked token leaves the escrow too)."""
        if not self.escrows:
            return
        token = data.draw(st.sampled_from(sorted(self.escrows)), label="escrowed")
        e = self.escrows.pop(token)
        t = self.singles.get(token) or self.items[token]
        self.moved.add(token)
        if withdraw and self.d.pending_timestamp() < e.terms.timelock:
            buyer = self._account(e.terms.receiver)
            self._send(buyer, self.htlc.functions.withdraw(e.terms.as_tuple(), e.preimage))
            t.owner = buyer.address
        else:
            self.d.advance_to(e.terms.timelock)
            seller = self._account(e.terms.sender)
            self._send(seller, self.htlc.functions.refund(e.terms.as_tuple()))
            t.owner = seller.address

    @rule(who=WHO, blocks=st.sampled_from([0, 1, 4, 11]))
    def pass_time_or_claim(self, who: int, blocks: int) -> None:
        """Blocks pass (and ``who`` settles the held court wins it can), or a challenger claims
        the ESP stake slashed to it (or has none)."""
        if blocks:
            self.world.chain.mine(blocks)
            self._settle_court_wins(self.producers[who])
            return
        account = self.producers[who]
        fn = self.espreg.functions.claimCompensation()
        owed = self.owed.get(account.address, 0)
        if not owed:
            self._fails(account, fn, errors.NoCompensation, caller=account.address)
            return
        self._send(account, fn)
        self.eth[account.address] += owed
        self.owed[account.address] = 0

    # -- invariants

    @invariant()
    def contracts_hold_exactly_their_invariants(self) -> None:
        court = sum(d.held for d in self.court_disputes.values())
        upheld = [d for d in self.court_disputes.values() if d.state is DisputeState.UPHELD]
        assert self.d.balance(self.court.address) == self.deposit * court + sum(
            self.bond + d.slash for d in upheld
        )
        # the court claims each slash in the transaction that credits it
        assert self.espreg.functions.compensationOf(self.court.address).call(self.d.caller) == 0
        active = sum(s.status is TokenStatus.ACTIVE for s in self.singles.values())
        upheld = sum(d.state is DisputeState.UPHELD for d in self.reg_disputes.values())
        reg_held = sum(d.held for d in self.reg_disputes.values())
        assert self.d.balance(self.registry.address) == (
            self.bond * (active + upheld) + self.deposit * reg_held
        )
        # an item revoked by an Upheld challenge keeps its bond there until `settle`
        items = sum(not i.revoked for i in self.items.values()) + sum(
            d.state is DisputeState.UPHELD for d in self.batch_disputes.values()
        )
        batch_held = sum(d.held for d in self.batch_disputes.values())
        assert self.d.balance(self.batch_registry.address) == (
            self.item_bond * items + self.deposit * batch_held + self.batch_burned
        )
        assert self.d.balance(self.espreg.address) == sum(self.stakes.values()) + sum(
            self.owed.values()
        )
        assert self.d.balance(self.burn) == self.burned
        assert self.d.balance(self.htlc.address) == 0  # every generation fee was claimed

    @invariant()
    def ether_is_conserved(self) -> None:
        held = sum(
            self.d.balance(a)
            for a in (
                *self.eth,
                self.court.address,
                self.registry.address,
                self.batch_registry.address,
                self.espreg.address,
                self.htlc.address,
                self.burn,
            )
        )
        assert held + self.ledger.gas == self.total

    @invariant()
    def one_owner_per_token_and_the_models_status(self) -> None:
        """Each balance is the model's count; each moved token's owner and each disputed or
        ruled token's status the model's (every token's at the end: ``_reconcile``). Only a
        dispute or a ruling naming a token can change its status, and a court revocation also
        moves the Registry's Ether (checked every step). Reads cost milliseconds on py-evm:
        this keeps a step's reads to the tokens it can have changed."""
        call = self.d.caller
        counts: Counter[tuple[str, str]] = Counter()
        disputed = {
            t
            for pair in [
                *self.court_disputes,
                *self.reg_disputes,
                *self.batch_disputes,
                *self.image_rulings,
            ]
            for t in pair
        }
        for token in self.moved:
            t = self.singles.get(token) or self.items[token]
            contract = self.registry if token in self.singles else self.batch_registry
            assert contract.functions.ownerOf(token).call(call) == t.owner, token
        self.moved.clear()
        for token, s in self.singles.items():
            counts["single", s.owner] += 1
            if token not in disputed:
                continue
            status = TokenStatus(self.registry.functions.recordOf(token).call(call)[2])
            assert status is s.status, token
            if self.last_status[token] is TokenStatus.REVOKED and status is TokenStatus.ACTIVE:
                assert token in self.reinstated, f"{token} left Revoked without a reversal"
            self.last_status[token] = status
        self.reinstated.clear()
        for token, i in self.items.items():
            if token in disputed:
                self._check_item_status(token, i)
            counts["item", i.owner] += 1
        for a in [*(p.address for p in self.producers), self.htlc.address]:
            assert self.registry.functions.balanceOf(a).call(call) == counts["single", a]
            assert self.batch_registry.functions.balanceOf(a).call(call) == counts["item", a]

    def _check_item_status(self, token: int, item: Item) -> None:
        status = TokenStatus(self.batch_registry.functions.statusOf(token).call(self.d.caller))
        assert status is (TokenStatus.REVOKED if item.revoked else TokenStatus.ACTIVE), token

    @invariant()
    def court_disputes_are_the_models(self) -> None:
        call = self.d.caller
        for (original, duplicate), d in self.court_disputes.items():
            got = self.court.functions.disputeOf(original, duplicate).call(call)
            assert (got[0], got[1], DisputeState(got[2])) == (d.challenger, d.deadline, d.state)
            assert (int(got[4]), bytes(got[5])) == (d.slash, d.record_hash)
        for single, original in self.revoked_by_court.items():
            d = self.court_disputes[original, single]
            if self.singles[single].status is TokenStatus.REVOKED:
                # its win held, paid or compensated: the court never reinstates a single
                assert d.state in (DisputeState.UPHELD, DisputeState.SETTLED, DisputeState.REVERSED)
                assert d.record_hash == self.singles[single].proof().record_hash
        for history in self.court_history.values():  # again only after a Void or a Reversed
            assert all(d.state in (DisputeState.VOID, DisputeState.REVERSED) for d in history[:-1])

    def teardown(self) -> None:
        try:
            if sys.exc_info()[0] is None:  # a failed step's gas was never debited: no reconcile
                # Every held court win is settled at the end (after its hold, or reversed), and
                # the contracts still hold exactly their invariants (no draw: same examples).
                self.world.chain.mine(self.hold)
                self._settle_court_wins(self.producers[0])
                self.contracts_hold_exactly_their_invariants()
                self.ether_is_conserved()
                self.court_disputes_are_the_models()
                self._reconcile()
        finally:
            self.world.chain.revert(self.snapshot)

    def _reconcile(self) -> None:
        """Every balance, and every (item, single) pair's court dispute (None unless opened)."""
        call = self.d.caller
        for address, expected in self.eth.items():
            assert self.d.balance(address) == expected, address
        for token, s in self.singles.items():
            assert self.registry.functions.ownerOf(token).call(call) == s.owner, token
            status = TokenStatus(self.registry.functions.recordOf(token).call(call)[2])
            assert status is s.status, token
        for token, i in self.items.items():
            assert self.batch_registry.functions.ownerOf(token).call(call) == i.owner, token
            self._check_item_status(token, i)
        for original in self.items:
            for duplicate in self.singles:
                got = self.court.functions.disputeOf(original, duplicate).call(call)
                assert DisputeState(got[2]) is self._state((original, duplicate))
        for esp in self.esp_accounts:
            stake, _, lost, active, _, _ = self.espreg.functions.espInfo(esp.address).call(call)
            assert (stake, lost, active) == (self.stakes[esp.address], self.lost[esp.address], True)


def court_genesis(world: World) -> dict:
    """Both ESPs staked; the producer's batch (world's ESP) holding BASE_FP with the camera's
    detail; then three singles near it: the attacker's real copy (another ESP, the camera
    re-encoded), the buyer's false match (another ESP, another image), and the attacker's copy
    attested by the batch's own ESP (an equivocation the court refuses). Each step has a pair
    to challenge from the first."""
    d = SetupDriver(world)
    producers = [world.accounts[i] for i in PRODUCER_ACCOUNTS]
    esps = [world.accounts[i] for i in ESP_ACCOUNTS]
    for esp in esps:
        world.esps(esp).register(f"http://{esp.address}.example", price=10**15, stake=ESP_STAKE)
    eth = {a.address: world.balance(a.address) for a in (*producers, *esps)}
    ledger = Ledger(world, d, eth)
    producer, buyer, attacker = producers
    batch_id, plan, items = ledger.register_batch(
        producer,
        esps[0],
        ledger.pay(producer, esps[0]),
        [BASE_FP, random_fingerprints(1, seed=7)[0]],
        ["base", "far"],
    )
    singles, order = {}, []
    for owner, esp, fp, detail in (
        (attacker, esps[1], NEAR_FP, "near"),
        (buyer, esps[1], NEAR_FP[:-1] + bytes([NEAR_FP[-1] ^ 8]), "far"),
        (attacker, esps[0], NEAR_FP[:-1] + bytes([NEAR_FP[-1] ^ 16]), "near"),
    ):
        token, single = ledger.register_single(owner, esp, ledger.pay(owner, esp), fp, detail)
        singles[token] = single
        order.append(token)
    dep = world.deployment
    burn = str(dep.registry.functions.BURN().call())
    eth = {a.address: world.balance(a.address) for a in (*producers, *esps)}
    contracts = (
        dep.batch_court.address,
        dep.registry.address,
        dep.batch_registry.address,
        dep.esp_registry.address,
        dep.htlc.address,
        burn,
    )
    item_bond = world.params.batch_bond_per_item
    return {
        # The detail rule's Python twin (a contract test keeps them equal): 9 on-chain runs of
        # it would cost seconds on py-evm.
        "matches": {
            (x, y): detail_matches(details()[x], details()[y]) for x in DETAILS for y in DETAILS
        },
        "burn": burn,
        "eth": eth,
        "singles": singles,
        "items": items,
        "plans": {batch_id: plan},
        "order": order,
        "burned": world.balance(burn),
        "batch_burned": world.balance(dep.batch_registry.address) - item_bond * len(items),
        "total": sum(eth.values()) + sum(world.balance(c) for c in contracts),
    }


def test_court_state_machine(embedded_world: World) -> None:
    genesis = court_genesis(embedded_world)
    SEEN.clear()
    run_state_machine_as_test(
        lambda: CourtMachine(embedded_world, genesis), settings=COURT_SETTINGS
    )
    # The paths issue 16 names ran: upheld both ways, a contest won, malformed proofs refused.
    for seen in (
        "court challenge",
        "resolve: UPHELD",
        "resolve: REJECTED",
        "finalize: UPHELD",
        "finalize: REJECTED contested",
        "malformed challenge refused",
        "malformed resolve refused",
        "challenge refused: CourtBadProof",
    ):
        assert SEEN[seen] > 0, (seen, SEEN)
    # The held court wins were settled (paid after the hold, or reversed) or refused within it.
    assert any(k.startswith("court settle") for k in SEEN), SEEN
    assert any(k.startswith("image ruling: ") for k in SEEN), SEEN  # revokeDuplicateImage ruled
