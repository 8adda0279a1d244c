"""Listings as EIP-712 signed offers: (token id, price, expiry, nonce) signed by the seller.

The domain is the Registry's own (``ledger.eip712.CONTRACT_DOMAINS``: what its ERC-5267
``eip712Domain()`` reports, so a wallet or dApp that reads the domain from the contract signs
offers the API accepts). It binds the offer to one chain and one Registry deployment, so an offer
cannot be replayed elsewhere; the marketplace stores only offers whose signature recovers the
seller. (The type name ``Offer`` keeps offers apart from the ESPs' ``Attestation`` signatures
under the same domain.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger import eip712

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


def offer_domain(chain_id: int, registry: str) -> dict[str, Any]:
    """The Registry's EIP-712 domain, under which sellers sign offers."""
    return eip712.contract_domain("Registry", chain_id=chain_id, address=registry)


def sign_offer(seller: LocalAccount, offer: Offer, *, chain_id: int, registry: str) -> bytes:
    return eip712.sign(seller, offer_domain(chain_id, registry), OFFER_TYPES, offer.message())


def offer_signer(offer: Offer, signature: bytes, *, chain_id: int, registry: str) -> str:
    return eip712.recover(signature, offer_domain(chain_id, registry), OFFER_TYPES, offer.message())
