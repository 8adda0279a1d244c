"""The committed artifacts match the sources: stale artifacts fail the suite.

``test_sources_unchanged_since_build`` needs no compiler: it compares the sha256 of every source
the build used (ours and OpenZeppelin's) with those recorded in ``_build.json``.
``test_recompile_reproduces_artifacts`` recompiles with the pinned solc and compares bytecode; it
needs node + the npm toolchain, which ``make test`` installs (and which CI therefore has).
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from ledger import artifacts
from ledger._paths import REPO_ROOT, artifacts_dir, node_modules
from ledger.build import EVM_VERSION, SOLC_VERSION, build, source_files, sources_digest

BUILD_INFO = json.loads((artifacts_dir() / "_build.json").read_text())


def test_sources_unchanged_since_build():
    if not (node_modules() / "@openzeppelin").is_dir():
        pytest.fail("node_modules missing: run `make install` (npm ci)")
    recorded = BUILD_INFO["sources"]
    ours = {p.relative_to(REPO_ROOT).as_posix() for p in source_files()}
    assert ours <= set(recorded), f"sources not in the last build: {sorted(ours - set(recorded))}"
    current = sources_digest(list(recorded))
    stale = [p for p in recorded if current[p] != recorded[p]]
    assert not stale, f"artifacts are stale (run `aigc contracts build`): {stale}"


def test_artifacts_are_headed_with_the_pinned_compiler():
    for name in artifacts.CONTRACT_NAMES:
        art = artifacts.load(name)
        assert art["compiler"]["version"].startswith(SOLC_VERSION + "+")
        assert art["compiler"]["evmVersion"] == EVM_VERSION
        assert art["bytecode"].startswith("0x") and len(art["bytecode"]) > 1000


@pytest.mark.slow
def test_recompile_reproduces_artifacts(tmp_path):
    if shutil.which("node") is None or not (node_modules() / "solc").is_dir():
        if os.environ.get("CI"):
            pytest.fail("CI must be able to compile: node and npm's solc are required")
        pytest.skip("node/solc-js not installed")
    build(tmp_path)
    for name in artifacts.all_names():
        fresh = json.loads((tmp_path / f"{name}.json").read_text())
        committed = artifacts.load(name)
        assert fresh["bytecode"] == committed["bytecode"], f"{name} bytecode differs: rebuild"
        assert fresh["abi"] == committed["abi"], f"{name} ABI differs: rebuild"
