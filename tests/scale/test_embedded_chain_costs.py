"""What the embedded chain's lookups cost does not grow with the chain (ledger/chain.py).

eth-tester found a transaction (every receipt, and every transaction in every ``get_logs``
range) by decoding blocks from the head down, and py-evm's constructor shadowed the project's
two-run gas estimator with its bisection: a juror's log scan after a few hundred blocks took
minutes. Costs are counted (blocks decoded, executions), not timed.
"""

from __future__ import annotations

import pytest
from eth_tester.exceptions import TransactionNotFound

from ledger import EmbeddedChain
from ledger.chain import _estimate_in_two_runs


def _transfer(chain: EmbeddedChain, value: int = 1) -> bytes:
    sender, receiver = chain.dev_accounts()[7:9]
    w3 = chain.w3
    tx_hash = w3.eth.send_transaction(
        {"from": sender.address, "to": receiver.address, "value": value}
    )
    w3.eth.wait_for_transaction_receipt(tx_hash)
    return bytes(tx_hash)


def _count_block_reads(chain: EmbeddedChain, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    backend_chain = chain.tester.backend.chain
    reads: list[int] = []
    original = backend_chain.get_canonical_block_by_number

    def counted(number):
        reads.append(number)
        return original(number)

    monkeypatch.setattr(backend_chain, "get_canonical_block_by_number", counted)
    return reads


@pytest.fixture
def chain() -> EmbeddedChain:
    return EmbeddedChain()


def test_an_old_receipt_is_found_without_walking_the_chain(chain, monkeypatch):
    tx_hash = _transfer(chain)
    chain.mine(500)
    reads = _count_block_reads(chain, monkeypatch)
    receipt = chain.w3.eth.get_transaction_receipt(tx_hash)
    assert receipt["blockNumber"] == 1 and receipt["status"] == 1
    assert len(reads) <= 2, reads  # the block it is in (eth-tester's walk read 500)
    tx = chain.w3.eth.get_transaction(tx_hash)
    assert tx["blockNumber"] == 1 and tx["value"] == 1


def test_a_transaction_reverted_away_is_not_found_though_the_index_remembers_it(chain):
    snap = chain.snapshot()
    chain.mine(3)
    gone = _transfer(chain, value=2)
    chain.revert(snap)
    chain.mine(5)  # the chain grows past the reverted transaction's block again
    with pytest.raises(TransactionNotFound):
        chain.tester.get_transaction_receipt("0x" + gone.hex())
    kept = _transfer(chain, value=3)
    assert chain.w3.eth.get_transaction_receipt(kept)["blockNumber"] == chain.w3.eth.block_number


def test_logs_over_a_long_range_read_each_block_once(chain, monkeypatch):
    first = _transfer(chain)
    chain.mine(300)
    second = _transfer(chain)
    reads = _count_block_reads(chain, monkeypatch)
    # the transfers' receipts, as get_logs would fetch them for every transaction in its range
    for tx_hash in (first, second):
        assert chain.w3.eth.get_transaction_receipt(tx_hash)["status"] == 1
    assert len(reads) <= 4, len(reads)


def test_the_live_chain_estimates_in_two_runs_not_by_bisection(chain, monkeypatch):
    runs: list[int] = []
    from eth.vm.forks.cancun.state import CancunState

    original = CancunState.apply_transaction

    def counted(self, transaction):
        runs.append(1)
        return original(self, transaction)

    monkeypatch.setattr(CancunState, "apply_transaction", counted)
    sender, receiver = chain.dev_accounts()[7:9]
    # a call with calldata to an account without code: more than intrinsic gas is not needed,
    # so the bisection would still execute it ~14 times
    chain.w3.eth.estimate_gas({"from": sender.address, "to": receiver.address, "data": "0x01"})
    assert chain.tester.backend.chain.gas_estimator is _estimate_in_two_runs
    assert len(runs) <= 2, len(runs)


def test_mining_many_blocks_still_feeds_a_block_filter(chain):
    start = chain.w3.eth.block_number
    chain.mine(20)  # no filter: the fast path
    assert chain.w3.eth.block_number == start + 20
    flt = chain.w3.eth.filter("latest")
    chain.mine(7)
    assert len(flt.get_new_entries()) == 7
    assert chain.w3.eth.block_number == start + 27


def test_a_call_using_less_than_its_intrinsic_gas_is_estimated_enough(embedded_world):
    """A withdrawal's execution (16.5k gas, storage refunded) is less than its calldata's
    intrinsic gas (23.4k): an estimate that compared the two returned the intrinsic gas alone,
    and the withdrawal ran out of gas."""
    from tests.contracts.helpers import lock_fee, register_esp

    world = embedded_world
    register_esp(world)
    lock, preimage = lock_fee(world, sender=world.producer, receiver=world.esp.address)
    before = world.balance(world.esp.address)
    world.htlc(world.esp).withdraw(lock, preimage)  # raised TransactionFailed (out of gas)
    assert world.balance(world.esp.address) > before
