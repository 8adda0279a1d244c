"""The harness of the contract state machines (``test_invariants_*.py``): Hypothesis settings and
a driver that sends transactions and reads the chain's clock and balances.

Speed: transactions the model expects to succeed are signed with a fixed gas limit (estimating
costs a dozen EVM runs on py-evm); those it expects to fail go through ``Transactor``, whose
estimate raises the typed error without sending anything.

Time: predictions read the pending block's timestamp, which eth-tester fixes before the
transaction runs, and rules that aim at a boundary travel so the next block runs exactly at it.
Lock durations and free time travel come in whole ``TICK`` s, so while the chain still follows the
wall clock (before an example's first travel) a second or two of drift cannot flip a prediction.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, event, settings

from ledger.errors import ContractRevert
from tests.conftest import World

SETTINGS = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TICK = 100  # seconds; see the module docstring
GAS_LIMIT = 8_000_000  # a contested challenge's resolve runs the detail rule
PRIORITY_FEE = 10**9


def secret(*parts: object) -> bytes:
    """A deterministic 32-byte value (preimages, salts, contents) from ``parts``."""
    return hashlib.sha256(repr(parts).encode()).digest()


class Driver:
    """Sends a state machine's transactions and reads the chain's clock and balances."""

    def __init__(self, world: World):
        self.world = world
        self.w3 = world.chain.w3
        # Reads name a sender: without one web3 asks the node for its accounts on every call.
        self.caller = {"from": world.deployer.address}

    def pending_timestamp(self) -> int:
        """The timestamp the next transaction will see (eth-tester fixes it when it mines)."""
        return int(self.w3.eth.get_block("pending")["timestamp"])

    def advance_to(self, timestamp: int) -> None:
        """Makes the next transaction run at ``timestamp`` (if that is in the future).

        Measured from the pending block, not the latest: after a snapshot revert the wall clock
        may be ahead of the latest block, and eth-tester refuses to travel backwards. Its time
        travel mines a block at the target and leaves the pending block there too.
        """
        if timestamp > self.pending_timestamp():
            self.world.chain.increase_time(timestamp - self.world.chain.timestamp())
            assert self.pending_timestamp() == timestamp

    def next_block(self) -> int:
        return int(self.w3.eth.block_number) + 1

    def balance(self, address: str) -> int:
        return int(self.w3.eth.get_balance(address))

    def ok(self, account: LocalAccount, fn: Any, *, value: int = 0) -> tuple[Any, int]:
        """Sends ``fn`` expecting success; returns (receipt, wei spent on gas)."""
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        tx = fn.build_transaction(
            {
                "from": account.address,
                "value": value,
                "gas": GAS_LIMIT,
                "chainId": self.world.chain.chain_id,
                "nonce": self.w3.eth.get_transaction_count(account.address, "pending"),
                "maxPriorityFeePerGas": PRIORITY_FEE,
                "maxFeePerGas": 2 * base + PRIORITY_FEE,
            }
        )
        tx_hash = self.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        receipt = self.w3.eth.get_transaction_receipt(tx_hash)
        event(f"{fn.fn_name}: ok")
        if receipt["status"] != 1:
            raise AssertionError(f"model expected {fn.fn_name} to succeed; it reverted")
        return receipt, int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])

    def fails(
        self,
        account: LocalAccount,
        fn: Any,
        error: type[ContractRevert],
        *,
        value: int = 0,
        **fields: Any,
    ) -> None:
        """Asserts ``fn`` reverts with ``error`` carrying ``fields`` (nothing is sent)."""
        event(f"{fn.fn_name}: {error.__name__}")
        with pytest.raises(error) as exc:
            self.world.tx(account).send(fn, value=value)
        for name, expected in fields.items():
            got = getattr(exc.value, name)
            if isinstance(expected, str):
                got, expected = got.lower(), expected.lower()
            assert got == expected, f"{error.__name__}.{name}: {got!r} != {expected!r}"
