"""Helpers shared by the contract attack suites (``test_attacks_*.py``): a re-entrant attacker
contract, test tokens, registrations backed by paid generation locks, and the gas a transaction
cost."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.logs import DISCARD

from ledger import LockTerms, new_secret
from ledger.clients.registry import RecordProof, Registration
from tests.conftest import World
from tests.contracts.helpers import BASE_FP, FEE, default_esp, paid_lock, registration

HOUR = 3600


# --- private helpers -------------------------------------------------------------------------


def gas_cost(receipt: Any) -> int:
    """Wei a transaction cost its sender in gas."""
    return int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])


def locked_terms(world: World, receipt: Any) -> LockTerms:
    """The terms of the one lock created in ``receipt``."""
    (log,) = world.deployment.htlc.events.Locked().process_receipt(receipt, errors=DISCARD)
    return LockTerms.from_event(dict(log["args"]))


def account_of(world: World, address: str) -> LocalAccount:
    """The dev account with ``address`` (the one that pays a registration's generation lock)."""
    return next(a for a in world.accounts if a.address.lower() == address.lower())


def burn_address(world: World) -> str:
    """Where the Registry burns forfeited bonds (``BURN``)."""
    return str(world.deployment.registry.functions.BURN().call())


def proof(world: World, token_id: int) -> RecordProof:
    """The token's record proof, read from its ``Registered`` event."""
    return world.registry(world.deployer).registered(token_id).proof


class Attacker:
    """A deployed ``ReentrantReceiver`` driven by its owner's externally owned account."""

    def __init__(self, world: World, owner: LocalAccount):
        self.world = world
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

    def paid_lock(self, esp: LocalAccount) -> LockTerms:
        """A generation fee from the attacker contract to ``esp``, claimed by the ESP."""
        preimage, hashlock = new_secret()
        htlc = self.world.deployment.htlc
        timelock = self.world.chain.timestamp() + HOUR
        receipt = self.execute(htlc, "lockEther", esp.address, hashlock, timelock, value=FEE)
        lock = locked_terms(self.world, receipt)
        self.world.htlc(esp).withdraw(lock, preimage)
        return lock

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


def send_reveal(
    world: World, sender: LocalAccount, reg: Registration, lock: LockTerms, attestation: bytes
) -> int:
    """Sends ``reveal`` straight to the contract, past the client's own lock check (an attacker
    uses no client); returns the token id or raises the contract's typed error."""
    fn = world.deployment.registry.functions.reveal(
        reg.as_tuple(), lock.as_tuple(), reg.detail, attestation
    )
    world.tx(sender).send(fn)
    return reg.token_id


def register_image(
    world: World,
    sender: LocalAccount,
    owner: str,
    *,
    fp: bytes = BASE_FP,
    detail: bytes | None = None,
    content: bytes | None = None,
    esp: LocalAccount | None = None,
    lock: LockTerms | None = None,
) -> int:
    """Commit (with the bond) and reveal, both sent by ``sender``, an image owned by ``owner``
    and attested by ``esp`` (by default the world's ESP for the producer's images, a second ESP
    for anyone else's: see ``default_esp``). Unless ``lock`` is given, ``owner`` (a dev account)
    first pays the generation fee to the ESP, which claims it."""
    if esp is None:  # the given lock's receiver, else the owner's default ESP
        esp = account_of(world, lock.receiver) if lock else default_esp(world, owner)
    lock = lock or paid_lock(world, account_of(world, owner), esp)
    reg = registration(
        owner, esp.address, lock=lock, fingerprint=fp, detail=detail, content=content
    )
    client = world.registry(sender)
    client.commit(reg)
    return client.reveal(reg, lock, client.sign_attestation(esp, reg))


def settle_after_hold(world: World, original: int, duplicate: int) -> None:
    """Waits out the reward hold of an upheld revocation, then settles it (as the deployer)."""
    world.chain.mine(world.params.reward_hold_blocks)
    world.registry(world.deployer).settle(original, duplicate)
