"""An ESP endpoint that is not UTF-8 (EspRegistry takes any bytes as a string) must not break the
ESP list, the ESP's own pages or the index (the indexer's lenient strings:
tests/api/test_redteam4_chain_text_utf8.py)."""

from __future__ import annotations

from tests.api.test_redteam4_chain_text_utf8 import send_with_bytes
from tests.contracts.helpers import ESP_STAKE, FEE


def test_an_esp_endpoint_that_is_not_utf8_is_listed_not_fatal(api):
    world = api.world
    esp = world.esp
    client = world.esps(esp)
    fn = client.register_call("http://QQQQ.example", price=FEE, stake=ESP_STAKE).fn
    send_with_bytes(world, esp, fn, b"QQQQ", b"\xff\xfe\xfd\xfc", value=ESP_STAKE)
    api.index()
    listed = api.client.get("/v1/esps")
    assert listed.status_code == 200, listed.text
    rows = [r for r in listed.json()["items"] if r["address"].lower() == esp.address.lower()]
    assert rows, listed.json()
    assert "\ufffd" in rows[0]["endpoint"]
