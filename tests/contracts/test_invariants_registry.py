"""A Hypothesis state machine over Registry with EspRegistry, with a plain Python model beside it.

Every rule predicts its outcome from the model, then checks the chain agrees: the exact custom
error when it should fail, the exact ownership, bonds and stakes when it should succeed. After
every step the contracts must hold exactly what the model says is bonded or staked; at the end of
each example every token and balance is reconciled, and the chain goes back to its snapshot.
Harness: :mod:`tests.contracts.invariant_driver`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from eth_account.signers.local import LocalAccount
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from web3.logs import DISCARD

from ledger import Registration, TokenStatus, errors
from ledger.clients.registry import sign_attestation
from tests.conftest import World
from tests.contracts.helpers import BASE_FP, FAR_FP, NEAR_FP, registration
from tests.contracts.invariant_driver import SETTINGS, TICK, Driver, secret

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
