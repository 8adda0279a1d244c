"""The root of every error the services raise.

Each services package (exchange, generation, provenance, reputation, storage, siwe) has its own
root error deriving from :class:`ServiceError`, so that a caller (the API's error table, the CLI)
can tell a refused domain operation from a bug with one ``except`` and map the rest by class.
"""

from __future__ import annotations

__all__ = ["ServiceError"]


class ServiceError(Exception):
    """Raised when a domain operation is refused (root of every services package's errors)."""
