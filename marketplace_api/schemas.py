"""Request and response bodies (pydantic v2), apart from the ORM models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from web3.contract.contract import ContractFunction

from ledger import Chain
from ledger.tx import unsigned_tx


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: str
    chain_id: int
    block: int
    contracts: dict[str, str]


class NonceOut(BaseModel):
    nonce: str
    expires_at: datetime
    domain: str
    uri: str
    chain_id: int


class VerifyIn(BaseModel):
    message: str = Field(max_length=4096, description="The EIP-4361 message, exactly as signed")
    signature: str = Field(
        pattern=r"^0x(?:[0-9a-fA-F]{2})*$",
        max_length=16386,
        description="personal_sign signature: 65 bytes, EIP-2098 compact 64 bytes, or an "
        "ERC-1271 / ERC-6492 contract account's signature (any length up to 8 KiB)",
    )


class TokenOut(BaseModel):
    token: str
    address: str
    expires_at: int


class Me(BaseModel):
    address: str


class UnsignedTx(BaseModel):
    """A transaction for any wallet to sign (EIP-1559 fields included)."""

    to: str
    data: str
    value: str
    chainId: int
    gas: int
    maxFeePerGas: str
    maxPriorityFeePerGas: str
    from_: str = Field(alias="from")

    model_config = {"populate_by_name": True}

    @classmethod
    def for_call(
        cls, chain: Chain, fn: ContractFunction, *, sender: str, value: int = 0
    ) -> UnsignedTx:
        """The transaction calling ``fn`` from ``sender`` (:func:`ledger.tx.unsigned_tx`: gas
        estimated, so a call the contract would refuse raises its custom error here)."""
        tx = unsigned_tx(chain, fn, sender=sender, value=value)
        return cls.model_validate(
            {
                "to": tx["to"],
                "data": tx["data"],
                "value": str(tx.get("value", 0)),
                "chainId": tx["chainId"],
                "gas": tx["gas"],
                "maxFeePerGas": str(tx["maxFeePerGas"]),
                "maxPriorityFeePerGas": str(tx["maxPriorityFeePerGas"]),
                "from": tx["from"],
            }
        )


class RelayIn(BaseModel):
    raw: str = Field(
        pattern=r"^0x([0-9a-fA-F]{2})+$", max_length=200_000, description="signed raw tx"
    )


class RelayOut(BaseModel):
    tx_hash: str
    status: int
    block: int
    gas_used: int
    events: list[dict[str, Any]]
