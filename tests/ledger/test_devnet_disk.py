"""anvil, as the product starts it (``ledger.devnet.start_anvil``: ``aigc devnet``, the test
fixtures), writes nothing outside its own state file.

By default anvil moves the states of past blocks beyond a few hundred into ``~/.foundry/anvil/tmp``
and leaves them there when it is stopped: about 2 GB for one test run that mines registration
windows, and 74 GB had piled up on a developer machine before ``--prune-history``. The test mines
past that limit under a private ``HOME`` and looks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import RpcChain
from tests.conftest import require_anvil


def test_anvil_leaves_no_past_states_on_disk(tmp_path: Path, monkeypatch) -> None:
    from ledger.devnet import start_anvil

    require_anvil()
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    dev = start_anvil(tmp_path / "chain" / "state.json")
    try:
        chain = RpcChain(dev.url, dev=True)
        start = chain.snapshot()
        chain.mine(1_500)  # beyond the states anvil keeps in memory (a few hundred)
        assert chain.w3.eth.block_number >= 1_500
        chain.revert(start)  # snapshots still work: they hold their own copy
        assert chain.w3.eth.block_number < 1_500
    finally:
        dev.stop()
    spilled = home / ".foundry" / "anvil" / "tmp"
    leftovers = [p.name for p in spilled.iterdir()] if spilled.exists() else []
    assert leftovers == [], f"anvil left past states on disk: {leftovers}"


def test_start_anvil_fails_cleanly_without_the_binary(tmp_path: Path, monkeypatch) -> None:
    """A missing anvil is a named error, not a FileNotFoundError from deep in subprocess."""
    from ledger.devnet import start_anvil
    from ledger.errors import ChainError

    monkeypatch.setenv("AIGC_ANVIL", str(tmp_path / "no-such-anvil"))
    with pytest.raises(ChainError):
        start_anvil(tmp_path / "state.json")
