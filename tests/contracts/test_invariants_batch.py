"""A Hypothesis state machine over the BatchRegistry (issue 16) with a Python model beside it.

Producers register batches (some holding a near copy of an earlier batch's image, some a near
copy of that copy, through three ESPs), leave commitments to expire and forfeit them, move
tokens, challenge copies (finalized after the window: revoked, nothing paid), and settle upheld
challenges: before the reward hold it reverts, after it the challenger is paid, and a win whose
original was revoked since is reversed (the copy reinstated, the deposit to its owner). After
every step: each token has exactly one owner, the model's; its status is the model's; every
balance is the model's count; and the contract holds exactly

    bondPerItem x (unrevealed commitments' items + active items + items revoked by an Upheld
    challenge) + open and Upheld challenges' deposits + burned Ether.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from ledger import errors
from ledger.clients.registry import DisputeState, TokenStatus
from ledger.merkle import fingerprint_leaf, merkle_proof
from tests.conftest import World
from tests.contracts.batch_kit import client, plan, random_fingerprints, register_batch, tid
from tests.contracts.helpers import BASE_FP, NEAR_FP, copier_esp, register_esp
from tests.contracts.invariant_driver import SETTINGS

# Level 0 (BASE_FP) matches level 1 (NEAR_FP), which matches level 2 (one bit further): a copy
# of a copy, so a winner can itself be revoked within its reward hold.
LATER_FP = NEAR_FP[:-1] + bytes([NEAR_FP[-1] ^ 4])
LEVELS = {"base": BASE_FP, "near": NEAR_FP, "later": LATER_FP}
LEVEL_OF = {BASE_FP: 0, NEAR_FP: 1, LATER_FP: 2}

# Each step registers a batch (four transactions on py-evm): fewer, shorter examples than the
# Registry's machine.
BATCH_SETTINGS = settings(SETTINGS, max_examples=8, stateful_step_count=10)
SEEN: Counter[str] = Counter()  # what the examples exercised (the test asserts revocations ran)


@dataclass
class Token:
    batch: int
    index: int
    owner: str
    fingerprint: bytes
    esp: str
    order: int  # registration order: priority and commit order both follow it
    revoked: bool = False


@dataclass
class Model:
    tokens: dict[int, Token] = field(default_factory=dict)
    pending_items: int = 0  # items of commitments not revealed yet
    pending: list[tuple[bytes, int]] = field(default_factory=list)
    deposits: int = 0
    burned: int = 0
    batches: int = 0
    challenged: set[tuple[int, int]] = field(default_factory=set)
    open: list[tuple[int, int]] = field(default_factory=list)
    upheld: dict[tuple[int, int], int] = field(default_factory=dict)  # -> end of the hold
    revealed: dict[int, int] = field(default_factory=dict)  # batch -> its reveal's block


class BatchMachine(RuleBasedStateMachine):
    def __init__(self, world: World):
        super().__init__()
        self.world = world
        self.snapshot = world.chain.snapshot()
        self.m = Model()
        self.owners = [world.producer, world.buyer, world.attacker]
        self.esps = [world.esp, world.accounts[7], copier_esp(world)]
        p = world.params
        self.bond, self.deposit, self.reward = (
            p.batch_bond_per_item,
            p.challenge_deposit,
            p.challenge_reward,
        )

    def teardown(self) -> None:
        self.world.chain.revert(self.snapshot)

    @initialize()
    def genesis(self) -> None:
        """The producer's batch holding BASE_FP, then the attacker's (another ESP) holding a
        near copy: there is a copy to challenge from the first step."""
        self.register(0, 2, "base")
        self.register(2, 3, "near")

    @rule(
        who=st.integers(0, 2),
        size=st.integers(1, 4),
        fp=st.sampled_from(["none", "base", "near", "later"]),
    )
    def register(self, who: int, size: int, fp: str) -> None:
        owner = self.owners[who]
        esp = self.esps[who]
        fps = random_fingerprints(size, seed=1000 + self.m.batches)
        if fp != "none":
            fps = [*fps[:-1], LEVELS[fp]]
        batch_id, p = register_batch(self.world, owner, fingerprints=fps, esp=esp)
        self.m.batches += 1
        assert batch_id == self.m.batches
        self.m.revealed[batch_id] = client(self.world, owner).batch(batch_id).reveal_block
        for i, f in enumerate(p.fingerprints):
            self.m.tokens[tid(batch_id, i)] = Token(
                batch_id, i, owner.address, f, esp.address, batch_id
            )

    @rule(who=st.integers(0, 2), size=st.integers(1, 3))
    def commit_and_leave(self, who: int, size: int) -> None:
        owner = self.owners[who]
        p = plan(owner.address, self.world.esp.address, random_fingerprints(size, seed=-size))
        client(self.world, owner).commit(p.commitment(), size)
        self.m.pending.append((p.commitment(), size))
        self.m.pending_items += size

    @rule()
    def forfeit_expired(self) -> None:
        if not self.m.pending:
            return
        self.world.chain.mine(self.world.params.commit_ttl_blocks + 1)
        commitment, size = self.m.pending.pop(0)
        client(self.world, self.world.deployer).forfeit_commit(commitment)
        self.m.pending_items -= size
        self.m.burned += size * self.bond

    @rule(data=st.data(), to=st.integers(0, 2))
    def transfer(self, data: st.DataObject, to: int) -> None:
        if not self.m.tokens:
            return
        t = data.draw(st.sampled_from(sorted(self.m.tokens)))
        token = self.m.tokens[t]
        sender = next(a for a in self.owners if a.address == token.owner)
        c = client(self.world, sender)
        if token.revoked:
            try:
                c.transfer(self.owners[to].address, t)
            except errors.BatchTokenRevoked:
                event("a revoked token refused to move")
                SEEN["revoked stayed"] += 1
                return
            raise AssertionError("a revoked token moved")
        # no item moves within registrationWindow + commitTtl blocks of its batch's reveal
        p = self.world.params
        until = self.m.revealed[token.batch] + p.registration_window_blocks + p.commit_ttl_blocks
        if self.world.chain.w3.eth.block_number < until:  # the move would land by `until`
            try:
                c.transfer(self.owners[to].address, t)
            except errors.BatchTokenReclaimable as held:
                assert (held.tokenId, held.untilBlock) == (t, until)
                SEEN["fresh held"] += 1
                return
            raise AssertionError("a fresh item moved within its hold")
        c.transfer(self.owners[to].address, t)
        token.owner = self.owners[to].address

    @rule()
    def wait_out_the_transfer_hold(self) -> None:
        p = self.world.params
        self.world.chain.mine(p.registration_window_blocks + p.commit_ttl_blocks + 1)

    @rule(level=st.integers(0, 1))
    def challenge_copies(self, level: int) -> None:
        """The owner of the earliest active item of ``level`` challenges every later active item
        of the next level from another ESP (admissible by the model); all are finalized after
        the window: revoked at once, the deposits and bonds held."""
        originals = [
            (tk.order, t)
            for t, tk in self.m.tokens.items()
            if LEVEL_OF.get(tk.fingerprint) == level and not tk.revoked
        ]
        if not originals:
            return
        _, original = min(originals)
        a = self.m.tokens[original]
        owner = next(x for x in self.owners if x.address == a.owner)
        c = client(self.world, owner)
        for t, b in sorted(self.m.tokens.items()):
            if (
                LEVEL_OF.get(b.fingerprint) != level + 1
                or b.revoked
                or b.order <= a.order
                or b.esp == a.esp
                or (original, t) in self.m.challenged
            ):
                continue
            c.challenge(original, a.fingerprint, self._proof(a), t, b.fingerprint, self._proof(b))
            self.m.challenged.add((original, t))
            self.m.open.append((original, t))
            self.m.deposits += self.deposit
            event("a batched copy challenged")
            SEEN["challenged"] += 1
        if self.m.open:
            self.world.chain.mine(self.world.params.dispute_window_blocks + 1)
            for o, d in self.m.open:
                assert c.finalize(o, d)
                self.m.tokens[d].revoked = True
                hold_end = (
                    self.world.chain.w3.eth.block_number + self.world.params.reward_hold_blocks
                )
                self.m.upheld[(o, d)] = hold_end
                assert c.dispute(o, d).deadline == hold_end
            self.m.open.clear()

    @rule(wait=st.booleans())
    def settle_upheld(self, wait: bool) -> None:
        """Anyone settles every upheld challenge (after waiting out the hold, or not): reversed
        when its original was revoked since, paid after the hold, refused before it."""
        if wait:
            self.world.chain.mine(self.world.params.reward_hold_blocks)
        c = client(self.world, self.world.deployer)
        for (o, d), hold_end in sorted(self.m.upheld.items()):
            if self.m.tokens[o].revoked:
                assert c.settle(o, d) is DisputeState.REVERSED
                self.m.tokens[d].revoked = False
                self.m.deposits -= self.deposit  # to the copy's owner
                event("a held win reversed")
                SEEN["reversed"] += 1
            elif self.world.chain.w3.eth.block_number + 1 >= hold_end:
                assert c.settle(o, d) is DisputeState.SETTLED
                self.m.deposits -= self.deposit
                self.m.burned += self.bond - self.reward
                SEEN["settled"] += 1
            else:
                try:
                    c.settle(o, d)
                except errors.BatchRewardHeld:
                    SEEN["held"] += 1
                    continue
                raise AssertionError("a win was paid within its hold")
            del self.m.upheld[(o, d)]

    def _proof(self, token: Token) -> list[bytes]:
        fps = sorted(tk.fingerprint for tk in self.m.tokens.values() if tk.batch == token.batch)
        return merkle_proof([fingerprint_leaf(i, f) for i, f in enumerate(fps)], token.index)

    @invariant()
    def chain_agrees(self) -> None:
        c = client(self.world, self.world.deployer)
        counts: dict[str, int] = {}
        for t, tk in self.m.tokens.items():
            assert c.owner_of(t) == tk.owner
            expected = TokenStatus.REVOKED if tk.revoked else TokenStatus.ACTIVE
            assert c.status(t) is expected
            counts[tk.owner] = counts.get(tk.owner, 0) + 1
        for a in self.owners:
            assert c.balance_of(a.address) == counts.get(a.address, 0)
        active = sum(not tk.revoked for tk in self.m.tokens.values())
        held_bonds = len(self.m.upheld)  # revoked items whose challenge is not settled
        held = (
            self.bond * (self.m.pending_items + active + held_bonds)
            + self.m.deposits
            + self.m.burned
        )
        assert self.world.balance(c.address) == held


def test_batch_state_machine(embedded_world: World) -> None:
    register_esp(embedded_world)
    register_esp(embedded_world, embedded_world.accounts[7])
    copier_esp(embedded_world)
    SEEN.clear()
    run_state_machine_as_test(lambda: BatchMachine(embedded_world), settings=BATCH_SETTINGS)
    assert SEEN["challenged"] > 0, SEEN
