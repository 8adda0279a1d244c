"""Bad input found by the fuzz sweep (schemathesis over every operation, positive and negative
data, with the ids of a real product, task and listing; plus a battery of malformed paths,
queries, bodies and Authorization headers): each was a 500 or an undocumented answer, and is now
a 4xx in the error envelope with a stable code.

* A token id of 78 decimal digits matches the uint256 pattern of the paths and of
  ``GET /v1/listings?token_id=`` but may exceed 2**256 - 1: 2**256 itself made
  ``types.token_hex`` raise in the handler, a 500 on five routes. It is now refused by the
  parameter's own validation (422 ``validation_error``), as a JSON body's token id always was.
* A multipart body the parser cannot read (no boundary, a body that is no multipart, a part
  without a name) was 400 ``http_error``, a status the document declares nowhere and a code
  that names nothing; it is 422 ``validation_error`` with the parser's reason, as an unreadable
  JSON body is.
* A lone surrogate (``"\ud800"``, valid JSON) as an ESP's endpoint was a 500 (eth_abi could not
  encode it); every free-text field now refuses one (below).
"""

from __future__ import annotations

import json

import pytest

from ledger.clients.batch_registry import BatchRegistryClient
from services.batch import BatchRequest
from services.esp_worker import EspWorker
from tests.api.test_batches import PRICE, _fp_bytes, _paint, _request_body, delivered  # noqa: F401

OVER = str(2**256)  # 78 digits: inside the path pattern, outside uint256
MAX = str(2**256 - 1)

OUT_OF_RANGE = [
    ("GET", f"/v1/products/{OVER}"),
    ("GET", f"/v1/products/{OVER}/image"),
    ("GET", f"/v1/products/{OVER}/generation"),
    ("GET", f"/v1/tokens/{OVER}"),
    ("GET", f"/v1/listings?token_id={OVER}"),
    ("PUT", f"/v1/products/{OVER}/generation"),
]


@pytest.mark.parametrize(
    ("method", "url"),
    OUT_OF_RANGE,
    ids=[f"{m} {u.replace(OVER, '2**256')}" for m, u in OUT_OF_RANGE],
)
def test_a_token_id_past_uint256_is_a_validation_error(api, method, url):
    body = {"prompt": "a red circle", "seed": "1"} if method == "PUT" else None
    r = api.client.request(method, url, json=body)
    assert r.status_code == 422, r.text  # failed before: 500 (ValueError: out of range)
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert "uint256" in str(error["details"])


@pytest.mark.parametrize("token", [MAX, "0x" + "f" * 64])
def test_the_largest_token_id_is_still_just_unknown(api, token):
    assert api.client.get(f"/v1/products/{token}").status_code == 404
    assert api.client.get(f"/v1/listings?token_id={token}").status_code == 200


UNREADABLE = [
    ("multipart/form-data", b"-1.875452576544957e+16", "Missing boundary"),
    ("multipart/form-data; boundary=x", b"6.037226953647538e+62", "Invalid multipart data"),
    (
        "multipart/form-data; boundary=x",
        b"--x\r\nContent-Disposition: form-data\r\n\r\nabc\r\n--x--\r\n",
        '"name" must be provided',
    ),
]


@pytest.mark.parametrize(
    ("content_type", "body", "reason"), UNREADABLE, ids=[r for *_, r in UNREADABLE]
)
@pytest.mark.parametrize("route", [("PUT", "/v1/products/1/image"), ("POST", "/v1/search/similar")])
def test_an_unreadable_multipart_body_is_a_validation_error(api, route, content_type, body, reason):
    method, url = route
    headers = {**api.sign_in(api.world.producer), "Content-Type": content_type}
    r = api.client.request(method, url, headers=headers, content=body)
    assert r.status_code == 422, r.text  # failed before: 400 http_error
    error = r.json()["error"]
    assert error["code"] == "validation_error" and reason in error["message"]
    assert error["details"] == [{"loc": ["body"], "msg": error["message"]}]


# A lone surrogate is valid JSON (``"\ud800"``) but no Unicode text: it has no UTF-8 bytes to
# store, hash or ABI-encode. As the endpoint of POST /v1/tx/esp/register it reached eth_abi's
# string encoder: 500 (UnicodeEncodeError, found by the field-mutation sweep). Every free-text
# field (marketplace_api.types.Text) now refuses one, as it refuses control characters.
LONE_SURROGATE = '"a\\ud800b"'
FREE_TEXT = [
    ("POST", "/v1/tx/esp/register", "endpoint"),
    ("POST", "/v1/tx/registry/reveal", "metadata_uri"),
    ("POST", "/v1/tx/batch/reveal", "metadata_uri"),
    ("POST", "/v1/tasks", "prompt"),
    ("POST", f"/v1/tasks/0x{'1' * 64}/refusal", "message"),
    ("POST", "/v1/batch-requests/1/refusal", "message"),
    ("PUT", "/v1/products/1/generation", "prompt"),
]


@pytest.mark.parametrize(("method", "url", "field"), FREE_TEXT, ids=[u for _, u, _ in FREE_TEXT])
def test_a_lone_surrogate_in_free_text_is_a_validation_error(api, method, url, field):
    fields = {"price": "1", "stake": "1", "seed": "1", field: "@"}  # esp/register: all valid
    body = json.dumps(fields).replace('"@"', LONE_SURROGATE)
    headers = {**api.sign_in(api.world.producer), "Content-Type": "application/json"}
    r = api.client.request(method, url, content=body, headers=headers)
    assert r.status_code == 422, r.text  # esp/register failed before: 500 (UnicodeEncodeError)
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert any(d["loc"] == ["body", field] for d in error["details"]), error


# The ESP's answer to a batch request (POST /v1/batch-requests/{id}/attestation) is a JSON
# object that was checked field by field and then stored as sent, unknown keys included: an ESP
# could add anything (NULs, a megabyte per request) to its valid attestation, and the producer
# read it back as the attestation. Only the checked attestation is stored now (found reading
# the routes the generated sweep cannot reach: it needs the ESP's real signature).
def test_an_attestation_is_stored_as_checked_not_as_sent(api, delivered, tmp_path):  # noqa: F811
    world = api.world
    esp, images = delivered
    producer, esp_headers = api.sign_in(world.producer), api.sign_in(world.esp)
    body = _request_body(world.esp.address, images)
    url = (
        "/v1/batch-requests/"
        + api.client.post("/v1/batch-requests", json=body, headers=producer).json()["id"]
    )
    copy = tmp_path / "esp-copy.json"
    copy.write_bytes(esp.state.path.read_bytes())
    worker = EspWorker(
        esp.client, esp.htlc, make_image=_paint, fingerprint=_fp_bytes, state_path=copy,
        price=PRICE,
    )  # fmt: skip
    request = BatchRequest.from_json({"producer": world.producer.address, **body})
    registry = BatchRegistryClient(world.deployment).address
    full = worker.attest_batch(request, contract=registry, max_batch=16).to_json()
    sent = {**full, "note": "\u0000", "extra": {"x": "y" * 1000}}
    r = api.client.post(f"{url}/attestation", json=sent, headers=esp_headers)
    assert r.status_code == 200, r.text
    assert r.json()["attestation"] == full  # failed before: the extra keys came back
    assert api.client.get(url, headers=producer).json()["attestation"] == full
