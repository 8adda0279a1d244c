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
        {"prompt": "x" * 2_001, "seed": "1"},
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
