"""Errors of the generation-task lifecycle; every one derives from :class:`GenerationError`."""

from __future__ import annotations

from collections.abc import Sequence

from services.errors import ServiceError

__all__ = ["GenerationError", "PromptMismatch", "QuoteRefused", "TaskNotReady"]


class GenerationError(ServiceError):
    """Raised when a generation-task step is refused (root of this package's errors)."""


class TaskNotReady(GenerationError):
    """Raised when a step is taken in a state that does not allow it."""

    def __init__(self, state: str, action: str, needed: Sequence[str]):
        wanted = " or ".join(needed)
        super().__init__(f"task is {state}: {action} needs it {wanted}")
        self.state, self.action, self.needed = state, action, tuple(needed)


class QuoteRefused(GenerationError):
    """Raised when a quote breaks a rule; ``code`` says which (stable)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class PromptMismatch(GenerationError):
    """Raised when a released prompt does not open the commitment the ESP quoted on (or none was
    released): the ESP generates nothing and claims no fee."""

    code = "prompt_mismatch"
