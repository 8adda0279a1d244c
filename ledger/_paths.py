"""Where the project's files live: the repository root, contract sources and artifacts."""

from __future__ import annotations

from pathlib import Path

from ledger.config import LedgerSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = REPO_ROOT / "contracts"


def artifacts_dir() -> Path:
    """The committed artifacts folder (``AIGC_ARTIFACTS_DIR`` overrides it; read when called)."""
    return LedgerSettings().artifacts_dir or CONTRACTS_DIR / "artifacts"


def node_modules() -> Path:
    """The pinned npm toolchain (solc-js, OpenZeppelin Contracts, anvil)."""
    return REPO_ROOT / "node_modules"
