"""Where the project's files live: the repository root, contract sources and artifacts."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = REPO_ROOT / "contracts"


def artifacts_dir() -> Path:
    """The committed artifacts folder (``AIGC_ARTIFACTS_DIR`` overrides it)."""
    return Path(os.environ.get("AIGC_ARTIFACTS_DIR", CONTRACTS_DIR / "artifacts"))


def node_modules() -> Path:
    """The pinned npm toolchain (solc-js, OpenZeppelin Contracts, anvil)."""
    return REPO_ROOT / "node_modules"
