"""Red team 4: image uploads are decoded off the event loop.

``POST /v1/search/similar`` (anonymous), ``PUT /v1/products/{id}/image`` and the ESP's
``POST /v1/tasks/{id}/delivery`` (its preview) are ``async`` handlers, and they decoded the
upload (up to ``max_image_pixels``, 4096 x 4096), hashed and fingerprinted it on the event
loop: while one request decoded, every other request of the process waited (measured here: a
60 kB PNG of 4096 x 4096 pixels takes 0.11 s to decode and 0.05 s to fingerprint, so the 60
uploads a minute one IP may send hold the loop 10 s a minute, and six IPs hold it always). Now
that work runs in the thread pool. The test records where it runs: inside the loop there is a
running event loop, in a worker thread there is none.
"""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from marketplace_api.routers import products, tasks
from tests.api.test_generation_flow import PRICE, parties  # noqa: F401  (a fixture)
from tests.api.test_generation_openings import PROMPT, SEED, _bundled, _register
from tests.contracts.helpers import register_esp


@pytest.fixture
def where(monkeypatch):
    """For each image decoded and fingerprinted by the products router: whether it ran on the
    event loop."""
    seen: list[tuple[str, bool]] = []

    def on_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    decode, fingerprint = products.decode_image, products.fingerprint

    def decode_image(*args, **kwargs):
        seen.append(("decode", on_loop()))
        return decode(*args, **kwargs)

    def fingerprint_(img):
        seen.append(("fingerprint", on_loop()))
        return fingerprint(img)

    monkeypatch.setattr(products, "decode_image", decode_image)
    monkeypatch.setattr(tasks, "decode_image", decode_image)
    monkeypatch.setattr(products, "fingerprint", fingerprint_)
    return seen


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def generated():
    from generators.maker import image_maker

    return image_maker()(PROMPT, SEED)[0].convert("RGB")


def test_an_anonymous_similar_search_decodes_off_the_loop(api, generated, where):
    files = {"image": ("x.png", _png(generated), "image/png")}
    r = api.client.post("/v1/search/similar", files=files)
    assert r.status_code == 200, r.text
    assert where == [("decode", False), ("fingerprint", False)]  # failed before: True, True


def test_attaching_an_image_decodes_off_the_loop(api, generated, where):
    world = api.world
    register_esp(world)
    token = _register(world, world.producer, generated, model=_bundled())
    api.index()
    headers = api.sign_in(world.producer)
    files = {"image": ("x.png", _png(generated.rotate(90)), "image/png")}
    r = api.client.put(f"/v1/products/{token}/image", files=files, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "hash_mismatch", r.text
    files = {"image": ("x.png", _png(generated), "image/png")}
    r = api.client.put(f"/v1/products/{token}/image", files=files, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["attestation"] == "matches"
    assert where == [("decode", False), ("decode", False), ("fingerprint", False)]


def test_a_delivery_preview_is_decoded_off_the_loop(api, parties, where):  # noqa: F811
    worker, producer = parties
    task = producer.post("a blue square", seed=3, max_price=PRICE)
    worker.step()
    producer.lock_fee(producer.task(task["id"]))
    api.index()
    worker.step()  # delivers: the preview is decoded by the API
    assert producer.task(task["id"])["status"] in ("delivered", "claimed")
    assert where == [("decode", False)]  # failed before: True
