"""services.siwe beyond the published vectors: grammar corners, strict RFC 3339, signature
encodings, and contract accounts checked on the chain (``world``)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import given, settings
from hypothesis import strategies as st

from services import siwe

ALICE = Account.from_key(b"\x01" * 32)
BASE = (
    "example.com wants you to sign in with your Ethereum account:\n"
    f"{ALICE.address}\n\n\n"
    "URI: https://example.com/login\nVersion: 1\nChain ID: 1\nNonce: abcdefgh12\n"
    "Issued At: 2025-01-02T03:04:05Z"
)


def _sig(text: str, account=ALICE) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(text=text)).signature).hex()


def test_no_statement_is_two_blank_lines_and_round_trips():
    msg = siwe.parse(BASE)
    assert msg.statement is None and msg.resources is None
    assert msg.to_text() == BASE
    with_statement = BASE.replace("\n\n\nURI", "\n\nHello, world: sign in.\n\nURI")
    assert siwe.parse(with_statement).statement == "Hello, world: sign in."
    assert siwe.parse(with_statement).to_text() == with_statement


@pytest.mark.parametrize(
    "tail",
    [
        "\nResources:",  # an empty list is grammatical
        "\nRequest ID: ",  # so is an empty request id
        "\nExpiration Time: 2030-01-01T00:00:00.123456789+05:30\nNot Before: 2024-12-31t23:59:60z",
    ],
)
def test_grammatical_corners_parse(tail):
    siwe.parse(BASE + tail)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (BASE + "\n", "trailing newline"),
        (BASE.replace("\n", "\r\n"), "CRLF line ends"),
        (BASE.replace("\n\n\nURI", "\n\nURI"), "two blank lines"),
        (BASE.replace("\n\n\nURI", "\n\nHi\u00e9\n\nURI"), "non-ASCII statement"),
        (BASE.replace("example.com", "ex ample.com"), "space in domain"),
        (BASE.replace("example.com wants", "1http://example.com wants"), "bad scheme"),
        (BASE + "\nRequest ID: a b", "space in request id"),
        (BASE + "\nResources:\n- not a uri", "relative resource"),
        (BASE + "\nResources:\n-https://x", "resource without its space"),
        (BASE.replace("Nonce: abcdefgh12", "Nonce: abcdefgh\u0661\u0662"), "non-ASCII digits"),
        (BASE.replace("Chain ID: 1", "Chain ID: -1"), "negative chain"),
        (BASE.replace("Version: 1", "Version: 1.0"), "version"),
        ("x" * 5000, "too long"),
    ],
)
def test_ungrammatical_messages_are_malformed(text, why):
    with pytest.raises(siwe.SiweError) as err:
        siwe.parse(text)
    assert err.value.code == siwe.SiweErrorCode.MALFORMED, why


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-02 03:04:05Z",  # space instead of T
        "2025-01-02T03:04:05",  # no offset
        "2025-01-02T03:04Z",  # no seconds
        "2025-1-2T03:04:05Z",
        "2025-01-02T24:00:00Z",
        "2025-01-02T03:60:00Z",
        "2025-01-02T03:04:61Z",
        "2025-02-29T00:00:00Z",  # not a leap year
        "2025-01-02T03:04:05+24:00",
        "2025-01-02T03:04:05.Z",
        "20250102T030405Z",  # ISO 8601 basic format, not RFC 3339
        "2025-W01-1T03:04:05Z",
    ],
)
def test_rfc3339_is_strict(value):
    with pytest.raises(siwe.SiweError):
        siwe.parse_time("Issued At", value)


def test_rfc3339_values():
    t = siwe.parse_time("t", "2024-02-29T23:59:60.5-01:30")
    assert t == datetime(2024, 3, 1, 1, 30, 0, 500000, tzinfo=UTC)
    assert siwe.parse_time("t", "2024-01-01t00:00:00z").tzinfo is not None
    assert siwe.parse_time("t", "2024-01-01T00:00:00+02:00").utcoffset() == timedelta(hours=2)


def test_eip2098_and_v_encodings_recover_the_same_key():
    signed = ALICE.sign_message(encode_defunct(text=BASE))
    r, s, v = signed.r.to_bytes(32, "big"), signed.s, signed.v
    forms = [
        r + s.to_bytes(32, "big") + bytes([v]),
        r + s.to_bytes(32, "big") + bytes([v - 27]),
        r + (((v - 27) << 255) | s).to_bytes(32, "big"),
    ]
    keys = {siwe.recover(BASE, "0x" + f.hex()) for f in forms}
    assert len(keys) == 1
    ((address, public),) = keys
    assert address == ALICE.address and len(public) == 65 and public[0] == 4


def test_claims_window_and_binding():
    text = BASE + "\nExpiration Time: 2025-01-02T04:00:00Z\nNot Before: 2025-01-02T03:30:00Z"
    at = datetime(2025, 1, 2, 3, 45, tzinfo=UTC)
    good = {"domain": "example.com", "uri": "https://example.com/login", "chain_id": 1}
    assert siwe.verify(text, _sig(text), now=at, **good).wallet == siwe.WalletKind.EOA
    for now, code in (
        (datetime(2025, 1, 2, 4, 0, tzinfo=UTC), siwe.SiweErrorCode.EXPIRED),
        (datetime(2025, 1, 2, 3, 29, 59, tzinfo=UTC), siwe.SiweErrorCode.NOT_YET_VALID),
    ):
        with pytest.raises(siwe.SiweError) as err:
            siwe.verify(text, _sig(text), now=now, **good)
        assert err.value.code == code
    # Offsets are honoured: 04:30+01:00 is 03:30Z.
    shifted = text.replace(
        "Not Before: 2025-01-02T03:30:00Z", "Not Before: 2025-01-02T04:30:00+01:00"
    )
    siwe.verify(shifted, _sig(shifted), now=at.astimezone(timezone(timedelta(hours=-7))), **good)
    schemed = "https://" + text
    siwe.verify(schemed, _sig(schemed), now=at, scheme="https", **good)
    with pytest.raises(siwe.SiweError) as err:
        siwe.verify(schemed, _sig(schemed), now=at, scheme="http", **good)
    assert err.value.code == siwe.SiweErrorCode.WRONG_DOMAIN


def test_without_a_chain_only_eoas_sign_in():
    with pytest.raises(siwe.SiweError) as err:
        siwe.check_signature(BASE, ALICE.address, "0x" + "00" * 40 + "6492" * 16)
    assert err.value.code == siwe.SiweErrorCode.CHAIN_UNAVAILABLE
    with pytest.raises(siwe.SiweError) as err:
        siwe.check_signature(BASE, ALICE.address, "0x" + "00" * 10)
    assert err.value.code == siwe.SiweErrorCode.BAD_SIGNATURE


def test_contract_accounts_on_every_chain_backend(world):
    """ERC-1271 and ERC-6492 through eth_call on this backend (reverts read as 'invalid')."""
    w3 = world.chain.w3
    owner, other = world.producer, world.attacker
    wallet = world.deploy_test_contract("OwnedWallet1271", owner.address)
    text = BASE.replace(ALICE.address, wallet)
    assert siwe.check_signature(text, wallet, _sig(text, owner), w3=w3) == (
        siwe.WalletKind.ERC1271,
        None,
    )
    assert siwe.check_signature(text, wallet, _sig(text, other), w3=w3) is None
    assert siwe.check_signature(text, wallet, "0x1234", w3=w3) is None  # the wallet reverts

    factory = world.contract("WalletFactory6492", world.deploy_test_contract("WalletFactory6492"))
    salt = b"\x05" * 32
    future = factory.functions.predict(owner.address, salt).call()
    text = BASE.replace(ALICE.address, future)

    def wrapped(deploy_salt, signer):
        call = factory.functions.deploy(owner.address, deploy_salt)._encode_transaction_data()
        inner = bytes.fromhex(_sig(text, signer)[2:])
        body = encode(
            ["address", "bytes", "bytes"], [factory.address, bytes.fromhex(call[2:]), inner]
        )
        return "0x" + (body + siwe.ERC6492_SUFFIX).hex()

    assert siwe.check_signature(text, future, wrapped(salt, owner), w3=w3) == (
        siwe.WalletKind.ERC6492,
        None,
    )
    assert siwe.check_signature(text, future, wrapped(b"\x06" * 32, owner), w3=w3) is None
    assert siwe.check_signature(text, future, wrapped(salt, other), w3=w3) is None
    assert w3.eth.get_code(future) == b""


@given(st.text(max_size=600))
@settings(max_examples=300, deadline=None, database=None)
def test_any_text_parses_or_is_malformed(text):
    try:
        siwe.parse(text)
    except siwe.SiweError as err:
        assert err.code == siwe.SiweErrorCode.MALFORMED


@given(
    st.integers(min_value=0, max_value=len(BASE) - 1),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=3),
    st.binary(max_size=200),
)
@settings(max_examples=300, deadline=None, database=None)
def test_mutated_messages_and_random_signatures_never_crash(at, insert, raw):
    text = BASE[:at] + insert + BASE[at + 1 :]
    with contextlib.suppress(siwe.SiweError):
        siwe.verify(
            text,
            "0x" + raw.hex(),
            domain="example.com",
            uri=None,
            chain_id=None,
            now=datetime(2025, 1, 2, 4, tzinfo=UTC),
        )


@pytest.mark.parametrize(
    ("message_uri", "ok"),
    [
        ("https://example.com/login", True),
        ("https://example.com/app/gallery?tab=mine#top", True),
        ("https://EXAMPLE.com:443/", True),
        ("http://example.com/login", False),
        ("https://example.com:8443/login", False),
        ("https://example.com.evil.example/login", False),
        ("https://evil.example/https://example.com/login", False),
        ("https://user@evil.example/", False),
        ("urn:example:login", False),
    ],
)
def test_uri_binds_to_the_configured_origin(message_uri, ok):
    text = BASE.replace("URI: https://example.com/login", f"URI: {message_uri}")
    at = datetime(2025, 1, 2, 3, 45, tzinfo=UTC)
    claims = {"domain": "example.com", "uri": "https://example.com/login", "chain_id": 1}
    if ok:
        siwe.verify(text, _sig(text), now=at, **claims)
        return
    with pytest.raises(siwe.SiweError) as err:
        siwe.verify(text, _sig(text), now=at, **claims)
    assert err.value.code == siwe.SiweErrorCode.WRONG_URI
