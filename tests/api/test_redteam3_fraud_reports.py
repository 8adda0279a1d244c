"""Red team 3: a fraud report that finds no fraud cannot be repeated to load the API.

``POST /v1/tasks/{id}/fraud`` opens the sealed delivery with the producer's key and decodes it
(up to 10**8 pixels) to compare its content hash with the attestation. A delivery that matches
changes nothing (409 ``no_fraud``), so its producer could send the report again and again, each
time a full decode: measured, an 8,000 x 8,000 PNG of 200 KB took 1.4 s to decode and hash
(``decode_image`` + ``canonical_hash``, 192 MB of pixels; the measuring process peaked at
1.2 GB with drawing and encoding it), for a producer and an ESP of its own that delivered it
once. Now a delivery found to match is not opened again (per
process), and reports count against the upload rate limit (429).
"""

from __future__ import annotations

import time

from ledger import LockTerms
from marketplace_api.routers import tasks
from services.exchange import delivery_key, public_key_bytes
from services.market_client import MarketClient
from tests.api.test_generation_flow import _claimed, _worker
from tests.api.test_redteam3_reclaim_hold import _session
from tests.contracts.helpers import register_esp


def test_a_matching_delivery_is_decoded_once_however_often_it_is_reported(
    api, tmp_path, monkeypatch
):
    world = api.world
    register_esp(world)
    client = MarketClient(api.client, world.esp)
    client.sign_in()
    worker = _worker(world, client, world.esp, tmp_path / "esp-state.json")
    producer = _session(api, world.producer)
    task, claimed = _claimed(api, worker, producer, "an honest delivery", seed=4)
    lock = LockTerms.from_json(claimed["lock"])
    key = delivery_key(
        own_private=bytes(world.producer.key),
        peer_public=public_key_bytes(bytes(world.esp.key)),
        preimage=producer.htlc.revealed_preimage(lock),
        task_id=bytes.fromhex(task["id"][2:]),
    )
    decoded: list[int] = []
    decode = tasks.decode_image

    def counting(*args, **kwargs):
        decoded.append(1)
        return decode(*args, **kwargs)

    monkeypatch.setattr(tasks, "decode_image", counting)
    # one instant for the whole burst: the per-minute bucket must not refill because a loaded
    # machine took over a minute to send it (62 of 70 relays reached the node so, in a run
    # beside other jobs)
    frozen = time.time()
    monkeypatch.setattr(api.client.app.state.limiter, "clock", lambda: frozen)
    me = api.sign_in(world.producer)
    path, body = f"/v1/tasks/{task['id']}/fraud", {"key": "0x" + key.hex()}
    codes = [api.client.post(path, json=body, headers=me) for _ in range(61)]
    assert [r.json()["error"]["code"] for r in codes[:60]] == ["no_fraud"] * 60
    assert len(decoded) == 1  # failed before: 61, a full decode per report, and no 429
    assert codes[60].status_code == 429  # the upload bucket: 60 a minute
