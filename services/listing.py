"""Listings as EIP-712 signed offers: (token id, price, expiry, nonce) signed by the seller.

An offer is signed under the EIP-712 domain of its collection, the token contract that holds the
token (``ledger.eip712.CONTRACT_DOMAINS``: what the contract's ERC-5267 ``eip712Domain()``
reports, so a wallet or dApp that reads the domain from the contract signs offers the API
accepts): the Registry's for a single registration, the BatchRegistry's for a batched item. The
domain binds the offer to one chain and one contract, so an offer cannot be replayed elsewhere,
nor for the same token id of the other collection (the ``verifyingContract`` differs, so the
digest does). The ``Offer`` type is unchanged: a Registry token's offer is byte for byte what it
was before batches existed. The marketplace stores only offers whose signature recovers the
seller. (The type name ``Offer`` keeps offers apart from the ESPs' ``Attestation`` and
``BatchAttestation`` signatures under the same domains.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from ledger import eip712
from services.siwe import check_erc1271

OFFER_TYPES = {
    "Offer": [
        {"name": "tokenId", "type": "uint256"},
        {"name": "seller", "type": "address"},
        {"name": "price", "type": "uint256"},
        {"name": "expiry", "type": "uint64"},
        {"name": "nonce", "type": "uint256"},
    ]
}


@dataclass(frozen=True)
class Offer:
    token_id: int
    seller: str
    price: int
    expiry: int
    nonce: int

    def message(self) -> dict[str, Any]:
        return {
            "tokenId": self.token_id,
            "seller": to_checksum_address(self.seller),
            "price": self.price,
            "expiry": self.expiry,
            "nonce": self.nonce,
        }


def offer_domain(chain_id: int, registry: str, *, contract: str = "Registry") -> dict[str, Any]:
    """The EIP-712 domain sellers sign offers under: that of the collection ``contract`` (the
    Registry, or the BatchRegistry for a batched item) deployed at ``registry``."""
    return eip712.contract_domain(contract, chain_id=chain_id, address=registry)


def sign_offer(
    seller: LocalAccount, offer: Offer, *, chain_id: int, registry: str, contract: str = "Registry"
) -> bytes:
    domain = offer_domain(chain_id, registry, contract=contract)
    return eip712.sign(seller, domain, OFFER_TYPES, offer.message())


SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def canonical_signature(signature: bytes) -> bytes:
    """The one encoding of a 65-byte ECDSA signature: ``s`` in the lower half of the curve order
    and ``v`` 27 or 28 (what wallets produce). Anyone can turn a signature into other valid ones
    (``s -> n - s`` with ``v`` flipped, or ``v`` written as 0/1); the marketplace keeps one
    listing per signed offer, so it stores and compares this form (a wallet that writes ``v``
    as 0/1 still lists)."""
    if len(signature) != 65:
        raise ValueError(f"a signature is 65 bytes, got {len(signature)}")
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    v = v + 27 if v in (0, 1) else v
    if SECP256K1_N // 2 < s < SECP256K1_N:  # s >= n is no signature: left for recovery to refuse
        s, v = SECP256K1_N - s, 55 - v if v in (27, 28) else v
    return r + s.to_bytes(32, "big") + bytes([v])


def offer_signer(
    offer: Offer, signature: bytes, *, chain_id: int, registry: str, contract: str = "Registry"
) -> str:
    domain = offer_domain(chain_id, registry, contract=contract)
    return eip712.recover(signature, domain, OFFER_TYPES, offer.message())


def offer_digest(
    offer: Offer, *, chain_id: int, registry: str, contract: str = "Registry"
) -> bytes:
    """The EIP-712 digest of ``offer`` (what a contract wallet's ``isValidSignature`` checks)."""
    signable = encode_typed_data(
        domain_data=offer_domain(chain_id, registry, contract=contract),
        message_types=OFFER_TYPES,
        message_data=offer.message(),
    )
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def offer_signed_by_seller(
    offer: Offer,
    signature: bytes,
    *,
    chain_id: int,
    registry: str,
    contract: str = "Registry",
    w3: Any = None,
) -> bool:
    """Whether ``signature`` is the offer's seller's: an ECDSA signature that recovers to it, or,
    for a contract account (given ``w3``, the chain), one its ERC-1271 ``isValidSignature``
    accepts for the offer's EIP-712 digest (a smart-contract wallet lists like any other)."""
    kw: dict[str, Any] = {"chain_id": chain_id, "registry": registry, "contract": contract}
    if offer_signer(offer, signature, **kw) == to_checksum_address(offer.seller):
        return True
    if w3 is None or len(w3.eth.get_code(to_checksum_address(offer.seller))) == 0:
        return False
    return check_erc1271(w3, offer.seller, offer_digest(offer, **kw), signature)
