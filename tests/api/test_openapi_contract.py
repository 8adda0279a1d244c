"""The OpenAPI document is true to the API: every route has a response model, every route
declares the error envelope it really sends, and uint256 values are strings in it."""

from __future__ import annotations

from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from marketplace_api.deps import current_account
from marketplace_api.schemas import ErrorOut

BINARY = {"image/png", "application/octet-stream"}
UINT256_NAMES = {"price", "max_price", "amount", "stake", "value", "seed", "token_id"}
ERROR_REF = "#/components/schemas/ErrorOut"
NOT_UINT256 = {"Attribute.value"}  # an ERC-721 metadata attribute's display value


def _operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "delete", "patch"):
                yield f"{method.upper()} {path}", op


def _api_routes(routes: list[Any]):
    """Every APIRoute, routers included (FastAPI keeps an included router as one route)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def _needs_auth(dependant: Dependant) -> bool:
    return any(d.call is current_account or _needs_auth(d) for d in dependant.dependencies)


def test_every_route_has_a_response_model_and_declares_the_error_envelope(api):
    app = api.client.app
    doc = app.openapi()
    problems: list[str] = []
    for name, op in _operations(doc):
        responses = op["responses"]
        ok = [r for s, r in responses.items() if s.startswith("2")]
        if len(ok) != 1:
            problems.append(f"{name}: {len(ok)} success responses")
            continue
        content = ok[0].get("content", {})
        if not content:
            problems.append(f"{name}: success response without content")
        for media, body in content.items():
            if media not in BINARY and not body.get("schema", {}).get("$ref"):
                problems.append(f"{name}: {media} success response has no response model")
        if "422" not in responses:
            problems.append(f"{name}: 422 not declared")
        for status, body in responses.items():
            if status[0] in "45":
                ref = body.get("content", {}).get("application/json", {}).get("schema", {})
                if ref.get("$ref") != ERROR_REF:
                    problems.append(f"{name}: {status} is not the ErrorOut envelope: {ref}")
    signed_in = [r for r in _api_routes(app.routes) if _needs_auth(r.dependant)]
    assert len(signed_in) >= 25  # the walk below sees the routes behind sign-in
    for route in signed_in:
        for method in route.methods:
            op = doc["paths"][route.path_format][method.lower()]
            if "401" not in op["responses"]:
                problems.append(f"{method} {route.path_format}: signed-in route, no 401")
    assert "HTTPValidationError" not in doc["components"]["schemas"]  # never sent
    assert not problems, "\n".join(problems)


def test_uint256_fields_are_decimal_strings_in_the_document(api):
    schemas = api.client.app.openapi()["components"]["schemas"]
    wrong = []
    for model, schema in schemas.items():
        for prop, spec in schema.get("properties", {}).items():
            options = spec.get("anyOf", [spec])
            if f"{model}.{prop}" in NOT_UINT256:
                continue
            if prop in UINT256_NAMES and any(
                o.get("type") in ("integer", "number") for o in options
            ):
                wrong.append(f"{model}.{prop}")
    assert not wrong, f"uint256 fields typed as JSON numbers: {wrong}"


def test_real_error_bodies_match_the_declared_envelope(api):
    client = api.client
    bodies = [
        client.get("/v1/listings/999"),  # 404 not_found
        client.get("/v1/tasks"),  # 401 unauthorized
        client.post("/v1/tasks", json={"prompt": 1}, headers=api.sign_in(api.world.producer)),
        client.get("/v1/products/not-a-token"),  # 422 from a path pattern
        client.post("/v1/tx/relay", json={"raw": "0x00"}, headers=api.sign_in(api.world.buyer)),
    ]
    assert [r.status_code for r in bodies] == [404, 401, 422, 422, 422]
    for r in bodies:
        envelope = ErrorOut.model_validate(r.json())
        assert envelope.error.code and envelope.error.message
    assert ErrorOut.model_validate(bodies[2].json()).error.details  # which fields failed
