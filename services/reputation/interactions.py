"""Interaction records as the indexer stores them, one by one or as a columnar batch."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.reputation.errors import InvalidInteractionError

__all__ = ["Interaction", "InteractionLog"]


@dataclass(frozen=True, slots=True)
class Interaction:
    """One settled generation lock between a producer and an ESP.

    Attributes:
        producer: the producer's id (the lock's sender address, one spelling throughout).
        esp: the ESP's id (the lock's receiver address).
        positive: the outcome: True for positive feedback, False for negative feedback or a
            refunded (timed-out) lock.
        value: the lock amount in the asset's base units (wei for ETH).
        time: when the evidence was recorded on chain (block timestamp, seconds).
        quality: the producer's quality rating of the delivered image in [0, 1], bound to this
            settled lock (None: not rated; the chain's ``FeedbackRecorded`` carries none yet).
        elapsed: completion time as a fraction of the quoted deadline window, in [0, 1]
            (None: not known).
        steps: the task's diffusion steps, its complexity beside the price (None: not known).
    """

    producer: str
    esp: str
    positive: bool
    value: int
    time: int
    quality: float | None = None
    elapsed: float | None = None
    steps: int | None = None

    def __post_init__(self) -> None:
        if not self.producer:
            raise InvalidInteractionError("producer", "must be a non-empty id")
        if not self.esp:
            raise InvalidInteractionError("esp", "must be a non-empty id")
        if self.value < 0:
            raise InvalidInteractionError("value", f"must be >= 0, got {self.value!r}")
        if self.time < 0:
            raise InvalidInteractionError("time", f"must be >= 0, got {self.time!r}")
        for name in ("quality", "elapsed"):
            v = getattr(self, name)
            if v is not None and not 0.0 <= v <= 1.0:
                raise InvalidInteractionError(name, f"must be in [0, 1], got {v!r}")
        if self.steps is not None and self.steps < 1:
            raise InvalidInteractionError("steps", f"must be >= 1, got {self.steps!r}")


@dataclass(frozen=True, eq=False)
class InteractionLog:
    """A columnar batch of interactions: integer codes into id vocabularies plus numpy columns.

    ``producer[i]`` is an index into ``producer_ids`` (likewise ``esp``); all columns have one
    entry per interaction. Build it with :meth:`from_records` or :meth:`from_arrays`.
    """

    producer_ids: tuple[str, ...]
    esp_ids: tuple[str, ...]
    producer: npt.NDArray[np.int64]
    esp: npt.NDArray[np.int64]
    positive: npt.NDArray[np.bool_]
    value: npt.NDArray[np.float64]
    time: npt.NDArray[np.int64]
    quality: npt.NDArray[np.float64] | None = None
    elapsed: npt.NDArray[np.float64] | None = None
    steps: npt.NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return int(self.producer.shape[0])

    @classmethod
    def from_records(cls, records: Iterable[Interaction]) -> InteractionLog:
        """Collects :class:`Interaction` records into columns."""
        producer_index: dict[str, int] = {}
        esp_index: dict[str, int] = {}
        producer: list[int] = []
        esp: list[int] = []
        positive: list[bool] = []
        value: list[float] = []
        time: list[int] = []
        extra: dict[str, list[float]] = {"quality": [], "elapsed": [], "steps": []}
        for r in records:
            for name, col in extra.items():
                v = getattr(r, name)
                col.append(math.nan if v is None else float(v))
            producer.append(producer_index.setdefault(r.producer, len(producer_index)))
            esp.append(esp_index.setdefault(r.esp, len(esp_index)))
            positive.append(bool(r.positive))
            value.append(float(r.value))
            time.append(int(r.time))
        return cls.from_arrays(
            producer_ids=tuple(producer_index),
            esp_ids=tuple(esp_index),
            producer=producer,
            esp=esp,
            positive=positive,
            value=value,
            time=time,
            **{k: v for k, v in extra.items() if not all(math.isnan(x) for x in v)},
        )

    @classmethod
    def from_arrays(
        cls,
        *,
        producer_ids: Sequence[str],
        esp_ids: Sequence[str],
        producer: npt.ArrayLike,
        esp: npt.ArrayLike,
        positive: npt.ArrayLike,
        value: npt.ArrayLike,
        time: npt.ArrayLike,
        quality: npt.ArrayLike | None = None,
        elapsed: npt.ArrayLike | None = None,
        steps: npt.ArrayLike | None = None,
    ) -> InteractionLog:
        """Validates and wraps columns (codes index into ``producer_ids`` / ``esp_ids``).

        ``quality``, ``elapsed`` and ``steps`` are optional; NaN marks a missing entry."""
        producer_codes = np.asarray(producer, dtype=np.int64).reshape(-1)
        esp_codes = np.asarray(esp, dtype=np.int64).reshape(-1)
        outcome = np.asarray(positive, dtype=np.bool_).reshape(-1)
        values = np.asarray(value, dtype=np.float64).reshape(-1)
        times = np.asarray(time, dtype=np.int64).reshape(-1)
        cols: dict[str, npt.NDArray[np.generic]] = {
            "producer": producer_codes,
            "esp": esp_codes,
            "positive": outcome,
            "value": values,
            "time": times,
        }
        n = cols["producer"].shape[0]
        for name, col in cols.items():
            if col.shape[0] != n:
                raise InvalidInteractionError(name, f"has {col.shape[0]} entries, expected {n}")
        for name, ids in (("producer", producer_ids), ("esp", esp_ids)):
            codes = producer_codes if name == "producer" else esp_codes
            if n and (codes.min() < 0 or codes.max() >= len(ids)):
                raise InvalidInteractionError(name, f"codes must index the {len(ids)} ids given")
            if any(not i for i in ids):
                raise InvalidInteractionError(name, "ids must be non-empty strings")
        if n and (not np.all(np.isfinite(values)) or values.min() < 0):
            raise InvalidInteractionError("value", "values must be finite and >= 0")
        if n and times.min() < 0:
            raise InvalidInteractionError("time", "times must be >= 0")
        optional: dict[str, npt.NDArray[np.float64] | None] = {}
        for name, arr, lo, hi in (
            ("quality", quality, 0.0, 1.0),
            ("elapsed", elapsed, 0.0, 1.0),
            ("steps", steps, 1.0, math.inf),
        ):
            if arr is None:
                optional[name] = None
                continue
            col = np.asarray(arr, dtype=np.float64).reshape(-1)
            if col.shape[0] != n:
                raise InvalidInteractionError(name, f"has {col.shape[0]} entries, expected {n}")
            known = col[~np.isnan(col)]
            if known.size and (known.min() < lo or known.max() > hi):
                raise InvalidInteractionError(name, f"values must be in [{lo}, {hi}] or NaN")
            optional[name] = col
        return cls(
            producer_ids=tuple(producer_ids),
            esp_ids=tuple(esp_ids),
            producer=producer_codes,
            esp=esp_codes,
            positive=outcome,
            value=values,
            time=times,
            **optional,
        )
