"""Compile the contracts with py-solc-x and a pinned solc, writing the committed artifacts.

One build, one compiler (``SOLC_VERSION``), one EVM version (``EVM_VERSION``, cancun: the same
bytecode runs on py-evm and anvil). A native ``solc`` of exactly that version is used when one is
on the PATH; otherwise the pinned solc-js from npm, through ``contracts/solc-js.cjs`` (a
``solc``-compatible front that py-solc-x can drive). Tests never compile: they load artifacts, and
``tests/contracts/test_artifacts.py`` fails when a source changed without a rebuild.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import solcx

from ledger._paths import CONTRACTS_DIR, REPO_ROOT, artifacts_dir, node_modules
from ledger.errors import BuildError

SOLC_VERSION = "0.8.28"
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 10_000
# Sources compiled with fewer runs (smaller code, a little more gas per call) because their
# contract would otherwise pass EIP-170's 24,576-byte limit; measured in docs/contracts.md.
RUNS_BY_SOURCE = {
    "contracts/Registry.sol": 800,
    "contracts/BatchRegistry.sol": 800,
    "contracts/BatchCourt.sol": 6_000,  # 24,968 bytes at 10,000 runs (batch items' claim)
}
BUILD_INFO = "_build.json"


def source_files() -> list[Path]:
    """Every Solidity source of the project (contracts/, interfaces/, test/), sorted."""
    return sorted(p for p in CONTRACTS_DIR.rglob("*.sol") if "artifacts" not in p.parts)


def solc_binary() -> Path:
    """The compiler to drive: native solc of the pinned version, else the solc-js front."""
    native = shutil.which("solc")
    if native:
        try:
            if str(solcx.wrapper.get_solc_version(native)) == SOLC_VERSION:
                return Path(native)
        except (solcx.exceptions.SolcError, subprocess.SubprocessError, OSError):
            pass
    shim = CONTRACTS_DIR / "solc-js.cjs"
    if not (node_modules() / "solc").is_dir():
        raise BuildError("solc-js is not installed: run `npm ci` (or `make install`) first")
    if shutil.which("node") is None:
        raise BuildError("node is not on the PATH: it is needed to run solc-js")
    return shim


def standard_input(runs: int = OPTIMIZER_RUNS, only: list[str] | None = None) -> dict[str, Any]:
    """The Standard JSON input: every source by its repo-relative path, pinned settings; code is
    generated for the sources in ``only`` (default: all of them, OpenZeppelin's included)."""
    sources = {
        p.relative_to(REPO_ROOT).as_posix(): {"content": p.read_text()} for p in source_files()
    }
    wanted = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]
    selected = ["*"] if only is None else only
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": runs},
            "metadata": {"bytecodeHash": "none"},
            "remappings": ["@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/"],
            "outputSelection": {source: {"*": wanted} for source in selected},
        },
    }


def compile_all() -> tuple[dict[str, Any], str]:
    """Compiles every source; returns the compiler output and the full compiler version."""
    binary = solc_binary()
    try:
        version = solcx.wrapper.get_version_str_from_solc_binary(binary)
    except (solcx.exceptions.SolcError, subprocess.SubprocessError, OSError) as exc:
        raise BuildError(f"cannot run the compiler {binary}: {exc}") from exc
    if not version.startswith(SOLC_VERSION + "+"):
        raise BuildError(f"compiler {binary} is {version}, the build is pinned to {SOLC_VERSION}")
    # Each compile generates code only for the sources built at its runs value: the same
    # bytecode as generating everything each time, in about half the time.
    first = [s for s in standard_input()["sources"] if s not in RUNS_BY_SOURCE]
    try:
        output = solcx.compile_standard(
            standard_input(only=first),
            solc_binary=binary,
            base_path=REPO_ROOT,
            allow_paths=[REPO_ROOT],
        )
        for runs in sorted(set(RUNS_BY_SOURCE.values())):  # one more compile per runs value
            other = solcx.compile_standard(
                standard_input(runs, only=[s for s, r in RUNS_BY_SOURCE.items() if r == runs]),
                solc_binary=binary,
                base_path=REPO_ROOT,
                allow_paths=[REPO_ROOT],
            )
            for source in [s for s, r in RUNS_BY_SOURCE.items() if r == runs]:
                output["contracts"][source] = other["contracts"][source]
    except solcx.exceptions.SolcError as exc:
        raise BuildError(f"compilation failed:\n{exc}") from exc
    return output, version


def sources_digest(paths: list[str]) -> dict[str, str]:
    """sha256 of each source file the build used (ours and OpenZeppelin's), by path."""
    digest = {}
    for rel in sorted(paths):
        full = REPO_ROOT / rel
        if not full.exists():
            full = node_modules() / rel
        digest[rel] = hashlib.sha256(full.read_bytes()).hexdigest()
    return digest


def build(out_dir: Path | None = None) -> list[Path]:
    """Compiles and writes one artifact per contract plus ``_build.json``; returns the paths."""
    out = out_dir or artifacts_dir()
    output, version = compile_all()
    out.mkdir(parents=True, exist_ok=True)
    compiler = {"version": version, "evmVersion": EVM_VERSION, "optimizerRuns": OPTIMIZER_RUNS}
    written = []
    for source, contracts in sorted(output["contracts"].items()):
        for name, data in sorted(contracts.items()):
            bytecode = data["evm"]["bytecode"]["object"]
            # Only our own deployable contracts: interfaces and internal libraries (empty ABI)
            # have nothing to deploy, OpenZeppelin's come in through the contracts using them.
            if not source.startswith("contracts/") or not bytecode or not data["abi"]:
                continue
            runs = RUNS_BY_SOURCE.get(source, OPTIMIZER_RUNS)
            artifact = {
                "compiler": {**compiler, "optimizerRuns": runs},
                "contractName": name,
                "sourceName": source,
                "abi": data["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
            }
            path = out / f"{name}.json"
            path.write_text(json.dumps(artifact, indent=1, sort_keys=False) + "\n")
            written.append(path)
    info = {"compiler": compiler, "sources": sources_digest(list(output["sources"]))}
    (out / BUILD_INFO).write_text(json.dumps(info, indent=1) + "\n")
    written.append(out / BUILD_INFO)
    return written
