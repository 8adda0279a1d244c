"""API errors: each carries an HTTP status and a stable ``code`` that clients and tests rely on.

Services raise domain errors; :func:`install_handlers` maps them (and these) to JSON responses
``{"error": {"code": ..., "message": ...}}``, never a traceback or a 500 for bad input.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from marketplace_api.schemas import ErrorOut

_log = logging.getLogger(__name__)

_MEANING = {
    400: "Bad request",
    401: "Not signed in, or the token expired (sign in with Ethereum)",
    403: "The signed-in account may not do this",
    404: "The id names nothing",
    409: "The resource's state (or the contract) forbids it; code = the custom error",
    413: "Upload too large",
    415: "Not an image of an accepted type",
    422: "The request does not match the schema, or cannot be carried out",
    429: "Rate limited",
    502: "The chain behind the API failed",
}


def declare(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for these error statuses, each with the :class:`ErrorOut`
    envelope that :func:`install_handlers` really returns.

    422 is declared by :func:`document_errors` for every route that has a parameter or a body
    (FastAPI's own rule for when validation can fail), and 413 for every route with a body (the
    app-wide :class:`marketplace_api.uploads.BodySizeLimit`); a route declares the rest itself.
    """
    return {s: {"model": ErrorOut, "description": _MEANING[s]} for s in sorted(set(statuses))}


_ERROR_REF = "#/components/schemas/ErrorOut"
_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": _MEANING[status],
        "content": {"application/json": {"schema": {"$ref": _ERROR_REF}}},
    }


def document_errors(app: FastAPI) -> None:
    """Makes ``app.openapi()`` declare the errors every route shares, as they are really sent.

    FastAPI adds a 422 with its ``HTTPValidationError`` (``{"detail": [...]}``) to each route
    that has a parameter or body; this API answers validation errors with the :class:`ErrorOut`
    envelope instead, so that 422 is rewritten to it and the unused schemas are dropped. A route
    with a request body also gets 413 (the body-size limit applies to every request).
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        for item in doc.get("paths", {}).values():
            for op in item.values():
                responses = op.get("responses", {})
                schema = responses.get("422", {}).get("content", {}).get("application/json", {})
                if schema.get("schema", {}).get("$ref") == _FASTAPI_422:
                    responses["422"] = _error_response(422)
                if "requestBody" in op and "413" not in responses:
                    responses["413"] = _error_response(413)
                op["responses"] = dict(sorted(responses.items()))
        schemas = doc.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


class ApiError(Exception):
    """Root of the API's errors."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class Unauthorized(ApiError):
    """Raised when authentication is missing, expired, replayed or for another domain/chain."""

    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    """Raised when the authenticated account may not do this."""

    status = 403
    code = "forbidden"


class NotFound(ApiError):
    """Raised when an id names nothing."""

    status = 404
    code = "not_found"


class Conflict(ApiError):
    """Raised when the resource is in a state that forbids the action."""

    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    """Raised when an upload exceeds the size limit (before it is buffered)."""

    status = 413
    code = "payload_too_large"


class UnsupportedMedia(ApiError):
    """Raised when an upload is not an image of an accepted type."""

    status = 415
    code = "unsupported_media_type"


class Unprocessable(ApiError):
    """Raised when a well-formed request cannot be carried out (e.g. a degenerate image)."""

    status = 422
    code = "unprocessable"


class RateLimited(ApiError):
    """Raised when a client exceeds a rate limit; answered with ``Retry-After`` (whole seconds)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float = 1.0):
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))}


class ChainRejected(ApiError):
    """Raised when the chain refuses a transaction; ``code`` is the contract's custom error."""

    status = 409
    code = "chain_rejected"


def _body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


Code = str | Callable[[Any], str]
"""A stable error code, or how to read it from the error (which then names its own)."""


def _own_code(exc: Any) -> str:
    return str(exc.code)


# Statuses of the codes an error names itself, where one class covers several outcomes.
_STATUS_BY_OWN_CODE = {
    # the relay's refusals (ledger.tx.RelayRejected)
    "nonce_too_low": 409,
    "replacement_underpriced": 409,
    "already_known": 409,
    "fee_below_base_fee": 422,
    "insufficient_funds": 422,
    "intrinsic_gas_too_low": 422,
    "gas_limit_exceeded": 422,
    "relay_refused": 422,
    # a contract wallet's sign-in that the node could not check (services.siwe)
    "siwe_chain_unavailable": 502,
}


def error_table() -> dict[type[Exception], tuple[int, Code]]:
    """The one table from domain errors to HTTP status and stable code.

    A raised error is answered by the entry of the nearest class in its MRO, so each package's
    root error (every services root derives from :class:`services.errors.ServiceError`) catches
    what its specific entries do not name. ``tests/api/test_error_boundary.py`` raises each one.
    """
    from ledger.errors import ContractRevert, EstimationFailed, LedgerError
    from ledger.tx import RelayRejected
    from services import batch, exchange, generation, siwe
    from services.errors import ServiceError
    from services.provenance import errors as provenance
    from services.reputation import errors as reputation
    from services.storage import errors as storage

    return {
        # services.exchange: trades, swaps, sealed delivery, delivery keys
        exchange.TokenNotTradable: (409, _own_code),  # attestation_mismatch, token_reclaimable
        exchange.UnknownCollection: (422, "unknown_collection"),
        exchange.TradeNotReady: (409, "trade_not_ready"),
        exchange.LockMismatch: (409, "lock_mismatch"),
        exchange.UnsafeTimelockOrder: (422, "unsafe_timelock_order"),
        exchange.SecretNotRevealed: (409, "secret_not_revealed"),
        exchange.ClaimWindowClosed: (409, "claim_window_closed"),
        exchange.SealError: (422, "cannot_open_sealed"),
        exchange.BadDeliveryKeyProof: (422, "bad_delivery_key_proof"),
        exchange.DeliveryKeyError: (422, "bad_delivery_key"),
        exchange.ExchangeError: (409, "exchange_error"),
        # services.generation: the generation-task lifecycle
        generation.TaskNotReady: (409, "task_not_ready"),
        generation.QuoteRefused: (422, _own_code),
        generation.GenerationError: (409, "generation_error"),
        # services.provenance: images and fingerprints
        provenance.DegenerateImageError: (422, "degenerate_image"),
        provenance.NotAnImageError: (415, "unsupported_media_type"),
        provenance.ProvenanceError: (422, "provenance_error"),
        # services.reputation: MWSL and selection
        reputation.NoEligibleEspError: (422, "no_eligible_esp"),
        reputation.ReputationError: (422, "reputation_error"),
        # services.storage: blobs
        storage.BlobNotFound: (404, "not_found"),
        storage.InvalidBlobId: (422, "invalid_blob_id"),
        storage.StorageError: (502, "storage_error"),
        # services.siwe: its own siwe_* code; 502 when the chain could not be asked
        siwe.SiweError: (401, _own_code),
        # services.batch: batch attestation, manifests (each error names its own code)
        batch.RequestNotPending: (409, "request_not_pending"),
        batch.BatchError: (422, _own_code),
        ServiceError: (422, "unprocessable"),
        # ledger: the chain behind the API
        RelayRejected: (422, _own_code),
        ContractRevert: (409, lambda exc: str(exc.name)),
        EstimationFailed: (422, "cannot_estimate"),
        LedgerError: (502, "chain_error"),
    }


def answer(exc: Exception, table: dict[type[Exception], tuple[int, Code]]) -> tuple[int, str]:
    """The status and stable code of a domain error, by the nearest class the table names."""
    for cls in type(exc).__mro__:
        if cls in table:
            status, code = table[cls]
            if callable(code):
                code = code(exc)
                status = _STATUS_BY_OWN_CODE.get(code, status)
            return status, code
    raise LookupError(f"{type(exc).__name__} is not in the error table")


def _extra(exc: Exception) -> dict[str, Any]:
    """Keys an error adds to the envelope: a contract error's ``fields``, a relay's ``reason``,
    a ``token_reclaimable``'s block as ``fields.reclaimable_until`` (a decimal string, as a
    contract error's integers: the Registry's own refusal names it ``untilBlock``), a
    ``claim_window_closed``'s last claimable block and head as ``fields.last_claim_block`` and
    ``fields.block``."""
    from ledger.errors import ContractRevert
    from ledger.tx import RelayRejected
    from services.exchange import ClaimWindowClosed, TokenReclaimable

    if isinstance(exc, TokenReclaimable):
        return {"fields": {"reclaimable_until": str(exc.until_block)}}
    if isinstance(exc, ClaimWindowClosed):
        return {"fields": {"last_claim_block": str(exc.last_block), "block": str(exc.block)}}

    if isinstance(exc, ContractRevert):
        fields = {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in exc.fields.items()}
        return {
            "fields": {
                k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v)
                for k, v in fields.items()
            }
        }
    if isinstance(exc, RelayRejected):
        return {"reason": exc.reason}
    return {}


_DIGITS = re.compile(r"limit \((\d+) digits\).*value has (\d+) digits")


def unreadable_body(exc: StarletteHTTPException) -> str | None:
    """Why a JSON body could not be read, when that is what ``exc`` says; else ``None``.

    FastAPI turns a ``json.JSONDecodeError`` into a 422, but any other ``ValueError`` of the
    parser into 400 "There was an error parsing the body" (the error as its cause): a number
    longer than Python converts to an int (4,300 digits by default), or bytes that are not
    UTF-8. Both are the client's malformed body: 422 ``validation_error`` like any other.
    Likewise a multipart body the parser cannot read (no boundary, no multipart at all, a part
    without a name): Starlette answers 400 with the parser's reason, which this API declares
    nowhere (found by the fuzz sweep: tests/api/test_fuzz_regressions.py)."""
    if exc.status_code != 400:
        return None
    if isinstance(exc.__context__, MultiPartException):
        return f"the multipart body cannot be read: {exc.detail}"
    cause = exc.__cause__
    if not isinstance(cause, ValueError):
        return None
    if isinstance(cause, UnicodeDecodeError):
        return f"the JSON body is not UTF-8 ({cause.reason} at byte {cause.start})"
    digits = _DIGITS.search(str(cause))
    if digits is not None:
        return (
            f"a JSON number of {digits[2]} digits: integers of more than {digits[1]} digits "
            "are refused"
        )
    return f"the JSON body cannot be read: {cause}"


def node_failures() -> tuple[type[Exception], ...]:
    """What web3 raises when the node behind the API fails, rather than answers: the transport
    (``requests``: refused, reset, timed out, an HTTP error such as a provider's 429 or 503),
    a JSON-RPC error the ledger does not decode (a pruned block, an unknown method, a node's
    internal error), a malformed answer. None is a fault of the request, and none is the
    contract's refusal (``ContractLogicError`` is not here: the ledger decodes reverts).

    Before, each escaped the error table: a node outage answered every route that asks the
    chain a bare ``500 Internal Server Error`` in text/plain (red team 7,
    ``tests/api/test_redteam7_state.py``); now 502 ``chain_unavailable``."""
    import requests
    from web3.exceptions import (
        BadResponseFormat,
        ProviderConnectionError,
        TimeExhausted,
        TooManyRequests,
        Web3RPCError,
    )

    return (
        requests.exceptions.RequestException,
        ProviderConnectionError,
        Web3RPCError,
        BadResponseFormat,
        TimeExhausted,
        TooManyRequests,
    )


def install_handlers(app: FastAPI) -> None:
    """Maps domain errors (by :func:`error_table`) and the API's own to JSON responses."""
    from ledger.errors import LedgerError
    from services.errors import ServiceError

    table = error_table()

    async def _domain(_: Request, exc: Exception) -> JSONResponse:
        status, code = answer(exc, table)
        return JSONResponse(_body(code, str(exc), **_extra(exc)), status_code=status)

    for root in (ServiceError, LedgerError):
        app.add_exception_handler(root, _domain)

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            _body(exc.code, exc.message),
            status_code=exc.status,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(sqlalchemy.exc.TimeoutError)
    async def _pool_exhausted(_: Request, exc: sqlalchemy.exc.TimeoutError) -> JSONResponse:
        # Every connection of this process's pool is busy: a load peak, not a fault of the
        # request. 503 + Retry-After tells clients (and the bench's retries) to come back.
        return JSONResponse(
            _body("database_busy", "the database is busy; retry shortly"),
            status_code=503,
            headers={"Retry-After": "1"},
        )

    async def _node_failed(_: Request, exc: Exception) -> JSONResponse:
        # The exception's text can name the node's URL (an RPC provider's key in its path):
        # the log has it, the client gets the class only.
        _log.warning("the chain's node failed: %r", exc)
        return JSONResponse(
            _body(
                "chain_unavailable",
                f"the chain's node did not answer ({type(exc).__name__}); retry shortly",
            ),
            status_code=502,
            headers={"Retry-After": "1"},
        )

    for failure in node_failures():
        app.add_exception_handler(failure, _node_failed)

    async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        # The server restarted or dropped the connection (SQLAlchemy invalidates it, the pool
        # reconnects on the next checkout), or SQLite is locked by another writer: transient,
        # not the request's fault. Was a bare 500 (red team 7, test_redteam7_state.py). The
        # driver's text names the server's host and port: the log has it, the client does not.
        _log.warning("the database failed: %r", exc)
        return JSONResponse(
            _body("database_unavailable", "the database did not answer; retry shortly"),
            status_code=503,
            headers={"Retry-After": "1"},
        )

    for failure in (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError):
        app.add_exception_handler(failure, _database_unavailable)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", [])), "msg": str(e.get("msg", ""))} for e in exc.errors()
        ]
        return JSONResponse(
            _body("validation_error", "request does not match the schema", details=details),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        unreadable = unreadable_body(exc)
        if unreadable is not None:
            return JSONResponse(
                _body(
                    "validation_error", unreadable, details=[{"loc": ["body"], "msg": unreadable}]
                ),
                status_code=422,
            )
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_body(code, str(exc.detail)), status_code=exc.status_code)
