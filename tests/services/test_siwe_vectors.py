"""services.siwe against the reference library's published EIP-4361 vectors (spruceid/siwe).

Parsing vectors give the text; verification vectors give the fields, which this loader renders
to the EIP-4361 text exactly as the reference library does (the times kept as written), then
verifies with the vector's domain binding, time and nonce.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services import siwe

VECTORS = Path(__file__).parent / "siwe_vectors"


def _load(name: str) -> dict:
    return json.loads((VECTORS / f"{name}.json").read_text())


def render(fields: dict) -> str:
    """The EIP-4361 text of a vector's fields (ERC-4361 ABNF), optional lines left out."""
    head = f"{fields.get('domain', '')} wants you to sign in with your Ethereum account:"
    if fields.get("scheme"):
        head = f"{fields['scheme']}://{head}"
    lines = [head, fields.get("address", ""), ""]
    if fields.get("statement"):
        lines.append(fields["statement"])
    lines.append("")
    for label, key in (
        ("URI", "uri"),
        ("Version", "version"),
        ("Chain ID", "chainId"),
        ("Nonce", "nonce"),
        ("Issued At", "issuedAt"),
        ("Expiration Time", "expirationTime"),
        ("Not Before", "notBefore"),
        ("Request ID", "requestId"),
    ):
        if key in fields:
            lines.append(f"{label}: {fields[key]}")
    if "resources" in fields:
        lines += ["Resources:"] + [f"- {r}" for r in fields["resources"]]
    return "\n".join(lines)


def _time(text: str | None) -> datetime | None:
    return None if text is None else siwe.parse_time("t", text)


POSITIVE = _load("parsing_positive")
NEGATIVE = _load("parsing_negative")
NEGATIVE_OBJECTS = _load("parsing_negative_objects")
VERIFY_OK = _load("verification_positive")
VERIFY_BAD = _load("verification_negative")


def test_every_vector_file_is_loaded():
    assert (len(POSITIVE), len(NEGATIVE), len(NEGATIVE_OBJECTS)) == (19, 29, 18)
    assert (len(VERIFY_OK), len(VERIFY_BAD)) == (4, 10)


@pytest.mark.parametrize("name", sorted(POSITIVE))
def test_parsing_positive(name):
    case = POSITIVE[name]
    fields = case["fields"]
    msg = siwe.parse(case["message"])
    assert msg.domain == fields["domain"]
    assert msg.scheme == fields.get("scheme")
    assert msg.address == fields["address"]
    assert msg.statement == fields.get("statement")
    assert msg.uri == fields["uri"]
    assert msg.version == fields["version"]
    assert msg.chain_id == fields["chainId"]
    assert msg.nonce == fields["nonce"]
    assert msg.issued_at == _time(fields["issuedAt"])
    assert msg.expiration_time == _time(fields.get("expirationTime"))
    assert msg.not_before == _time(fields.get("notBefore"))
    assert msg.request_id == fields.get("requestId")
    resources = fields.get("resources")
    assert msg.resources == (tuple(resources) if resources is not None else None)
    # The fields render back to the very text (the loader's renderer is the reference format).
    assert render(fields) == case["message"]


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_parsing_negative(name):
    with pytest.raises(siwe.SiweError) as err:
        siwe.parse(NEGATIVE[name])
    assert err.value.code == siwe.SiweErrorCode.MALFORMED


@pytest.mark.parametrize("name", sorted(NEGATIVE_OBJECTS))
def test_parsing_negative_objects(name):
    """A message built from these fields is not EIP-4361."""
    with pytest.raises(siwe.SiweError):
        siwe.parse(render(NEGATIVE_OBJECTS[name]))


def _verify(case: dict) -> siwe.SignIn:
    now = _time(case.get("time")) or datetime.now(UTC)
    result = siwe.verify(
        render(case),
        case["signature"],
        domain=case.get("domainBinding", case["domain"]),
        uri=case["uri"],
        chain_id=case["chainId"],
        now=now,
    )
    # The nonce is the caller's to check (the API's store consumes it once).
    if "matchNonce" in case and result.message.nonce != case["matchNonce"]:
        raise siwe.SiweError("nonce does not match")
    return result


@pytest.mark.parametrize("name", sorted(VERIFY_OK))
def test_verification_positive(name):
    result = _verify(VERIFY_OK[name])
    assert result.message.address == VERIFY_OK[name]["address"]
    assert result.wallet == siwe.WalletKind.EOA and len(result.public_key) == 65


@pytest.mark.parametrize("name", sorted(VERIFY_BAD))
def test_verification_negative(name):
    with pytest.raises(siwe.SiweError):
        _verify(VERIFY_BAD[name])


EXPECTED_CODES = {
    "expired message": siwe.SiweErrorCode.EXPIRED,
    "custom time": siwe.SiweErrorCode.EXPIRED,
    "domain binding": siwe.SiweErrorCode.WRONG_DOMAIN,
    "not yet valid": siwe.SiweErrorCode.NOT_YET_VALID,
    "malformed signature": siwe.SiweErrorCode.BAD_SIGNATURE,
    "wrong signature": siwe.SiweErrorCode.BAD_SIGNATURE,
    "invalid issuedAt": siwe.SiweErrorCode.MALFORMED,
    "invalid notBefore": siwe.SiweErrorCode.MALFORMED,
    "invalid expirationTime": siwe.SiweErrorCode.MALFORMED,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_CODES))
def test_verification_negative_codes(name):
    with pytest.raises(siwe.SiweError) as err:
        _verify(VERIFY_BAD[name])
    assert err.value.code == EXPECTED_CODES[name]
