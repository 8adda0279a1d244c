"""The JavaScript SDK's generation openings live (js/sdk/test/live-openings/): anvil, `aigc serve`
(its background indexer) and an ESP worker on the bundled model as their own processes (the
stack of tests/js/test_sdk_live.py); the producer's publishGenerationOpening is refused while the
image is not attached (409 image_missing), then the API regenerates the image from the task's
prompt and the worker's delivered generation seed and stores the opening, which the committee
jurors' reader (``ApiOpenings``, Python) then reads back.
"""

from __future__ import annotations

import httpx
import pytest

from generators import get_generator
from services.market_client import MarketClient
from services.provenance.generation_proof import GenerationOpening
from services.provenance.juror import ApiOpenings
from tests.js.test_sdk_live import live, run_live_suite  # noqa: F401 (the stack)

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def test_a_producer_publishes_its_generation_opening_from_javascript(live):  # noqa: F811
    _node, chain, _deployment, api, _data, _logs = live
    accounts = chain.dev_accounts()
    result = run_live_suite(live, "live-openings", "openings-live.json")
    model = get_generator("bundled").model_id
    assert result["modelId"] == model
    # What a committee juror reads (Python's reader over the same API): the published opening.
    with httpx.Client(base_url=api, timeout=30) as http:
        got = ApiOpenings(MarketClient(http, accounts[8]))("registry", int(result["tokenId"]))
    assert got == (model, GenerationOpening(result["prompt"], int(result["seed"])))
