"""Delivery keys: the public key a producer's deliveries are sealed to (docs/delivery.md).

A wallet user derives the key from a signature over :func:`delivery_key_message` and registers
only its public half, with a proof of possession (the delivery key's own signature over the
registration message for this account, chain and domain). The wallet's signature is never sent:
it IS the key. ESPs read the key here and seal to it; without one they seal to the account key.
A contract account (EIP-1271 / ERC-6492) has no account key: a delivery key is its only way to
receive sealed deliveries, and it registers one like any other account.
"""

from __future__ import annotations

from typing import Annotated

from eth_utils import to_checksum_address
from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from marketplace_api.deps import CurrentAccount, DeploymentDep, SessionDep, SettingsDep
from marketplace_api.errors import NotFound, declare
from marketplace_api.models import AccountKey
from services.exchange import delivery_key_message, verify_registration

router = APIRouter(prefix="/v1", tags=["delivery keys"])


class DeliveryKeyIn(BaseModel):
    public_key: str = Field(
        pattern=r"^0x(0[23][0-9a-fA-F]{64}|04[0-9a-fA-F]{128})$",
        description="the delivery key's public point, compressed (33 bytes) or uncompressed (65)",
    )
    proof: str = Field(
        pattern=r"^0x[0-9a-fA-F]{130}$",
        description="the delivery key's personal_sign (EIP-191) signature over the registration"
        " message (docs/delivery.md): proves the client holds the key for this account",
    )


class DeliveryKeyOut(BaseModel):
    address: str
    delivery_key: str | None = Field(
        description="compressed public key (0x02/0x03 || x); null: deliveries are sealed to the "
        "account key"
    )
    chain_id: int
    domain: str
    message: str = Field(description="the exact text this account's wallet signs to derive it")


def _out(row: AccountKey, *, chain_id: int, domain: str) -> DeliveryKeyOut:
    return DeliveryKeyOut(
        address=row.address,
        delivery_key=row.delivery_key,
        chain_id=chain_id,
        domain=domain,
        message=delivery_key_message(account=row.address, chain_id=chain_id, domain=domain),
    )


@router.put(
    "/accounts/me/delivery-key",
    response_model=DeliveryKeyOut,
    responses=declare(401, 422, 502),
)
def register_delivery_key(
    body: DeliveryKeyIn,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    deployment: DeploymentDep,
) -> DeliveryKeyOut:
    """Register (or replace) the signed-in account's delivery key, with its proof of possession."""
    chain_id, domain = deployment.chain.chain_id, settings.siwe_domain
    row = session.get(AccountKey, account)
    point = verify_registration(  # refused: 422 bad_delivery_key(_proof), by the error table
        bytes.fromhex(body.public_key[2:]),
        bytes.fromhex(body.proof[2:]),
        account=account,
        chain_id=chain_id,
        domain=domain,
    )
    if row is None:
        # A contract account (EIP-1271/6492) signs in without a key record: it has no public key
        # of its own. The proof above is the delivery key's own signature for this account, so
        # the key record starts here, with no account key (docs/delivery.md).
        row = AccountKey(address=account, public_key=None)
        session.add(row)
    row.delivery_key = "0x" + point.hex()
    try:
        session.commit()
    except IntegrityError:  # a concurrent first registration (or sign-in) made the row: update it
        session.rollback()
        row = session.get(AccountKey, account)
        if row is None:
            raise
        row.delivery_key = "0x" + point.hex()
        session.commit()
    return _out(row, chain_id=chain_id, domain=domain)


@router.get(
    "/accounts/{address}/delivery-key",
    response_model=DeliveryKeyOut,
    responses=declare(404, 422, 502),
)
def get_delivery_key(
    address: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")],
    session: SessionDep,
    settings: SettingsDep,
    deployment: DeploymentDep,
) -> DeliveryKeyOut:
    """An account's delivery key (null until registered) and the message its wallet signs."""
    row = session.get(AccountKey, to_checksum_address(address.lower()))
    if row is None:
        raise NotFound(f"{address} has never signed in")
    return _out(row, chain_id=deployment.chain.chain_id, domain=settings.siwe_domain)
