"""Red team 3: bad input found by the fuzz run (tests/api/test_fuzz.py) is a 4xx, not a 500.

A batch token id is ``batchId << 32 | index`` with a uint64 batch id; the API keys batches by a
signed 64-bit integer. A token id whose batch id is 2**63 or more (never issued: ids count from
1) made the batch routes look it up and the database driver overflow: 500 (SQLite's
``OverflowError``; PostgreSQL refuses it as out of range), found by schemathesis on
``POST /v1/tx/batch/court/contest`` with ``original`` = 0x800000000000000000000000.
"""

from __future__ import annotations

import pytest

HUGE = hex(2**63 << 32)  # batch id 2**63, item 0
ROUTES = [
    ("/v1/tx/batch/court/contest", {"original": HUGE, "duplicate": "0"}),
    ("/v1/tx/batch/court/contest", {"original": "1", "duplicate": HUGE}),
    ("/v1/tx/batch/challenge", {"original": HUGE, "duplicate": HUGE}),
    ("/v1/tx/batch/contest", {"original": HUGE, "duplicate": HUGE}),
]


@pytest.mark.parametrize(
    ("path", "body"), ROUTES, ids=[f"{p}-{i}" for i, (p, _) in enumerate(ROUTES)]
)
def test_a_batch_id_past_a_bigint_is_unknown_not_a_server_error(api, path, body):
    r = api.client.post(path, json=body, headers=api.sign_in(api.world.producer))
    assert r.status_code < 500, r.text  # failed before: 500 (OverflowError)
    assert r.status_code in (404, 409, 422), r.text


def test_a_batch_token_past_a_bigint_has_no_proof(api):
    r = api.client.get(f"/v1/batches/{2**63}/items/0/proof")
    assert r.status_code == 422  # the path's own bound
