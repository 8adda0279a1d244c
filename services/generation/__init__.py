"""The generation-task lifecycle (post, quote, fee lock, sealed delivery, claim, register)."""

from services.generation.errors import GenerationError, QuoteRefused, TaskNotReady
from services.generation.lifecycle import (
    TaskState,
    check_fraud_claim,
    check_quote,
    deliverable,
    fee_lock_matches,
    registered,
    rewound_state,
    settled,
)

__all__ = [
    "GenerationError",
    "QuoteRefused",
    "TaskNotReady",
    "TaskState",
    "check_fraud_claim",
    "check_quote",
    "deliverable",
    "fee_lock_matches",
    "registered",
    "rewound_state",
    "settled",
]
