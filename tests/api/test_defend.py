"""The owner's defender against the griefing of inattentive owners (issue 11; `aigc defend`).

The attack: a squatter holds an earlier token whose compact fingerprint happens to be admissible
against an unrelated later token, and challenges it. An owner who never acts loses the token when
the window passes. The defender, told of the challenge by the API's ``challenge_opened``
notification, runs the detail rule on the two published descriptors; it rejects the pair, so the
defender contests and resolves: the challenge is rejected, the owner keeps its token and takes the
squatter's deposit. A real copy's owner's defender concedes, and a restarted defender never
contests twice.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ledger import Registration, TokenStatus, Transactor
from ledger.clients.registry import DisputeState, RegistryClient
from ledger.errors import LedgerError
from services.content import canonical_hash
from services.market_client import MarketClient
from services.provenance import detail_descriptor
from services.provenance.defender import ApiAccusations, ChainAccusations, Defender, Plan
from tests.api.test_watch_order import _mirrored_jpeg, _picture, _register
from tests.contracts.helpers import copier_esp, paid_lock, register_esp

# On SQLite only: what is checked is the defender's plan and its transactions; the notifications
# it reads are the API's, checked on both databases by test_watch_order and test_products.
pytestmark = pytest.mark.parametrize("api_database_url", ["sqlite"], indirect=True)


def _unrelated() -> Image.Image:
    rng = np.random.default_rng(99)
    small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((128, 128), Image.Resampling.BICUBIC)


def _near(fp: bytes, bits: int) -> bytes:
    """``fp`` with ``bits`` low bits of each of its four 64-bit words flipped: a compact distance
    within the admissibility threshold (the rule takes the nearest of the 16 word pairs), as the
    4.9e-3 of distinct pairs that the compact rule admits have."""
    flips = sum(((1 << bits) - 1) << (64 * w) for w in range(4))
    return (int.from_bytes(fp, "big") ^ flips).to_bytes(32, "big")


def squatted(world) -> tuple[int, int]:
    """The attacker's early token (its own ESP) and the producer's later, unrelated token whose
    compact fingerprint lies within the admissibility threshold of it; returns (squat, victim)."""
    register_esp(world)
    squat_esp = copier_esp(world)
    squat = _register(
        world,
        world.attacker,
        _picture(),
        paid_lock(world, world.attacker, squat_esp),
        esp=squat_esp,
    )
    img, lock = _unrelated(), paid_lock(world, world.producer, world.esp)
    reg = Registration(
        content_hash=canonical_hash(img),
        fingerprint=_near(world.registry(world.attacker).registered(squat).fingerprint, 9),
        detail=detail_descriptor(img),
        owner=world.producer.address,
        esp=world.esp.address,
        task_id=lock.id,
        model_id=b"\x03" * 32,
        seed=5,
    )
    client = world.registry(world.producer)
    client.commit(reg)
    victim = client.reveal(reg, lock, client.sign_attestation(world.esp, reg))
    assert (
        0 < client.fingerprint_distance(client.registered(squat).fingerprint, reg.fingerprint) <= 15
    )
    return squat, victim


class Fees:
    """Collects the Ether an account spends on gas (its transactor's receipts)."""

    def __init__(self) -> None:
        self.paid: list[int] = []
        self.names: list[str] = []

    def __call__(self, name: str, receipt) -> None:
        self.names.append(name)
        self.paid.append(int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"]))


def defender_of(api, account, state_path, *, fees: Fees | None = None) -> Defender:
    world = api.world
    registry = RegistryClient(world.deployment, Transactor(world.chain, account, on_receipt=fees))
    source = ApiAccusations(MarketClient(api.client, account))
    return Defender(registry, source, state_path=state_path)


def test_without_a_defender_an_inattentive_owner_loses_an_unrelated_token(api, tmp_path):
    world = api.world
    squat, victim = squatted(world)
    attacker = world.registry(world.attacker)
    attacker.challenge(squat, victim)  # admissible: the compact rule alone
    api.index()
    notes = api.client.get("/v1/notifications", headers=api.sign_in(world.producer)).json()
    assert [n["kind"] for n in notes["items"]] == ["challenge_opened"]  # told, but never acts
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert attacker.finalize(squat, victim)
    assert attacker.record(victim).status is TokenStatus.REVOKED
    # a defender started after the fact can only say so
    log = defender_of(api, world.producer, tmp_path / "late.json").step()
    assert any("already decided: upheld, the token is revoked" in line for line in log)


def test_a_defender_run_in_the_window_rejects_the_challenge_and_takes_the_deposit(api, tmp_path):
    world = api.world
    squat, victim = squatted(world)
    attacker = world.registry(world.attacker)
    deposit = attacker.params().challenge_deposit
    attacker.challenge(squat, victim)
    api.index()
    world.chain.mine(world.params.dispute_window_blocks // 2)  # the owner is away a while

    fees = Fees()
    before = world.balance(world.producer.address)
    log = defender_of(api, world.producer, tmp_path / "defend.json", fees=fees).step()
    assert fees.names == ["contest", "resolve"]
    assert any("the detail rule rejects the pair" in line for line in log)
    assert any("decided: rejected, the token stays" in line for line in log)
    registry = world.registry(world.producer)
    assert registry.dispute(squat, victim).state is DisputeState.REJECTED
    assert registry.record(victim).status is TokenStatus.ACTIVE
    assert registry.owner_of(victim) == world.producer.address
    # its own deposit back, plus the squatter's: exactly one deposit up, less its gas
    assert world.balance(world.producer.address) == before + deposit - sum(fees.paid)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    with pytest.raises(LedgerError):  # nothing left for the squatter to finalize
        attacker.finalize(squat, victim)
    assert registry.record(victim).status is TokenStatus.ACTIVE


def test_a_real_copys_owner_is_not_made_to_contest(api, tmp_path):
    """The detail rule matches a mirrored JPEG of the original: a contest would lose the deposit,
    so the copier's defender concedes and the challenge revokes as before."""
    world = api.world
    register_esp(world)
    img = _picture()
    original = _register(world, world.producer, img, paid_lock(world, world.producer, world.esp))
    copy_esp = copier_esp(world)
    copy = _register(
        world,
        world.attacker,
        _mirrored_jpeg(img),
        paid_lock(world, world.attacker, copy_esp),
        esp=copy_esp,
    )
    owner = world.registry(world.producer)
    owner.challenge(original, copy)
    api.index()
    fees = Fees()
    defender = defender_of(api, world.attacker, tmp_path / "copier.json", fees=fees)
    log = defender.step()
    assert fees.names == []  # no contest, no deposit
    assert any("the detail rule matches the pair" in line for line in log)
    assert (
        defender.state.disputes[f"{original}:{copy}:{owner.dispute(original, copy).deadline}"][
            "plan"
        ]
        == Plan.CONCEDE
    )
    assert defender.step() == []  # said once
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert owner.finalize(original, copy)


def test_a_restarted_defender_does_not_contest_twice_and_resumes_the_resolve(
    api, tmp_path, monkeypatch
):
    world = api.world
    squat, victim = squatted(world)
    world.registry(world.attacker).challenge(squat, victim)
    api.index()
    state = tmp_path / "defend.json"
    fees = Fees()
    first = defender_of(api, world.producer, state, fees=fees)

    def crash(*_args):
        raise KeyboardInterrupt  # killed between the contest and the resolve

    monkeypatch.setattr(first.registry, "resolve", crash)
    with pytest.raises(KeyboardInterrupt):
        first.step()
    assert fees.names == ["contest"]
    registry = world.registry(world.producer)
    assert registry.dispute(squat, victim).state is DisputeState.CONTESTED

    for lost_state in (False, True):  # with its state file, and with it lost: the chain decides
        if lost_state:
            state.unlink()
        again = defender_of(api, world.producer, state, fees=fees)
        again.step()
    assert fees.names == ["contest", "resolve"]  # one contest, one resolve, whatever the restarts
    assert registry.dispute(squat, victim).state is DisputeState.REJECTED
    assert registry.record(victim).status is TokenStatus.ACTIVE


def test_the_chain_alone_tells_the_defender(api, tmp_path):
    """Without the API: the Registry's ChallengeOpened logs since the last pass, the ones
    against someone else's token left out."""
    world = api.world
    squat, victim = squatted(world)
    world.registry(world.attacker).challenge(squat, victim)
    fees = Fees()
    registry = RegistryClient(
        world.deployment, Transactor(world.chain, world.producer, on_receipt=fees)
    )
    mine = Defender(
        registry, ChainAccusations(registry, world.producer.address), state_path=tmp_path / "s.json"
    )
    mine.step()
    assert fees.names == ["contest", "resolve"]
    bystander = world.registry(world.buyer)
    theirs = Defender(
        bystander, ChainAccusations(bystander, world.buyer.address), state_path=tmp_path / "b.json"
    )
    assert theirs.step() == [] and theirs.state.disputes == {}
