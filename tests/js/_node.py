"""Finding node for the JavaScript SDK's tests: a missing node skips locally, fails under CI."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
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


def run_step(
    node: str, script: str, port: int, world, key: bytes, step: str, args: dict, tmp_path: Path
) -> dict:
    """Runs one ``step`` of a live SDK ``script`` (an ES module reading ``process.argv``: API
    URL, RPC URL, chain id, private key, step, args file) as the wallet of ``key`` against the
    API at ``port``; returns the JSON object its last stdout line prints."""
    path = tmp_path / f"{step}-{secrets.token_hex(4)}.json"
    path.write_text(json.dumps(args))
    argv = [
        f"http://127.0.0.1:{port}",
        world.chain.url,
        str(world.chain.chain_id),
        "0x" + bytes(key).hex(),
        step,
        str(path),
    ]
    run = subprocess.run(
        [node, "--input-type=module", "-e", script, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"{step}: " + run.stdout[-3000:] + run.stderr[-3000:]
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))
