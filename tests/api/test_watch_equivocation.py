"""The plagiarism watch follows the Registry's equivocation rule (docs/contracts.md, "One ESP,
two payers").

When one ESP attested both the original and the copy, the lock order cannot tell which payer is
the ESP's Sybil, so a challenge revokes nothing: uncontested it ends ``Void``; contested and
matched by the detail rule it ends ``Equivocated`` and the ESP's slash goes to the owners. The
watch must say so (``kind: "equivocation"``), prepare the steps that end ``Equivocated`` (the
only ones that pay the owner), and never offer the copy as revocable.
"""

from __future__ import annotations

import re
from pathlib import Path

from ledger import TokenStatus
from ledger.clients.registry import DisputeState
from tests.api._trading import sign_and_relay
from tests.api.test_watch_order import _mirrored_jpeg, _picture, _register
from tests.contracts.helpers import paid_lock, register_esp

BURN = "0x000000000000000000000000000000000000dEaD"  # Registry.BURN
APP_JS = Path(__file__).resolve().parents[2] / "marketplace_api" / "web" / "app.js"


def _same_esp_pair(api) -> tuple[int, int]:
    """The producer's image and the attacker's near copy, both attested by ``world.esp``; the
    producer paid first, so it holds the priority (the only side the contract lets challenge)."""
    world = api.world
    register_esp(world)
    img = _picture()
    early = paid_lock(world, world.producer, world.esp)
    late = paid_lock(world, world.attacker, world.esp)
    original = _register(world, world.producer, img, early)
    copy = _register(world, world.attacker, _mirrored_jpeg(img), late)
    api.index()
    return original, copy


def _notes(api, who) -> list[dict]:
    return api.client.get("/v1/notifications", headers=api.sign_in(who)).json()["items"]


def _follow(api, who, prepared: dict) -> None:
    """Builds the prepared request through the API, signs it as a wallet would and relays it."""
    r = api.client.post(prepared["endpoint"], json=prepared["body"], headers=api.sign_in(who))
    assert r.status_code == 200, r.text
    sign_and_relay(api, who, r.json())


def test_a_same_esp_copy_is_an_equivocation_whose_steps_pay_the_owner_and_revoke_nothing(api):
    world = api.world
    original, copy = _same_esp_pair(api)
    notes = _notes(api, world.producer)
    assert "plagiarism_suspected" not in [n["kind"] for n in notes]  # never "revoke the copy"
    (note,) = [n for n in notes if n["kind"] == "equivocation"]
    assert note["original"] == str(original) and note["duplicate"] == str(copy)
    assert note["revokes"] is False and note["esp"] == world.esp.address
    assert "prepared_challenge" not in note
    steps = note["prepared_steps"]
    assert [s["action"] for s in steps] == ["challenge", "contest", "resolve"]
    assert all(s["body"] == {"original": str(original), "duplicate": str(copy)} for s in steps)
    assert _notes(api, world.attacker) == []  # the copier holds no priority: not told anything

    esps = world.esps(world.producer)
    payees = (world.producer.address, world.attacker.address, BURN)
    owed_before = [esps.compensation_of(who) for who in payees]
    stake_before = esps.esp_info(world.esp.address).stake
    lost_before = esps.challenges_lost(world.esp.address)
    for step in steps:
        _follow(api, world.producer, step)
    registry = world.registry(world.producer)
    assert registry.dispute(original, copy).state is DisputeState.EQUIVOCATED
    assert registry.record(copy).status is TokenStatus.ACTIVE  # nothing revoked
    assert registry.record(original).status is TokenStatus.ACTIVE
    # The ESP is slashed and counted a lost challenge; every wei of the slash is owed to
    # someone the contract names (the owners, or the burn address), whatever its split.
    slashed = stake_before - esps.esp_info(world.esp.address).stake
    owed = [esps.compensation_of(who) - was for who, was in zip(payees, owed_before, strict=True)]
    assert slashed > 0 and sum(owed) == slashed
    assert esps.challenges_lost(world.esp.address) == lost_before + 1
    if owed[0]:  # what the owner is owed, it can withdraw
        balance = world.chain.w3.eth.get_balance(world.producer.address)
        esps.claim_compensation()
        assert esps.compensation_of(world.producer.address) == 0
        assert world.chain.w3.eth.get_balance(world.producer.address) > balance  # owed >> gas

    api.index()
    product = api.client.get(f"/v1/products/{copy}").json()
    assert product["status"] == "active"
    kinds = [h["kind"] for h in product["history"]]
    assert "revoked" not in kinds
    (challenged,) = [h for h in product["history"] if h["kind"] == "challenged"]
    assert challenged["equivocal"] is True
    (decided,) = [h for h in product["history"] if h["kind"] == "decided"]
    assert decided["verdict"] == "equivocated" and decided["contested"] is True
    (opened,) = [n for n in _notes(api, world.attacker) if n["kind"] == "challenge_opened"]
    assert opened["equivocal"] is True and opened["revokes"] is False


def test_an_uncontested_equivocation_ends_void_and_is_shown_in_words(api):
    world = api.world
    original, copy = _same_esp_pair(api)
    (note,) = [n for n in _notes(api, world.producer) if n["kind"] == "equivocation"]
    _follow(api, world.producer, note["prepared_steps"][0])  # the challenge alone
    world.chain.mine(world.params.dispute_window_blocks + 1)
    body = {"original": str(original), "duplicate": str(copy)}
    _follow(api, world.producer, {"endpoint": "/v1/tx/registry/finalize", "body": body})
    registry = world.registry(world.producer)
    assert registry.dispute(original, copy).state is DisputeState.VOID
    assert registry.record(copy).status is TokenStatus.ACTIVE
    api.index()
    history = api.client.get(f"/v1/products/{copy}").json()["history"]
    (decided,) = [h for h in history if h["kind"] == "decided"]
    assert decided["verdict"] == "void" and decided["contested"] is False
    assert "revoked" not in [h["kind"] for h in history]


def _branch(source: str, kind: str) -> str:
    """The text of app.js's ``noteView`` branch for notifications of ``kind``."""
    start = source.index(f'n.kind === "{kind}"')
    end = source.index("} else", start)
    return source[start:end]


def test_the_web_app_words_an_equivocation_without_a_revocation():
    """Browser-free: the owner's alert for an equivocation never promises a revocation, and
    the verdicts Void and Equivocated have words (the browser suite is over its time budget)."""
    source = APP_JS.read_text()
    alert = _branch(source, "equivocation")
    assert "prepared_steps" in alert and "Nothing is revoked" in alert
    assert not re.search(r"revoke (it|the copy)|is revoked when|challenge to revoke", alert)
    at = source.index("const VERDICTS")
    verdicts = source[at : source.index("};", at)]
    for verdict in ("void", "equivocated"):
        assert re.search(rf"\b{verdict}: \"[A-Z]", verdicts), verdict
    assert "nothing is revoked" in verdicts.split("equivocated:")[1].split("\n")[0]
    timeline = source[source.index("function describe(") : source.index("async function product(")]
    assert "VERDICTS[item.verdict]" in timeline and "item.equivocal" in timeline
