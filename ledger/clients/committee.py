"""Client of the CommitteeVerifier (issue 11): stage 3 of a contested challenge by staked ESPs.

A juror (an active ESP) ``enroll``s with its bond; the accused of a challenge ``request_review``s
the pair (before contesting it: a dispute open at one of the three forums, each side's detail
hash proven by its opening, a single token's record proof or a batch item's leaf and proof;
:meth:`CommitteeClient.request_review_call` reads a single token's from its ``Registered`` event)
and pays the fee, which fixes the draw block (the next one);
after that block anyone ``draw``s the jurors (seeded by its hash, unknown to the requester when
it sent the request); each drawn juror commits a hidden vote
(:func:`vote_commitment`), reveals it after the commit deadline, and anyone ``settle``s after the
reveal deadline. Until then the registries' ``resolve`` of that pair reverts
``CommitteeReviewPending``. Each call is encoded once here (``*_call``).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak
from web3.logs import DISCARD
from web3.types import TxReceipt

from ledger.clients._base import Call, ContractClient
from ledger.clients.batch_registry import ItemOpening
from ledger.clients.registry import RegistryClient
from ledger.deploy import Deployment
from ledger.tx import Transactor, call


def review_key(
    collection: str, original: int, duplicate: int, detail_hash_a: bytes, detail_hash_b: bytes
) -> bytes:
    """The committee's key of a dispute's review (``reviewKey``): the forum, the two tokens and
    their descriptor hashes, the original's first. One review per dispute: another dispute of the
    same descriptors has its own."""
    return keccak(
        encode(
            ["address", "uint256", "uint256", "bytes32", "bytes32"],
            [collection, original, duplicate, detail_hash_a, detail_hash_b],
        )
    )


def record_review_key(
    collection: str, token_id: int, fingerprint: bytes, detail_hash: bytes, round_: int
) -> bytes:
    """The committee's key of the ``round_``-th review of single token ``token_id``'s record
    (``keccak256(abi.encode(collection, 0, tokenId, fingerprint, detailHash, round))``, as
    ``requestRecordReview`` computes it), asked by forum ``collection`` (the BatchCourt's
    ``claimMisattested``): six words, never a pair review's key. Its ``ReviewRequested`` names
    ``original`` 0, the token as ``duplicate`` and the attested fingerprint and detail hash."""
    return keccak(
        encode(
            ["address", "uint256", "uint256", "bytes32", "bytes32", "uint256"],
            [collection, 0, token_id, fingerprint, detail_hash, round_],
        )
    )


def vote_commitment(key: bytes, juror: str, vote: bool, salt: bytes) -> bytes:
    """What a juror commits: ``keccak256(abi.encode(key, juror, vote, salt))``."""
    return keccak(encode(["bytes32", "address", "bool", "bytes32"], [key, juror, vote, salt]))


@dataclass(frozen=True)
class CommitteeParams:
    jurors: int
    juror_bond: int
    review_fee: int
    commit_blocks: int
    reveal_blocks: int


@dataclass(frozen=True)
class Review:
    requester: str
    collection: str
    original: int
    duplicate: int
    draw_block: int
    commit_deadline: int
    reveal_deadline: int
    yes: int
    no: int
    settled: bool
    cancelled: bool
    jurors: tuple[str, ...]

    @property
    def drawn(self) -> bool:
        """Whether the jurors were drawn (the phases run)."""
        return self.reveal_deadline != 0


@dataclass(frozen=True)
class DrawOutcome:
    """What one ``draw`` did: ``"drawn"`` (``jurors`` and the deadlines set), ``"rearmed"`` (the
    draw block was more than 256 blocks old, or the pool changed since it was mined:
    ``draw_block`` is the new one) or ``"cancelled"`` (too few active jurors enrolled: the fee is
    owed back, the rule decides the pair). While too many are busy elsewhere the draw reverts
    ``CommitteeTooSmall`` (the review waits)."""

    outcome: str
    jurors: tuple[str, ...] = ()
    commit_deadline: int = 0
    reveal_deadline: int = 0
    draw_block: int = 0


class CommitteeClient(ContractClient):
    contract_name = "CommitteeVerifier"

    def __init__(self, deployment: Deployment, tx: Transactor | None = None):
        deployment.committee  # noqa: B018 -- an old manifest: DeploymentError("...redeploy")
        super().__init__(deployment, tx)

    # -- calls (encoded here once) --------------------------------------------------------------
    def enroll_call(self) -> Call:
        return Call(self.contract.functions.enroll(), self.params().juror_bond)

    def request_review_call(
        self,
        *,
        collection: str,
        original: int,
        duplicate: int,
        hash_a: bytes,
        hash_b: bytes,
        opening_a: ItemOpening | None = None,
        opening_b: ItemOpening | None = None,
    ) -> Call:
        """``requestReview`` of the dispute (``original``, ``duplicate``) open at forum
        ``collection``. A side's opening proves its detail hash: a batch item's (content hash,
        seed, items-tree proof) must be given; a single Registry token's (its record proof) is
        read from its ``Registered`` event when not given."""
        fn = self.contract.functions.requestReview(
            collection,
            original,
            duplicate,
            hash_a,
            hash_b,
            (opening_a or self._record_opening(original)).as_tuple(),
            (opening_b or self._record_opening(duplicate)).as_tuple(),
        )
        return Call(fn, self.params().review_fee)

    def _record_opening(self, token_id: int) -> ItemOpening:
        """A single Registry token's opening: its record proof (``Registered``)."""
        return ItemOpening(record=RegistryClient(self.deployment).registered(token_id).proof)

    def draw_call(self, key: bytes) -> Call:
        return Call(self.contract.functions.draw(key))

    def commit_call(self, key: bytes, commitment: bytes) -> Call:
        return Call(self.contract.functions.commitVote(key, commitment))

    def reveal_call(self, key: bytes, vote: bool, salt: bytes) -> Call:
        return Call(self.contract.functions.revealVote(key, vote, salt))

    # -- transactions ---------------------------------------------------------------------------
    def enroll(self) -> None:
        self._send(self.enroll_call())

    def leave(self) -> None:
        self._send(self.contract.functions.leave())

    def claim(self) -> None:
        self._send(self.contract.functions.claim())

    def request_review(
        self,
        *,
        collection: str,
        original: int,
        duplicate: int,
        hash_a: bytes,
        hash_b: bytes,
        opening_a: ItemOpening | None = None,
        opening_b: ItemOpening | None = None,
    ) -> bytes:
        """Requests the review of the pair (see :meth:`request_review_call`); returns its key.
        Nobody is drawn yet: :meth:`draw` after the review's ``draw_block``."""
        self._send(
            self.request_review_call(
                collection=collection,
                original=original,
                duplicate=duplicate,
                hash_a=hash_a,
                hash_b=hash_b,
                opening_a=opening_a,
                opening_b=opening_b,
            )
        )
        return review_key(collection, original, duplicate, hash_a, hash_b)

    def draw(self, key: bytes) -> DrawOutcome:
        """Draws the jurors of ``key`` (after its draw block; anyone may): :class:`DrawOutcome`."""
        return self.parse_draw(self._send(self.draw_call(key)))

    def parse_request(self, receipt: TxReceipt) -> tuple[bytes, int]:
        """(key, draw block) of the ``ReviewRequested`` in a ``requestReview`` receipt."""
        for log in self.contract.events.ReviewRequested().process_receipt(receipt, errors=DISCARD):
            return bytes(log["args"]["key"]), int(log["args"]["drawBlock"])
        raise ValueError("no ReviewRequested in this receipt")

    def parse_draw(self, receipt: TxReceipt) -> DrawOutcome:
        """The outcome of a ``draw`` transaction from its receipt's events."""
        events = self.contract.events
        for log in events.ReviewDrawn().process_receipt(receipt, errors=DISCARD):
            a = log["args"]
            return DrawOutcome(
                "drawn",
                tuple(str(j) for j in a["jurors"]),
                int(a["commitDeadline"]),
                int(a["revealDeadline"]),
            )
        for log in events.ReviewRearmed().process_receipt(receipt, errors=DISCARD):
            return DrawOutcome("rearmed", draw_block=int(log["args"]["drawBlock"]))
        return DrawOutcome("cancelled")

    def commit(self, key: bytes, vote: bool, salt: bytes) -> None:
        """Commits ``vote`` hidden under ``salt`` (keep both: the reveal needs them)."""
        self._send(self.commit_call(key, vote_commitment(key, self.tx.address, vote, salt)))

    def reveal(self, key: bytes, vote: bool, salt: bytes) -> None:
        self._send(self.reveal_call(key, vote, salt))

    def settle(self, key: bytes) -> None:
        self._send(self.contract.functions.settleReview(key))

    # -- reads ----------------------------------------------------------------------------------
    def params(self) -> CommitteeParams:
        return CommitteeParams(*(int(v) for v in call(self.contract.functions.parameters().call)))

    def review(self, key: bytes) -> Review:
        r = call(self.contract.functions.review(key).call)
        return Review(
            requester=str(r[0]),
            collection=str(r[1]),
            original=int(r[2]),
            duplicate=int(r[3]),
            draw_block=int(r[4]),
            commit_deadline=int(r[5]),
            reveal_deadline=int(r[6]),
            yes=int(r[7]),
            no=int(r[8]),
            settled=bool(r[9]),
            cancelled=bool(r[10]),
            jurors=tuple(str(a) for a in r[11]),
        )

    def forums(self) -> tuple[str, str, str]:
        """(Registry, BatchRegistry, BatchCourt): the forums whose disputes it reviews."""
        r = call(self.contract.functions.forums().call)
        return str(r[0]), str(r[1]), str(r[2])

    def jurors_enrolled(self) -> list[str]:
        return [str(a) for a in call(self.contract.functions.jurorsEnrolled().call)]

    def bond_of(self, juror: str) -> int:
        return int(call(self.contract.functions.bondOf(juror).call))

    def owed(self, account: str) -> int:
        return int(call(self.contract.functions.owed(account).call))

    def matches(self, a: bytes, b: bytes) -> bool:
        return bool(call(self.contract.functions.matches(a, b).call))

    def matches_for(self, forum: str, original: int, duplicate: int, a: bytes, b: bytes) -> bool:
        """What ``forum``'s ``resolve`` of its dispute of ``duplicate`` by ``original`` reads
        (``matchesFor``, read as if the forum called): that dispute's review, else the rule.
        Raises ``CommitteeReviewPending`` while the review is not past its reveal deadline."""
        fn = self.contract.functions.matchesFor(original, duplicate, a, b)
        return bool(call(lambda: fn.call({"from": forum})))
