"""A deployment whose CommitteeVerifier has short phases, twenty funded juror ESPs, and the steps
of a review (dispute, request, draw, commit, reveal) that the committee tests share. The
committee reviews only a dispute open at one of its forums, its detail hashes proven: a review
nobody's outcome hangs on (:meth:`CommitteeWorld.synthetic`) is a real Registry dispute too.

The deployment is its own (phases of 8 blocks instead of the product's 3,600), made once per
chain by a fresh deployer so that the shared ``world``'s addresses do not move, and reverted to
clean after each test like ``world``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from eth_abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.chain import Chain
from ledger.clients.committee import CommitteeClient
from ledger.deploy import DeployParams, deploy
from tests.conftest import TEST_PARAMS, World
from tests.contracts.helpers import ESP_STAKE, NEAR_FP, details, register_esp, register_image

PHASE = 8  # blocks of each phase: room for five commits (one block each) and a few more
PARAMS = replace(TEST_PARAMS, review_commit_blocks=PHASE, review_reveal_blocks=PHASE)
JURORS = 20  # ESPs that may enroll: five are drawn per review
FUNDING = 10**18
SALT = keccak(b"committee test salt")
SILENT = None  # a juror that does not reveal (or never commits)

_cache: dict[int, tuple[World, list[LocalAccount]]] = {}


def _account(label: str) -> LocalAccount:
    return Account.from_key(keccak(f"aigc committee test {label}".encode()))


def _fund(chain: Chain, source: LocalAccount, to: str) -> None:
    w3 = chain.w3
    base = int(w3.eth.get_block("latest").get("baseFeePerGas", 0))
    tx = {
        "to": to,
        "value": FUNDING,
        "gas": 21_000,
        "chainId": chain.chain_id,
        "nonce": w3.eth.get_transaction_count(source.address, "pending"),
        "maxPriorityFeePerGas": 1,
        "maxFeePerGas": 2 * base + 1,
    }
    signed = source.sign_transaction(tx)
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))


def _make(chain: Chain, params: DeployParams = PARAMS) -> tuple[World, list[LocalAccount]]:
    dev = chain.dev_accounts()
    deployer = _account("deployer")
    jurors = [_account(f"juror {i}") for i in range(JURORS)]
    for account in [deployer, *jurors]:
        _fund(chain, dev[9], account.address)
    world = World(chain, deploy(chain, deployer, params), params, [deployer, *dev[1:]])
    for juror in jurors:
        register_esp(world, juror)
    return world, jurors


@dataclass
class CommitteeWorld:
    """``world`` plus the juror ESPs (registered, not enrolled)."""

    world: World
    jurors: list[LocalAccount]

    def committee(self, account: LocalAccount | None = None) -> CommitteeClient:
        tx = self.world.tx(account) if account is not None else None
        return CommitteeClient(self.world.deployment, tx)

    def enroll(self, count: int = 5) -> list[LocalAccount]:
        for juror in self.jurors[:count]:
            self.committee(juror).enroll()
        return self.jurors[:count]

    def account(self, address: str) -> LocalAccount:
        return next(a for a in self.jurors if a.address.lower() == address.lower())

    def request(
        self, original: int, duplicate: int, *, by: LocalAccount, draw: bool = True
    ) -> bytes:
        """``by`` requests the review of the Registry dispute (original, duplicate) from their
        records (the client reads their record proofs), then (unless ``draw`` is False) the
        jurors are drawn (:meth:`draw`)."""
        registry = self.world.registry(by)
        a, b = registry.registered(original), registry.registered(duplicate)
        key = self.committee(by).request_review(
            collection=registry.address,
            original=original,
            duplicate=duplicate,
            hash_a=keccak(a.detail),
            hash_b=keccak(b.detail),
        )
        return self.draw(key, by=by) if draw else key

    def synthetic(
        self,
        n: int,
        *,
        by: LocalAccount | None = None,
        draw: bool = True,
        detail_pair: tuple[bytes, bytes] | None = None,
    ) -> bytes:
        """A review nobody's outcome hangs on, of a real dispute (the committee reviews only
        those): the producer's image (BASE_FP) and a later near copy (NEAR_FP, another ESP) are
        registered with the descriptors ``detail_pair`` (default: two made distinct by ``n``),
        the producer challenges, ``by`` (default: the buyer) requests the review, whose jurors
        are drawn unless ``draw`` is False."""
        original, duplicate = self.dispute(n, detail_pair=detail_pair)
        return self.request(original, duplicate, by=by or self.world.buyer, draw=draw)

    def dispute(self, n: int, *, detail_pair: tuple[bytes, bytes] | None = None) -> tuple[int, int]:
        """A challenge the producer opens at the Registry against a later near copy (see
        :meth:`synthetic`), contested at once by the copy's owner (the attacker) so that its
        review may be requested at any time later (an Open one only within its window of
        ``dispute_window_blocks``); returns (original, duplicate)."""
        world = self.world
        self.producer_esp()
        a, b = detail_pair or (variant(n), variant(n + 1))
        original = register_image(world, world.producer, detail=a)
        duplicate = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=b)
        world.registry(world.producer).challenge(original, duplicate)
        world.registry(world.attacker).contest(original, duplicate)
        return original, duplicate

    def draw(self, key: bytes, *, by: LocalAccount | None = None) -> bytes:
        """Mines past the review's draw block (if needed), then ``by`` (default: the buyer) draws
        its jurors. Returns ``key``."""
        chain = self.world.chain
        draw_block = self.committee().review(key).draw_block
        chain.mine(max(0, draw_block + 1 - (chain.w3.eth.block_number + 1)))
        self.committee(by or self.world.buyer).draw(key)
        return key

    def vote(self, key: bytes, votes: Sequence[bool | None]) -> list[str]:
        """Drawn juror i commits votes[i] (``SILENT``: it commits "yes" and never reveals), the
        commit phase ends, the others reveal, the reveal phase ends. Returns the drawn jurors."""
        review = self.committee().review(key)
        chain = self.world.chain
        for address, vote in zip(review.jurors, votes, strict=True):
            self.committee(self.account(address)).commit(key, bool(vote), SALT)
        chain.mine(max(0, review.commit_deadline - chain.w3.eth.block_number))
        for address, vote in zip(review.jurors, votes, strict=True):
            if vote is not SILENT:
                self.committee(self.account(address)).reveal(key, vote, SALT)
        self.past_reveal(key)
        return list(review.jurors)

    def past_reveal(self, key: bytes) -> None:
        chain = self.world.chain
        chain.mine(max(0, self.committee().review(key).reveal_deadline - chain.w3.eth.block_number))

    def producer_esp(self) -> None:
        """Registers the producer's ESP (``world.esp``) unless it is already."""
        world = self.world
        if not world.esps(world.esp).esp_info(world.esp.address).endpoint:
            register_esp(world)

    def copy_pair(self, *, detail: str = "near") -> tuple[int, int]:
        """The producer's image and the attacker's later image (``detail``: "near", a copy the
        rule matches, or "far", an unrelated image), its compact fingerprint admissible."""
        world = self.world
        self.producer_esp()
        original = register_image(world, world.producer)
        other = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()[detail])
        return original, other


def variant(n: int) -> bytes:
    """A descriptor of the right length, distinct for each ``n`` (no rule runs on it: the jurors'
    votes are the test's)."""
    far = details()["far"]
    return far[:-4] + n.to_bytes(4, "big")


def expected_draw(
    cw: CommitteeWorld, block_hash: bytes, key: bytes, candidates: Sequence[LocalAccount]
) -> tuple[str, ...]:
    """The contract's draw recomputed: a partial Fisher-Yates shuffle of ``candidates`` (the free
    active pool, in pool order) seeded by ``keccak256(abi.encode(blockhash(drawBlock), key))``."""
    jurors = cw.committee().params().jurors
    order = [c.address for c in candidates]
    seed = int.from_bytes(keccak(encode(["bytes32", "bytes32"], [bytes(block_hash), key])), "big")
    for i in range(jurors):
        j = i + seed % (len(order) - i)
        order[i], order[j] = order[j], order[i]
        seed = int.from_bytes(keccak(encode(["uint256"], [seed])), "big")
    return tuple(order[:jurors])


def committee_world_with(chain: Chain, params: DeployParams) -> Iterator[CommitteeWorld]:
    """A fixture body for a deployment of its own with ``params`` (made in the test, reverted
    after it with everything the test did)."""
    snap = chain.snapshot()
    try:
        yield CommitteeWorld(*_make(chain, params))
    finally:
        chain.revert(snap)


def committee_world(chain: Chain) -> Iterator[CommitteeWorld]:
    """The fixture body: the committee deployment on ``chain``, reverted after the test."""
    if id(chain) not in _cache:
        _cache[id(chain)] = _make(chain)
    world, jurors = _cache[id(chain)]
    snap = chain.snapshot()
    world._tx.clear()
    try:
        yield CommitteeWorld(world, jurors)
    finally:
        chain.revert(snap)


__all__ = [
    "ESP_STAKE",
    "PARAMS",
    "PHASE",
    "SILENT",
    "CommitteeWorld",
    "committee_world",
    "committee_world_with",
    "expected_draw",
    "variant",
]
