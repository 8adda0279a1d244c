"""EIP-712 typed-data signatures: one signer and one recoverer for every message type.

Domains name a contract on a chain (``verifyingContract``, ``chainId``), so a signature cannot
be replayed on another chain or deployment. :data:`CONTRACT_DOMAINS` is the one definition of each
contract's domain name and version, equal to what the contract reports through ERC-5267
``eip712Domain()`` (a test reads it from every deployed contract): every signer, every verifier
and the API's ``GET /v1/deployment`` build their domains with :func:`contract_domain`.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature
from eth_utils import to_checksum_address

# Contract name -> (EIP-712 name, version), as its constructor's `EIP712(name, version)` sets them.
CONTRACT_DOMAINS: dict[str, tuple[str, str]] = {
    "Registry": ("Proof-of-AIGC", "2"),
    "EspRegistry": ("EspRegistry", "1"),
    "BatchRegistry": ("AIGC BatchRegistry", "1"),
}


def contract_domain(contract: str, *, chain_id: int, address: str) -> dict[str, Any]:
    """The EIP-712 domain of deployed contract ``contract`` (a :data:`CONTRACT_DOMAINS` key) at
    ``address`` on chain ``chain_id``: what its ``eip712Domain()`` returns."""
    name, version = CONTRACT_DOMAINS[contract]
    return domain(name, chain_id=chain_id, contract=address, version=version)


def domain(name: str, *, chain_id: int, contract: str, version: str = "1") -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(contract),
    }


def sign(
    account: LocalAccount,
    domain_data: dict[str, Any],
    types: dict[str, Any],
    message: dict[str, Any],
) -> bytes:
    signable = encode_typed_data(domain_data=domain_data, message_types=types, message_data=message)
    return bytes(account.sign_message(signable).signature)


def recover(
    signature: bytes, domain_data: dict[str, Any], types: dict[str, Any], message: dict[str, Any]
) -> str:
    """The signer's address, or "" for bytes that are no valid signature (equal to no address)."""
    signable = encode_typed_data(domain_data=domain_data, message_types=types, message_data=message)
    try:
        return str(Account.recover_message(signable, signature=signature))
    except (BadSignature, ValueError, TypeError):
        return ""
