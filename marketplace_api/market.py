"""The marketplace's view of the chain: the indexer with its projections, and reputation.

:class:`Market` owns the indexer (products via :class:`Catalog`, reputation evidence via the
``FeedbackRecorded`` events) and answers reputation queries from any producer's point of view with
the MWSL engine, fed incrementally as events arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.deploy import Deployment
from ledger.indexer import ChainEvent, Indexer
from marketplace_api.catalog import Catalog, token_hex
from marketplace_api.models import Listing, Task, Trade
from services.exchange import DEFAULT_MARGIN
from services.reputation import Interaction, ReputationEngine, rank, selection_probabilities


class Market:
    """Indexer + catalog + reputation engine for one deployment and one database."""

    def __init__(self, deployment: Deployment, engine: Engine, *, confirmations: int = 0):
        threshold = int(deployment.manifest.params.get("match_threshold", 10))
        self.deployment = deployment
        self.catalog = Catalog(threshold=threshold)
        self.reputation = ReputationEngine()
        self._lock = threading.Lock()
        self.read_cache = ReadCache()
        self.tasks = TaskTracker()
        self.trades = TradeTracker()
        self.trades.royalty_bps = int(deployment.manifest.params.get("royalty_bps", 0))
        self.indexer = Indexer(
            deployment,
            engine,
            confirmations=confirmations,
            projections=[self.catalog, self.tasks, self.trades, self._feed_reputation],
            on_rewind=self._rewind,
        )
        with Session(engine) as session:
            self.catalog.load(session)
            self._rebuild_reputation(session)

    def poll(self) -> int:
        """Indexes what is new; returns the number of events ingested."""
        with self._lock:
            result = self.indexer.poll()
        if result.events or result.rewound_to is not None:
            self.read_cache.clear()
        return result.events

    def _feed_reputation(self, _session: Session, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            if row["event"] == "FeedbackRecorded":
                self.reputation.record(_interaction(row["args"], row["block_time"]))

    def _rewind(self, session: Session, ancestor: int) -> None:
        self.catalog.rewind(session, ancestor)
        self.tasks.rewind(session, ancestor)
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

    def ranking(
        self, producer: str, esps: Sequence[str], *, now: int, temperature: float, floor: float
    ) -> list[tuple[str, float, float]]:
        """(esp, reputation, selection probability under softmax with ``floor``), best first."""
        ranked = rank(producer, list(esps), self.reputation, now=now)
        probs = selection_probabilities(ranked, temperature=temperature, floor=floor)
        return [(r.esp, r.reputation, float(p)) for r, p in zip(ranked, probs, strict=True)]


def _interaction(args: dict[str, Any], block_time: int) -> Interaction:
    return Interaction(
        producer=args["producer"],
        esp=args["esp"],
        positive=bool(args["positive"]),
        value=int(args["value"]),
        time=int(block_time),
    )


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
    * ``Registered`` whose task id is the task's -> ``registered``.
    """

    def __call__(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            a, event = row["args"], row["event"]
            if event == "Locked" and a["asset"] == 0:
                self._locked(session, row, a)
            elif event in ("Withdrawn", "Refunded"):
                task = session.scalar(select(Task).where(Task.lock_id == a["id"]))
                if task is not None and task.status in ("locked", "delivered"):
                    task.status = "claimed" if event == "Withdrawn" else "refunded"
                    if event == "Withdrawn":
                        task.preimage = a["preimage"]
            elif event == "Registered":
                task = session.get(Task, a["taskId"])
                if task is not None and task.status == "claimed" and a["producer"] == task.producer:
                    task.status = "registered"
                    task.token_id = token_hex(a["tokenId"])

    def _locked(self, session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
        task = session.scalar(
            select(Task).where(Task.hashlock == a["hashlock"], Task.status == "quoted")
        )
        if task is None or a["sender"] != task.producer or a["receiver"] != task.esp:
            return
        if int(a["amount"]) < int(task.price or 0) or int(a["timelock"]) < int(task.deadline or 0):
            return
        task.lock = {
            k: a[k]
            for k in ("sender", "receiver", "asset", "token", "amount", "hashlock", "timelock")
        }
        task.lock_id = a["id"]
        task.status = "locked"

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
            if ("Locked", task.lock_id) not in known:
                task.status, task.lock, task.lock_id, task.preimage = "quoted", None, None, None
            elif ("Withdrawn", task.lock_id) in known:
                registered = ("Registered", task.id) in known
                task.status = "registered" if registered else "claimed"
                task.token_id = task.token_id if registered else None
            elif ("Refunded", task.lock_id) in known:
                task.status = "refunded"
            else:
                task.status = "delivered" if task.delivery else "locked"
                task.preimage = None


class TradeTracker:
    """Moves trades along with their two locks (an indexer projection).

    Token lock seller -> buyer: ``asset_locked`` (T1, hashlock). Ether lock buyer -> seller under
    that hashlock, for at least the price: ``payment_locked`` when T2 <= T1 - margin, else
    ``unsafe_payment`` (the buyer should refund: the seller could claim late). Payment withdrawn:
    ``payment_claimed`` (the secret is public); token withdrawn: ``completed`` (listing sold).
    Either refunded: ``refunded``.
    """

    royalty_bps = 0

    def __call__(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            a, event = row["args"], row["event"]
            if event == "Locked" and a["asset"] == 2:
                self._asset_locked(session, a)
            elif event == "Locked" and a["asset"] == 0:
                self._payment_locked(session, a)
            elif event in ("Withdrawn", "Refunded"):
                self._settled(session, event, a)

    def _asset_locked(self, session: Session, a: dict[str, Any]) -> None:
        trade = session.scalar(
            select(Trade).where(
                Trade.status == "requested",
                Trade.seller == a["sender"],
                Trade.buyer == a["receiver"],
                Trade.token_id == token_hex(a["amount"]),
            )
        )
        if trade is not None:
            trade.asset_lock, trade.asset_lock_id = {**a}, a["id"]
            trade.hashlock = a["hashlock"]
            trade.status = "asset_locked"

    def _payment_locked(self, session: Session, a: dict[str, Any]) -> None:
        trade = session.scalar(
            select(Trade).where(Trade.status == "asset_locked", Trade.hashlock == a["hashlock"])
        )
        if trade is None or a["sender"] != trade.buyer or a["receiver"] != trade.seller:
            return
        # A resale pays the seller the price less the producer's ERC-2981 royalty (locked to the
        # producer under the same hashlock), so the seller's lock may be that much smaller.
        royalty = int(trade.price) * self.royalty_bps // 10_000
        if int(a["amount"]) < int(trade.price) - royalty or trade.asset_lock is None:
            return
        trade.payment_lock, trade.payment_lock_id = {**a}, a["id"]
        safe = int(a["timelock"]) <= int(trade.asset_lock["timelock"]) - DEFAULT_MARGIN
        trade.status = "payment_locked" if safe else "unsafe_payment"

    def _settled(self, session: Session, event: str, a: dict[str, Any]) -> None:
        trade = session.scalar(
            select(Trade).where(
                (Trade.asset_lock_id == a["id"]) | (Trade.payment_lock_id == a["id"])
            )
        )
        if trade is None:
            return
        if event == "Refunded":
            trade.status = "refunded"
        elif a["id"] == trade.payment_lock_id:
            trade.secret, trade.status = a["preimage"], "payment_claimed"
        else:
            trade.status = "completed"
            listing = session.get(Listing, trade.listing_id)
            if listing is not None:
                listing.status = "sold"
