"""Gas snapshot: exact gas per operation on every backend; a regression fails the suite.

Refresh after an intended change with ``aigc bench gas --write-snapshot`` (and say why in the
commit). Gas is deterministic, so this is exact, not a timing test.

The figures are measured on a chain of the test's own, as ``aigc bench gas`` measures them on a
fresh embedded chain: some calls' calldata carries block numbers (a lock's block among them),
and a number past 255 has a second non-zero byte (16 gas instead of 4). On the shared session
chain the figures so moved with what earlier tests had mined (+72 gas once, in CI).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import Chain, EmbeddedChain, RpcChain
from ledger.gas import GOALS, SNAPSHOT_PARAMS, measure
from tests.conftest import TEST_PARAMS, require_anvil
from tests.contracts.helpers import details

SNAPSHOT = json.loads((Path(__file__).parent / "gas_snapshot.json").read_text())


@pytest.fixture(params=["embedded", pytest.param("anvil", marks=pytest.mark.anvil)])
def own_chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Chain]:
    """A fresh chain of each backend for this test alone (not the session's ``chain``)."""
    if request.param == "embedded":
        yield EmbeddedChain()
        return
    from ledger.devnet import start_anvil

    require_anvil()
    dev = start_anvil(tmp_path / "anvil" / "state.json")
    try:
        yield RpcChain(dev.url, dev=True)
    finally:
        dev.stop()


def _check(chain: Chain) -> None:
    gas = measure(chain, chain.dev_accounts(), TEST_PARAMS, detail=details()["base"])
    assert set(gas) == set(SNAPSHOT), "operations changed: refresh the snapshot"
    regressions = {op: (gas[op], SNAPSHOT[op]) for op in gas if gas[op] > SNAPSHOT[op]}
    assert not regressions, f"gas regressions (now, snapshot): {regressions}"
    improvements = {op: (gas[op], SNAPSHOT[op]) for op in gas if gas[op] < SNAPSHOT[op]}
    assert not improvements, f"gas improved (now, snapshot): refresh the snapshot: {improvements}"
    missed = {op: gas[op] for op, goal in GOALS.items() if gas[op] > goal}
    assert not missed, f"gas goals missed: {missed}"


def test_gas_matches_snapshot_and_meets_goals(own_chain):
    _check(own_chain)


def test_gas_does_not_depend_on_what_the_shared_chain_mined(embedded_world):
    """The session's chain past block 255 (as other tests leave it) changes nothing. Before,
    measured on that chain, the calls carrying a block number cost more: registry_challenge
    69,164 gas instead of 69,092 (+72), registry_settle +36, registry_resolve +72."""
    chain = embedded_world.chain
    chain.mine(max(0, 300 - int(chain.w3.eth.block_number)))
    assert chain.w3.eth.block_number >= 300
    _check(EmbeddedChain())


def test_the_bench_measures_with_the_tests_parameters():
    """``aigc bench gas --write-snapshot`` measures with ``SNAPSHOT_PARAMS``, the snapshot checks
    with ``TEST_PARAMS``: one set, or what it writes fails them (its batch court rows did, +36)."""
    assert SNAPSHOT_PARAMS == TEST_PARAMS
