"""The prompt is the producer's until its fee is locked: a commitment before, the words after.

An ESP that read the prompt with the task could generate the image before the customer locked
its fee and hand it to a Sybil that commits it first (issue 11, "an ESP can take its customer's
image"). The Registry orders two ESPs' registrations by the earlier one's commit block against
the later one's fee-lock block, which protects the customer only if its ESP could not generate
before that lock existed. So the API keeps the prompt and shows the ESP only

    prompt_commitment = keccak256("aigc-prompt-commitment-v1" || salt || utf8(prompt))

(``salt``: 32 bytes, the producer's choice or the API's, so that a short prompt cannot be guessed
from its commitment) until the indexer has seen the fee lock on chain; then the prompt and the
salt. The ESP quotes on the commitment (and what the price depends on: the seed, the model) and
generates only from a prompt that opens the commitment it quoted on (:func:`check_prompt`);
anything else it refuses, delivering nothing and claiming no fee (the producer refunds at the
deadline). The producer sees its own prompt all along.
"""

from __future__ import annotations

from eth_utils import keccak

from services.generation.errors import PromptMismatch, QuoteRefused

__all__ = [
    "PROMPT_TAG",
    "check_prompt",
    "check_quoted_commitment",
    "prompt_commitment",
    "prompt_released",
]

PROMPT_TAG = b"aigc-prompt-commitment-v1"
SALT_LENGTH = 32


def prompt_commitment(prompt: str, salt: bytes) -> bytes:
    """keccak256(:data:`PROMPT_TAG` || ``salt`` || the prompt's UTF-8 bytes); ``salt`` is 32
    bytes (``ValueError`` naming it otherwise)."""
    if len(salt) != SALT_LENGTH:
        raise ValueError(f"salt must be {SALT_LENGTH} bytes, got {len(salt)}")
    return keccak(PROMPT_TAG + salt + prompt.encode("utf-8"))


def prompt_released(*, viewer: str, producer: str, esp: str, fee_locked: bool) -> bool:
    """Whether ``viewer`` may read a task's prompt: its producer always, its ESP once the fee
    lock is indexed (``fee_locked``: the API's tracker saw it on chain, not a party's word),
    anyone else never."""
    return viewer == producer or (viewer == esp and fee_locked)


def check_quoted_commitment(quoted: str | None, task: str) -> None:
    """Refuses (``prompt_commitment_mismatch``) a quote made on another prompt commitment than
    the task's (``quoted`` None: the quote names none, which the API accepts)."""
    if quoted is not None and quoted.lower() != task.lower():
        raise QuoteRefused(
            "prompt_commitment_mismatch",
            f"the quote is for prompt commitment {quoted}, the task's is {task}",
        )


def check_prompt(prompt: str | None, salt: str | None, *, quoted_commitment: str) -> str:
    """The released ``prompt`` when it and ``salt`` (0x hex) open ``quoted_commitment`` (the one
    the ESP quoted on); raises :class:`PromptMismatch` otherwise (none released, a malformed
    salt, or another prompt: the ESP generates nothing and claims no fee)."""
    if prompt is None or salt is None:
        raise PromptMismatch("the prompt has not been released (the fee lock is not indexed)")
    try:
        salt_bytes = bytes.fromhex(salt.removeprefix("0x"))
        opened = "0x" + prompt_commitment(prompt, salt_bytes).hex()
    except ValueError as exc:
        raise PromptMismatch(f"the released salt is malformed: {exc}") from None
    if opened != quoted_commitment.lower():
        raise PromptMismatch(
            f"the released prompt opens commitment {opened}, not {quoted_commitment} (quoted on)"
        )
    return prompt
