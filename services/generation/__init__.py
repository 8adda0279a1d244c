"""The generation-task lifecycle (post, quote, fee lock, sealed delivery, claim, register)."""

from services.generation.errors import GenerationError, QuoteRefused, TaskNotReady
from services.generation.lifecycle import (
    SECONDS_PER_BLOCK,
    TaskState,
    check_deadline_within_window,
    check_fraud_claim,
    check_quote,
    deliverable,
    fee_lock_matches,
    latest_quote_deadline,
    registered,
    rewound_state,
    settled,
)

__all__ = [
    "SECONDS_PER_BLOCK",
    "GenerationError",
    "QuoteRefused",
    "TaskNotReady",
    "TaskState",
    "check_deadline_within_window",
    "check_fraud_claim",
    "check_quote",
    "deliverable",
    "fee_lock_matches",
    "latest_quote_deadline",
    "registered",
    "rewound_state",
    "settled",
]
