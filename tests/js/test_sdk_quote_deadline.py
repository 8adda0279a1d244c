"""The JavaScript SDK's latest quote deadline is the Python one: payFee bounds a quoted deadline
by the HashTimeLock's ``claimWindow`` (read from the chain; deployed from
``ledger.deploy.claim_window_blocks``) at ``SECONDS_PER_BLOCK``, and the producer's Python tools
by ``services.generation.latest_quote_deadline`` of the Registry's window. The SDK keeps no copy
of the margin's formula; this holds its seconds per block and its arithmetic to Python's."""

from __future__ import annotations

import json

from ledger.deploy import DeployParams, claim_window_blocks
from services.generation import SECONDS_PER_BLOCK, latest_quote_deadline
from tests.js._node import node_or_skip, run_node

WINDOWS = [1, 2, 9, 10, 11, 40, 99, 7_200, DeployParams().registration_window_blocks, 2**32 + 7]
NOW = 1_700_000_000


def test_the_sdk_quote_deadline_is_the_python_one_over_the_claim_window() -> None:
    node = node_or_skip()
    script = (
        "import { latestQuoteDeadline, SECONDS_PER_BLOCK } from './js/sdk/src/index.js'\n"
        "const [now, windows] = process.argv.slice(1)\n"
        "const out = JSON.parse(windows)\n"
        "  .map((w) => String(latestQuoteDeadline(BigInt(now), BigInt(w))))\n"
        "console.log(JSON.stringify({ spb: String(SECONDS_PER_BLOCK), out }))\n"
    )
    claim_windows = [claim_window_blocks(w) for w in WINDOWS]
    got = json.loads(run_node(node, script, str(NOW), json.dumps(claim_windows)).strip())
    assert int(got["spb"]) == SECONDS_PER_BLOCK
    want = [latest_quote_deadline(NOW, window_blocks=w) for w in WINDOWS]
    assert [int(x) for x in got["out"]] == want
    # the defaults' figure (docs/api.md): 6,480 of 7,200 blocks, 21.6 hours after the lock
    assert int(got["out"][WINDOWS.index(7_200)]) == NOW + 6_480 * 12
