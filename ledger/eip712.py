"""EIP-712 typed-data signatures: one signer and one recoverer for every message type.

Domains name a contract on a chain (``verifyingContract``, ``chainId``), so a signature cannot
be replayed on another chain or deployment.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature
from eth_utils import to_checksum_address


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
