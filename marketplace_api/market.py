"""The marketplace's view of the chain: the indexer with its projections, and reputation.

:class:`Market` owns the indexer (products via :class:`Catalog`, reputation evidence via the
``FeedbackRecorded`` events) and answers reputation queries from any producer's point of view with
the MWSL engine, fed incrementally as events arrive.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from eth_utils import to_checksum_address
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, object_session

from ledger import Asset, LockStatus, LockTerms
from ledger.deploy import Deployment
from ledger.indexer import ChainEvent, Checkpoint, Indexer
from marketplace_api.batch_catalog import BatchCatalog
from marketplace_api.catalog import Catalog, token_hex
from marketplace_api.esp_directory import EspDirectory
from marketplace_api.misattestations import MisattestationBook
from marketplace_api.models import Listing, Notification, Task, Trade
from marketplace_api.types import LockJson
from services.exchange import (
    Collection,
    CollectionKind,
    CollectionReader,
    ListingState,
    LockMismatch,
    Royalty,
    TradeState,
    TradeTerms,
    check_buyer_locks,
    check_seller_lock,
    collection_of,
    collections,
    royalty_of,
    settled_state,
)
from services.generation import (
    TaskState,
    fee_lock_matches,
    registered,
    rewound_state,
    settled,
)
from services.reputation import (
    Interaction,
    ReputationEngine,
    ReputationParams,
    rank_exploring,
    select_exploring,
)
from services.reputation.verdicts import VERDICT_EVENTS, VerdictLog

# ESP selection (the attack simulation's setting, docs/reputation.md "Wave 2"): softmax over the
# established ESPs at or above the floor, a bounded exploration share for newcomers and ESPs on
# probation, so a fresh address never takes more than that share.
SELECTION_TEMPERATURE = 0.2
SELECTION_FLOOR = 0.55
EXPLORE_SHARE = 0.02


class Market:
    """Indexer + catalog + reputation engine for one deployment and one database."""

    def __init__(
        self,
        deployment: Deployment,
        engine: Engine,
        *,
        confirmations: int = 0,
        prompt_release_depth: int = 0,
    ):
        threshold = int(deployment.manifest.params.get("match_threshold", 10))
        self.deployment = deployment
        self.catalog = Catalog(threshold=threshold, escrow=deployment.htlc.address)
        # The Sybil-resistant weighting (docs/reputation.md: recommender cap, Ether paid to other
        # ESPs, a vacuous prior); the on-chain ReputationView keeps the documented subset.
        self.reputation = ReputationEngine(ReputationParams.hardened())
        self.verdicts = VerdictLog()  # lost challenges, weighed into the ranking
        self._lock = threading.Lock()
        self._stale = False  # the in-memory projections fed rows a failed batch did not commit
        self.read_cache = ReadCache()
        self.batches = BatchCatalog(self.catalog)
        self.tasks = TaskTracker()
        self.trades = TradeTracker(deployment)
        # the court's claims, shown without a wallet; each round's holder is told
        self.misattestations = MisattestationBook(self.catalog.accused_of)
        self.esp_directory = EspDirectory()  # the draw's candidates: no espInfo call per ESP
        self.indexer = Indexer(
            deployment,
            engine,
            confirmations=confirmations,
            projections=[
                self.catalog,
                self.batches,
                self.tasks,
                self.trades,
                self.misattestations,
                self.esp_directory,
                self._feed_reputation,
            ],
            on_rewind=self._rewind,
        )
        self.prompt_release = PromptRelease(prompt_release_depth, self.indexer.key)
        with Session(engine) as session:
            self.catalog.load(session)
            self._rebuild_reputation(session)

    def poll(self) -> int:
        """Indexes what is new; returns the number of events ingested.

        The projections run inside each batch's database transaction, the in-memory ones too
        (the near-duplicate index, the reputation engine, the verdict log): when a batch fails
        (its commit among others) they are rebuilt from what the database holds, else the retry
        would feed the same rows again and the engine count those interactions twice."""
        with self._lock:
            if self._stale:
                self._reload()  # raises while the database is down: nothing is fed meanwhile
            try:
                result = self.indexer.poll()
            except BaseException:
                self._stale = True
                with contextlib.suppress(Exception):  # the batch's own error is the one raised
                    self._reload()
                raise
        if result.events or result.rewound_to is not None:
            self.read_cache.clear()
        return result.events

    def reload(self) -> None:
        """Re-reads what another process's indexer wrote (the ``aigc index`` leader): the
        near-duplicate index and reputation from the database, and drops rendered reads."""
        with self._lock:
            self._reload()
        self.read_cache.clear()

    def _reload(self) -> None:
        with Session(self.indexer.engine) as session:
            self.catalog.load(session)
            self._rebuild_reputation(session)
        self._stale = False

    def _feed_reputation(self, _session: Session, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            if row["event"] == "FeedbackRecorded":
                self.reputation.record(_interaction(row["args"], row["block_time"]))
        self.verdicts.add(rows)

    def _rewind(self, session: Session, ancestor: int) -> None:
        self.batches.rewind(session, ancestor)
        self.catalog.rewind(session, ancestor)
        self.tasks.rewind(session, ancestor)
        self.trades.rewind(session, ancestor)
        self.misattestations.rewind(session, ancestor)
        self.esp_directory.rewind(session, ancestor)
        self._rebuild_reputation(session)

    def _rebuild_reputation(self, session: Session) -> None:
        engine = ReputationEngine(self.reputation.params)
        rows = session.execute(
            select(ChainEvent.args, ChainEvent.block_time)
            .where(ChainEvent.event == "FeedbackRecorded")
            .order_by(ChainEvent.block_number, ChainEvent.log_index)
        )
        for args, block_time in rows:
            engine.record(_interaction(args, block_time))
        self.reputation = engine
        verdicts = VerdictLog()
        verdicts.add(
            r._asdict()
            for r in session.execute(
                select(
                    ChainEvent.contract,
                    ChainEvent.event,
                    ChainEvent.args,
                    ChainEvent.tx_hash,
                    ChainEvent.block_time,
                )
                .where(ChainEvent.event.in_(VERDICT_EVENTS))
                .order_by(ChainEvent.block_number, ChainEvent.log_index)
            )
        )
        self.verdicts = verdicts

    def ranking(
        self,
        producer: str,
        esps: Sequence[str],
        *,
        now: int,
        temperature: float = SELECTION_TEMPERATURE,
        floor: float = SELECTION_FLOOR,
        explore_share: float = EXPLORE_SHARE,
        verdicts: dict[str, float] | None = None,
        unresponsive: frozenset[str] = frozenset(),
    ) -> list[tuple[str, float, float]]:
        """(esp, reputation, selection probability), best first: established ESPs at or above
        ``floor`` share all but ``explore_share`` by softmax; newcomers (and ESPs on probation,
        between the base rate and the floor) share ``explore_share`` (docs/reputation.md,
        "Wave 2"). The probabilities :meth:`choose` draws from. Lost challenges weigh in as
        ``services.reputation.verdicts`` says (``verdicts``: that weighting's familiarity per
        ESP, default from the indexed events; docs/reputation.md, "Lost challenges"); the
        ``unresponsive`` newcomers (``marketplace_api.draws``) get no exploration slot."""
        ranked = rank_exploring(
            producer,
            list(esps),
            self.reputation,
            now=now,
            temperature=temperature,
            floor=floor,
            explore_share=explore_share,
            verdicts=self._verdicts(now) if verdicts is None else verdicts,
            unresponsive=unresponsive,
        )
        return [(r.esp, r.reputation, r.probability) for r in ranked]

    def choose(
        self,
        producer: str,
        esps: Sequence[str],
        *,
        now: int,
        temperature: float = SELECTION_TEMPERATURE,
        floor: float = SELECTION_FLOOR,
        explore_share: float = EXPLORE_SHARE,
        rng: np.random.Generator | None = None,
        unresponsive: frozenset[str] = frozenset(),
    ) -> str:
        """Draws an ESP for ``producer``'s task by :meth:`ranking`'s probabilities (raises
        ``NoEligibleEspError`` when no ESP is eligible)."""
        return select_exploring(
            producer,
            list(esps),
            self.reputation,
            now=now,
            temperature=temperature,
            floor=floor,
            explore_share=explore_share,
            rng=rng,
            verdicts=self._verdicts(now),
            unresponsive=unresponsive,
        )

    def _verdicts(self, now: int) -> dict[str, float]:
        return self.verdicts.familiarity(now=now, params=self.reputation.params)


def _interaction(args: dict[str, Any], block_time: int) -> Interaction:
    return Interaction(
        producer=args["producer"],
        esp=args["esp"],
        positive=bool(args["positive"]),
        value=int(args["value"]),
        time=int(block_time),
    )


@dataclass(frozen=True)
class PromptRelease:
    """When a task's ESP may read its prompt (services.generation.prompt_released's
    ``fee_locked``): once the indexer has seen the fee lock ``depth`` blocks deep (its checkpoint
    minus the lock's block; 0: as soon as it is indexed). A lock in the head block is one reorg
    away from never having been made; the ESP would keep the prompt (AIGC_PROMPT_RELEASE_DEPTH,
    README "Configuration")."""

    depth: int
    deployment_key: str  # the indexer's checkpoint row

    def fee_lock_safe(self, task: Task) -> bool:
        if task.lock_id is None:
            return False
        if self.depth == 0:
            return True
        session = object_session(task)
        if session is None:  # a detached row: nothing to measure the depth by
            return False
        checkpoint = session.get(Checkpoint, self.deployment_key)
        locked_at = session.scalar(
            select(func.min(ChainEvent.block_number)).where(
                ChainEvent.contract == "HashTimeLock",
                ChainEvent.event == "Locked",
                ChainEvent.args["id"].as_string() == task.lock_id,
            )
        )
        if checkpoint is None or locked_at is None:
            return False
        return checkpoint.block_number - int(locked_at) >= self.depth


class ReadCache:
    """Rendered JSON of product reads, valid until the indexer ingests new events.

    ``generation`` moves on every ``clear``; an entry rendered under an older generation is not
    stored, so a read racing with the indexer never pins stale data.
    """

    def __init__(self, max_entries: int = 10_000):
        self.max_entries = max_entries
        self.generation = 0
        self._entries: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        return self._entries.get(key)

    def put(self, key: str, body: bytes, generation: int) -> None:
        with self._lock:
            if generation == self.generation and len(self._entries) < self.max_entries:
                self._entries[key] = body

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()


class TaskTracker:
    """Moves tasks along with what the chain says (an indexer projection).

    * ``Locked``: an Ether lock from the task's producer to its ESP under the quoted hashlock,
      for at least the quoted price, expiring no earlier than the quoted deadline -> ``locked``;
    * ``Withdrawn`` of that lock -> ``claimed`` (the preimage is now public);
    * ``Refunded`` of that lock -> ``refunded``;
    * ``Registered`` whose task id is the task's fee lock id -> ``registered``.
    """

    def __call__(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            a, event = row["args"], row["event"]
            if event == "Locked" and Asset(int(a["asset"])) is Asset.ETHER:
                self._locked(session, row, a)
            elif event in ("Withdrawn", "Refunded"):
                task = session.scalar(select(Task).where(Task.lock_id == a["id"]))
                state = (
                    None if task is None else settled(task.status, withdrawn=event == "Withdrawn")
                )
                if task is not None and state is not None:
                    task.status = state
                    if state is TaskState.CLAIMED:
                        task.preimage = a["preimage"]
            elif event == "Registered":  # v2: the attested task id is the paid lock's id
                task = session.scalar(select(Task).where(Task.lock_id == a["taskId"]))
                state = None if task is None else registered(task.status)
                if task is not None and state is not None and a["producer"] == task.producer:
                    task.status = state
                    task.token_id = token_hex(a["tokenId"])

    def _locked(self, session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
        task = session.scalar(
            select(Task).where(Task.hashlock == a["hashlock"], Task.status == TaskState.QUOTED)
        )
        if task is None or not fee_lock_matches(
            LockTerms.from_json(a),
            producer=task.producer,
            esp=task.esp,
            hashlock=str(task.hashlock),
            price=int(task.price or 0),
            deadline=int(task.deadline or 0),
        ):
            return
        lock = LockJson.of(a)
        assert lock is not None
        task.lock = lock.model_dump(mode="json")  # the API's one lock form (asset by name)
        task.lock_id = a["id"]
        task.status = TaskState.LOCKED

    def rewind(self, session: Session, ancestor: int) -> None:
        """After a reorg (events above ``ancestor`` are gone), re-derive each chain-driven task's
        status from the events that remain; off-chain data (quote, delivery) is kept."""
        del ancestor
        known = {
            (e, a.get("id") or a.get("taskId"))
            for e, a in session.execute(
                select(ChainEvent.event, ChainEvent.args).where(
                    ChainEvent.event.in_(("Locked", "Withdrawn", "Refunded", "Registered"))
                )
            )
        }
        for task in session.scalars(select(Task).where(Task.lock_id.is_not(None))):
            if task.status == TaskState.FRAUD_PROVEN:
                continue  # proven off chain from the published key: no reorg undoes it
            state = rewound_state(
                locked=("Locked", task.lock_id) in known,
                withdrawn=("Withdrawn", task.lock_id) in known,
                refunded=("Refunded", task.lock_id) in known,
                registered=("Registered", task.lock_id) in known,
                delivered=task.delivery is not None,
            )
            task.status = state
            if state is TaskState.QUOTED:
                task.lock, task.lock_id, task.preimage = None, None, None
            if state is not TaskState.REGISTERED:
                task.token_id = None
            if state in (TaskState.LOCKED, TaskState.DELIVERED):
                task.preimage = None


class TradeTracker:
    """Moves trades along with their locks (an indexer projection).

    Every rule is :mod:`services.exchange.trade`'s: the seller's lock must hold the offered
    token of the trade's collection (``asset_locked``: the Registry's, or the BatchRegistry's
    for a batched item; a same-id token of the other collection is not it); the buyer's Ether
    locks under that hashlock must pay the offer exactly, the seller ``price - royalty`` and, on
    a resale, the collection's ERC-2981 royalty receiver its share (``payment_locked``, or
    ``unsafe_payment`` inside the margin); a trade is ``completed`` only when the token, the
    payment and the royalty were all withdrawn. A revoked token's open listings are cancelled,
    and its unpaid trades too: a ``Revoked`` moves only the listings and trades of the
    collection that emitted it (the indexer names each log's contract by its address). A
    listing is an offer of its seller's token: once the seller sends the token away other than
    into the escrow, or sells it through one listing, the seller's open listings of it close,
    so a token that comes back later does not revive an old offer (a ``Transfer`` moves only
    its own collection's listings, like ``Revoked``).

    The royalty lock is kept beside the payment lock in ``Trade.payment_lock`` (its
    ``royalty_lock`` key): the trade table has no column of its own for it.
    """

    def __init__(self, deployment: Deployment):
        self.deployment = deployment
        self._collections = {c.contract: c for c in collections(deployment)}
        self._readers = {c.kind: CollectionReader(deployment, c) for c in collections(deployment)}
        self._royalties: dict[tuple[str, int, int], Royalty] = {}

    def __call__(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            a, event, contract = row["args"], row["event"], row["contract"]
            if contract in self._collections and event == "Revoked":
                self._revoked(session, self._collections[contract], a)
            elif contract in self._collections and event == "Transfer":
                self._transferred(session, self._collections[contract], a)
            elif contract != "HashTimeLock":
                continue
            elif event == "Locked" and int(a["asset"]) == Asset.ERC721:
                self._asset_locked(session, a)
            elif event == "Locked" and int(a["asset"]) == Asset.ETHER:
                self._payment_locked(session, a)
            elif event in ("Withdrawn", "Refunded"):
                self._settled(session, event, a, block=int(row.get("block_number", 0)))

    def royalty(self, trade: Trade) -> Royalty:
        """The trade's collection's ERC-2981 royalty on its terms (immutable per collection,
        token and price)."""
        terms = trade_terms(trade)
        kind = CollectionKind(trade.collection or CollectionKind.REGISTRY)
        key = (kind.value, terms.token_id, terms.price)
        if key not in self._royalties:
            self._royalties[key] = royalty_of(self._readers[kind], terms)
        return self._royalties[key]

    def _asset_locked(self, session: Session, a: dict[str, Any]) -> None:
        collection = next(
            (c for c in self._collections.values() if c.address.lower() == a["token"].lower()),
            None,
        )
        if collection is None:
            return  # a token of no collection (e.g. a same-id fake): no trade sells it
        trade = session.scalar(
            select(Trade)
            .where(
                Trade.status == TradeState.REQUESTED,
                Trade.seller == a["sender"],
                Trade.buyer == a["receiver"],
                Trade.token_id == token_hex(a["amount"]),
                Trade.collection == collection.kind.value,
            )
            .order_by(Trade.id)
        )
        if trade is None:
            return
        token = collection_of(self.deployment, trade.collection).address
        try:  # the one rule, checked again (the query above is only the lookup)
            check_seller_lock(LockTerms.from_json(a), trade_terms(trade), token=token)
        except LockMismatch:
            return  # e.g. a same-id token of another contract: not what the offer sells
        trade.asset_lock, trade.asset_lock_id = {**a}, a["id"]
        trade.hashlock = a["hashlock"]
        trade.status = TradeState.ASSET_LOCKED
        self._check_paid(session, trade)  # in case the buyer's locks were indexed first

    def _payment_locked(self, session: Session, a: dict[str, Any]) -> None:
        """Checks every trade waiting under the lock's hashlock: a hashlock is public once the
        seller locks, so another trade may copy it (its seller's own token lock), and checking
        only the first would leave the real trade unpaid."""
        for trade in list(
            session.scalars(
                select(Trade)
                .where(Trade.status == TradeState.ASSET_LOCKED, Trade.hashlock == a["hashlock"])
                .order_by(Trade.id)
            )
        ):
            self._check_paid(session, trade)

    def _check_paid(self, session: Session, trade: Trade) -> None:
        """``payment_locked`` (or ``unsafe_payment``) once the buyer's Ether locks under the
        trade's hashlock pay every leg the offer requires, exactly."""
        if trade.asset_lock is None:
            return
        # Every Ether lock under the hashlock so far (this batch's rows are stored already),
        # with the block time it was made at (a leg must leave the seller time to claim).
        locks: dict[bytes, dict[str, Any]] = {}
        locked_at: dict[bytes, int] = {}
        locked_in: dict[bytes, int] = {}  # the block of each: a royalty's claim window
        for args, block_time, block in session.execute(
            select(ChainEvent.args, ChainEvent.block_time, ChainEvent.block_number).where(
                ChainEvent.contract == "HashTimeLock",
                ChainEvent.event == "Locked",
                ChainEvent.args["hashlock"].as_string() == trade.hashlock,
            )
        ):
            if (lock := LockTerms.from_json(args)).asset is Asset.ETHER:
                locks[lock.id], locked_at[lock.id] = args, int(block_time)
                locked_in[lock.id] = int(block)
        terms = trade_terms(trade)
        paid = check_buyer_locks(
            [LockTerms.from_json(args) for args in locks.values()],
            terms,
            self.royalty(trade),
            asset_lock=LockTerms.from_json(trade.asset_lock),
            locked_at=locked_at,
            locked_in=locked_in,
        )
        if paid is None:
            return
        payment = {**locks[paid.payment.id]}
        if paid.royalty is not None:
            payment["royalty_lock"] = {**locks[paid.royalty.id]}
        trade.payment_lock, trade.payment_lock_id = payment, payment["id"]
        trade.status = paid.state

    def _settled(self, session: Session, event: str, a: dict[str, Any], *, block: int) -> None:
        for trade in self._trades_of_settlement(session, event, a):
            if trade.asset_lock_id is not None:
                self._settle(session, trade, event, a)
                self._announce_royalty(session, trade, block=block)

    @staticmethod
    def _announce_royalty(session: Session, trade: Trade, *, block: int) -> None:
        """Once the secret is public (``payment_claimed``) while the royalty lock is still open,
        tells its receiver, once, with the prepared withdrawal: anyone may withdraw it to the
        producer now, but nobody else wants to, and the buyer refunds it to itself at T2. The
        note goes once the trade moves on (the royalty withdrawn, or refunded)."""
        royalty = payment_locks(trade)[1]
        if royalty is None:
            return
        kind = "royalty_claimable"
        told = select(Notification).where(
            Notification.kind == kind, Notification.payload["lock_id"].as_string() == royalty["id"]
        )
        if trade.status != TradeState.PAYMENT_CLAIMED or trade.secret is None:
            for note in session.scalars(told):  # settled (or not claimable): nothing to collect
                session.delete(note)
            return
        if session.scalar(told) is not None:
            return
        lock = LockJson.of(royalty)
        assert lock is not None
        body = {"lock": lock.model_dump(mode="json"), "preimage": trade.secret}
        payload = {
            "trade_id": trade.id,
            "token_id": trade.token_id,
            "lock_id": royalty["id"],
            "amount": str(royalty["amount"]),
            "expires_at": int(royalty["timelock"]),
            "prepared_withdrawal": {
                "action": "withdraw",
                "endpoint": "/v1/tx/locks/withdraw",
                "body": body,
            },
        }
        session.add(
            Notification(recipient=lock.receiver, kind=kind, block_number=block, payload=payload)
        )

    def _settle(self, session: Session, trade: Trade, event: str, a: dict[str, Any]) -> None:
        if event == "Withdrawn":
            trade.secret = a["preimage"]
        payment, royalty = payment_locks(trade)
        ids = [trade.asset_lock_id] + [lock["id"] for lock in (payment, royalty) if lock]
        settled = {
            args["id"]: LockStatus.WITHDRAWN if name == "Withdrawn" else LockStatus.REFUNDED
            for name, args in session.execute(
                select(ChainEvent.event, ChainEvent.args).where(
                    ChainEvent.contract == "HashTimeLock",
                    ChainEvent.event.in_(("Withdrawn", "Refunded")),
                    ChainEvent.args["id"].as_string().in_(ids),
                )
            )
        }
        state = settled_state(
            TradeState(trade.status),
            asset=settled.get(trade.asset_lock_id, LockStatus.OPEN),
            payment=settled.get(payment["id"], LockStatus.OPEN) if payment else None,
            royalty=settled.get(royalty["id"], LockStatus.OPEN) if royalty else None,
        )
        trade.status = state
        kind = trade.collection or CollectionKind.REGISTRY
        listing = session.get(Listing, trade.listing_id)
        if listing is None or listing.status != ListingState.OPEN:
            # Withdrawn by its seller mid-trade: the token still left with a completed sale.
            if state is TradeState.COMPLETED:
                self._close_listings(session, kind, trade.token_id, trade.seller)
            return
        if state is TradeState.COMPLETED:
            close_listing(session, listing, ListingState.SOLD)
            self._close_listings(session, kind, trade.token_id, trade.seller)
        elif state is TradeState.OFF_TERMS:  # the seller no longer holds the token
            close_listing(session, listing, ListingState.CANCELLED)
        elif (
            state is TradeState.REFUNDED
            and settled.get(trade.asset_lock_id) is LockStatus.WITHDRAWN
        ):
            # The buyer took the token but a leg was refunded (the royalty nobody withdrew): not
            # completed, yet the token has left the seller, and so have its offers of it.
            close_listing(session, listing, ListingState.CANCELLED)
            self._close_listings(session, kind, trade.token_id, trade.seller)

    def _trades_of_settlement(self, session: Session, event: str, a: dict[str, Any]) -> list[Trade]:
        live = (
            TradeState.ASSET_LOCKED,
            TradeState.PAYMENT_LOCKED,
            TradeState.UNSAFE_PAYMENT,
            TradeState.PAYMENT_CLAIMED,
        )
        if event == "Withdrawn":  # every leg of a trade shares the hashlock sha256(preimage)
            # Every live trade under it: another trade may have copied a public hashlock, and
            # each one re-reads only its own locks' settlements.
            preimage = bytes.fromhex(str(a["preimage"]).removeprefix("0x"))
            hashlock = "0x" + hashlib.sha256(preimage).hexdigest()
            return list(
                session.scalars(
                    select(Trade)
                    .where(Trade.hashlock == hashlock, Trade.status.in_(live))
                    .order_by(Trade.id)
                )
            )
        trades = list(
            session.scalars(
                select(Trade).where(
                    Trade.status.in_(live),
                    (Trade.asset_lock_id == a["id"]) | (Trade.payment_lock_id == a["id"]),
                )
            )
        )
        if trades:
            return trades
        for paid in session.scalars(select(Trade).where(Trade.status.in_(live[1:]))):
            royalty = payment_locks(paid)[1]
            if royalty is not None and royalty["id"] == a["id"]:
                return [paid]
        return []

    def rewind(self, session: Session, ancestor: int) -> None:
        """After a reorg (events above ``ancestor`` are gone), re-derive every trade that got past
        ``requested`` by replaying the lock events that remain under its hashlock."""
        del ancestor
        started = select(Trade).where(
            Trade.hashlock.is_not(None), Trade.status != TradeState.CANCELLED
        )
        for trade in list(session.scalars(started)):
            hashlock = trade.hashlock
            listing = session.get(Listing, trade.listing_id)
            if listing is not None and listing.status == ListingState.SOLD:
                listing.status = ListingState.OPEN  # sold again below if still completed
            trade.status = TradeState.REQUESTED
            trade.hashlock = trade.asset_lock = trade.asset_lock_id = None
            trade.payment_lock = trade.payment_lock_id = trade.secret = None
            session.flush()
            locks = select(ChainEvent).where(
                ChainEvent.contract == "HashTimeLock",
                ChainEvent.event == "Locked",
                ChainEvent.args["hashlock"].as_string() == hashlock,
            )
            events = list(session.scalars(locks))
            ids = [e.args["id"] for e in events]
            events += session.scalars(
                select(ChainEvent).where(
                    ChainEvent.contract == "HashTimeLock",
                    ChainEvent.event.in_(("Withdrawn", "Refunded")),
                    ChainEvent.args["id"].as_string().in_(ids),
                )
            )
            events.sort(key=lambda e: (e.block_number, e.log_index))
            self(
                session,
                [
                    {
                        "contract": e.contract,
                        "event": e.event,
                        "args": e.args,
                        "block_number": e.block_number,
                    }
                    for e in events
                ],
            )

    def _transferred(self, session: Session, collection: Collection, a: dict[str, Any]) -> None:
        """The token left its owner outside the escrow: that owner's open listings of it (of
        ``collection``) close, and stay closed if it comes back. A move into the escrow (the
        seller's lock) or out of it (the buyer's claim, the seller's refund) is the trade's own:
        a sale closes its listings through :meth:`_settled`. Keyed on the sender, not the new
        owner, so a mint or an earlier owner's move, indexed after a listing was made, closes
        nothing."""
        escrow = self.deployment.htlc.address.lower()
        if escrow in (str(a["from"]).lower(), str(a["to"]).lower()):
            return
        self._close_listings(session, collection.kind.value, token_hex(a["tokenId"]), a["from"])

    @staticmethod
    def _close_listings(session: Session, kind: str, token: str, seller: str) -> None:
        """Cancels ``seller``'s open listings of ``kind``'s ``token``."""
        for listing in session.scalars(
            select(Listing).where(
                Listing.token_id == token,
                Listing.collection == kind,
                Listing.seller == to_checksum_address(seller),
                Listing.status == ListingState.OPEN,
            )
        ):
            close_listing(session, listing, ListingState.CANCELLED)

    def _revoked(self, session: Session, collection: Collection, a: dict[str, Any]) -> None:
        """A revoked copy is frozen: its listings close, and trades not yet paid are cancelled
        (a buyer who already locked a payment refunds it after its timelock). Only
        ``collection``'s: a batched item's revocation leaves a same-numbered Registry token's
        listings alone, and the reverse."""
        token, kind = token_hex(a["tokenId"]), collection.kind.value
        for listing in session.scalars(
            select(Listing).where(
                Listing.token_id == token,
                Listing.collection == kind,
                Listing.status == ListingState.OPEN,
            )
        ):
            listing.status = ListingState.CANCELLED
        for trade in session.scalars(
            select(Trade).where(
                Trade.token_id == token,
                Trade.collection == kind,
                Trade.status.in_((TradeState.REQUESTED, TradeState.ASSET_LOCKED)),
            )
        ):
            trade.status = TradeState.CANCELLED


def close_listing(session: Session, listing: Listing, status: ListingState) -> None:
    """Closes ``listing`` (sold or cancelled) and ends the requests still waiting on it: a
    seller's token lock names no trade, so the indexer gives it to the oldest ``requested``
    trade of (seller, buyer, token); a request left over from a closed listing would take the
    lock meant for a later listing, at the old listing's price."""
    listing.status = status
    for trade in session.scalars(
        select(Trade).where(Trade.listing_id == listing.id, Trade.status == TradeState.REQUESTED)
    ):
        trade.status = TradeState.CANCELLED


def trade_terms(trade: Trade) -> TradeTerms:
    """What a trade row fixes: the listed token, its seller, the buyer and the offer's price."""
    return TradeTerms(int(trade.token_id, 16), trade.seller, trade.buyer, int(trade.price))


def payment_locks(trade: Trade) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The accepted payment lock and royalty lock (event args) of a trade, if any."""
    if trade.payment_lock is None:
        return None, None
    payment = {k: v for k, v in trade.payment_lock.items() if k != "royalty_lock"}
    royalty = trade.payment_lock.get("royalty_lock")
    return payment, royalty
