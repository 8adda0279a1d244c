"""The generation-task lifecycle (services.generation): each rule refuses what breaks it."""

from __future__ import annotations

import pytest

from ledger import Asset, LockTerms
from services.generation import (
    PromptMismatch,
    QuoteRefused,
    TaskNotReady,
    TaskState,
    check_fraud_claim,
    check_prompt,
    check_quote,
    check_quoted_commitment,
    check_refusal,
    deliverable,
    fee_lock_matches,
    latest_quote_deadline,
    prompt_commitment,
    prompt_released,
    registered,
    rewound_state,
    settled,
)

PRODUCER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ESP = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
HASHLOCK = bytes(range(32))
QUOTE = {
    "price": 10**15,
    "max_price": 2 * 10**15,
    "deadline": 5000,
    "earliest_deadline": 4000,
    "latest_deadline": 6000,
}


def _lock(**kw) -> LockTerms:
    fields = {
        "sender": PRODUCER,
        "receiver": ESP,
        "asset": Asset.ETHER,
        "token": "0x" + "00" * 20,
        "amount": 10**15,
        "hashlock": HASHLOCK,
        "timelock": 5000,
        **kw,
    }
    return LockTerms(**fields)


def _matches(lock: LockTerms) -> bool:
    return fee_lock_matches(
        lock,
        producer=PRODUCER,
        esp=ESP,
        hashlock="0x" + HASHLOCK.hex(),
        price=10**15,
        deadline=5000,
    )


def test_a_quote_follows_every_rule():
    assert check_quote("posted", signer=ESP, esp=ESP, **QUOTE) is TaskState.QUOTED
    with pytest.raises(TaskNotReady):  # quoted twice
        check_quote("quoted", signer=ESP, esp=ESP, **QUOTE)
    with pytest.raises(QuoteRefused) as exc:
        check_quote("posted", signer=ESP, esp=ESP, **{**QUOTE, "price": 3 * 10**15})
    assert exc.value.code == "price_too_high"
    with pytest.raises(QuoteRefused) as exc:
        check_quote("posted", signer=ESP, esp=ESP, **{**QUOTE, "deadline": 3999})
    assert exc.value.code == "deadline_too_soon"
    with pytest.raises(QuoteRefused) as exc:  # an ESP could claim after the window closed
        check_quote("posted", signer=ESP, esp=ESP, **{**QUOTE, "deadline": 6001})
    assert exc.value.code == "deadline_beyond_registration_window"
    assert "6001" in str(exc.value) and "6000" in str(exc.value)
    assert check_quote("posted", signer=ESP, esp=ESP, **{**QUOTE, "deadline": 6000}) == "quoted"
    with pytest.raises(QuoteRefused) as exc:  # signed by someone else (or not at all)
        check_quote("posted", signer=PRODUCER, esp=ESP, **QUOTE)
    assert exc.value.code == "bad_quote"


def test_the_latest_deadline_leaves_a_tenth_of_the_window_to_register():
    # The deployment's default: 7,200 blocks (a day at 12 s), 720 of them left to commit.
    assert latest_quote_deadline(1000, window_blocks=7_200) == 1000 + 6_480 * 12
    assert latest_quote_deadline(1000, window_blocks=40) == 1000 + 36 * 12  # the tests' window
    assert latest_quote_deadline(1000, window_blocks=5, seconds_per_block=2) == 1000 + 4 * 2
    assert latest_quote_deadline(1000, window_blocks=1) == 1000  # at least one block of margin


def test_only_the_quoted_ether_lock_pays_a_task():
    assert _matches(_lock())
    assert _matches(_lock(amount=2 * 10**15, timelock=6000))  # more and longer is fine
    # The same amount locked as an ERC-20 or an ERC-721 under the hashlock pays nothing.
    assert not _matches(_lock(asset=Asset.ERC20, token=TOKEN))
    assert not _matches(_lock(asset=Asset.ERC721, token=TOKEN))
    assert not _matches(_lock(amount=10**15 - 1))
    assert not _matches(_lock(timelock=4999))
    assert not _matches(_lock(sender=ESP))
    assert not _matches(_lock(receiver=PRODUCER))
    assert not _matches(_lock(hashlock=bytes(32)))


def test_delivery_settlement_registration_and_fraud_follow_the_order():
    with pytest.raises(TaskNotReady):
        deliverable("quoted", has_lock=False)
    with pytest.raises(TaskNotReady):
        deliverable("locked", has_lock=False)
    assert deliverable("locked", has_lock=True) is TaskState.DELIVERED
    assert settled("delivered", withdrawn=True) is TaskState.CLAIMED
    assert settled("locked", withdrawn=False) is TaskState.REFUNDED
    assert settled("claimed", withdrawn=True) is None  # seen twice: no change
    assert registered("claimed") is TaskState.REGISTERED and registered("locked") is None
    check_fraud_claim("claimed", delivered=True)
    for state, delivered in (("delivered", True), ("claimed", False), ("registered", True)):
        with pytest.raises(TaskNotReady):
            check_fraud_claim(state, delivered=delivered)


@pytest.mark.parametrize(
    ("events", "delivered", "state"),
    [
        ({}, True, TaskState.QUOTED),
        ({"locked"}, False, TaskState.LOCKED),
        ({"locked"}, True, TaskState.DELIVERED),
        ({"locked", "withdrawn"}, True, TaskState.CLAIMED),
        ({"locked", "withdrawn", "registered"}, True, TaskState.REGISTERED),
        ({"locked", "refunded"}, True, TaskState.REFUNDED),
    ],
)
def test_a_reorg_rederives_the_state_from_the_surviving_events(events, delivered, state):
    flags = {k: k in events for k in ("locked", "withdrawn", "refunded", "registered")}
    assert rewound_state(delivered=delivered, **flags) is state


SALT = bytes(range(32))
# Pinned: the JS SDK (js/sdk/test/actions.test.js) and the web app compute the same bytes.
RED_CIRCLE = "0xfb1645c80e03ed5c4d37846fee0c49514f090c004daa61ba540b6ff9c8846fd7"


def test_the_prompt_commitment_is_pinned():
    assert "0x" + prompt_commitment("a red circle", SALT).hex() == RED_CIRCLE
    unicode = prompt_commitment("\u00e9\U0001f642", bytes(32)).hex()  # UTF-8, as sent in JSON
    assert unicode == "73b43a367ca6cbacc5857648013357c760ebd53426d87c337b3f595c9a1d4cde"
    assert prompt_commitment("a red circle", bytes(32)) != prompt_commitment("a red circle", SALT)
    with pytest.raises(ValueError, match="salt"):
        prompt_commitment("a red circle", bytes(31))


def test_the_esp_reads_the_prompt_only_once_the_fee_is_locked():
    seen = {"producer": PRODUCER, "esp": ESP}
    assert prompt_released(viewer=PRODUCER, fee_locked=False, **seen)
    assert not prompt_released(viewer=ESP, fee_locked=False, **seen)
    assert prompt_released(viewer=ESP, fee_locked=True, **seen)
    assert not prompt_released(viewer=TOKEN, fee_locked=True, **seen)


def test_the_esp_generates_only_the_prompt_it_quoted_on():
    salt = "0x" + SALT.hex()
    assert check_prompt("a red circle", salt, quoted_commitment=RED_CIRCLE) == "a red circle"
    assert check_prompt("a red circle", salt, quoted_commitment="0x" + RED_CIRCLE[2:].upper())
    for prompt, s in (("a red circle ", salt), ("a red circle", "0x" + "00" * 32), (None, None)):
        with pytest.raises(PromptMismatch) as exc:
            check_prompt(prompt, s, quoted_commitment=RED_CIRCLE)
        assert exc.value.code == "prompt_mismatch"
    with pytest.raises(PromptMismatch, match="malformed"):
        check_prompt("a red circle", "0x12", quoted_commitment=RED_CIRCLE)
    check_quoted_commitment(None, RED_CIRCLE)  # a quote naming none is accepted
    check_quoted_commitment("0x" + RED_CIRCLE[2:].upper(), RED_CIRCLE)  # any hex case
    with pytest.raises(QuoteRefused) as refused:
        check_quoted_commitment("0x" + "00" * 32, RED_CIRCLE)
    assert refused.value.code == "prompt_commitment_mismatch"


def test_the_esp_refuses_a_locked_task_once_and_then_cannot_deliver_it():
    check_refusal("locked", refused=False)
    for state, refused in (("locked", True), ("quoted", False), ("delivered", False)):
        with pytest.raises(TaskNotReady):
            check_refusal(state, refused=refused)
    with pytest.raises(TaskNotReady, match="refused"):
        deliverable("locked", has_lock=True, refused=True)
