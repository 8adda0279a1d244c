"""Exceptions of the provenance package; every one derives from :class:`ProvenanceError`."""

from __future__ import annotations

from services.errors import ServiceError

__all__ = [
    "CorpusError",
    "DegenerateImageError",
    "IndexEntryError",
    "IndexFileError",
    "InvalidDetailError",
    "InvalidFingerprintError",
    "NotAnImageError",
    "ProvenanceError",
]


class ProvenanceError(ServiceError, ValueError):
    """Raised when a provenance operation cannot be carried out (root of this package's errors).

    It subclasses :class:`ValueError` because every failure here is caused by a bad argument (an
    image, a fingerprint, an index file), never by the environment.
    """


class DegenerateImageError(ProvenanceError):
    """Raised when an image is too small, flat or nearly blank to carry a meaningful fingerprint."""

    def __init__(self, reason: str, *, width: int, height: int) -> None:
        super().__init__(f"degenerate image ({width}x{height}): {reason}")
        self.reason = reason
        self.width = width
        self.height = height


class NotAnImageError(ProvenanceError):
    """Raised when bytes or a file cannot be decoded as an image."""

    def __init__(self, source: str, detail: str) -> None:
        super().__init__(f"{source} is not a readable image: {detail}")
        self.source = source
        self.detail = detail


class InvalidFingerprintError(ProvenanceError):
    """Raised when a value cannot be read as a 32-byte fingerprint (wrong length, bad hex, ...)."""

    def __init__(self, value: object, detail: str) -> None:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"invalid fingerprint {shown}: {detail}")
        self.detail = detail


class InvalidDetailError(ProvenanceError):
    """Raised when a value cannot be read as a detail descriptor (not bytes, wrong length)."""

    def __init__(self, value: object, detail: str) -> None:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"invalid detail descriptor {shown}: {detail}")
        self.detail = detail


class IndexEntryError(ProvenanceError):
    """Raised when an index entry is refused: duplicate or out-of-range id, wrong shape, ..."""


class IndexFileError(ProvenanceError):
    """Raised when a saved near-duplicate index is missing, truncated or of another format."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"cannot load near-duplicate index {path}: {detail}")
        self.path = path
        self.detail = detail


class CorpusError(ProvenanceError):
    """Raised when an evaluation corpus or edit is asked for with impossible parameters."""
