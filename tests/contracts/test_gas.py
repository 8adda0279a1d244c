"""Gas snapshot: exact gas per operation on every backend; a regression fails the suite.

Refresh after an intended change with ``aigc bench gas --write-snapshot`` (and say why in the
commit). Gas is deterministic, so this is exact, not a timing test.
"""

from __future__ import annotations

import json
from pathlib import Path

from ledger.gas import GOALS, measure
from tests.conftest import TEST_PARAMS
from tests.contracts.helpers import details

SNAPSHOT = json.loads((Path(__file__).parent / "gas_snapshot.json").read_text())


def test_gas_matches_snapshot_and_meets_goals(world):
    gas = measure(world.chain, world.accounts, TEST_PARAMS, detail=details()["base"])
    assert set(gas) == set(SNAPSHOT), "operations changed: refresh the snapshot"
    regressions = {op: (gas[op], SNAPSHOT[op]) for op in gas if gas[op] > SNAPSHOT[op]}
    assert not regressions, f"gas regressions (now, snapshot): {regressions}"
    improvements = {op: (gas[op], SNAPSHOT[op]) for op in gas if gas[op] < SNAPSHOT[op]}
    assert not improvements, f"gas improved (now, snapshot): refresh the snapshot: {improvements}"
    missed = {op: gas[op] for op, goal in GOALS.items() if gas[op] > goal}
    assert not missed, f"gas goals missed: {missed}"
