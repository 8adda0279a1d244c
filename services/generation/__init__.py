"""The generation-task lifecycle (post, quote, fee lock, sealed delivery, claim, register), and
the prompt released to the ESP only once the fee is locked (:mod:`.prompt`)."""

from services.generation.errors import GenerationError, PromptMismatch, QuoteRefused, TaskNotReady
from services.generation.lifecycle import (
    SECONDS_PER_BLOCK,
    TaskState,
    check_deadline_within_window,
    check_fraud_claim,
    check_quote,
    check_refusal,
    deliverable,
    fee_lock_matches,
    latest_quote_deadline,
    registered,
    rewound_state,
    settled,
)
from services.generation.prompt import (
    PROMPT_TAG,
    check_prompt,
    check_quoted_commitment,
    prompt_commitment,
    prompt_released,
)

__all__ = [
    "PROMPT_TAG",
    "SECONDS_PER_BLOCK",
    "GenerationError",
    "PromptMismatch",
    "QuoteRefused",
    "TaskNotReady",
    "TaskState",
    "check_deadline_within_window",
    "check_fraud_claim",
    "check_prompt",
    "check_quote",
    "check_quoted_commitment",
    "check_refusal",
    "deliverable",
    "fee_lock_matches",
    "latest_quote_deadline",
    "prompt_commitment",
    "prompt_released",
    "registered",
    "rewound_state",
    "settled",
]
