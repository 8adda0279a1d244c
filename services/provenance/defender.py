"""The owner's defender: contest, unattended, the challenges of one's tokens that the detail rule
rejects (docs/provenance.md, "Defending your tokens").

An admissible challenge that nobody contests revokes its token after the dispute window, so a
squatter can challenge unrelated tokens whose compact fingerprints happen to be admissible (4.9e-3
of distinct pairs) and win every one whose owner is away. Yet both detail descriptors are public
(``Registered`` publishes them), so the outcome of a contest is known before paying for it:
:func:`~services.provenance.detail.detail_matches` is the rule ``resolve`` runs on chain. Each pass
(:meth:`Defender.step`) the defender

* finds the challenges opened against the account's tokens (:class:`ChainAccusations`, the
  ``ChallengeOpened`` logs of the Registry, the BatchCourt and the BatchRegistry; or
  :class:`ApiAccusations`, the API's ``challenge_opened`` notifications);
* reads each dispute's state from the chain, never from its own memory, so a restarted defender
  does not contest twice and resumes a contest it has not decided (:func:`plan`);
* contests a pair the rule rejects (paying the deposit) and decides it (services/provenance/
  _forums.py: ``resolve`` at the Registry; ``finalize`` after the challenger's resolve window at
  the batch contracts): the contester takes both deposits and keeps its token; it concedes a
  pair the rule matches (a contest would lose the deposit: the token is a copy by the rule).
  A batch item's descriptor comes from its manifest (:class:`ApiItemDetails`,
  :class:`ManifestItems`), believed only when it verifies against the chain.

A contest and a resolve cost about 2.2M gas; the defender compares that with the deposit it wins
at the current gas price and says so. It defends anyway unless told ``profitable_only``: a token is
worth more than the gas, and an owner who concedes unprofitable defences invites the griefing.

**With a committee** (the deployment's ``CommitteeVerifier``, stage 3: docs/committee-jurors.md)
a pair the detail rule matches may still be no copy, and only the committee tells. When enough
jurors are enrolled, the defender predicts the jurors' vote (:func:`~services.provenance.juror.
judge` on both images, from ``images``; the detail rule when it has none), and to contest it
first asks for a review of the pair (``requestReview``, paying the review fee), draws its jurors
once the draw block has passed (``draw``: the jurors come from that block's hash, which the
requester cannot know when it asks), then contests: in that order, so that the challenger cannot
``resolve`` on the bare rule in between (a reviewed pair's ``resolve`` reverts
``CommitteeReviewPending`` from the request to the reveal deadline: the defender waits, then
resolves on the committee's verdict). A review already on chain (a restarted defender's) is not
requested twice; one a juror drew first is not drawn again. Too few jurors (``requestReview``
reverts ``CommitteeTooSmall``, or the draw cancels the review): it contests as before, on the
detail rule, when that rule rejects the pair; when only stage 3 rejects it, it looks again each
pass until the window closes (:attr:`Plan.NO_JURY`). A review's fee is owed back to its requester
when the draw cancels it or when it is settled without a quorum: the defender claims (``claim``)
what the chain says it is owed, in the pass that sees the cancellation and after every pass, so
once, restarts included.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import httpx
from eth_utils import keccak, to_checksum_address

from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.committee import CommitteeClient, review_key
from ledger.clients.registry import DisputeState, RegistryClient
from ledger.errors import LedgerError
from ledger.tx import PRIORITY_FEE
from services.market_client import MarketError
from services.provenance._forums import (
    CONTEST_GAS,
    COURT_FINALIZE_GAS,
    RESOLVE_GAS,
    BatchForum,
    CourtForum,
    ItemOpener,
    RegistryForum,
)
from services.provenance.accusations import (
    BATCH,
    COURT,
    REGISTRY,
    Accusation,
    AccusationSource,
    ApiAccusations,
    ChainAccusations,
)
from services.provenance.accusations import same_address as _same
from services.provenance.detail import detail_matches, is_valid_detail
from services.provenance.errors import ProvenanceError
from services.provenance.juror import ImageSource, OpeningSource, Review, judge
from services.provenance.jury import has_committee

__all__ = [
    "CONTEST_GAS",
    "COURT_FINALIZE_GAS",
    "RESOLVE_GAS",
    "Accusation",
    "ApiAccusations",
    "ChainAccusations",
    "DefenceCost",
    "Defender",
    "DefenderStateError",
    "Plan",
    "plan",
]


class DefenderStateError(ProvenanceError):
    """Raised when the defender's state file cannot be read back (not its JSON layout)."""


class Plan(StrEnum):
    """What the defender does about one dispute, decided from the chain's state (:func:`plan`)."""

    CONTEST = "contest"  # open, in the window, the detail rule rejects: a contest wins
    CONCEDE = "concede"  # open, the detail rule matches: a contest would lose the deposit
    UNJUDGED = "unjudged"  # a descriptor is missing (an unpublished manifest) or invalid
    PRICED_OUT = "priced-out"  # a contest would win, but costs more gas than it wins (when told)
    RESOLVE = "resolve"  # contested by this account and not decided yet
    AWAIT = "await"  # contested at the court: the challenger may resolve until the deadline
    WAIT = "wait"  # contested by someone else: theirs to resolve
    LATE = "late"  # open, but the window closes before a contest could be mined
    NO_JURY = "no-jury"  # only stage 3 rejects, and the committee has too few free jurors now
    NOT_OURS = "not-ours"  # the token has another accused owner now
    DONE = "done"  # decided (the dispute state says how) or never opened


FINAL = frozenset({Plan.CONCEDE, Plan.LATE, Plan.NOT_OURS, Plan.DONE})
QUIET = frozenset(
    {Plan.PRICED_OUT, Plan.UNJUDGED, Plan.AWAIT, Plan.NO_JURY}
)  # said once, looked at each pass
_RULE_REJECTS = "the detail rule rejects the pair"  # why a contest on the bare rule wins


class DisputeView(Protocol):
    """What :func:`plan` reads of a dispute (the Registry's ``Dispute``, the court's)."""

    @property
    def state(self) -> DisputeState: ...
    @property
    def deadline(self) -> int: ...
    @property
    def contester(self) -> str: ...


def plan(dispute: DisputeView, *, me: str, accused: str, head: int, rejects: bool | None) -> Plan:
    """The defender's move on ``dispute`` at block ``head`` (the contest is mined at ``head + 1``,
    and ``contest`` refuses a block past the deadline). ``accused`` is who may contest (the
    token's owner, its producer while the token sits in the swap escrow); ``rejects`` is the
    detail rule's answer on the two descriptors (None when it cannot be run)."""
    if dispute.state is DisputeState.CONTESTED:
        return Plan.RESOLVE if _same(dispute.contester, me) else Plan.WAIT
    if dispute.state is not DisputeState.OPEN:
        return Plan.DONE
    if not _same(accused, me):
        return Plan.NOT_OURS
    if head + 1 > dispute.deadline:
        return Plan.LATE
    if rejects is None:
        return Plan.UNJUDGED
    return Plan.CONTEST if rejects else Plan.CONCEDE


@dataclass(frozen=True)
class DefenceCost:
    """A defence's money at ``gas_price``: the challenger's ``deposit`` won against the gas of a
    contest and a resolve (the contester's own deposit comes back with it)."""

    deposit: int
    gas_price: int
    gas: int = CONTEST_GAS + RESOLVE_GAS
    review_fee: int = 0  # the committee's fee when a review is requested first

    @property
    def cost(self) -> int:
        return self.gas * self.gas_price + self.review_fee

    @property
    def net(self) -> int:
        return self.deposit - self.cost

    def describe(self) -> str:
        eth = 10**18
        verdict = "a gain" if self.net >= 0 else "a loss, but it keeps the token"
        fee = f" and a {self.review_fee / eth:.4f} ETH review fee" if self.review_fee else ""
        return (
            f"wins the {self.deposit / eth:.4f} ETH deposit for ~{self.gas:,} gas at "
            f"{self.gas_price / 1e9:.3g} gwei{fee} ({self.cost / eth:.4f} ETH): net "
            f"{self.net / eth:+.4f} ETH, {verdict}"
        )


class DefenderState:
    """The source's cursor and each challenge's last plan, written atomically after each change.

    Only a convenience: the chain decides every move, so a lost file costs a rescan, never a
    second contest."""

    def __init__(self, path: Path):
        self.path = path
        self.source = ""
        self.cursor = 0
        self.disputes: dict[str, dict[str, Any]] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text())
                self.source, self.cursor = str(data["source"]), int(data["cursor"])
                self.disputes = dict(data["disputes"])
            except (ValueError, KeyError, TypeError) as exc:
                raise DefenderStateError(f"{path}: not a defender state file ({exc})") from None

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".defend-")
        with os.fdopen(fd, "w") as f:
            json.dump({"source": self.source, "cursor": self.cursor, "disputes": self.disputes}, f)
        os.replace(tmp, self.path)


class Defender:
    """Defends ``registry``'s account's tokens; ``step`` is one pass, ``run`` polls.

    ``item_details`` finds a batch item's detail descriptor (:class:`ApiItemDetails`): without
    it a batched challenger's pair cannot be judged and is not contested. ``own_items`` opens
    the owner's own batch items (``ApiItemDetails.opening``, from its published manifest):
    without it a challenge of one of them is not contested. ``images`` finds a token's image
    (:class:`~services.provenance.juror.ApiImages`): with a committee, the defender predicts the
    jurors' stage-3 vote with it (module docstring). ``publish`` publishes the generation
    opening of an accused token (:class:`~services.provenance.juror.ApiOpeningPublisher`) and
    ``openings`` reads it back as the jurors will: a stage-3 match of the account's own
    generation is then predicted cleared, and contested."""

    def __init__(
        self,
        registry: RegistryClient,
        source: AccusationSource,
        *,
        state_path: Path,
        profitable_only: bool = False,
        item_details: Callable[[int], bytes | None] | None = None,
        own_items: ItemOpener | None = None,
        images: ImageSource | None = None,
        openings: OpeningSource | None = None,
        publish: Callable[[int], str | None] | None = None,
    ):
        self.registry = registry
        self.openings = openings
        self.publish = publish
        self.source = source
        self.me = to_checksum_address(registry.tx.address)
        self.state = DefenderState(state_path)
        self.profitable_only = profitable_only
        self.images = images
        contracts = registry.deployment.manifest.contracts
        self._forums: dict[str, Any] = {REGISTRY: RegistryForum(registry)}
        self._collections = {REGISTRY: registry.address}  # what a review names for the jurors
        if "BatchCourt" in contracts:
            court = BatchCourtClient(registry.deployment, registry.tx)
            self._forums[COURT] = CourtForum(registry, court, item_details)
            self._collections[COURT] = court.address
        if "BatchRegistry" in contracts:
            batches = BatchRegistryClient(registry.deployment, registry.tx)
            self._forums[BATCH] = BatchForum(registry, batches, item_details, own_items)
            self._collections[BATCH] = batches.address
        deployment = registry.deployment
        self._committee = (
            CommitteeClient(deployment, registry.tx) if has_committee(deployment) else None
        )
        if self.state.source != source.name:  # a cursor means nothing to another source
            self.state.source, self.state.cursor = source.name, 0

    def step(self) -> list[str]:
        """One pass: new accusations, then every undecided one; returns what it did, in words."""
        found, cursor, log = self.source.poll(self.state.cursor)
        for acc in found:
            self.state.disputes.setdefault(
                acc.key,
                {
                    "original": acc.original,
                    "duplicate": acc.duplicate,
                    "forum": acc.forum,
                    "plan": "",
                },
            )
        self.state.cursor = cursor
        self.state.save()
        for entry in self.state.disputes.values():
            if entry["plan"] not in FINAL:
                log += self._defend(entry)
        if self._committee is not None:
            self._claim_refund("committee", log)  # e.g. a review settled without a quorum
        return log

    def run(self, stop: Any, interval: float, report: Any = print) -> None:
        """Passes every ``interval`` seconds until ``stop`` (a ``threading.Event``) is set."""
        while not stop.is_set():
            try:
                lines = self.step()
            except (LedgerError, MarketError, httpx.HTTPError) as exc:  # a node or API outage
                lines = [f"pass failed ({exc}); trying again in {interval:g} s"]
            for line in lines:
                report(line)
            stop.wait(interval)

    def cost(self, gas: int = CONTEST_GAS + RESOLVE_GAS, review_fee: int = 0) -> DefenceCost:
        """A defence's cost at the latest block's base fee plus the transactor's tip."""
        w3 = self.registry.deployment.chain.w3
        base = int(w3.eth.get_block("latest").get("baseFeePerGas", 0))
        deposit = self.registry.params().challenge_deposit
        return DefenceCost(deposit, base + PRIORITY_FEE, gas, review_fee)

    def _defend(self, entry: dict[str, Any]) -> list[str]:
        original, duplicate = int(entry["original"]), int(entry["duplicate"])
        where = str(entry.get("forum", REGISTRY))
        kind = {COURT: "BatchCourt challenge", BATCH: "BatchRegistry challenge"}
        pair = f"{kind.get(where, 'challenge')} of {_short(duplicate)} by {_short(original)}"
        forum = self._forums.get(where)
        if forum is None:
            entry["plan"] = Plan.DONE.value
            self.state.save()
            return [f"{pair}: this deployment has no such contract"]
        dispute = forum.dispute(original, duplicate)
        head = int(self.registry.deployment.chain.w3.eth.block_number)
        rejects, accused, review = None, "", None
        if dispute.state is DisputeState.OPEN:  # read only what an open dispute needs
            accused = forum.accused(duplicate)
            if _same(accused, self.me):
                rejects, review = self._judge(forum, where, original, duplicate)
        move = plan(dispute, me=self.me, accused=accused, head=head, rejects=rejects)
        log: list[str] = []
        if move is Plan.CONTEST:
            step = self._contest(entry, pair, forum, review, original, duplicate, dispute, log)
            if step is None:
                return log
            move, dispute = step
        if move is Plan.RESOLVE:
            try:
                finished = forum.finish(original, duplicate, dispute, head)
            except LedgerError as exc:
                if getattr(exc, "name", "") != "CommitteeReviewPending":
                    return [*log, f"{pair}: deciding refused ({exc}); will retry"]
                move = Plan.AWAIT  # the jurors vote until the reveal deadline: wait for them
                if entry["plan"] != move.value:
                    until = getattr(exc, "revealDeadline", "?")
                    log.append(f"{pair}: contested; the committee reviews it until block {until}")
                entry["plan"], entry["state"] = move.value, dispute.state.name.lower()
                self.state.save()
                return log
            if finished:
                dispute = forum.dispute(original, duplicate)
                move = Plan.DONE
                log.append(f"{pair}: decided: {_verdict(dispute)}")
            else:
                move = Plan.AWAIT
                if entry["plan"] != move.value:
                    log.append(f"{pair}: {_explain(move, dispute)}")
        elif move.value != entry["plan"] and move not in (Plan.PRICED_OUT, Plan.NO_JURY):
            log.append(f"{pair}: {_explain(move, dispute)}")
        entry["plan"] = move.value
        entry["state"] = dispute.state.name.lower()
        self.state.save()
        return log

    def _contest(
        self,
        entry: dict[str, Any],
        pair: str,
        forum: Any,
        review: Review | None,
        original: int,
        duplicate: int,
        dispute: Any,
        log: list[str],
    ) -> tuple[Plan, Any] | None:
        """Contests, asking the committee for a review first where it can give one and drawing
        its jurors once the draw block has passed; the new (plan, dispute), or None when this
        pass ends here (``log`` says why)."""
        why, fee, short, requested = _RULE_REJECTS, 0, "", False
        if review is not None:
            if self.images is not None:
                why = "stage 3 rejects the pair"
            requested = self._reviewed(review.key)  # a restarted defender's review is on chain
            if not requested:
                short = self._too_small()
                fee = 0 if short else self._committee_fee()
        if short:  # no review to be had now: a contest is decided by the detail rule
            held = self._no_jury(entry, pair, forum, original, duplicate, dispute, short, log)
            if held is not None:
                return held
            why = _RULE_REJECTS
        cost = self.cost(forum.gas, fee) if fee else self.cost(forum.gas)
        if self.profitable_only and cost.net < 0:
            if entry["plan"] != Plan.PRICED_OUT.value:
                log.append(
                    f"{pair}: {why}, but a contest {cost.describe()}; not contested "
                    f"(--only-if-profitable) unless the gas price falls before block "
                    f"{dispute.deadline}"
                )
            return Plan.PRICED_OUT, dispute  # looked at again each pass: the gas may fall
        if review is not None and fee:
            try:  # before the contest: the challenger must not resolve on the bare rule
                self._request_review(review, forum)
            except LedgerError as exc:
                if getattr(exc, "name", "") != "CommitteeTooSmall":
                    log.append(f"{pair}: review request refused ({exc}); will look again")
                    return None
                short = str(exc)  # too few enrolled by the time it was mined
                held = self._no_jury(entry, pair, forum, original, duplicate, dispute, short, log)
                if held is not None:
                    return held
                why, cost = _RULE_REJECTS, self.cost(forum.gas)
            else:
                log.append(f"{pair}: committee review requested (fee {fee} wei)")
                requested = True
        if review is not None and requested:
            drawn = self._draw(review)
            if drawn is None:  # the draw block has not passed: the review holds the pair
                if fee:  # said once, as it is requested
                    log.append(f"{pair}: the committee's jurors are drawn after the next block")
                return None
            if drawn:  # cancelled at the draw: the rule decides, as with CommitteeTooSmall
                self._claim_refund(pair, log)  # the fee is owed back to its requester
                short = drawn
                held = self._no_jury(entry, pair, forum, original, duplicate, dispute, short, log)
                if held is not None:
                    return held
                why, cost = _RULE_REJECTS, self.cost(forum.gas)
            elif self._committee is not None and not self._committee.review(review.key).jurors:
                log.append(f"{pair}: the committee's jurors are busy: the review waits for them")
            else:
                log.append(f"{pair}: the committee's jurors are drawn")
        if short:
            log.append(f"{pair}: no committee review ({short}): contested on the rule")
        log.append(f"{pair}: {why}, a contest {cost.describe()}")
        try:
            forum.contest(original, duplicate)
        except LedgerError as exc:  # e.g. mined past the deadline, or out of Ether
            log.append(f"{pair}: contest refused ({exc}); will look again")
            return None
        log.append(f"{pair}: contested (deposit paid)")
        return Plan.RESOLVE, forum.dispute(original, duplicate)

    def _draw(self, review: Review) -> str | None:
        """Draws the requested review's jurors (anyone may; the defender does not wait for the
        jurors to): "" when drawn, or held while the enrolled jurors are busy elsewhere (the draw
        reverts ``CommitteeTooSmall``: the review waits for them, the contest need not), why not
        when cancelled (too few active jurors enrolled at the draw), None while the draw block
        has not passed (or the review was re-armed: its hash aged out, or the pool changed)."""
        assert self._committee is not None
        state = self._committee.review(review.key)
        if not (state.jurors or state.cancelled):
            head = int(self.deployment.chain.w3.eth.block_number)
            if head + 1 <= state.draw_block:  # the draw is mined in the next block at best
                return None
            try:
                self._committee.draw(review.key)
            except LedgerError as exc:
                if getattr(exc, "name", "") == "CommitteeTooSmall":
                    # the jurors are busy in other reviews: the review is held (the pair's
                    # `resolve` waits for it) and drawn once they are free; contest meanwhile,
                    # before the window closes
                    return ""
                if getattr(exc, "name", "") not in ("CommitteeAlreadyDrawn",):
                    raise
            state = self._committee.review(review.key)
        if state.cancelled:
            return "the review was cancelled: too few active jurors enrolled at its draw"
        return "" if state.jurors else None

    def _claim_refund(self, pair: str, log: list[str]) -> None:
        """Claims what the committee owes this account: a review's fee is owed back to its
        requester by pull payment (``claim``) when the draw cancels it, or when it is settled
        without a quorum (by whoever settles it: the jurors free themselves so, after the
        dispute is decided); every pass looks. Read from the chain each time, so a restarted
        defender claims once, and a review someone else requested claims nothing."""
        assert self._committee is not None
        owed = self._committee.owed(self.me)
        if not owed:
            return
        try:
            self._committee.claim()
        except LedgerError as exc:  # e.g. out of Ether for the gas: the fee stays owed
            log.append(f"{pair}: claiming the review fee back refused ({exc}); will retry")
            return
        log.append(f"{pair}: claimed back {owed} wei the committee owed (the review's fee)")

    @property
    def deployment(self) -> Any:
        return self.registry.deployment

    def _judge(
        self, forum: Any, where: str, original: int, duplicate: int
    ) -> tuple[bool | None, Review | None]:
        """(whether a contest wins, the review to request first or None). With a committee:
        the jurors' predicted vote (stage 3, when ``images`` is given), else the detail rule on
        the two published descriptors, as the contract would run it."""
        try:
            a = forum.original_detail(original)
            b = forum.duplicate_detail(duplicate)
        except LedgerError:
            return None, None
        if a is None or b is None or not (is_valid_detail(a) and is_valid_detail(b)):
            return None, None
        rule_rejects = not detail_matches(a, b)
        if self._committee is None:
            return rule_rejects, None
        ha, hb = keccak(a), keccak(b)
        collection = self._collections[where]
        review = Review(
            key=review_key(collection, original, duplicate, ha, hb),
            collection=collection,
            original=original,
            duplicate=duplicate,
            detail_hash_a=ha,
            detail_hash_b=hb,
            content_ids=where == REGISTRY,
        )
        if self.images is None:
            return rule_rejects, review
        # the jurors' fallback where an image is missing: the rule on these same descriptors
        published = {original: a, duplicate: b}
        verdict = judge(review, self.images, lambda _c, t: published.get(t))
        if verdict.vote and self.publish is not None and self.openings is not None:
            # A stage-3 match of the account's own generation is cleared by its opening: the
            # defender publishes it (it reveals the prompt: only when the pixels alone would
            # take the token) and predicts the jurors' vote with it.
            with contextlib.suppress(Exception):  # an API error: the jurors decide without it
                self.publish(duplicate)
            verdict = judge(review, self.images, lambda _c, t: published.get(t), self.openings)
        return not verdict.vote, review

    def _too_small(self) -> str:
        """Why the committee cannot review now ("" when a review's worth of jurors is enrolled;
        some may be busy: ``requestReview`` then reverts ``CommitteeTooSmall``)."""
        assert self._committee is not None
        have, need = len(self._committee.jurors_enrolled()), self._committee.params().jurors
        return "" if have >= need else f"{have} jurors enrolled, {need} needed"

    def _reviewed(self, key: bytes) -> bool:
        """Whether a review of the pair is already on chain (its requester is set)."""
        assert self._committee is not None
        return int(self._committee.review(key).requester, 16) != 0

    def _committee_fee(self) -> int:
        assert self._committee is not None
        return self._committee.params().review_fee

    def _request_review(self, review: Review, forum: Any) -> None:
        """Requests the review with the openings that prove its two detail hashes at ``forum``
        (the committee reviews only an open dispute's true pair)."""
        assert self._committee is not None
        opening_a, opening_b = forum.openings(review.original, review.duplicate)
        self._committee.request_review(
            collection=review.collection,
            original=review.original,
            duplicate=review.duplicate,
            hash_a=review.detail_hash_a,
            hash_b=review.detail_hash_b,
            opening_a=opening_a,
            opening_b=opening_b,
        )

    def _no_jury(
        self,
        entry: dict[str, Any],
        pair: str,
        forum: Any,
        original: int,
        duplicate: int,
        dispute: Any,
        short: str,
        log: list[str],
    ) -> tuple[Plan, Any] | None:
        """Without a review (``short`` says why) the detail rule decides a contest: None when it
        rejects the pair (contest on it), else (NO_JURY, dispute): looked at again each pass."""
        if self._rule_rejects(forum, original, duplicate):
            return None
        if entry["plan"] != Plan.NO_JURY.value:
            log.append(f"{pair}: {_explain(Plan.NO_JURY, dispute)} ({short})")
        return Plan.NO_JURY, dispute

    def _rule_rejects(self, forum: Any, original: int, duplicate: int) -> bool | None:
        """The detail rule on the two published descriptors, as the contract would run it."""
        try:
            a = forum.original_detail(original)
            b = forum.duplicate_detail(duplicate)
        except LedgerError:
            return None
        if a is None or b is None or not (is_valid_detail(a) and is_valid_detail(b)):
            return None
        return not detail_matches(a, b)


def _short(token_id: int) -> str:
    text = f"{token_id:#066x}"
    return f"{text[:10]}..{text[-4:]}"


def _explain(move: Plan, dispute: Any) -> str:
    return {
        Plan.CONCEDE: "the detail rule matches the pair (the token is a copy by the rule): "
        "not contested, a contest would lose the deposit"
        + (
            " (one ESP attested both: an equivocation, nothing is revoked)"
            if getattr(dispute, "equivocal", False)
            else ""
        ),
        Plan.UNJUDGED: "a detail descriptor is missing (a batch item's manifest is not "
        "published) or invalid: not contested; looked at again until the window closes",
        Plan.AWAIT: f"contested; the challenger may resolve until block {dispute.deadline}, "
        "then the defender finalizes (rejected: both deposits to it)",
        Plan.WAIT: f"contested by {dispute.contester}: theirs to resolve",
        Plan.LATE: f"the contest window closed at block {dispute.deadline}: too late",
        Plan.NO_JURY: "stage 3 rejects the pair but the detail rule matches it, and the committee "
        "has too few free jurors to review it now: not contested (it would lose on the rule); "
        "looked at again until the window closes",
        Plan.NOT_OURS: "the token is no longer this account's",
        Plan.DONE: f"already decided: {_verdict(dispute)}",
    }.get(move, move.value)


def _verdict(dispute: Any) -> str:
    state: DisputeState = dispute.state
    return {
        DisputeState.NONE: "no such challenge on chain",
        DisputeState.REJECTED: "rejected, the token stays",
        DisputeState.UPHELD: "upheld, the token is revoked",
        DisputeState.SETTLED: "upheld and settled, the token is revoked",
        DisputeState.VOID: "void, nothing revoked",
        DisputeState.REVERSED: "reversed, the token is active again",
        DisputeState.EQUIVOCATED: "equivocated, nothing revoked",
    }.get(state, state.name.lower())
