"""Red team 3: others' posts do not grow what an ESP reads each round (``GET /v1/tasks``).

Posting a task is free (off chain; 30 a minute per signed-in address, and addresses are free),
and anyone may address one to any ESP. ``GET /v1/tasks?role=esp`` answered every task ever
addressed to the ESP in one unbounded response, and the ESP worker read it all every round
(every second): tasks quoted and never paid stay "quoted" for good, so a flood of posts made
each round of the worker, and each of those responses of the API, as long as the flood
(measured: 300 unpaid tasks addressed to the ESP, 300 tasks read by every round of its worker,
where it had nothing to do). Now the list is paged (``limit`` up to 200, ``next`` / ``after``)
and filtered by one or several statuses, and the worker reads only the tasks it acts on
(posted, locked, delivered), page by page.
"""

from __future__ import annotations

import secrets

import pytest

from marketplace_api.models import Task
from services.market_client import MarketClient
from tests.api.test_generation_flow import _worker
from tests.contracts.helpers import register_esp

FLOOD = 300


def _flood(api, esp: str, n: int = FLOOD, *, status: str = "quoted") -> list[str]:
    """``n`` tasks addressed to ``esp`` by others, as the rows their posts leave (quoted, never
    paid): written directly, the rate limit would only spread them over minutes."""
    ids = []
    with api.client.app.state.sessions() as session:
        for i in range(n):
            task = Task(
                id="0x" + secrets.token_hex(32),
                producer=api.world.accounts[5 + i % 3].address,
                esp=esp,
                prompt=f"flood {i}",
                seed=i,
                max_price="1",
                status=status,
                created_block=i // 7,  # several tasks a block, as a flood makes them
            )
            session.add(task)
            ids.append(task.id)
        session.commit()
    return ids


def test_a_flood_of_unpaid_tasks_is_not_read_by_every_round_of_the_esps_worker(api, tmp_path):
    world = api.world
    register_esp(world)
    client = MarketClient(api.client, world.esp)
    client.sign_in()
    worker = _worker(world, client, world.esp, tmp_path / "esp-state.json")
    _flood(api, world.esp.address)
    read: list[int] = []
    get = client.get

    def counting(path, **params):
        answer = get(path, **params)
        if path == "/v1/tasks":
            read.append(len(answer["items"]))
        return answer

    client.get = counting  # type: ignore[method-assign]
    assert worker.step() == []
    assert sum(read) == 0  # failed before: 300 (every task ever addressed to the ESP)


def test_the_task_list_is_paged_in_order_without_gaps_or_repeats(api):
    world = api.world
    register_esp(world)
    flooded = set(_flood(api, world.esp.address, 250))
    headers = api.sign_in(world.esp)
    seen: list[str] = []
    pages = 0
    params: dict[str, str | int] = {"role": "esp", "limit": 100}
    while True:
        r = api.client.get("/v1/tasks", params=params, headers=headers)
        assert r.status_code == 200
        body = r.json()
        assert len(body["items"]) <= 100  # failed before: 250 in one answer
        seen += [t["id"] for t in body["items"]]
        pages += 1
        if body["next"] is None:
            break
        params["after"] = body["next"]
    assert pages == 3 and len(seen) == len(set(seen)) == 250 and set(seen) == flooded
    # the default page is bounded too
    assert len(api.client.get("/v1/tasks?role=esp", headers=headers).json()["items"]) == 100


def test_tasks_filter_by_several_statuses(api):
    world = api.world
    register_esp(world)
    _flood(api, world.esp.address, 5, status="quoted")
    posted = set(_flood(api, world.esp.address, 3, status="posted"))
    locked = set(_flood(api, world.esp.address, 2, status="locked"))
    headers = api.sign_in(world.esp)
    r = api.client.get(
        "/v1/tasks", params={"role": "esp", "status": "posted,locked"}, headers=headers
    )
    assert {t["id"] for t in r.json()["items"]} == posted | locked


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"after": "x"},
        {"after": "9999999999999999999-0x" + "0" * 64},  # past a BIGINT: 422, not a 500
        {"after": "1-0x" + "A" * 64},
        {"status": "posted,"},
        {"status": ",".join(["posted"] * 9)},
    ],
)
def test_bad_paging_parameters_are_a_422(api, params):
    r = api.client.get("/v1/tasks", params=params, headers=api.sign_in(api.world.producer))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
