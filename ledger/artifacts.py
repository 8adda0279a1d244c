"""Loading the committed contract artifacts (ABI + bytecode), never compiling."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from ledger._paths import artifacts_dir
from ledger.errors import ArtifactError

CONTRACT_NAMES = ("HashTimeLock", "EspRegistry", "Registry", "ReputationView")


@cache
def load(name: str) -> dict[str, Any]:
    """The artifact of contract ``name`` (``abi``, ``bytecode``, ``compiler``...)."""
    path = artifacts_dir() / f"{name}.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactError(
            f"no artifact for {name} at {path}: run `aigc contracts build`"
        ) from None
    except ValueError as exc:
        raise ArtifactError(f"artifact {path} is not valid JSON: {exc}") from None
    if "abi" not in data or "bytecode" not in data:
        raise ArtifactError(f"artifact {path} lacks abi/bytecode")
    return data


def abi(name: str) -> list[dict[str, Any]]:
    return list(load(name)["abi"])


def artifact_hash(name: str) -> str:
    """sha256 of the artifact file (recorded in deployment manifests)."""
    return hashlib.sha256((artifacts_dir() / f"{name}.json").read_bytes()).hexdigest()


def all_names() -> list[str]:
    """Every contract with an artifact (production and test contracts)."""
    return sorted(p.stem for p in artifacts_dir().glob("*.json") if not p.stem.startswith("_"))
