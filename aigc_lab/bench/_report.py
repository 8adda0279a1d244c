"""Parameters, goals and results of ``aigc bench api``."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from marketplace_api.errors import ApiError

API_GOAL = 0.5  # API requests/s over the bare endpoint's, same run (issue 6)
INGEST_GOAL = 2_000.0  # events/s into SQLite (issue 6)
TARGETS = ("bare", "list", "detail")
ServerMode = Literal["process", "thread"]
ChainKind = Literal["anvil", "embedded"]
Progress = Callable[[str, float], None]  # (what runs now, fraction done)
TIMEOUT_S = 30.0  # per socket operation and per server start: nothing waits for ever
MAX_PER_BLOCK = 150  # x 150k gas stays under a 30M block gas limit


class ApiBenchError(ApiError):
    """Raised when a benchmark parameter is out of range or a measured server answers wrongly."""

    code = "bench_failed"


@dataclass(frozen=True)
class Throughput:
    """One timed run of ``requests`` GETs against one target."""

    target: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class IngestResult:
    """One ``poll()`` from scratch: events ingested, its seconds, and those in chain reads."""

    indexer: str
    events: int
    blocks: int
    seconds: float
    chain_read_s: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds


@dataclass(frozen=True)
class ApiBenchReport:
    chain: str
    server: str
    products: int
    concurrency: int
    runs: dict[str, list[Throughput]]  # target -> one run per round
    ingest: list[IngestResult]

    def rps(self, target: str) -> float:
        """Median requests/s of ``target`` over the rounds."""
        return statistics.median(t.rps for t in self.runs[target])

    def ratio(self, target: str) -> float:
        """Median over the rounds of ``target``'s requests/s over the baseline's in that round."""
        pairs = zip(self.runs[target], self.runs["bare"], strict=True)
        return statistics.median(t.rps / b.rps for t, b in pairs)

    def latency_ms(self, target: str) -> tuple[float, float]:
        """Median over the rounds of the p50 and of the p99 latency, in milliseconds."""
        runs = self.runs[target]
        return statistics.median(r.p50_ms for r in runs), statistics.median(r.p99_ms for r in runs)

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "server": self.server,
            "products": self.products,
            "concurrency": self.concurrency,
            "rps": {t: self.rps(t) for t in self.runs},
            "ratio_vs_bare": {t: self.ratio(t) for t in self.runs if t != "bare"},
            "goal_ratio": API_GOAL,
            "runs": {t: [asdict(r) | {"rps": r.rps} for r in rs] for t, rs in self.runs.items()},
            "ingest": [asdict(i) | {"events_per_s": i.events_per_s} for i in self.ingest],
            "goal_events_per_s": INGEST_GOAL,
        }
