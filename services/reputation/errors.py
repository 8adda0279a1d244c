"""Exceptions of the reputation package; every one derives from :class:`ReputationError`."""

from __future__ import annotations

from services.errors import ServiceError

__all__ = [
    "InvalidInteractionError",
    "InvalidOpinionError",
    "InvalidParameterError",
    "NoEligibleEspError",
    "ReputationError",
    "TimeOrderError",
]


class ReputationError(ServiceError, ValueError):
    """Raised when a reputation computation cannot be carried out (root of this package's errors).

    It subclasses :class:`ValueError` because every failure here comes from a bad argument (a
    parameter, an opinion, an interaction record, a query time), never from the environment.
    """


class InvalidParameterError(ReputationError):
    """Raised when a model or selection parameter is out of its allowed range."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        super().__init__(f"invalid parameter {name}={value!r}: expected {expected}")
        self.name = name
        self.value = value
        self.expected = expected


class InvalidOpinionError(ReputationError):
    """Raised when belief, disbelief, uncertainty or base rate do not form a valid opinion."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"invalid opinion: {detail}")
        self.detail = detail


class InvalidInteractionError(ReputationError):
    """Raised when an interaction record has a bad field (negative value or time, empty id, ...)."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"invalid interaction {field}: {detail}")
        self.field = field
        self.detail = detail


class TimeOrderError(ReputationError):
    """Raised when reputation is asked for at a time before evidence the engine already holds."""

    def __init__(self, now: int, latest: int) -> None:
        super().__init__(
            f"cannot compute reputation at time {now}: evidence up to time {latest} is already "
            "recorded (ask at the current chain time or later)"
        )
        self.now = now
        self.latest = latest


class NoEligibleEspError(ReputationError):
    """Raised when selection has no candidate at or above the reputation floor."""

    def __init__(self, candidates: int, floor: float) -> None:
        super().__init__(
            f"no eligible ESP: {candidates} candidate(s), none with reputation >= floor {floor}"
        )
        self.candidates = candidates
        self.floor = floor
