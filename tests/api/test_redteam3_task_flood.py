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
from sqlalchemy import select

from marketplace_api.models import Task
from services.market_client import MarketClient
from tests.api.test_generation_flow import PRICE, _worker
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
                max_price=str(10**18),
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


def test_a_task_the_esp_cannot_quote_is_refused_and_does_not_stall_its_worker(api, tmp_path):
    """A producer's maximum price below the ESP's price makes the API refuse the quote (422
    price_too_high). The worker let that error end its round, and the task, posted for good and
    the oldest, came first in every round: one post stopped the ESP from quoting anyone (failed
    before: MarketError price_too_high out of every step, the honest task never quoted). Now the
    worker refuses it (the task is ``refused``, final, never read again) and a task's failure
    never ends the round."""
    world = api.world
    register_esp(world)
    client = MarketClient(api.client, world.esp)
    client.sign_in()
    worker = _worker(world, client, world.esp, tmp_path / "esp-state.json")
    griefer, honest = api.sign_in(world.attacker), api.sign_in(world.producer)
    cheap = api.client.post(
        "/v1/tasks",
        json={"prompt": "for 1 wei", "seed": 1, "max_price": 1, "esp": world.esp.address},
        headers=griefer,
    ).json()
    world.chain.mine(1)
    task = api.client.post(
        "/v1/tasks",
        json={"prompt": "a fair price", "seed": 2, "max_price": PRICE, "esp": world.esp.address},
        headers=honest,
    ).json()
    assert worker.step() == [f"refused-quote {cheap['id'][:10]}", f"quoted {task['id'][:10]}"]
    refused = api.client.get(f"/v1/tasks/{cheap['id']}", headers=griefer).json()
    assert refused["status"] == "refused" and refused["refusal"]["code"] == "price_too_high"
    assert worker.step() == []  # final: not read again
    r = api.client.post(  # nor quoted later
        f"/v1/tasks/{cheap['id']}/quote",
        json={"price": 1, "hashlock": "0x" + "11" * 32, "deadline": 10**10},
        headers=api.sign_in(world.esp),
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "task_not_ready"


def test_a_flood_of_posts_is_quoted_with_one_state_save_a_page(api, tmp_path):
    """The worker rewrites its whole state file on each save, and saved once per quote (the
    secret on disk before its hash leaves): n posts cost n saves of a file that grows with n.
    Now one save a page of new tasks, still before any of their quotes is sent."""
    world = api.world
    register_esp(world)
    client = MarketClient(api.client, world.esp)
    client.sign_in()
    worker = _worker(world, client, world.esp, tmp_path / "esp-state.json")
    flood = _flood(api, world.esp.address, 150, status="posted")
    saves: list[int] = []
    save = worker.state.save

    def counting() -> None:
        saves.append(len(worker.state.tasks))
        save()

    worker.state.save = counting  # type: ignore[method-assign]
    assert worker.step() == [f"quoted {task_id[:10]}" for task_id in sorted_ids(api, flood)]
    assert len(saves) == 2  # failed before: 300, two per quote
    assert saves == [100, 150]  # each page's secrets saved before its quotes


def sorted_ids(api, ids: list[str]) -> list[str]:
    """``ids`` in the list's order (created block, then id)."""
    with api.client.app.state.sessions() as session:
        rows = session.scalars(select(Task).where(Task.id.in_(ids)))
        return [t.id for t in sorted(rows, key=lambda t: (t.created_block, t.id))]


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


def test_a_producer_has_a_bounded_number_of_tasks_waiting_for_a_fee_lock(api, tmp_path):
    """A post is free and costs its ESP a quote and a secret kept for good: one address posted
    as many as the rate limit let it, forever (failed before: the 17th was posted, 201). Now at
    most 16 posted or quoted with a deadline ahead (409 too_many_open_tasks); an expired quote
    no longer counts."""
    world = api.world
    register_esp(world)
    client = MarketClient(api.client, world.esp)
    client.sign_in()
    worker = _worker(world, client, world.esp, tmp_path / "esp-state.json")
    me = api.sign_in(world.attacker)

    def post(i: int):
        body = {"prompt": f"never paid {i}", "seed": i, "max_price": PRICE}
        return api.client.post("/v1/tasks", json=body, headers=me)

    assert [post(i).status_code for i in range(16)] == [201] * 16
    refused = post(16)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "too_many_open_tasks"
    worker.step()  # all quoted: still waiting for a lock until their deadlines
    assert post(17).status_code == 409
    world.chain.increase_time(3600 + 60)
    world.chain.mine(1)
    assert post(18).status_code == 201
