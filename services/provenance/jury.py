"""A juror's duty at the ``CommitteeVerifier``: enrol, then draw the requested reviews and serve
the ones one is drawn for (docs/committee-jurors.md).

Each pass (:meth:`JurorDuty.step`) reads the committee's logs since its cursor, in chain order:
``ReviewRequested`` (a review to draw, at any enrolled juror's hands), ``ReviewRearmed`` (its draw
block's hash aged out, or the pool changed after it: a new draw block), ``ReviewDrawn`` (the
jurors: this account's seat, or none) and ``ReviewCancelled`` (too few active jurors enrolled at
the draw: nothing to serve). Then it moves each review by the chain's block:

* **requested**, the next block past ``drawBlock``: re-read the review (another juror, or the
  requester, may have drawn it), else ``draw`` it; the jurors come from the chain, never from the
  request, so a requester cannot grind the randomness it requests with (a lost
  ``CommitteeAlreadyDrawn`` race is fine);
* **commit phase** (the next block is at most ``commitDeadline``): decide the vote
  (:func:`~services.provenance.juror.judge`, with the published descriptors: a single token's
  ``Registered``, a batch item's ``ItemOpened`` or its published manifest), record it, then send
  its commitment. A *burden* vote (a side published neither its image nor its descriptor) waits
  the first quarter of the phase: a requester that draws at once must not catch the accused
  before its contest at the BatchRegistry opens its item on chain; so does a vote the detail
  rule gives because an image is missing (stage 3 needs both images: a requester that draws at
  once must not have the coarser rule decide before the other side uploads its image), and so
  does stage 3's "yes" while the accused, whose token's model the juror can run, has published
  no generation opening (one that regenerates its image clears it:
  services/provenance/generation_proof.py);
  A *record review* (``original`` 0 at the BatchCourt: its ``claimMisattested``) asks whether a
  single token's attested fingerprint and descriptor are its content's
  (:func:`~services.provenance.juror.judge_record`, the token's own bytes and its ``Registered``
  descriptor, the deployment's ``matchThreshold``); a batch item's (``claimMisattestedItem``)
  is judged on the bytes whose canonical hash is the content hash the court's ``ItemOpened``
  published, against the descriptor it published; its "no bytes" vote is a burden vote too;
* **reveal phase** (past ``commitDeadline``, up to ``revealDeadline``): reveal the recorded vote
  with the derived salt (:func:`~services.provenance.juror.vote_salt`);
* **after** ``revealDeadline``: ``settleReview`` unless another juror settled it, then ``claim``
  what the juror is owed (its share of the fee and of the minority's and the silent's penalties).

The vote is recorded before its commitment leaves the process (an image published between the
commit and the reveal must not change what is revealed). A lost state file costs a rescan: the
salt is derived again, and the reveal tries the vote judged now, then the other one (only the
committed one can open the commitment). A review's error is logged and retried next pass; it
never stops the worker's paid work.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from eth_utils import keccak, to_checksum_address

from ledger import merkle
from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.committee import CommitteeClient
from ledger.clients.registry import RegistryClient
from ledger.deploy import Deployment
from ledger.errors import LedgerError
from ledger.logs import chunked, latest_log
from ledger.tx import Transactor, call
from services.market_client import MarketError
from services.provenance.accusations import ApiItemDetails
from services.provenance.errors import ProvenanceError
from services.provenance.juror import (
    ApiImages,
    ApiOpenings,
    ImageSource,
    OpeningSource,
    Review,
    Verdict,
    judge,
    judge_record,
    vote_salt,
)

__all__ = ["COMMITTEE", "JurorDuty", "has_committee"]

COMMITTEE = "CommitteeVerifier"
_DONE = frozenset({"settled", "unseated", "cancelled"})  # "unrevealed" still settles
_EVENTS = ("ReviewRequested", "ReviewRearmed", "ReviewDrawn", "ReviewCancelled")
_COMMITTED = 2  # ballotOf: 0 not drawn, 1 drawn, 2 committed, 3 revealed no, 4 revealed yes
_BURDEN_WAIT = 4  # a burden vote waits commit_blocks // this for the missing descriptor


def has_committee(deployment: Deployment) -> bool:
    """Whether the deployment's manifest carries a CommitteeVerifier."""
    return COMMITTEE in deployment.manifest.contracts


class JurorDuty:
    """Serves ``tx``'s account's reviews at the deployment's committee; ``state_path`` keeps
    the log cursor and each review's stage and recorded vote (written atomically).

    ``item_details`` finds a batch item's descriptor in its published manifest (checked against
    the batch's items root: :class:`~services.provenance.accusations.ApiItemDetails`); by
    default the API's, when ``images`` come from it. The chain's ``ItemOpened`` is read first."""

    def __init__(
        self,
        deployment: Deployment,
        tx: Transactor,
        images: ImageSource,
        *,
        state_path: Path,
        chunk: int = 5_000,
        item_details: Callable[[int], bytes | None] | None = None,
        openings: OpeningSource | None = None,
    ):
        self.deployment = deployment
        self.tx = tx
        self.images = images
        self.me = to_checksum_address(tx.address)
        self.committee = CommitteeClient(deployment, tx)
        self.contract = self.committee.contract
        self.state_path = state_path
        self.chunk = chunk
        self.cursor = deployment.manifest.block
        self.reviews: dict[str, dict[str, Any]] = {}
        if state_path.exists():
            data = json.loads(state_path.read_text())
            self.cursor, self.reviews = int(data["cursor"]), dict(data["reviews"])
        # the single Registry's token ids are content hashes (a batch item's are not)
        self._content_ids = {to_checksum_address(deployment.manifest.address("Registry"))}
        self._registry = RegistryClient(deployment)
        contracts = deployment.manifest.contracts
        self._batches = BatchRegistryClient(deployment) if "BatchRegistry" in contracts else None
        # the forums whose reviews name batch items (a batch item against a single token at
        # the court; any challenge of a batch item at the BatchRegistry)
        self._batch_forums = {
            to_checksum_address(deployment.manifest.address(name))
            for name in ("BatchCourt", "BatchRegistry")
            if name in contracts
        }
        if item_details is None and isinstance(images, ApiImages) and self._batches is not None:
            item_details = ApiItemDetails(images.client, self._batches)
        self.item_details = item_details
        # the accused's published generation openings (generation proofs), by default the API's
        if openings is None and isinstance(images, ApiImages):
            openings = ApiOpenings(images.client)
        self.openings = openings
        self._commit_blocks: int | None = None
        self._threshold: int | None = None
        self._court_contract: Any = None
        # the forum whose record reviews (``original`` 0) are mis-attestation claims
        self._court = (
            to_checksum_address(deployment.manifest.address("BatchCourt"))
            if "BatchCourt" in contracts
            else None
        )

    # -- reviews ----------------------------------------------------------------------------------
    def step(self) -> list[str]:
        """One pass: the committee's new events, then each review not yet done."""
        head = int(self.deployment.chain.w3.eth.block_number)
        for event, args in self._events(head):
            self._learn(event, args)
        self.cursor = max(self.cursor, head + 1)
        self._save()
        log: list[str] = []
        for entry in self.reviews.values():
            if entry["stage"] in _DONE:
                continue
            try:
                line = self._serve(entry, head)
            except (LedgerError, MarketError, httpx.HTTPError, ProvenanceError, OSError) as exc:
                line = f"failed ({exc}); will retry"
            if line:
                log.append(f"review {entry['key'][:10]}: {line}")
            self._save()
        return log

    def _events(self, head: int) -> Iterator[tuple[str, Any]]:
        """The committee's review events from the cursor to ``head``, in chain order."""

        def fetch(start: int, stop: int) -> list[tuple[str, Any]]:
            found = [
                (event, log)
                for event in _EVENTS
                for log in getattr(self.contract.events, event)().get_logs(
                    from_block=start, to_block=stop
                )
            ]
            found.sort(key=lambda e: (int(e[1]["blockNumber"]), int(e[1]["logIndex"])))
            return found

        # in chunks: a node limits the blocks one log query may span (ledger.logs)
        for found in chunked(fetch, self.cursor, head, chunk=self.chunk):
            for event, log in found:
                yield event, log["args"]

    def _learn(self, event: str, a: Any) -> None:
        key = "0x" + bytes(a["key"]).hex()
        if event == "ReviewRequested":
            self.reviews.setdefault(
                key,
                {
                    "key": key,
                    "collection": to_checksum_address(a["collection"]),
                    "original": str(int(a["original"])),
                    "duplicate": str(int(a["duplicate"])),
                    "detail_hash_a": "0x" + bytes(a["detailHashA"]).hex(),
                    "detail_hash_b": "0x" + bytes(a["detailHashB"]).hex(),
                    "draw_block": int(a["drawBlock"]),
                    "stage": "requested",
                },
            )
            return
        entry = self.reviews.get(key)
        if entry is None or entry["stage"] != "requested":
            return  # a review requested before this juror's cursor, or already seen drawn
        if event == "ReviewRearmed":
            entry["draw_block"] = int(a["drawBlock"])
        elif event == "ReviewCancelled":
            entry["stage"] = "cancelled"
        else:  # ReviewDrawn
            jurors = [str(j) for j in a["jurors"]]
            self._seat(entry, jurors, a["commitDeadline"], a["revealDeadline"])

    def _seat(self, entry: dict[str, Any], jurors: list[str], commit: int, reveal: int) -> None:
        """The drawn review: served when this account holds a seat, else done with."""
        if self.me in {to_checksum_address(j) for j in jurors}:
            entry["stage"] = "drawn"
            entry["commit_deadline"], entry["reveal_deadline"] = int(commit), int(reveal)
        else:
            entry["stage"] = "unseated"

    def _draw(self, entry: dict[str, Any], key: bytes) -> str:
        """Draws a requested review whose draw block has passed (re-read first: drawn already,
        cancelled or re-armed reviews are taken as the chain has them)."""
        review = self.committee.review(key)
        if review.cancelled:
            entry["stage"] = "cancelled"
            return "cancelled (too few active jurors enrolled at the draw)"
        if review.jurors:
            self._seat(entry, list(review.jurors), review.commit_deadline, review.reveal_deadline)
            return "drawn by another" + (": seated" if entry["stage"] == "drawn" else "")
        if review.draw_block != entry["draw_block"]:  # re-armed: wait for the new draw block
            entry["draw_block"] = review.draw_block
            return ""
        if self.me not in {to_checksum_address(j) for j in self.committee.jurors_enrolled()}:
            return ""  # drawing is the enrolled jurors' duty (anyone may; a bystander's gas)
        try:
            self.committee.draw(key)
        except LedgerError as exc:
            if getattr(exc, "name", "") == "CommitteeTooSmall":
                # enough jurors enrolled, too many busy in other reviews: the review waits
                return "waiting: too many jurors busy in other reviews"
            if getattr(exc, "name", "") != "CommitteeAlreadyDrawn":
                raise
        review = self.committee.review(key)
        if review.cancelled:
            entry["stage"] = "cancelled"
            return "drew it: cancelled (too few active jurors enrolled)"
        if not review.jurors:  # the draw block's hash had aged out, or the pool changed: re-armed
            entry["draw_block"] = review.draw_block
            return f"re-armed: drawn after block {review.draw_block}"
        self._seat(entry, list(review.jurors), review.commit_deadline, review.reveal_deadline)
        return "drew it" + (": seated" if entry["stage"] == "drawn" else ": not seated")

    def _serve(self, entry: dict[str, Any], head: int) -> str:
        nxt = head + 1  # the block the next transaction is mined in
        key = bytes.fromhex(entry["key"][2:])
        if entry["stage"] == "requested":
            if nxt <= entry["draw_block"]:
                return ""
            drew = self._draw(entry, key)
            if entry["stage"] != "drawn":
                return drew
            head = int(self.deployment.chain.w3.eth.block_number)  # past the draw, if sent
            return "; ".join(filter(None, [drew, self._serve(entry, head)]))
        salt = vote_salt(bytes(self.tx.account.key), key)
        if entry["stage"] == "drawn" and nxt <= entry["commit_deadline"]:
            if "vote" not in entry:  # recorded once: a retried commit sends the same vote
                verdict = self._judge(entry)
                wait = self._burden_wait(entry)
                if verdict.provisional and nxt <= wait:
                    missing = (
                        "a descriptor"
                        if verdict.burden
                        else "an image"
                        if verdict.fallback
                        else "a generation opening"
                    )
                    return f"waits until block {wait + 1} for {missing} ({verdict.reason})"
                entry["vote"], entry["reason"] = verdict.vote, verdict.reason
                self._save()  # the vote is on disk before its commitment leaves the process
            vote = bool(entry["vote"])
            self.committee.commit(key, vote, salt)
            entry["stage"] = "committed"
            return f"committed ({'yes' if vote else 'no'}: {entry['reason']})"
        if entry["stage"] in ("drawn", "committed") and nxt <= entry["commit_deadline"]:
            return ""  # committed: the reveal phase has not begun
        if entry["stage"] in ("drawn", "committed") and nxt <= entry["reveal_deadline"]:
            return self._reveal(entry, key, salt)
        if nxt > entry["reveal_deadline"]:
            settled = self.committee.review(key).settled
            if not settled:  # anyone may settle, once: the first juror past the deadline does
                self.committee.settle(key)
            entry["stage"] = "settled"
            owed = self.committee.owed(self.me)
            if owed:  # the juror's share (the fee and the minority's penalties), if any
                self.committee.claim()
            return ("settled" if not settled else "settled by another") + (
                f"; claimed {owed} wei" if owed else ""
            )
        return ""

    def _reveal(self, entry: dict[str, Any], key: bytes, salt: bytes) -> str:
        votes: list[bool]
        if "vote" in entry:
            votes = [bool(entry["vote"])]
        else:  # the state was lost after the commit: only the committed vote opens it
            if int(call(self.contract.functions.ballotOf(key, self.me).call)) != _COMMITTED:
                entry["stage"] = "unrevealed"
                return "never committed: nothing to reveal"
            judged = self._judge(entry).vote
            votes = [judged, not judged]
        error: LedgerError | None = None
        for vote in votes:
            try:
                self.committee.reveal(key, vote, salt)
            except LedgerError as exc:
                error = exc
                continue
            entry["stage"], entry["vote"] = "revealed", vote
            return f"revealed {'yes' if vote else 'no'}"
        if "vote" not in entry:
            entry["stage"] = "unrevealed"  # nothing committed by this account
        raise error or LedgerError("nothing to reveal")

    def _judge(self, entry: dict[str, Any]) -> Verdict:
        """This juror's verdict on the review: of a record (the court's mis-attestation claim,
        ``original`` 0) or of a pair."""
        review = self._review(entry)
        if review.original == 0 and review.collection == self._court:
            token = review.duplicate
            threshold = self._match_threshold()
            opened = self._court_opened(token)
            if opened is not None and keccak(opened[1]) == review.detail_hash_b:
                # a batch item's claim: the bytes its leaf's content hash names, judged against
                # the attested descriptor the court proved against the batch's items root
                content, attested = opened
                batches = to_checksum_address(self.deployment.manifest.address("BatchRegistry"))
                item = replace(review, collection=batches, content_ids=False)
                return judge_record(
                    item,
                    self.images,
                    attested,
                    threshold=threshold,
                    content_hash=int.from_bytes(content, "big"),
                )
            # the image is the Registry token's (its id, the content hash, names it)
            registry = to_checksum_address(self.deployment.manifest.address("Registry"))
            record = replace(review, collection=registry, content_ids=True)
            try:
                detail: bytes | None = self._registry.registered(token).detail
            except LedgerError:
                detail = None
            return judge_record(record, self.images, detail, threshold=threshold)
        return judge(review, self.images, self._detail, self.openings)

    def _court_opened(self, token_id: int) -> tuple[bytes, bytes] | None:
        """The content hash and attested descriptor of batch item ``token_id`` that a
        mis-attestation claim opened at the court (its latest ``ItemOpened`` there: the court
        proved both against the batch's items root), or None (no item claim opened it)."""
        if self._court_contract is None:
            self._court_contract = BatchCourtClient(self.deployment).contract
        log = latest_log(
            self._court_contract,
            "ItemOpened",
            self.deployment.manifest.block,
            argument_filters={"tokenId": token_id},
            chunk=self.chunk,
        )
        if log is None:
            return None
        return bytes(log["args"]["contentHash"]), bytes(log["args"]["detail"])

    def _match_threshold(self) -> int:
        if self._threshold is None:
            self._threshold = self._registry.params().match_threshold
        return self._threshold

    def _burden_wait(self, entry: dict[str, Any]) -> int:
        """The last block a burden vote waits for its missing descriptor: a quarter of the commit
        phase after the draw, time for the accused to contest (its contest at the BatchRegistry
        publishes its item's descriptor, ``ItemOpened``) after a requester that drew at once."""
        if self._commit_blocks is None:
            self._commit_blocks = self.committee.params().commit_blocks
        drawn_at = int(entry["commit_deadline"]) - self._commit_blocks
        return drawn_at + self._commit_blocks // _BURDEN_WAIT

    def _detail(self, collection: str, token_id: int) -> bytes | None:
        """A token's published detail descriptor, for the detail rule when an image is missing
        (``judge``, which believes it only when it hashes to the review's hash): a single
        Registry token's ``Registered`` event; at the batch forums a batch item's ``ItemOpened``
        (its owner's contest at the BatchRegistry), else its published manifest."""
        where = to_checksum_address(collection)
        if where in self._content_ids:
            return self._registry.registered(token_id).detail
        if where not in self._batch_forums:
            return None
        try:
            merkle.split_token_id(token_id)
        except ValueError:  # a single token at a batch forum (the court's accused, a challenger)
            return self._registry.registered(token_id).detail
        opened = self._opened(token_id)
        if opened is not None or self.item_details is None:
            return opened
        return self.item_details(token_id)

    def _opened(self, token_id: int) -> bytes | None:
        """The detail the latest ``ItemOpened`` of batch item ``token_id`` published (the
        contract checked it against the item's leaf), or None if it was never opened."""
        if self._batches is None:
            return None
        log = latest_log(
            self._batches.contract,
            "ItemOpened",
            self.deployment.manifest.block,
            argument_filters={"tokenId": token_id},
            chunk=self.chunk,
        )
        return None if log is None else bytes(log["args"]["detail"])

    def _review(self, entry: dict[str, Any]) -> Review:
        return Review(
            key=bytes.fromhex(entry["key"][2:]),
            collection=entry["collection"],
            original=int(entry["original"]),
            duplicate=int(entry["duplicate"]),
            detail_hash_a=bytes.fromhex(entry["detail_hash_a"][2:]),
            detail_hash_b=bytes.fromhex(entry["detail_hash_b"][2:]),
            content_ids=entry["collection"] in self._content_ids,
        )

    def _save(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.state_path.parent, prefix=".juror-")
        with os.fdopen(fd, "w") as f:
            json.dump({"cursor": self.cursor, "reviews": self.reviews}, f)
        os.replace(tmp, self.state_path)
