"""README's benchmark table quotes gas figures: they must be the snapshots' (exact, deterministic).

The row had drifted: after several contract changes it still read reveal 149,854 and a claim's
finalize figures of an older court while the snapshots (which `test_gas.py` holds the contracts
to) had moved on. Each phrase below names one figure in the row and the snapshot key it quotes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = {
    **json.loads((ROOT / "tests/contracts/gas_snapshot.json").read_text()),
    **json.loads((ROOT / "tests/contracts/gas_batch_snapshot.json").read_text()),
}

# (text just before the figure in README's `aigc bench gas` row, snapshot key)
QUOTED = [
    ("lock ", "htlc_lock_eth"),
    ("; withdraw ", "htlc_withdraw"),
    ("; refund ", "htlc_refund"),
    ("batch withdraw ", "htlc_withdraw_batch_per_lock@100"),
    ("batch feedback ", "feedback_submit_batch_per_lock@100"),
    ("commit ", "registry_commit"),
    ("reveal ", "registry_reveal"),
    ("(challenge + finalize) ", "registry_challenge_uncontested"),
    ("contested resolve ", "registry_resolve"),
    ("batch registration ", "batch_register_per_image@100"),
    ("(goal 5,000) and ", "batch_register_per_image@1000"),
    ("a batched item's uncontested challenge ", "batch_challenge_uncontested"),
    ("its `settle` (the ESP's slash, burned) ", "batch_settle"),
    ("a batched original against a single copy (BatchCourt) ", "court_challenge"),
    ("(BatchCourt) 122,982 + ", "court_finalize"),
    ("its `settle` ", "court_settle"),
    ("a mis-attestation claim ", "court_claim_misattested"),
    ("+ its finalize ", "court_finalize_misattested"),
    ("(a batch item's ", "court_claim_misattested_item"),
]


def _gas_row() -> str:
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("| `aigc bench gas"):
            return line
    raise AssertionError("README has no `aigc bench gas` row in its benchmark table")


@pytest.mark.parametrize(("before", "key"), QUOTED, ids=[k for _b, k in QUOTED])
def test_readme_gas_row_quotes_the_snapshot(before: str, key: str) -> None:
    row = _gas_row()
    match = re.search(re.escape(before) + r"([0-9][0-9,]*)", row)
    assert match, f"README's gas row no longer quotes {key} after {before!r}"
    assert int(match.group(1).replace(",", "")) == SNAPSHOTS[key], (
        f"README quotes {key} as {match.group(1)}; the snapshot says {SNAPSHOTS[key]:,}"
    )


def test_the_batch_items_claim_finalize_is_quoted_too() -> None:
    row = _gas_row()
    claim, finalize = (SNAPSHOTS[f"court_{k}_misattested_item"] for k in ("claim", "finalize"))
    item = f"{claim:,} + {finalize:,}"
    assert item in row
