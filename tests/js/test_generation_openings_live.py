"""The JavaScript SDK's generation openings live (js/sdk/test/live-openings/): anvil, `aigc serve`
(its background indexer) and an ESP worker on the bundled model as their own processes (the
stack of tests/js/test_sdk_live.py); the producer's publishGenerationOpening is refused while the
image is not attached (409 image_missing), then the API regenerates the image from the task's
prompt and the worker's delivered generation seed and stores the opening, which the committee
jurors' reader (``ApiOpenings``, Python) then reads back.
"""

from __future__ import annotations

import json
import os
import subprocess

import httpx
import pytest

from generators import get_generator
from services.market_client import MarketClient
from services.provenance.generation_proof import GenerationOpening
from services.provenance.juror import ApiOpenings
from tests.js._node import ROOT, SDK
from tests.js.test_sdk_live import BUYER, ESP, PRODUCER, _tail, live  # noqa: F401 (the stack)

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def test_a_producer_publishes_its_generation_opening_from_javascript(live):  # noqa: F811
    node, chain, _deployment, api, data, logs = live
    accounts = chain.dev_accounts()
    out = data / "openings-live.json"
    env = {
        **os.environ,
        "AIGC_API_URL": api,
        "AIGC_RPC_URL": chain.w3.provider.endpoint_uri,
        "AIGC_CHAIN_ID": str(chain.chain_id),
        "AIGC_PRODUCER_KEY": "0x" + bytes(accounts[PRODUCER].key).hex(),
        "AIGC_BUYER_KEY": "0x" + bytes(accounts[BUYER].key).hex(),
        "AIGC_ESP_ADDRESS": accounts[ESP].address,
        "AIGC_SDK_LIVE_OUT": str(out),
    }
    run = subprocess.run(
        [node, "--test", "--test-reporter=spec", str(SDK / "test" / "live-openings")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    stack = "\n".join(map(_tail, logs))
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-3000:] + "\n" + stack
    result = json.loads(out.read_text())
    model = get_generator("bundled").model_id
    assert result["modelId"] == model
    # What a committee juror reads (Python's reader over the same API): the published opening.
    with httpx.Client(base_url=api, timeout=30) as http:
        got = ApiOpenings(MarketClient(http, accounts[8]))("registry", int(result["tokenId"]))
    assert got == (model, GenerationOpening(result["prompt"], int(result["seed"])))
