"""Helpers shared by the contract attack suites (``test_attacks_*.py``): a re-entrant attacker
contract, test tokens, registrations, and the gas a transaction cost."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.logs import DISCARD

from ledger import (
    LockTerms,
)
from tests.conftest import World
from tests.contracts.helpers import (
    BASE_FP,
    registration,
)

HOUR = 3600


# --- private helpers -------------------------------------------------------------------------


def gas_cost(receipt: Any) -> int:
    """Wei a transaction cost its sender in gas."""
    return int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])


def locked_terms(world: World, receipt: Any) -> LockTerms:
    """The terms of the one lock created in ``receipt``."""
    (log,) = world.deployment.htlc.events.Locked().process_receipt(receipt, errors=DISCARD)
    return LockTerms.from_event(dict(log["args"]))


class Attacker:
    """A deployed ``ReentrantReceiver`` driven by its owner's externally owned account."""

    def __init__(self, world: World, owner: LocalAccount):
        self.address = world.deploy_test_contract("ReentrantReceiver")
        self.contract = world.contract("ReentrantReceiver", self.address)
        self.tx = world.tx(owner)

    def arm(self, target: Contract, fn: str, *args: Any) -> None:
        """Re-enter ``target.fn(*args)`` on the next Ether or ERC-721 receipt."""
        data = target.encode_abi(fn, args=list(args))
        self.tx.send(self.contract.functions.arm(target.address, data))

    def execute(self, target: Contract, fn: str, *args: Any, value: int = 0) -> Any:
        """Calls ``target.fn(*args)`` as the attacker contract (reverts bubble up)."""
        data = target.encode_abi(fn, args=list(args))
        return self.tx.send(
            self.contract.functions.execute(target.address, value, data), value=value
        )

    @property
    def attempted(self) -> bool:
        return bool(self.contract.functions.attempted().call())

    @property
    def reentered(self) -> bool:
        return bool(self.contract.functions.reentered().call())


def erc20(world: World, name: str, holder: LocalAccount, amount: int) -> Contract:
    """Deploys test token ``name``, mints ``amount`` to ``holder`` and approves the HTLC."""
    token = world.contract(name, world.deploy_test_contract(name))
    world.tx(holder).send(token.functions.mint(holder.address, amount))
    world.tx(holder).send(token.functions.approve(world.deployment.htlc.address, amount))
    return token


def erc721(world: World, holder: str, *token_ids: int) -> Contract:
    nft = world.contract("TestERC721", world.deploy_test_contract("TestERC721"))
    for token_id in token_ids:
        world.tx(world.deployer).send(nft.functions.mint(holder, token_id))
    return nft


def register_image(
    world: World,
    sender: LocalAccount,
    owner: str,
    *,
    fp: bytes = BASE_FP,
    content: bytes | None = None,
) -> int:
    """Commit and reveal (sent by ``sender``) an image owned by ``owner``, attested by the ESP."""
    reg = registration(owner, world.esp.address, fingerprint=fp, content=content)
    client = world.registry(sender)
    client.commit(reg)
    return client.reveal(reg, client.sign_attestation(world.esp, reg))
