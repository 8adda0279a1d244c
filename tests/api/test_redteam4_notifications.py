"""Red team 4: ``GET /v1/notifications`` is paged, and the defender reads every page.

The list answered every notification an address ever got in one response. Others write to it:
each registration that nearly copies one of your images (a squatter's, or a flood of
near-copies) adds a ``plagiarism_suspected``, each royalty lock a note, so an attacker made one
victim's every read as long as it liked (measured: 300 notes, 300 items in every response).
Now the list is paged like ``GET /v1/tasks``: newest first, at most ``limit`` (default 100, up
to 200) a page, ``next`` (null on the last page) is the ``before`` of the next, older page, and
``after`` keeps only notifications newer than an id the reader has seen (the defender's
cursor). Bad paging input is 422 ``validation_error``. A page boundary must not hide anything:
the defender (``ApiAccusations``) pages through everything newer than its cursor, so a
``challenge_opened`` buried under a flood of newer notes is still defended.
"""

from __future__ import annotations

import pytest

from marketplace_api.models import Notification
from services.market_client import MarketClient
from services.provenance.accusations import ApiAccusations

FLOOD = 300


def _notes(api, recipient: str, n: int, *, kind: str = "plagiarism_suspected") -> list[int]:
    """``n`` notes for ``recipient``, as a flood of near-copies leaves them (written directly:
    registering 300 copies on chain would only take longer)."""
    with api.client.app.state.sessions() as session:
        rows = [
            Notification(
                recipient=recipient,
                kind=kind,
                block_number=i,
                payload={"original": "0x01", "duplicate": f"0x{i + 2:x}"},
            )
            for i in range(n)
        ]
        session.add_all(rows)
        session.commit()
        return [r.id for r in rows]


def test_a_flood_of_notifications_is_answered_a_page_at_a_time(api):
    victim = api.world.producer
    ids = _notes(api, victim.address, FLOOD)
    headers = api.sign_in(victim)
    first = api.client.get("/v1/notifications", headers=headers).json()
    assert len(first["items"]) == 100  # failed before: 300, every note ever written
    assert [n["id"] for n in first["items"]] == sorted(ids, reverse=True)[:100]  # newest first
    seen = [n["id"] for n in first["items"]]
    page = first
    while page["next"] is not None:
        page = api.client.get(
            "/v1/notifications", params={"before": page["next"], "limit": 200}, headers=headers
        ).json()
        seen += [n["id"] for n in page["items"]]
    assert seen == sorted(ids, reverse=True)  # each exactly once, in order
    newer = api.client.get(
        "/v1/notifications", params={"after": ids[-5], "limit": 2}, headers=headers
    ).json()
    assert [n["id"] for n in newer["items"]] == [ids[-1], ids[-2]]
    rest = api.client.get(
        "/v1/notifications", params={"after": ids[-5], "before": newer["next"]}, headers=headers
    ).json()
    assert [n["id"] for n in rest["items"]] == [ids[-3], ids[-4]] and rest["next"] is None
    # another account's notes are never in the pages
    other = api.client.get("/v1/notifications", headers=api.sign_in(api.world.attacker)).json()
    assert other == {"items": [], "next": None}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"limit": -1},
        {"limit": "ten"},
        {"limit": 2**64},
        {"before": -1},
        {"before": 2**63},
        {"after": "1e3"},
        {"after": 2**31},
        {"before": "0x10"},
        {"after": ""},
    ],
)
def test_bad_paging_input_is_422(api, params):
    headers = api.sign_in(api.world.producer)
    r = api.client.get("/v1/notifications", params=params, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"


def test_the_defender_finds_a_challenge_buried_under_a_flood_of_newer_notes(api):
    victim = api.world.producer
    (challenge,) = _notes(api, victim.address, 1, kind="challenge_opened")
    with api.client.app.state.sessions() as session:
        note = session.get(Notification, challenge)
        note.payload = {"original": "0x05", "duplicate": "0x07", "deadline": 99}
        session.commit()
    flood = _notes(api, victim.address, 2 * FLOOD)
    client = MarketClient(api.client, victim)
    client.sign_in()
    found, cursor, notes = ApiAccusations(client).poll(0)
    assert [(a.original, a.duplicate, a.deadline) for a in found] == [(5, 7, 99)]
    assert cursor == max(flood) and notes == []
    assert ApiAccusations(client).poll(cursor)[0] == []  # nothing newer: nothing again
