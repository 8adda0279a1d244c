"""The task draw's candidates come from the indexed ESP directory and the ESP events of the
blocks not indexed yet: an ESP that exited or repriced itself out since the last poll is never
drawn (the index still lists it), one registered since is drawn already; the drawn ESP is read
again and drawn again without if it no longer fits (what a reorg could leave stale). GET
/v1/esps ranks only the ESPs a task's ``max_price`` can draw when asked (before, it ranked every
active ESP whatever the price, unlike the draw)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ledger.indexer import ChainEvent
from marketplace_api.esp_directory import draw_live
from marketplace_api.models import EspDirectoryRow
from tests.contracts.helpers import FEE, register_esp


def _post(api, headers) -> dict:
    body = {"prompt": "a red circle", "seed": 1, "max_price": str(FEE)}
    r = api.client.post("/v1/tasks", json=body, headers=headers)
    return r.json() | {"status_code": r.status_code}


def test_an_esp_gone_since_the_last_poll_is_never_drawn(api):
    world = api.world
    gone, repriced, stays = world.accounts[2], world.accounts[5], world.accounts[6]
    for esp in (gone, repriced, stays):
        register_esp(world, esp)
    api.index()
    world.esps(gone).deregister()  # exits: not indexed yet
    world.esps(repriced).update("http://repriced.example", price=2 * FEE)  # beyond max_price
    listed = {e["address"] for e in api.client.get("/v1/esps").json()["items"]}
    assert listed == {repriced.address, stays.address}  # the chain's state, not the index's
    headers = api.sign_in(world.producer)
    drawn = {_post(api, headers)["esp"] for _ in range(8)}
    assert drawn == {stays.address}
    world.esps(stays).deregister()
    answer = _post(api, headers)
    assert (answer["status_code"], answer["error"]["code"]) == (422, "no_eligible_esp"), answer
    api.index()
    left = api.client.get("/v1/esps").json()["items"]  # active, but priced out of the task
    assert [e["address"] for e in left] == [repriced.address]


def test_an_esp_registered_since_the_last_poll_is_a_candidate_already(api):
    world = api.world
    api.index()
    newcomer = register_esp(world, world.accounts[5])  # not indexed
    assert _post(api, api.sign_in(world.producer))["esp"] == newcomer.address
    assert [e["address"] for e in api.client.get("/v1/esps").json()["items"]] == [newcomer.address]


def test_a_drawn_esp_that_no_longer_fits_is_drawn_again_without():
    """:func:`draw_live`: the chain's word on the drawn ESP (here: ``a`` and ``b`` are stale in
    the directory) sends the draw back to the others; none left, the draw's own refusal."""
    drawn: list[list[str]] = []

    def draw(left: list[str]) -> str:
        drawn.append(list(left))
        if not left:
            raise LookupError("no eligible ESP")
        return left[0]

    assert draw_live(["a", "b", "c"], draw, lambda esp: esp == "c") == "c"
    assert drawn == [["a", "b", "c"], ["b", "c"], ["c"]]
    with pytest.raises(LookupError):
        draw_live(["a"], draw, lambda esp: False)


def test_the_directory_follows_the_events_and_a_reorg(api):
    world = api.world
    esp = world.accounts[2]
    register_esp(world, esp)
    api.index()
    block = world.chain.w3.eth.block_number
    world.esps(esp).update("http://moved.example", price=3 * FEE)
    world.esps(esp).deregister()
    api.index()
    market = api.client.app.state.market
    with Session(market.indexer.engine) as session:
        row = session.get(EspDirectoryRow, esp.address)
        assert (row.active, row.endpoint, int(row.price)) == (
            False,
            "http://moved.example",
            3 * FEE,
        )
    with Session(market.indexer.engine) as session, session.begin():  # a reorg back to `block`
        session.execute(delete(ChainEvent).where(ChainEvent.block_number > block))
        market._rewind(session, block)
    with Session(market.indexer.engine) as session:
        rows = list(session.scalars(select(EspDirectoryRow)))
        assert [(r.address, r.active, int(r.price), r.listed) for r in rows] == [
            (esp.address, True, FEE, 0)
        ]


def test_get_esps_honours_max_price_as_the_draw_does(api):
    world = api.world
    cheap, dear = world.accounts[2], world.accounts[5]
    register_esp(world, cheap)
    register_esp(world, dear)
    world.esps(dear).update("http://dear.example", price=3 * FEE)
    api.index()
    every = api.client.get("/v1/esps").json()["items"]
    assert {e["address"] for e in every} == {cheap.address, dear.address}
    within = api.client.get("/v1/esps", params={"max_price": str(FEE)}).json()["items"]
    assert [(e["address"], e["selection_probability"]) for e in within] == [(cheap.address, 1.0)]
    hexed = api.client.get("/v1/esps", params={"max_price": hex(3 * FEE)}).json()["items"]
    assert len(hexed) == 2
    assert api.client.get("/v1/esps", params={"max_price": "0"}).json()["items"] == []


@pytest.mark.parametrize("bad", ["-1", "1.5", "abc", str(2**256)])
def test_a_bad_max_price_is_a_422(api, bad):
    r = api.client.get("/v1/esps", params={"max_price": bad})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", r.text
