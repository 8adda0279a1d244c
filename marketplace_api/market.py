"""The marketplace's view of the chain: the indexer with its projections, and reputation.

:class:`Market` owns the indexer (products via :class:`Catalog`, reputation evidence via the
``FeedbackRecorded`` events) and answers reputation queries from any producer's point of view with
the MWSL engine, fed incrementally as events arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.deploy import Deployment
from ledger.indexer import ChainEvent, Indexer
from marketplace_api.catalog import Catalog
from services.reputation import Interaction, ReputationEngine, rank


class Market:
    """Indexer + catalog + reputation engine for one deployment and one database."""

    def __init__(self, deployment: Deployment, engine: Engine, *, confirmations: int = 0):
        threshold = int(deployment.manifest.params.get("match_threshold", 10))
        self.deployment = deployment
        self.catalog = Catalog(threshold=threshold)
        self.reputation = ReputationEngine()
        self._lock = threading.Lock()
        self.indexer = Indexer(
            deployment,
            engine,
            confirmations=confirmations,
            projections=[self.catalog, self._feed_reputation],
            on_rewind=self._rewind,
        )
        with Session(engine) as session:
            self.catalog.load(session)
            self._rebuild_reputation(session)

    def poll(self) -> int:
        """Indexes what is new; returns the number of events ingested."""
        with self._lock:
            return self.indexer.poll().events

    def _feed_reputation(self, _session: Session, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            if row["event"] == "FeedbackRecorded":
                self.reputation.record(_interaction(row["args"], row["block_time"]))

    def _rewind(self, session: Session, ancestor: int) -> None:
        self.catalog.rewind(session, ancestor)
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
        scores = np.array([r.reputation for r in ranked], dtype=float)
        eligible = scores >= floor
        probs = np.zeros_like(scores)
        if eligible.any():
            logits = (scores[eligible] - scores[eligible].max()) / temperature
            weights = np.exp(logits)
            probs[eligible] = weights / weights.sum()
        return [(r.esp, r.reputation, float(p)) for r, p in zip(ranked, probs, strict=True)]


def _interaction(args: dict[str, Any], block_time: int) -> Interaction:
    return Interaction(
        producer=args["producer"],
        esp=args["esp"],
        positive=bool(args["positive"]),
        value=int(args["value"]),
        time=int(block_time),
    )
