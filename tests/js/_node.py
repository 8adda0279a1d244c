"""Finding node for the JavaScript SDK's tests: a missing node skips locally, fails under CI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "js" / "sdk"


def node_or_skip() -> str:
    """The node executable (with the pinned node_modules installed), else skip / fail in CI."""
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "node is not on PATH"
    elif not (ROOT / "node_modules" / "viem" / "package.json").exists():
        problem = "node_modules lacks viem: run `npm ci` (or `make install`)"
    if problem is not None:
        if IN_CI:
            pytest.fail(f"the JavaScript SDK tests need node: {problem}")
        pytest.skip(problem)
    assert node is not None
    return node
