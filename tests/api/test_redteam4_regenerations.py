"""Red team 4: ``PUT /v1/products/{id}/generation`` cannot be made to burn the API's CPU.

Anyone may publish a product's generation opening, and the API checks it by regenerating the
image on the bundled model (about 0.5 s of CPU). The only bound was the upload rate limit per
client (60 a minute per IP, or per signed-in address, and addresses are free): one client
replaying one refused opening, or sending new wrong ones, made the API regenerate for every
request (measured below: 41 requests, 41 regenerations). Now:

- a refused opening is remembered per product (``generation_refusals``, the newest 64 per
  product): the same one again is 422 ``not_reproduced`` at once, with no regeneration;
- regenerations are counted per product: the token's parties (its producer, owner or ESP,
  signed in) may make 12 an hour, everyone else together 3 an hour per product and 60 an hour
  across all products (429 ``rate_limited`` beyond, before any work), so strangers can neither
  make the API regenerate without bound nor use up the producer's own attempts;
- at most 2 regenerations run at once in a process (a thread each, off the event loop).
"""

from __future__ import annotations

import pytest

from marketplace_api.models import GenerationRefusalRow
from marketplace_api.routers import generation as generation_router
from tests.api.test_generation_openings import PROMPT, SEED, _attach, _bundled, _register
from tests.contracts.helpers import register_esp

WRONG = "a red square on a white background"


@pytest.fixture(scope="module")
def generated():
    from generators.maker import image_maker

    return image_maker()(PROMPT, SEED)[0].convert("RGB")


@pytest.fixture
def counted(monkeypatch):
    """The number of regenerations the API runs."""
    runs: list[tuple[str, int]] = []
    real = generation_router.runnable_maker

    def counting_maker(model_id):
        make = real(model_id)
        if make is None:
            return None

        def counting(prompt, seed):
            runs.append((prompt, seed))
            return make(prompt, seed)

        return counting

    monkeypatch.setattr(generation_router, "runnable_maker", counting_maker)
    return runs


def _token(api, generated) -> str:
    world = api.world
    register_esp(world)
    token = _register(world, world.producer, generated, model=_bundled())
    api.index()
    _attach(api, world.producer, token, generated)
    return token


def _code(r) -> str:
    return r.json()["error"]["code"]


def test_replays_and_strangers_cost_a_counted_number_of_regenerations(api, generated, counted):
    world = api.world
    token = _token(api, generated)
    url = f"/v1/products/{token}/generation"
    wrong = {"prompt": WRONG, "seed": str(SEED)}
    for _ in range(20):  # one refused opening, replayed
        r = api.client.put(url, json=wrong)
        assert r.status_code == 422 and _code(r) == "not_reproduced", r.text
    assert len(counted) == 1  # failed before: 20 regenerations
    codes = []
    for i in range(20):  # new wrong openings, anonymous
        r = api.client.put(url, json={"prompt": WRONG, "seed": str(i)})
        codes.append(_code(r))
    assert codes == ["not_reproduced"] * 2 + ["rate_limited"] * 18
    assert len(counted) == 3  # the strangers' 3 an hour of this product
    for sybil in world.accounts[5:9]:  # signed-in strangers share the strangers' budget
        r = api.client.put(url, json={"prompt": WRONG, "seed": "77"}, headers=api.sign_in(sybil))
        assert r.status_code == 429 and _code(r) == "rate_limited", r.text
    assert len(counted) == 3
    with api.client.app.state.sessions() as session:
        assert session.query(GenerationRefusalRow).count() == 3
    # the producer's own attempts are untouched by the strangers': it publishes
    r = api.client.put(
        url, json={"prompt": PROMPT, "seed": str(SEED)}, headers=api.sign_in(world.producer)
    )
    assert r.status_code == 200, r.text
    assert len(counted) == 4  # failed before: 45 regenerations for these 45 requests
    assert api.client.get(url).json()["prompt"] == PROMPT


def test_a_party_has_its_own_bounded_budget(api, generated, counted):
    world = api.world
    token = _token(api, generated)
    url = f"/v1/products/{token}/generation"
    producer = api.sign_in(world.producer)
    codes = [
        _code(api.client.put(url, json={"prompt": WRONG, "seed": str(i)}, headers=producer))
        for i in range(14)
    ]
    assert codes == ["not_reproduced"] * 12 + ["rate_limited"] * 2
    assert len(counted) == 12
    r = api.client.put(url, json={"prompt": WRONG, "seed": "3"}, headers=producer)
    assert _code(r) == "not_reproduced" and len(counted) == 12  # remembered: no new work


def test_refusals_kept_per_product_are_bounded(api, generated, counted, monkeypatch):
    """The remembered refusals of one product are the newest 64: what strangers' requests
    write is bounded per product (each product costs its registration on chain)."""
    settings = api.client.app.state.settings
    monkeypatch.setattr(settings, "regenerations_per_token_hour", 1000)
    monkeypatch.setattr(settings, "rate_upload_per_minute", 1000)
    monkeypatch.setattr(generation_router, "reproduces", lambda generated, image: False)
    world = api.world
    token = _token(api, generated)
    url = f"/v1/products/{token}/generation"
    producer = api.sign_in(world.producer)
    fast = {"n": 0}

    def quick(model_id):  # no model run: what is checked is the table's bound
        def make(prompt, seed):
            fast["n"] += 1
            return generated, None

        return make

    monkeypatch.setattr(generation_router, "runnable_maker", quick)
    for i in range(70):
        r = api.client.put(url, json={"prompt": WRONG, "seed": str(i)}, headers=producer)
        assert r.status_code == 422, r.text
    assert fast["n"] == 70
    with api.client.app.state.sessions() as session:
        assert session.query(GenerationRefusalRow).count() == 64


def test_at_most_two_regenerations_run_at_once(api, generated, monkeypatch):
    """Four checks sent at once: two regenerate, two wait for a thread of the process's
    regeneration limiter (failed before: all four ran at once in the thread pool)."""
    import threading
    import time

    world = api.world
    token = _token(api, generated)
    url = f"/v1/products/{token}/generation"
    headers = api.sign_in(world.producer)
    lock, release = threading.Lock(), threading.Event()
    running = {"now": 0, "most": 0}

    def held(model_id):
        def make(prompt, seed):
            with lock:
                running["now"] += 1
                running["most"] = max(running["most"], running["now"])
            release.wait(timeout=120)
            with lock:
                running["now"] -= 1
            return generated.rotate(90), None

        return make

    monkeypatch.setattr(generation_router, "runnable_maker", held)
    codes: list[int] = []

    def put(i: int) -> None:
        r = api.client.put(url, json={"prompt": WRONG, "seed": str(i)}, headers=headers)
        codes.append(r.status_code)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    app = api.client.app
    for _ in range(2400):  # until two run and two wait (a bound on the loop, not on time)
        cap = getattr(app.state, "regenerations", None)
        if running["now"] > 2 or (
            cap is not None and running["now"] == 2 and cap.statistics().tasks_waiting >= 2
        ):
            break
        time.sleep(0.05)
    most = running["most"]
    release.set()
    for t in threads:
        t.join()
    assert most == 2  # failed before: 4
    assert codes == [422] * 4
