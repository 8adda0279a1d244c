"""The OpenAPI document is true to the API: every route has a response model, every route
declares the error envelope it really sends and each status its structure implies (401 and the
bearer scheme behind sign-in, 422 exactly where there is something to validate, 413 with a body,
429 behind a rate limit), and uint256 values are strings in it."""

from __future__ import annotations

from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from marketplace_api.deps import current_account, get_limiter, optional_account
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


def _depends_on(dependant: Dependant, call: Any) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def _needs_auth(dependant: Dependant) -> bool:
    return _depends_on(dependant, current_account)


def _validates(route: APIRoute) -> bool:
    """Whether a request to the route can fail validation: a parameter or a body to check."""
    d = route.dependant
    flat = [*d.path_params, *d.query_params, *d.header_params, *d.cookie_params, *d.body_params]
    sub = [p for s in d.dependencies for p in (*s.query_params, *s.header_params, *s.path_params)]
    return bool(flat or sub)


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
            if op.get("security") != [{"bearer": []}]:
                problems.append(f"{method} {route.path_format}: no bearer security requirement")
    for route in _api_routes(app.routes):
        if not route.include_in_schema:
            continue
        for method in route.methods:
            name = f"{method} {route.path_format}"
            op = doc["paths"][route.path_format][method.lower()]
            declared = set(op["responses"])
            if _validates(route) != ("422" in declared):
                problems.append(
                    f"{name}: 422 declared {'422' in declared}, can fail validation "
                    f"{_validates(route)}"
                )
            if "requestBody" in op and "413" not in declared:
                problems.append(f"{name}: a body can be too large, no 413")
            if _depends_on(route.dependant, get_limiter) and "429" not in declared:
                problems.append(f"{name}: rate limited, no 429")
            if _depends_on(route.dependant, optional_account):
                if op.get("security") != [{"bearer": []}, {}]:
                    problems.append(f"{name}: optional sign-in, security {op.get('security')}")
            elif not _needs_auth(route.dependant) and "security" in op:
                problems.append(f"{name}: anonymous route with a security requirement")
            parameters = {p["name"].lower() for p in op.get("parameters", [])}
            if "authorization" in parameters:
                problems.append(f"{name}: authorization as a header parameter, not security")
    schemes = doc["components"]["securitySchemes"]
    assert schemes == {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "The token from POST /v1/auth/verify (Sign-In with Ethereum)",
        }
    }
    assert "HTTPValidationError" not in doc["components"]["schemas"]  # never sent
    assert "ValidationError" not in doc["components"]["schemas"]
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


def test_the_bearer_scheme_answers_with_the_projects_401_envelope(api):
    """HTTPBearer's own refusal (403 ``{"detail": "Not authenticated"}``) never reaches a client:
    a missing header, another scheme or an empty token is the declared 401 envelope."""
    client = api.client
    token = api.sign_in(api.world.producer)["Authorization"].split()[1]
    refused = [
        client.get("/v1/auth/me"),
        client.get("/v1/auth/me", headers={"Authorization": f"Basic {token}"}),
        client.get("/v1/auth/me", headers={"Authorization": "Bearer"}),
        client.get("/v1/auth/me", headers={"Authorization": "Bearer not-a-token"}),
    ]
    assert [r.status_code for r in refused] == [401, 401, 401, 401]
    for r in refused:
        assert ErrorOut.model_validate(r.json()).error.code == "unauthorized"
    me = client.get("/v1/auth/me", headers={"Authorization": f"bearer {token}"})  # any case
    assert me.status_code == 200 and me.json()["address"] == api.world.producer.address
