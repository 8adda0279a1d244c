"""Generation openings over REST (marketplace_api/routers/generation.py): the prompt and seed
that regenerate a product's image, stored only when they do (the API re-runs the bundled
model), read back by committee jurors (services/provenance/juror.py ``ApiOpenings``)."""

from __future__ import annotations

import pytest

from generators import get_generator
from generators.maker import image_maker
from ledger import Registration
from services.content import canonical_hash
from services.market_client import MarketClient
from services.provenance import fingerprint
from services.provenance.detail import detail_descriptor
from services.provenance.generation_proof import GenerationOpening, model_key
from services.provenance.juror import ApiOpenings
from tests.api.test_products import _png
from tests.contracts.helpers import paid_lock, register_esp

PROMPT = "a green star on a black background"
SEED = 424242


@pytest.fixture(scope="module")
def generated():
    return image_maker()(PROMPT, SEED)[0].convert("RGB")


def _register(world, owner, img, *, model: bytes) -> str:
    lock = paid_lock(world, owner, world.esp)
    reg = Registration(
        content_hash=canonical_hash(img),
        fingerprint=fingerprint(img).to_bytes32(),
        detail=detail_descriptor(img),
        owner=owner.address,
        esp=world.esp.address,
        task_id=lock.id,
        model_id=model,
        seed=1,
    )
    client = world.registry(owner)
    client.commit(reg)
    client.reveal(reg, lock, client.sign_attestation(world.esp, reg))
    return "0x" + reg.content_hash.hex()


def _bundled() -> bytes:
    return model_key(get_generator("bundled").model_id)


def _attach(api, owner, token: str, img) -> None:
    files = {"image": ("x.png", _png(img), "image/png")}
    r = api.client.put(f"/v1/products/{token}/image", files=files, headers=api.sign_in(owner))
    assert r.status_code == 200, r.text


def test_an_opening_that_regenerates_the_image_is_published_and_read_by_jurors(api, generated):
    world = api.world
    register_esp(world)
    token = _register(world, world.producer, generated, model=_bundled())
    api.index()
    url = f"/v1/products/{token}/generation"
    assert api.client.get(url).status_code == 404
    body = {"prompt": PROMPT, "seed": str(SEED)}
    r = api.client.put(url, json=body)  # anyone may: a stranger's publication, no sign-in
    assert r.status_code == 409 and r.json()["error"]["code"] == "image_missing", r.text
    _attach(api, world.producer, token, generated)
    r = api.client.put(url, json={"prompt": PROMPT + " at dusk", "seed": str(SEED)})
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_reproduced", r.text
    r = api.client.put(url, json={"prompt": PROMPT, "seed": str(SEED + 1)})
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_reproduced", r.text
    assert api.client.get(url).status_code == 404  # nothing half-stored
    r = api.client.put(url, json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["prompt"] == PROMPT and out["seed"] == str(SEED)
    assert out["token_id"] == str(int(token, 16))
    assert out["model_id"] == get_generator("bundled").model_id
    assert api.client.put(url, json=body).status_code == 200  # the same again: idempotent
    assert api.client.get(url).json() == out
    # the juror's source reads it back
    jurors = ApiOpenings(MarketClient(api.client, world.accounts[8]))
    assert jurors("registry", int(token, 16)) == (out["model_id"], GenerationOpening(PROMPT, SEED))
    assert jurors("registry", int(token, 16) ^ 1) is None  # unknown token: 404 -> None


def test_an_opening_is_refused_for_a_model_the_api_cannot_run(api, generated):
    world = api.world
    register_esp(world)
    token = _register(world, world.producer, generated, model=b"\x02" * 32)
    api.index()
    _attach(api, world.producer, token, generated)
    url = f"/v1/products/{token}/generation"
    r = api.client.put(url, json={"prompt": PROMPT, "seed": str(SEED)})
    assert r.status_code == 422 and r.json()["error"]["code"] == "model_not_runnable", r.text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"prompt": "", "seed": "1"},
        {"prompt": "   ", "seed": "1"},
        {"prompt": "p", "seed": "-1"},
        {"prompt": "p", "seed": str(2**63)},
        {"prompt": "p", "seed": "9" * 20},
        {"prompt": "p", "seed": "1e9"},
        {"prompt": "p", "seed": 1},
        {"prompt": "x" * 1_001, "seed": "1"},
        {"prompt": "a red circle " * 70, "seed": "1"},  # 910 characters the model runs: no match
        {"prompt": ["p"], "seed": "1"},
        '{"prompt": "\\ud800", "seed": "1"}',  # a lone surrogate, as raw JSON
        "not json",
    ],
)
def test_bad_openings_are_422_never_500(api, generated, body):
    world = api.world
    register_esp(world)
    token = _register(world, world.producer, generated, model=_bundled())
    api.index()
    _attach(api, world.producer, token, generated)
    url = f"/v1/products/{token}/generation"
    if isinstance(body, str):
        r = api.client.put(url, content=body, headers={"content-type": "application/json"})
    else:
        r = api.client.put(url, json=body)
    assert r.status_code == 422, r.text
    assert "code" in r.json()["error"]
    assert api.client.get(url).status_code == 404


def test_an_unknown_product_is_404(api):
    r = api.client.put("/v1/products/12345/generation", json={"prompt": "p", "seed": "1"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert api.client.get("/v1/products/not-a-token/generation").status_code == 422


def test_the_producer_of_an_esp_generation_publishes_its_opening(api, tmp_path):
    """End to end: the ESP worker generates with the bundled model and delivers its generation
    seed with the image; the producer registers and attaches the image; its defender's publisher
    (``ApiOpeningPublisher``) finds the task, publishes prompt and seed, and the API, having
    regenerated the image from them, serves the opening the jurors read."""
    from ledger.clients.esp_registry import EspRegistryClient
    from ledger.clients.htlc import HtlcClient
    from ledger.clients.registry import RegistryClient
    from services.esp_worker import EspWorker
    from services.producer import ProducerSession
    from services.provenance.juror import ApiOpeningPublisher

    world = api.world
    register_esp(world)
    esp_client, producer_client = (
        MarketClient(api.client, world.esp),
        MarketClient(api.client, world.producer),
    )
    esp_client.sign_in()
    producer_client.sign_in()

    def fp(img):
        return fingerprint(img).to_bytes32()

    worker = EspWorker(
        esp_client,
        HtlcClient(world.deployment, world.tx(world.esp)),
        make_image=image_maker(),
        fingerprint=fp,
        state_path=tmp_path / "esp.json",
        price=10**15,
    )
    producer = ProducerSession(
        producer_client,
        HtlcClient(world.deployment, world.tx(world.producer)),
        RegistryClient(world.deployment, world.tx(world.producer)),
        EspRegistryClient(world.deployment, world.tx(world.producer)),
        fingerprint=fp,
    )
    task = producer.post(PROMPT, seed=5, max_price=10**15)
    worker.step()
    producer.lock_fee(producer.task(task["id"]))
    api.index()
    worker.step()
    worker.step()
    api.index()
    claimed = producer.task(task["id"])
    seed = claimed["delivery"]["generation_seed"]
    assert seed.isdigit() and int(seed) != 5  # the worker's own seed, keyed: not the requested
    image, attestation = producer.collect(claimed)
    token = producer.register(claimed, image, attestation)
    api.index()
    publish = ApiOpeningPublisher(producer_client)
    # before the image is attached the API cannot check it: refused, nothing stored
    assert "image_missing" in str(publish(token))
    _attach(api, world.producer, f"0x{token:064x}", image)
    assert publish(token) == f"published the generation opening of {token}"
    got = ApiOpenings(MarketClient(api.client, world.accounts[8]))("registry", token)
    assert got == (get_generator("bundled").model_id, GenerationOpening(PROMPT, int(seed)))
    assert publish(token ^ 1) is None  # not a token of this producer's tasks
