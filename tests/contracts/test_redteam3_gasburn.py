"""Red team, round 3 (issue 11): ``_send`` without return data (6e2f1a0) against a payee that
burns the gas it is forwarded instead of answering with a return-data bomb.

``_send`` forwards all the gas it has (``call(gas(), ...)``); a payee that loops until it runs
out takes 63/64 of it, and the caller must supply 64 times what is left to do after the
payment. Nothing is stuck (the refused payment is kept for ``withdrawOwed``), but the honest
caller pays the payee's burn. Runs on the chain backend of ``world``.
"""

from __future__ import annotations

import pytest

from ledger.clients.registry import DisputeState
from tests.contracts import test_redteam2_returnbomb as rb

# The most gas a refused payment may add to the call that pays it (the capped call, then the
# refused amount's first storage write), with room to spare.
BURN_ALLOWANCE = 160_000
# The control's resolve (an equivocation, the detail rule run twice over 2 KiB descriptors),
# measured 2,229,602 used (estimate 2,231,539), with room for the snapshot's drift.
RESOLVE_BOUND = 2_240_000
_PLAIN_RUNTIME = rb._runtime


def _burner_runtime(*, bomb_on: bool = True) -> bytes:
    """``test_redteam2_returnbomb``'s payee with its bomb replaced by an endless loop (a plain
    payment burns all the gas it gets); its forwarding branch (calldata: target, call) is the
    same. Without ``bomb_on`` the control: a payment just stops."""
    if not bomb_on:
        return _PLAIN_RUNTIME(bomb_on=False)
    burn = bytes.fromhex("5b600456")  # JUMPDEST PUSH1 4 JUMP: loops until out of gas
    forward = bytes.fromhex(
        "5b" + "60203603" + "806020600037" + "60006000826000346000355af1" + "60ff57"
        "3d600060003e3d6000fd" + "5b00"
    )
    fwd_at = 4 + len(burn)
    ok_at = fwd_at + len(forward) - 2
    forward = forward.replace(bytes.fromhex("60ff57"), bytes([0x60, ok_at, 0x57]))
    code = bytes([0x36, 0x60, fwd_at, 0x57]) + burn + forward
    assert code[4] == 0x5B and code[fwd_at] == 0x5B and code[ok_at] == 0x5B
    return code


def _resolve_gas(world, monkeypatch, *, burn: bool) -> int:
    """The gas the customer's ``resolve`` of its ESP's equivocation needs (estimated, then
    sent with exactly that limit), the Sybil contester burning or not."""
    monkeypatch.setattr(rb, "_runtime", _burner_runtime)
    token, copy, data = rb._contested_equivocation(world, bomb_on=burn)
    registry = world.deployment.registry.address
    needed = world.chain.w3.eth.estimate_gas(
        {"from": world.producer.address, "to": registry, "data": "0x" + data.hex()}
    )
    receipt = rb._raw(world, world.producer, registry, data, gas=needed)
    assert receipt["status"] == 1
    assert world.registry(world.deployer).dispute(token, copy).state is DisputeState.EQUIVOCATED
    return int(receipt["gasUsed"])


@pytest.mark.parametrize("burn", [False, True])
def test_a_gas_burning_payee_cannot_make_its_esps_equivocation_cost_the_customer(
    world, monkeypatch, burn
):
    """The equivocation of ``test_a_return_data_bomb_cannot_block_its_esps_equivocation``: the
    ESP attests its customer's image and an edited copy to its Sybil (a contract), the customer
    challenges, the Sybil contests; the customer's ``resolve`` matches, slashes the ESP and
    returns both deposits, the Sybil's through ``_send``. The Sybil's payee burns every gas
    unit it is forwarded: measured, ``resolve`` then needed 3,680,167 gas instead of 2,229,602
    (+1.45 M, +65%, paid by the customer: 0.029 ETH at 20 gwei, nearly three times the deposit
    it gets back), enough to make resolving a loss at ordinary gas prices, so the ESP keeps its
    0.05 ETH stake.

    Fix (contract, made): ``_send`` forwards at most 100,000 gas (``call(100000, ...)``; an
    account that needs more collects with ``withdrawOwed``), in the Registry, the BatchRegistry
    and the BatchCourt; the burn adds at most the cap and the refused amount's storage write."""
    used = _resolve_gas(world, monkeypatch, burn=burn)
    assert used <= RESOLVE_BOUND + (BURN_ALLOWANCE if burn else 0)
