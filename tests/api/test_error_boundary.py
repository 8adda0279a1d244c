"""One error boundary: every domain error the table in ``marketplace_api/errors.py`` names is
answered with its status and stable code in the ErrorOut envelope (never a 500), every services
package's root derives from ``ServiceError``, and no handler catches ``Exception``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ledger.errors import ChainError, ContractRevert, EstimationFailed, LedgerError, LockExpired
from ledger.tx import RelayRejected
from marketplace_api.errors import answer, error_table, install_handlers
from marketplace_api.schemas import ErrorOut
from services import batch, exchange, generation, siwe
from services.errors import ServiceError
from services.provenance import errors as provenance
from services.reputation import errors as reputation
from services.storage import errors as storage

ROUTERS = Path(__file__).resolve().parents[2] / "marketplace_api" / "routers"

# (the error as a service raises it, the status and code a client must get): written out here,
# not read from the table, so that a changed mapping is a failing test.
CASES: list[tuple[Exception, int, str]] = [
    (exchange.TokenNotTradable(1, "revoked"), 409, "token_not_tradable"),
    (exchange.UnknownCollection("0xaa", ("0xbb", "0xcc")), 422, "unknown_collection"),
    (exchange.TradeNotReady("requested", ("asset_locked",)), 409, "trade_not_ready"),
    (exchange.LockMismatch("token", "0xaa", "0xbb"), 409, "lock_mismatch"),
    (
        exchange.UnsafeTimelockOrder(asset_timelock=1000, payment_timelock=900, margin=600),
        422,
        "unsafe_timelock_order",
    ),
    (exchange.SecretNotRevealed("no secret yet"), 409, "secret_not_revealed"),
    (exchange.ClaimWindowClosed(last_block=9, block=5, margin=5), 409, "claim_window_closed"),
    (exchange.SealError("wrong key"), 422, "cannot_open_sealed"),
    (exchange.BadDeliveryKeyProof("not signed by the key"), 422, "bad_delivery_key_proof"),
    (exchange.DeliveryKeyError("not a point"), 422, "bad_delivery_key"),
    (exchange.ExchangeError("something else"), 409, "exchange_error"),
    (generation.TaskNotReady("posted", "a delivery", ("locked",)), 409, "task_not_ready"),
    (generation.QuoteRefused("price_above_max", "too dear"), 422, "price_above_max"),
    (generation.GenerationError("something else"), 409, "generation_error"),
    (provenance.DegenerateImageError("flat", width=8, height=8), 422, "degenerate_image"),
    (provenance.NotAnImageError("upload", "truncated"), 415, "unsupported_media_type"),
    (provenance.ProvenanceError("a bad argument"), 422, "provenance_error"),
    (reputation.NoEligibleEspError(3, 0.2), 422, "no_eligible_esp"),
    (reputation.ReputationError("a bad argument"), 422, "reputation_error"),
    (storage.BlobNotFound("no blob"), 404, "not_found"),
    (storage.InvalidBlobId("../etc/passwd"), 422, "invalid_blob_id"),
    (storage.StorageError("store down"), 502, "storage_error"),
    (siwe.SiweError("bad", code=siwe.SiweErrorCode.BAD_SIGNATURE), 401, "siwe_bad_signature"),
    (
        siwe.SiweError("node down", code=siwe.SiweErrorCode.CHAIN_UNAVAILABLE),
        502,
        "siwe_chain_unavailable",
    ),
    (batch.RequestNotPending("answered already"), 409, "request_not_pending"),
    (batch.BatchError("too many", code="batch_too_large"), 422, "batch_too_large"),
    (ServiceError("a refused step"), 422, "unprocessable"),
    (RelayRejected("nonce_too_low", "used", reason="nonce too low"), 409, "nonce_too_low"),
    (RelayRejected("relay_refused", "no", reason="junk"), 422, "relay_refused"),
    (LockExpired({"id": b"\x01" * 32, "expiredAt": 2**70}), 409, "LockExpired"),
    (EstimationFailed("cannot pay"), 422, "cannot_estimate"),
    (LedgerError("node down"), 502, "chain_error"),
]


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    install_handlers(app)

    @app.get("/raise/{index}")
    def _raise(index: int) -> None:
        raise CASES[index][0]

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("index", "status", "code"),
    [(i, status, code) for i, (_, status, code) in enumerate(CASES)],
    ids=[f"{type(exc).__name__}-{code}" for exc, _, code in CASES],
)
def test_each_mapped_error_yields_its_status_and_code(client, index, status, code):
    response = client.get(f"/raise/{index}")
    assert response.status_code == status
    envelope = ErrorOut.model_validate(response.json())
    assert envelope.error.code == code
    assert envelope.error.message == str(CASES[index][0])


def test_every_entry_of_the_table_has_a_case():
    tested = {type(exc) for exc, _, _ in CASES if type(exc) is not LockExpired}
    tested.add(ContractRevert)  # LockExpired stands for every generated custom error
    assert set(error_table()) - tested == set()


def test_a_contract_error_keeps_its_decoded_fields_with_uint256_as_strings(client):
    index = next(i for i, (exc, _, _) in enumerate(CASES) if isinstance(exc, LockExpired))
    fields = client.get(f"/raise/{index}").json()["error"]["fields"]
    assert fields == {"id": "0x" + "01" * 32, "expiredAt": str(2**70)}


def test_a_relay_refusal_keeps_the_nodes_words(client):
    index = next(i for i, (exc, _, _) in enumerate(CASES) if isinstance(exc, RelayRejected))
    assert client.get(f"/raise/{index}").json()["error"]["reason"] == "nonce too low"


def test_every_services_package_has_a_root_under_service_error():
    roots = [
        exchange.ExchangeError,
        generation.GenerationError,
        provenance.ProvenanceError,
        reputation.ReputationError,
        storage.StorageError,
        siwe.SiweError,
    ]
    assert all(issubclass(root, ServiceError) for root in roots)


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_no_service_or_ledger_error_falls_through_the_table():
    """A new error class anywhere under the roots is answered by its package's entry at least
    (a 4xx or 502), never by the catch-all 500."""
    import services.producer  # noqa: F401  (defines DeliveryMismatch, an exchange error)

    table = error_table()
    for cls in _subclasses(ServiceError) | _subclasses(LedgerError) | {ChainError}:
        exc = cls.__new__(cls)  # no constructor arguments needed to look it up
        if isinstance(exc, ContractRevert):
            exc.fields, exc.name = {}, cls.error_name or "SomeError"
        else:
            exc.code = "some_code"  # read only where the error names its own code
        status, code = answer(exc, table)
        assert 400 <= status < 500 or status == 502, (cls, status)
        assert code, cls


def test_no_handler_catches_exception():
    """``except Exception`` (alone or in a tuple) in a router would turn a bug into an answer:
    the table maps domain errors, and anything else is a 500 that gets fixed."""
    offenders = []
    for path in sorted(ROUTERS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ExceptHandler):
                continue
            caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            names = {c.id for c in caught if isinstance(c, ast.Name)}
            if node.type is None or names & {"Exception", "BaseException"}:
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders
