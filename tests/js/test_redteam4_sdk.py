"""Red team 4 at the SDK boundary: a malicious (or compromised) API, and a developer's mistakes.

Each test drives the JavaScript SDK in node against a fake API (js/sdk/test/redteam4.js, on
helpers.js) and a wallet that records what it signs and sends; real signatures throughout. Each
failed before its fix (measured by running the same scenarios against the SDK at the previous
commit): the payment and the offer were signed, and the missing parameters were bare TypeErrors.
"""

from __future__ import annotations

from typing import Any

from tests.js._node import last_json, node_or_skip, run_node


def drive(scenario: str) -> dict[str, Any]:
    """Runs ``scenario`` of js/sdk/test/redteam4.js in node; the object it returns."""
    node = node_or_skip()
    script = (
        f"import {{ {scenario} }} from './js/sdk/test/redteam4.js'\n"
        f"console.log(JSON.stringify(await {scenario}()))"
    )
    return last_json(run_node(node, script, what=f"red team 4 SDK: {scenario}"))


def test_pay_fee_refuses_a_quote_on_another_prompt_than_the_producers() -> None:
    """The quote's signature covers the fee lock, not the prompt: what binds the payment to the
    producer's prompt is the task's commitment, which the SDK computed when it posted. The API
    shows a task quoted on the operator's own prompt (self-consistent: its prompt, salt and
    commitment), or a commitment the shown prompt and salt do not open, or hides them: payFee
    locked the fee for each before (2 transactions: the lock, the acknowledgement)."""
    out = drive("payFeeRefusesAQuoteOnAnotherPromptThanTheProducers")
    assert out["results"] == {
        "posted": "prompt_commitment_mismatch",
        "elsewhere": "prompt_commitment_mismatch",
        "hidden": "prompt_commitment_mismatch",
        "honest": "done",
    }, out
    assert out["sent"] == {"posted": 0, "elsewhere": 0, "hidden": 0, "honest": 2}, out


def test_a_signing_domain_of_another_deployment_is_refused() -> None:
    """Without a pinned manifest, the API served an Offer domain naming another deployment's
    Registry (or another chain) next to its own addresses: the wallet signed the listing, a
    signature valid at that other Registry for the token of the same id (a content hash, the
    same in every deployment). Now every domain must be bound to the deployment's own contract
    and chain (``deployment_mismatch``), pinned or not."""
    out = drive("aSigningDomainOfAnotherDeploymentIsRefused")
    assert out["results"] == {
        "other_registry": "deployment_mismatch",
        "other_chain": "deployment_mismatch",
        "honest": "done",
    }, out
    assert out["signatures"] == {"other_registry": 0, "other_chain": 0, "honest": 1}, out


def test_a_missing_parameter_is_a_named_sdk_error() -> None:
    """A call without its parameter object, a required field, or the client (a standalone
    action called without it) is an AigcSdkError (``missing_param`` / ``missing_client``), as a
    rejected promise: before, each was a bare TypeError ("Cannot destructure property 'task' of
    'undefined'") from inside the action, and feedback without a lock said ``no_lock``."""
    out = drive("aMissingParameterIsANamedSdkError")
    codes = out["out"]
    assert codes.pop("standalone_no_client") == "AigcSdkError:missing_client", out
    assert set(codes.values()) == {"AigcSdkError:missing_param"}, out
    assert out["sync"] == "none" and out["sent"] == 0 and out["signed"] == 0, out


def test_open_delivery_shows_only_an_image_the_paid_esp_sealed_and_attested() -> None:
    """Can a malicious API make the page show a wrong image as the paid one? It could: the
    producer's delivery key is public and the preimage is on chain once the paid ESP claims, so
    an API naming an account of its own as the task's ESP (next to the producer's real, claimed
    lock) sealed its own image to the producer, and openDelivery returned it ("matches the
    attestation"); and a delivery whose content hash the API rewrote to the sealed image's was
    returned without its attestation being checked. Now the sealing ESP must be the one the lock
    paid (``esp_mismatch``) and the attestation that ESP's over this image and lock
    (``bad_attestation``, the check register makes before committing)."""
    out = drive("openDeliveryShowsOnlyAnImageThePaidEspSealedAndAttested")
    assert out == {
        "api_named_esp": "esp_mismatch",
        "rewritten_meta": "bad_attestation",
        "paid_esp": "shown: the paid image",
    }, out


def test_pay_fee_refuses_a_quote_the_esp_registry_cannot_acknowledge() -> None:
    """payFee checked the quote with viem's verifyTypedData (EOA, EIP-1271, ERC-6492), but
    EspRegistry.acknowledge recovers an ECDSA signer only: a contract ESP's 1271 quote (its
    isValidSignature says yes) passed, the fee was locked (2 transactions here; on chain the
    acknowledgement reverts), and the open lock never held the ESP's stake nor counted for its
    reputation. Now the quote must be the ESP key's ECDSA signature over the contract's Quote
    type (``bad_quote``, nothing sent); an EOA ESP's quote is paid as before."""
    out = drive("payFeeRefusesAQuoteTheEspRegistryCannotAcknowledge")
    assert out == {"contract": "bad_quote", "contractSent": 0, "eoa": "done", "eoaSent": 2}, out


def test_sign_in_refuses_a_session_for_another_account() -> None:
    """The API answers the signed SIWE message with a session for another address (or not an
    address): the SDK kept it as the client's session before, and postTask's producer check,
    which reads the session, then accepted tasks filed for that account. Now the session must
    be the wallet's address (``siwe_wrong_address``); any case of it is the same address."""
    out = drive("signInRefusesASessionForAnotherAccount")
    assert out == {
        "other": "siwe_wrong_address",
        "garbage": "siwe_wrong_address",
        "lowercase": "session 0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A",
    }, out


def test_a_listing_at_price_zero_or_beyond_the_apis_bound_is_never_signed() -> None:
    """list() signed an Offer at price 0 (the web app's resell form takes "0") or at 2^128 wei
    and handed the signature to the API, which then refused the listing (422): a signed offer
    at 0 gives the token to whoever holds it, and the seller's own SDK would lock the token for
    a trade matching it. Now neither is signed (``bad_price``); 1 wei still is."""
    out = drive("aListingAtPriceZeroOrBeyondTheApisBoundIsNeverSigned")
    assert out == {
        "results": {"zero": "bad_price", "two_pow_128": "bad_price", "one_wei": "done"},
        "signatures": {"zero": 0, "two_pow_128": 0, "one_wei": 1},
    }, out
