"""Red team 7: every route of the OpenAPI document under a deterministic table of malformed input.

For each operation of ``app.openapi()`` a valid request is built from the document (a sample of
each pattern, the required and optional fields of each body), then broken one place at a time:

* each path parameter: ``0x``, ``0x0``, ``-1``, ``01``, ``%00``, a NUL, ``a/b``, unicode digits
  and letters, 2**256, 2**63, 10,000 digits, 10,000 hex digits, ``NaN``, ``inf``, ``1e308``,
  empty;
* each query parameter: the same, a repeated parameter and an unknown one;
* each JSON body field (top level; one level down, the kinds of wrong once each): wrong types,
  -2**256, 2**256, 2**256 - 1, -1, 1.5, 1e308, the JSON literals ``NaN``, ``Infinity`` and
  ``1e400``, ``"NaN"``, a NUL, a lone surrogate, 10,000 characters and once per route a
  megabyte; each field left out, an unknown one added;
* the whole body: ``null``, a list, a number, invalid JSON, bytes that are not UTF-8, a NUL,
  nothing, 5,000 nested brackets, another media type (text/plain, a form, multipart), a
  megabyte of padding; a body on a GET or DELETE;
* a multipart route: empty, garbage, no boundary, the file under another name, not a file,
  JSON instead;
* then the routes behind a real id (a delivered task, a pending batch request), signed in as
  the party each route takes, with the same field mutations;
* unauthenticated and wrongly authenticated: no token, garbage, an expired token, a token
  signed under another secret, another scheme, 100 kB; and sign-in messages of another domain,
  URI or chain, or past their expiry.

Every answer must be below 500 and, when 4xx, the JSON envelope
``{"error": {"code": str, "message": str}}``; every signed-in route answers a bad token 401.
The requests are signed in as the producer so the handlers run past their auth check.
Deterministic (no Hypothesis): the same requests every run, about 8,000 (the whole module
takes about 60 CPU-seconds per database; 2 to 3 minutes of wall time on a machine shared with
other test runs). What it found (the ESP's attestation, a free JSON object: 127 distinct 500s)
is fixed and kept below as ``test_a_mistyped_attestation_is_a_validation_error``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from ledger.clients.batch_registry import BatchRegistryClient
from marketplace_api import tokens
from services.batch import BatchRequest
from services.esp_worker import EspWorker
from tests.api.conftest import sign, siwe_text
from tests.api.test_batches import PRICE, _fp_bytes, _paint, _request_body, delivered  # noqa: F401

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
HASH = "0x" + "11" * 32
MB = 1024 * 1024

SAMPLES = {
    r"^0x[0-9a-fA-F]{40}$": ADDRESS,
    r"^0x[0-9a-fA-F]{64}$": HASH,
    r"^0x[0-9a-f]{64}$": HASH,
    r"^(0x)?[0-9a-fA-F]{64}$": HASH,
    r"^(0|[1-9][0-9]{0,77}|0x[0-9a-fA-F]{1,64})$": "1",
    r"^(ETHER|ERC20|ERC721)$": "ETHER",
    r"^(producer|esp)$": "producer",
    r"^0x(?:[0-9a-fA-F]{2})*$": "0x" + "00" * 65,
    r"^0x([0-9a-fA-F]{2})+$": "0x" + "00" * 65,
}

# Odd values for a path or query parameter (each URL-quoted unless it is meant raw).
ODD_PARAMS = [
    "0x",
    "0x0",
    "-1",
    "01",
    "1e3",
    "1e308",
    "NaN",
    "inf",
    "\u0663",  # ARABIC-INDIC DIGIT THREE: str.isdigit() and int() accept it
    "\uff11",  # FULLWIDTH DIGIT ONE
    "\u00e9",
    "\U0001f600",
    "\x00",
    "%00",
    "a/b",
    str(2**256),
    str(2**63),
    "9" * 10_000,
    "0x" + "f" * 10_000,
    "0x" + "g" * 64,
    "",
]

# Bad values for one JSON field (the literals NaN/Infinity are written raw: Python's json module
# reads them, and so does the app's parser).
NAN, INF, E400 = object(), object(), object()  # E400: the number 1e400, read as infinity
ODD_FIELDS: list[Any] = [
    None,
    True,
    [],
    {},
    {"a": 1},
    -1,
    1.5,
    2**256,
    2**256 - 1,  # in range: the largest uint256 must reach the handler and be answered
    str(2**256 - 1),
    -(2**256),
    1e308,
    NAN,
    INF,
    E400,
    "NaN",
    "0x",
    "\u0663",
    "\x00",
    "a\x00b",
    "\ud800",
    "\u202e",
    "x" * 10_000,
    "",
]


# One level down (a lock's fields, an item's): the kinds of wrong, each once.
ODD_NESTED: list[Any] = [
    None,
    True,
    [],
    {},
    -1,
    1.5,
    2**256,
    INF,
    "\x00",
    "\ud800",
    "x" * 10_000,
    "",
]


def _dumps(value: Any) -> str:
    """JSON with the raw ``NaN`` / ``Infinity`` literals and lone surrogates kept as escapes."""
    text = json.dumps(value, ensure_ascii=True)
    text = text.replace('"__NAN__"', "NaN").replace('"__INF__"', "Infinity")
    return text.replace('"__E400__"', "1e400")


def _raw(value: Any) -> Any:
    if value is NAN:
        return "__NAN__"
    if value is INF:
        return "__INF__"
    if value is E400:
        return "__E400__"
    return value


class Schema:
    """Valid samples from the OpenAPI document's JSON schemas."""

    def __init__(self, doc: dict[str, Any]):
        self.components = doc.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def sample(self, schema: dict[str, Any], depth: int = 0) -> Any:
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                options = [o for o in schema[key] if self.resolve(o).get("type") != "null"]
                return self.sample(options[0] if options else schema[key][0], depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object" or "properties" in schema:
            if depth > 4:
                return {}
            return {
                name: self.sample(prop, depth + 1)
                for name, prop in schema.get("properties", {}).items()
            }
        if kind == "array":
            return [self.sample(schema.get("items", {}), depth + 1)] * max(
                1, schema.get("minItems", 1)
            )
        if kind == "integer":
            return max(1, schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1))
        if kind == "number":
            return 1.0
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        pattern = schema.get("pattern")
        if pattern is not None:
            if pattern in SAMPLES:
                return SAMPLES[pattern]
            hex_digits = re.fullmatch(r"\^0x\[0-9a-fA-F\]\{(\d+)\}\$", pattern)
            if hex_digits is not None:
                return "0x" + "1" * int(hex_digits[1])
            choice = re.fullmatch(r"\^\(([\w|]+)\)\$", pattern)
            if choice is not None:
                return choice[1].split("|")[0]
            for candidate in ("a", "1", "0x1", "a" * 8, f"1-{HASH}", "0x02" + HASH[2:]):
                if re.search(pattern, candidate):
                    return candidate
            raise AssertionError(f"no sample for the pattern {pattern}")
        if schema.get("format") == "binary":
            return "file"
        return "a" * max(1, schema.get("minLength", 1))


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "delete", "patch")
    ]


def _url(path: str, values: dict[str, str], query: list[tuple[str, str]]) -> str:
    url = re.sub(r"\{(\w+)\}", lambda m: values[m[1]], path)
    if query:
        url += "?" + "&".join(f"{quote(k)}={v}" for k, v in query)
    return url


def _q(value: str) -> str:
    return value if value.startswith("%") else quote(value, safe="")


class Sweep:
    def __init__(self, api, headers: dict[str, str]):
        self.client = api.client
        self.headers = headers
        self.failures: list[str] = []
        self.sent = 0

    def send(self, method: str, url: str, *, headers=None, **kwargs) -> Any:
        self.sent += 1
        where = f"{method} {url[:160]} {str(kwargs)[:160]}"
        try:
            r = self.client.request(
                method, url, headers={**self.headers, **(headers or {})}, **kwargs
            )
        except Exception as exc:  # the app raised: a 500 under a real server
            self.failures.append(f"{where}: raised {exc!r:.300}")
            return None
        if r.status_code >= 500:
            self.failures.append(f"{where}: {r.status_code} {r.text[:300]}")
        elif r.status_code >= 400:
            try:
                error = r.json()["error"]
                assert isinstance(error["code"], str) and error["code"]
                assert isinstance(error["message"], str)
            except Exception:
                self.failures.append(f"{where}: {r.status_code} not the envelope: {r.text[:300]}")
        return r


def _leaves(body: Any, prefix: tuple = ()) -> list[tuple]:
    """Paths to every field of ``body``, top level and one level down."""
    out: list[tuple] = []
    if isinstance(body, dict):
        for key, value in body.items():
            out.append((*prefix, key))
            if len(prefix) < 1:
                out.extend(_leaves(value, (*prefix, key)))
    elif isinstance(body, list) and body and len(prefix) < 2:
        out.extend(_leaves(body[0], (*prefix, 0)))
    return out


def _replace(body: Any, at: tuple, value: Any) -> Any:
    if not at:
        return value
    copy = json.loads(json.dumps(body))
    node = copy
    for key in at[:-1]:
        node = node[key]
    node[at[-1]] = value
    return copy


def _remove(body: Any, at: tuple) -> Any:
    copy = json.loads(json.dumps(body))
    node = copy
    for key in at[:-1]:
        node = node[key]
    del node[at[-1]]
    return copy


WHOLE_BODIES: list[tuple[str, bytes]] = [
    ("application/json", b"null"),
    ("application/json", b"[]"),
    ("application/json", b"1e308"),
    ("application/json", b"NaN"),
    ("application/json", b'"x"'),
    ("application/json", b"{"),
    ("application/json", b"{}"),
    ("application/json", b""),
    ("application/json", b"\xff\xfe{}"),
    ("application/json", b'{"a": "\xc3\x28"}'),
    ("application/json", b"\x00"),
    ("application/json", b'{"a": 1, "a": 2}'),
    ("application/json", b"[" * 5000 + b"]" * 5000),
    ("application/json", b"1" * 5000),
    ("application/json", b'{"pad": "' + b"x" * MB + b'"}'),
    ("text/plain", b"{}"),
    ("application/x-www-form-urlencoded", b"a=1&b=2"),
    ("multipart/form-data", b"garbage"),
    ("multipart/form-data; boundary=x", b""),
    ("multipart/form-data; boundary=x", b"--x--\r\n"),
    ("application/json; charset=latin-1", b'{"a": "\xe9"}'),
    ("", b"{}"),
]

MULTIPART_BODIES: list[tuple[str, bytes]] = [
    ("multipart/form-data; boundary=x", b""),
    ("multipart/form-data; boundary=x", b"--x--\r\n"),
    ("multipart/form-data; boundary=x", b"garbage"),
    ("multipart/form-data", b"--x\r\n"),
    (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="other"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\nabc\r\n--x--\r\n",
    ),
    (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="image"\r\n\r\nnot a file\r\n--x--\r\n',
    ),
    (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="image"; filename="\x00.png"\r\n'
        b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\x00\x00\r\n--x--\r\n",
    ),
    ("application/json", b"{}"),
    ("text/plain", b"hello"),
]


def _files(op: dict[str, Any], schema: Schema) -> list[str]:
    content = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    props = schema.resolve(content).get("properties", {})
    return list(props)


def mutate(
    sweep: Sweep,
    method: str,
    url: str,
    body: Any,
    *,
    whole: bool = True,
    renew: Callable[[], str] | None = None,
) -> None:
    """``body`` sent with each field (top level and one level down) replaced by each odd value
    or left out, an unknown field added, the first text a megabyte long; then (``whole``) the
    body replaced by each malformed one. ``renew`` gives a fresh URL after a mutation was
    accepted (a 2xx that moved the resource on, where the next one would stop at a 409)."""

    def send(payload: Any) -> None:
        nonlocal url
        r = sweep.send(
            method, url, content=_dumps(payload), headers={"Content-Type": "application/json"}
        )
        if renew is not None and r is not None and r.status_code < 300:
            url = renew()

    for at in _leaves(body):
        for odd in ODD_FIELDS if len(at) == 1 else ODD_NESTED:
            send(_replace(body, at, _raw(odd)))
        send(_remove(body, at))
    if isinstance(body, dict):
        send(_replace(body, ("x" * 100,), "y"))
    first_text = next((at for at in _leaves(body) if isinstance(_get(body, at), str)), None)
    if first_text is not None:
        send(_replace(body, first_text, "x" * MB))
    if whole:
        for content_type, raw in WHOLE_BODIES:
            sweep.send(method, url, content=raw, headers={"Content-Type": content_type})


def test_every_route_answers_malformed_input_with_a_4xx_envelope(api):
    state = api.client.app.state
    limits = {k: 10**9 for k in type(state.settings).model_fields if k.startswith("rate_")}
    state.settings = state.settings.model_copy(update=limits)
    doc = api.client.app.openapi()
    schema = Schema(doc)
    sweep = Sweep(api, api.sign_in(api.world.producer))
    operations = _operations(doc)
    assert len(operations) >= 80

    for method, path, op in operations:
        params = op.get("parameters", [])
        values = {
            p["name"]: _q(str(schema.sample(p.get("schema", {}))))
            for p in params
            if p["in"] == "path"
        }
        query = [
            (p["name"], _q(str(schema.sample(p.get("schema", {})))))
            for p in params
            if p["in"] == "query"
        ]
        body_kind = next(iter(op.get("requestBody", {}).get("content", {})), None)
        body: Any = None
        if body_kind == "application/json":
            body = schema.sample(op["requestBody"]["content"][body_kind]["schema"])

        json_body = (
            {"content": _dumps(body), "headers": {"Content-Type": "application/json"}}
            if body_kind == "application/json"
            else {}
        )

        def call(url: str, *, _method: str = method, **kw: Any) -> Any:
            return sweep.send(_method, url, **kw)

        def plain(url: str, *, _method: str = method, _body: dict = json_body) -> Any:
            return sweep.send(_method, url, **_body)  # the valid body, if any

        plain(_url(path, values, query))  # the valid request itself
        for name in values:
            for odd in ODD_PARAMS:
                plain(_url(path, {**values, name: _q(odd)}, query))
        for i, (name, _) in enumerate(query):
            for odd in ODD_PARAMS:
                plain(_url(path, values, [*query[:i], (name, _q(odd)), *query[i + 1 :]]))
            plain(_url(path, values, [*query, (name, "1"), (name, "2")]))
        plain(_url(path, values, [*query, ("unknown", "x")]))

        if body_kind == "application/json":
            mutate(sweep, method, _url(path, values, query), body)
        elif body_kind == "multipart/form-data":
            url = _url(path, values, query)
            for content_type, raw in MULTIPART_BODIES:
                call(url, content=raw, headers={"Content-Type": content_type})
            for name in _files(op, schema):
                call(url, files={name: ("a.png", b"", "image/png")})
                call(url, files={name: ("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")})
                call(url, files={name: ("a.gif", b"GIF89a" + b"\xff" * 64, "image/gif")})
                call(url, files={name: ("\u202e.png", b"x" * 100, "text/html")})
                call(url, data={name: "not a file"})
        elif method in ("GET", "DELETE"):
            # a body where none is expected
            call(
                _url(path, values, query),
                content=b"\xff\x00",
                headers={"Content-Type": "application/json"},
            )

    assert sweep.sent > 5000
    assert not sweep.failures, f"{len(sweep.failures)} of {sweep.sent}:\n" + "\n".join(
        sweep.failures[:40]
    )


def _get(body: Any, at: tuple) -> Any:
    for key in at:
        body = body[key]
    return body


# --- the routes behind a real id ------------------------------------------------------------


def test_routes_behind_real_ids_answer_malformed_input_with_a_4xx_envelope(
    api,
    delivered,  # noqa: F811
    tmp_path,
):
    """The same mutations where the table above stops at 404: a real delivered task (its ESP
    quotes and refuses, its producer reports fraud), a real pending batch request (its ESP
    answers with a mutated copy of its valid attestation, then refuses it) and the producer's
    batch request itself. The attestation is a free JSON object the service parses field by
    field: ``Infinity`` or ``1e400`` where it reads an integer raised OverflowError, a 500."""
    world = api.world
    esp, images = delivered
    producer, esp_headers = api.sign_in(world.producer), api.sign_in(world.esp)
    state = api.client.app.state
    limits = {k: 10**9 for k in type(state.settings).model_fields if k.startswith("rate_")}
    state.settings = state.settings.model_copy(update=limits)
    as_producer, as_esp = Sweep(api, producer), Sweep(api, esp_headers)

    task = api.client.get("/v1/tasks", headers=producer).json()["items"][0]
    url = f"/v1/tasks/{task['id']}"
    quote = {
        "price": "1",
        "hashlock": HASH,
        "deadline": 2**40,
        "signature": "0x" + "11" * 65,
        "prompt_commitment": task["prompt_commitment"],
    }
    mutate(as_esp, "POST", f"{url}/quote", quote)
    mutate(as_producer, "POST", f"{url}/fraud", {"key": HASH}, whole=False)
    mutate(as_esp, "POST", f"{url}/refusal", {"code": "price_too_high", "message": "no"})

    request_body = _request_body(world.esp.address, images)
    mutate(as_producer, "POST", "/v1/batch-requests", request_body, whole=False)

    def pending_request() -> str:
        r = api.client.post("/v1/batch-requests", json=request_body, headers=producer)
        assert r.status_code == 200, r.text
        return f"/v1/batch-requests/{r.json()['id']}"

    request_url = pending_request()
    attestation = _esp_attests(world, esp, request_body, tmp_path)
    mutate(
        as_esp,
        "POST",
        f"{request_url}/attestation",
        attestation,
        renew=lambda: pending_request() + "/attestation",
    )
    mutate(
        as_esp,
        "POST",
        f"{pending_request()}/refusal",
        {"code": "not_generated", "message": "no"},
        renew=lambda: pending_request() + "/refusal",
    )

    failures = as_producer.failures + as_esp.failures
    assert as_producer.sent + as_esp.sent > 900
    assert not failures, f"{len(failures)}:\n" + "\n".join(failures[:40])


def _esp_attests(world, esp, body: dict[str, Any], tmp_path) -> dict[str, Any]:
    """The ESP's valid attestation of the batch request ``body``, signed by a worker on a copy
    of its state (the sweep's requests must not consume the fixture's)."""
    copy = tmp_path / "esp-copy.json"
    copy.write_bytes(esp.state.path.read_bytes())
    worker = EspWorker(
        esp.client, esp.htlc, make_image=_paint, fingerprint=_fp_bytes, state_path=copy,
        price=PRICE,
    )  # fmt: skip
    asked = BatchRequest.from_json({"producer": world.producer.address, **body})
    registry = BatchRegistryClient(world.deployment).address
    return worker.attest_batch(asked, contract=registry, max_batch=16).to_json()


def _attestation(api, delivered, tmp_path) -> tuple[str, dict[str, str], dict[str, Any]]:  # noqa: F811
    """A pending batch request's attestation URL, the ESP's headers and its valid attestation."""
    world = api.world
    esp, images = delivered
    body = _request_body(world.esp.address, images)
    r = api.client.post("/v1/batch-requests", json=body, headers=api.sign_in(world.producer))
    assert r.status_code == 200, r.text
    signed = _esp_attests(world, esp, body, tmp_path)
    url = f"/v1/batch-requests/{r.json()['id']}/attestation"
    return url, {**api.sign_in(world.esp), "Content-Type": "application/json"}, signed


# What the sweep above found: each raised in the service (the exception named), a 500.
MISTYPED = [
    (("version",), INF, "OverflowError"),
    (("version",), E400, "OverflowError"),
    (("chain_id",), -1, "ValueOutOfBounds"),
    (("chain_id",), 2**256, "ValueOutOfBounds"),
    (("chain_id",), INF, "OverflowError"),
    (("task_id",), None, "KeyError"),  # left out
    (("lock", "hashlock"), True, "ValueError"),
    (("lock", "amount"), 1.5, "TypeError"),
    (("lock", "sender"), 0, "ValueError"),
    (("items", 0, "seed"), INF, "OverflowError"),
]


@pytest.mark.parametrize(
    ("at", "value", "raised"),
    MISTYPED,
    ids=[f"{'.'.join(map(str, a))}-{r}" for a, _, r in MISTYPED],
)
def test_a_mistyped_attestation_is_a_validation_error(
    api,
    delivered,  # noqa: F811
    tmp_path,
    at,
    value,
    raised,
):
    """The ESP's answer to a batch request was a free JSON object, parsed by the service field
    by field and then signature-checked: a value of the wrong type or range raised there (the
    ``raised`` exception: 500, the test failed before). The route's body is now typed
    (``AttestationIn``): 422 ``validation_error`` naming the field, the request still pending."""
    url, headers, signed = _attestation(api, delivered, tmp_path)
    body = _remove(signed, at) if value is None else _replace(signed, at, _raw(value))
    r = api.client.post(url, content=_dumps(body), headers=headers)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error", error
    assert any(tuple(d["loc"][1:]) == at for d in error["details"]), error
    # the request is still pending: the valid attestation is taken
    r = api.client.post(url, json=signed, headers=headers)
    assert r.status_code == 200 and r.json()["attestation"] == signed, r.text


# --- authentication ---------------------------------------------------------------------------


def _bad_tokens(api) -> dict[str, str]:
    settings = api.client.app.state.settings
    secret = settings.token_secret.get_secret_value().encode()
    address = api.world.producer.address
    expired, _ = tokens.issue(address, secret=secret, ttl_s=-1)
    foreign, _ = tokens.issue(address, secret=b"another deployment's secret", ttl_s=600)
    good, _ = tokens.issue(address, secret=secret, ttl_s=600)
    payload, mac = good.split(".")
    return {
        "expired": f"Bearer {expired}",
        "other_secret": f"Bearer {foreign}",
        "garbage": "Bearer garbage",
        "empty": "Bearer ",
        "three_parts": f"Bearer {good}.x",
        "swapped": f"Bearer {mac}.{payload}",
        "basic": f"Basic {good}",
        "no_scheme": good,
        "long": "Bearer " + "A" * 100_000,
        "nul_expiry": "Bearer "
        + tokens._b64(f"{address}.\x00.x".encode())
        + "."
        + tokens._b64(b"x"),
    }


def test_every_signed_in_route_refuses_a_missing_or_bad_token_with_401(api):
    doc = api.client.app.openapi()
    schema = Schema(doc)
    sweep = Sweep(api, {})
    bad = {"none": None, **_bad_tokens(api)}
    checked = 0
    for method, path, op in _operations(doc):
        if not op.get("security") or {} in op["security"]:
            continue  # anonymous callers are answered too
        values = {
            p["name"]: _q(str(schema.sample(p.get("schema", {}))))
            for p in op.get("parameters", [])
            if p["in"] == "path"
        }
        url = _url(path, values, [])
        body_kind = next(iter(op.get("requestBody", {}).get("content", {})), None)
        kwargs: dict[str, Any] = {}
        if body_kind == "application/json":
            kwargs["json"] = schema.sample(op["requestBody"]["content"][body_kind]["schema"])
        for kind, value in bad.items():
            r = sweep.send(
                method, url, headers={} if value is None else {"Authorization": value}, **kwargs
            )
            if r is not None and r.status_code != 401:
                sweep.failures.append(f"{kind} {method} {path}: {r.status_code} {r.text[:200]}")
            checked += 1
    assert checked > 400
    assert not sweep.failures, "\n".join(sweep.failures[:40])


@pytest.mark.parametrize(
    "change",
    [
        {"domain": "evil.example"},
        {"uri": "https://evil.example"},
        {"chain_id": 1},
        {"chain_id": 2**256},
        {"expires_in": -60},
    ],
    ids=lambda c: "-".join(f"{k}={str(v)[:12]}" for k, v in c.items()),
)
def test_sign_in_for_another_domain_chain_or_time_is_401(api, change):
    producer = api.world.producer
    kwargs: dict[str, Any] = {"nonce": api.nonce(), "chain_id": api.chain_id, **change}
    text = siwe_text(producer, **kwargs)
    r = api.client.post(
        "/v1/auth/verify", json={"message": text, "signature": sign(producer, text)}
    )
    assert r.status_code == 401, r.text
    error = r.json()["error"]
    assert error["code"].startswith("siwe_") and error["message"]
