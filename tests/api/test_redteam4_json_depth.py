"""Red team 4: one request of deeply nested JSON killed the API process.

The API's imports (py-evm and py_ecc, through the ledger) raise Python's recursion limit to
100,000 at import. The standard library's C JSON parser checks only that limit, so a body of
200,000 nested ``[`` (400 kB, well under the 4 MiB upload limit), sent anonymously to any JSON
route (``POST /v1/auth/verify`` needs no sign-in), recursed until the thread overflowed its
stack: a segfault that ends the whole process (found with this file's first test, which crashed
pytest with exit code 139; the same body killed a uvicorn process of a minimal app that imports
py-evm, so ``aigc serve`` loses a worker and every request in it). The same held for the
delivery's multipart ``meta`` field, parsed with ``json.loads``.

Now a JSON body nested deeper than 200 levels is 422 ``json_too_deep`` before FastAPI parses
it (``marketplace_api.uploads.JsonDepthLimit``, inside the body-size limit), and ``meta`` is
parsed by pydantic-core, which bounds nesting itself (422 like any malformed meta).
"""

from __future__ import annotations

import secrets
import sys

import pytest

from marketplace_api.models import Task

DEEP_ARRAY = "[" * 200_000 + "]" * 200_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000


def test_the_api_runs_with_the_raised_recursion_limit():
    """What made the parser dangerous: the premise of this file."""
    import marketplace_api.main  # noqa: F401

    assert sys.getrecursionlimit() >= 100_000


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json"])
def test_deeply_nested_json_is_422_and_the_api_lives_on(api, body, content_type):
    r = api.client.post(
        "/v1/auth/verify", content=body, headers={"content-type": content_type}
    )  # crashed the process before (segfault)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "json_too_deep"
    headers = {**api.sign_in(api.world.producer), "content-type": content_type}
    r = api.client.post("/v1/tasks", content=body, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "json_too_deep", r.text
    assert api.client.get("/healthz").status_code == 200


def test_nesting_within_the_bound_is_an_ordinary_validation_error(api):
    body = "[" * 150 + "]" * 150
    r = api.client.post(
        "/v1/auth/verify", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", r.text
    ok = api.client.post("/v1/auth/nonce")  # an ordinary body-less request is untouched
    assert ok.status_code == 200, ok.text


def test_a_deeply_nested_delivery_meta_is_422(api):
    world = api.world
    task_id = "0x" + secrets.token_hex(32)
    with api.client.app.state.sessions() as session:
        session.add(
            Task(
                id=task_id,
                producer=world.producer.address,
                esp=world.esp.address,
                prompt="p",
                seed=1,
                max_price="1",
                status="locked",
                lock_id="0x" + secrets.token_hex(32),
                created_block=0,
            )
        )
        session.commit()
    r = api.client.post(
        f"/v1/tasks/{task_id}/delivery",
        files={
            "sealed": ("s", b"\x00" * 64, "application/octet-stream"),
            "preview": ("p.png", b"\x89PNG", "image/png"),
        },
        data={"meta": DEEP_ARRAY},
        headers=api.sign_in(world.esp),
    )  # json.loads(meta) crashed the process before
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "unprocessable"
