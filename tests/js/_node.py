"""Scaffolding of the JavaScript SDK's tests: finding node, running SDK scripts in it, and the live
stack the live tests drive (anvil as the CLI's devnet, `aigc serve` over it).

A missing node or anvil skips locally and fails under CI. A live test writes its steps as the
body of one script (:data:`STEP_PREAMBLE` comes first: the wallet of the key, the SDK client
signed in at the API, ``step``, ``args``, ``refusal``, ``onceIndexed``, ``text``) and runs
each step in the wallet of the party that takes it (:class:`Steps`), inside
:func:`anvil_devnet` and :func:`serve_and_drive`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.conftest import IN_CI, require_anvil

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "js" / "sdk"

T = TypeVar("T")


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


def run_node(node: str, script: str, *argv: str, what: str = "node") -> str:
    """Runs the ES module ``script`` (``process.argv.slice(1)`` is ``argv``) in the repository
    root; its stdout, or fails with the end of its output."""
    run = subprocess.run(
        [node, "--input-type=module", "-e", script, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"{what}: " + run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


def last_json(stdout: str) -> dict:
    """The JSON object a script printed last."""
    return dict(json.loads(stdout.strip().splitlines()[-1]))


# The head of every live step script: argv is (API URL, RPC URL, chain id, private key, step,
# args file). ES imports are hoisted, so a script body may import more (e.g. `tokenId`).
STEP_PREAMBLE = """
import { readFileSync } from 'node:fs'
import { createPublicClient, createWalletClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import { AigcApiError, createAigcClient } from './js/sdk/src/index.js'
const [api, rpc, chainId, key, step, argsFile] = process.argv.slice(1)
const args = JSON.parse(readFileSync(argsFile, 'utf8'))
const chain = { ...anvil, id: Number(chainId), rpcUrls: { default: { http: [rpc] } } }
const publicClient = createPublicClient({ chain, transport: http(rpc), pollingInterval: 50 })
const walletClient = createWalletClient({
  account: privateKeyToAccount(key), chain, transport: http(rpc), pollingInterval: 50,
})
const aigc = createAigcClient({ baseUrl: api, publicClient, walletClient })
await aigc.signIn()
/** The API's refusal of `run` as { status, code, fields }, or its result as { ok }. */
async function refusal(run) {
  try {
    return { ok: await run() }
  } catch (err) {
    if (!(err instanceof AigcApiError)) throw err
    return { status: err.status, code: err.code, fields: err.fields }
  }
}
/** `refusal(run)`, asked again while the API answers 404 (its indexer has not seen the tokens
 * yet), for up to two minutes. */
async function onceIndexed(run) {
  const deadline = Date.now() + 120_000
  for (;;) {
    const r = await refusal(run)
    if (r.ok || r.status !== 404 || Date.now() > deadline) return r
    await new Promise((ok) => setTimeout(ok, 200))
  }
}
/** `v` as JSON can carry it (BigInt as decimal strings). */
const text = (v) => JSON.parse(JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x)))
"""


def step_script(body: str) -> str:
    """A live step script: :data:`STEP_PREAMBLE`, then ``body`` (which prints one JSON line)."""
    return STEP_PREAMBLE + body


def run_step(
    node: str, script: str, port: int, chain, key: bytes, step: str, args: dict, tmp_path: Path
) -> dict:
    """Runs one ``step`` of a live SDK ``script`` (see :func:`step_script`) as the wallet of
    ``key`` against the API at ``port`` over ``chain``; returns the JSON object its last stdout
    line prints."""
    path = tmp_path / f"{step}-{secrets.token_hex(4)}.json"
    path.write_text(json.dumps(args))
    argv = (
        f"http://127.0.0.1:{port}",
        chain.url,
        str(chain.chain_id),
        "0x" + bytes(key).hex(),
        step,
        str(path),
    )
    return last_json(run_node(node, script, *argv, what=step))


@dataclass(frozen=True)
class Steps:
    """One step script against one API: ``steps(account, step, **args)`` runs ``step`` in the
    wallet of ``account`` (anything with a ``key``)."""

    node: str
    script: str
    port: int
    chain: Any
    tmp: Path

    def __call__(self, account, step: str, **args) -> dict:
        return run_step(
            self.node, self.script, self.port, self.chain, account.key, step, args, self.tmp
        )


@contextmanager
def anvil_devnet(data: Path) -> Iterator[Any]:
    """anvil as the CLI's devnet under ``data`` (its state and pidfile in ``data/devnet``, where
    `aigc serve` with ``AIGC_CHAIN=devnet`` finds it), as an RpcChain with dev accounts;
    stopped afterwards. A missing anvil skips locally and fails in CI."""
    from ledger import RpcChain
    from ledger.devnet import start_anvil, write_pidfile

    require_anvil()
    dev = start_anvil(data / "devnet" / "state.json")
    try:
        write_pidfile(data / "devnet" / "anvil.json", dev)
        yield RpcChain(dev.url, dev=True)
    finally:
        dev.stop()


def deployed_world(chain) -> Any:
    """The test suite's World (tests.conftest.TEST_PARAMS) deployed on ``chain``."""
    from ledger import deploy
    from tests.conftest import TEST_PARAMS, World

    accounts = chain.dev_accounts()
    return World(chain, deploy(chain, accounts[0], TEST_PARAMS), TEST_PARAMS, accounts)


def serve_env(data: Path, deployment) -> dict[str, str]:
    """`aigc serve`'s environment over ``deployment`` on the devnet of :func:`anvil_devnet`: its
    manifest saved where the CLI reads it, the database and blobs under ``data``, a fast
    indexer."""
    deployment.manifest.save(data / "deployments" / f"{deployment.chain.chain_id}.json")
    return {
        **os.environ,
        "AIGC_CHAIN": "devnet",
        "AIGC_DATA_DIR": str(data),
        "AIGC_DATABASE_URL": f"sqlite:///{data / 'api.db'}",
        "AIGC_BLOB_DIR": str(data / "blobs"),
        "AIGC_INDEXER_INTERVAL_S": "0.3",
    }


def serve_and_drive(env: dict[str, str], data: Path, drive: Callable[[int], T]) -> T:
    """Starts `aigc serve` in ``data`` with ``env``, calls ``drive(port)`` once the API answers
    /healthz, stops the server and returns what ``drive`` returned; fails with the server's
    output if it exits first."""
    from tests.cli.test_serve import serve_until

    def probe(port: int) -> tuple[T] | None:
        if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code != 200:
            return None
        return (drive(port),)  # truthy whatever drive returns: serve_until stops at it

    code, out = serve_until(env, data, probe)
    assert code is None, f"aigc serve exited ({code}): {str(out)[-3000:]}"
    return out[0]
