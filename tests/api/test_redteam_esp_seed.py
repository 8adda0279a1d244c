"""Red team (issue 11): two Sybils cannot make an honest ESP equivocate with one requested seed.

The bundled model's layout is fixed by its seed ("same-seed images of different prompts
collide", issue 11). ``EspWorker.generation_seed`` keys the requested seed by the ESP's secret, so
two ESPs asked for one seed make unrelated images; but one ESP asked twice for one seed, with two
synonym prompts, used one derived seed: two images of one layout under one ESP's attestations.
Two Sybils registering them have an equivocation (one ESP attested both) that the detail rule
matches: the honest ESP is slashed (burned; twice and it is deactivated, below half its
minimum stake), for two fees and two bonds. The prompt must be keyed too.
"""

from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image

from ledger import EspRegistryClient, HtlcClient, RegistryClient
from services.esp_worker import EspWorker
from services.market_client import MarketClient
from services.producer import ProducerSession
from services.provenance import detail_descriptor, detail_matches, fingerprint
from tests.contracts.helpers import register_esp

PRICE = 10**15


def _layout_model(prompt: str, seed: int):
    """A painter like the bundled model: the seed fixes the layout, the prompt only tints it."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 200, (8, 8, 3), dtype=np.int64)
    tint = hashlib.sha256(prompt.encode()).digest()[0] % 24
    small = np.clip(small + tint, 0, 255).astype(np.uint8)
    image = Image.fromarray(small).resize((128, 128), Image.Resampling.BICUBIC)
    return image, {"model_id": "layout-painter"}


def _fp(img):
    return fingerprint(img).to_bytes32()


def _producer(api, account) -> ProducerSession:
    world = api.world
    client = MarketClient(api.client, account)
    client.sign_in()
    return ProducerSession(
        client,
        HtlcClient(world.deployment, world.tx(account)),
        RegistryClient(world.deployment, world.tx(account)),
        EspRegistryClient(world.deployment, world.tx(account)),
        fingerprint=_fp,
    )


def test_one_esp_asked_for_one_seed_with_synonym_prompts_makes_unrelated_images(api, tmp_path):
    world = api.world
    register_esp(world)
    esp_client = MarketClient(api.client, world.esp)
    esp_client.sign_in()
    worker = EspWorker(
        esp_client,
        HtlcClient(world.deployment, world.tx(world.esp)),
        make_image=_layout_model,
        fingerprint=_fp,
        state_path=tmp_path / "esp-state.json",
        price=PRICE,
    )
    images = []
    for account, prompt in (
        (world.producer, "a yellow circle on a black background"),
        (world.attacker, "a yellow disc on a black background"),  # the other Sybil's synonym
    ):
        producer = _producer(api, account)
        task = producer.post(prompt, seed=7, max_price=PRICE, esp=world.esp.address)
        worker.step()
        producer.lock_fee(producer.task(task["id"]))
        api.index()
        worker.step()
        worker.step()
        api.index()
        claimed = producer.task(task["id"])
        assert claimed["status"] == "claimed" and int(claimed["seed"]) == 7
        image, _attestation = producer.collect(claimed)
        images.append(image)

    first, second = (detail_descriptor(img) for img in images)
    assert not detail_matches(first, second)  # not one layout: no equivocation to farm
