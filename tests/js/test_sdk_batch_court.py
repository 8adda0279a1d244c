"""The JavaScript SDK's BatchCourt steps live: anvil and `aigc serve` (its indexer running), the
owner of a batched item revoking a later single copy of it from JavaScript only, and settling
after the reward hold.

The unit tests (js/sdk/test/court.test.js, run by tests/js/test_sdk_unit.py) check each step's
guards against a fake API; here the same calls meet the real API, court and indexer.
"""

from __future__ import annotations

import os

import httpx
import pytest

from tests.js._node import node_or_skip, run_step

_COURT = """
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
const pair = { original: BigInt(args.original), duplicate: BigInt(args.duplicate) }
/** The API's refusal of `run` as { status, code, fields }, or its result. */
async function refusal(run) {
  try {
    return { ok: await run() }
  } catch (err) {
    if (!(err instanceof AigcApiError)) throw err
    return { status: err.status, code: err.code, fields: err.fields }
  }
}
const text = (v) => JSON.parse(JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x)))
let out
if (step === 'challenge') {
  const deadline = Date.now() + 120_000  // the indexer has not seen both tokens yet: 404
  let opened
  for (;;) {
    opened = await refusal(() => aigc.courtChallenge(pair))
    if (opened.ok || opened.status !== 404 || Date.now() > deadline) break
    await new Promise((ok) => setTimeout(ok, 200))
  }
  const early = await refusal(() => aigc.courtFinalize(pair))
  const dep = await aigc.getDeployment()
  const dispute = await aigc.getCourtDispute(pair)
  out = { opened, early, dispute, court: dep.addresses.batchCourt }
} else if (step === 'contest') {
  out = { refused: await refusal(() => aigc.courtContest(pair)) }
} else if (step === 'finalize') {
  const finalized = await aigc.courtFinalize(pair)
  const held = await refusal(() => aigc.courtSettle(pair))  // the reward hold runs
  out = { finalized, held, dispute: await aigc.getCourtDispute(pair) }
} else {
  out = { settled: await aigc.courtSettle(pair), dispute: await aigc.getCourtDispute(pair) }
}
console.log(JSON.stringify(text(out)))
"""


def _step(node: str, port: int, world, key: bytes, step: str, args: dict, tmp_path) -> dict:
    """Runs one step of _COURT as the wallet of ``key`` against the API at ``port``."""
    return run_step(node, _COURT, port, world, key, step, args, tmp_path)


@pytest.mark.anvil
@pytest.mark.slow
def test_a_batched_item_revokes_a_single_copy_through_the_court_from_javascript(tmp_path):
    """The producer batches an image; an attacker registers a near copy of it alone, attested by
    another ESP. From JavaScript: the producer's courtChallenge (retried until the indexer
    knows both tokens) opens the dispute on the deployment's court, a finalize inside the window
    is the API's 409 CourtDisputeWindow with the deadline, a contest by someone other than the
    copy's owner is CourtNotOwner, and courtFinalize after the window revokes the copy; the
    batched original stays active. The win is held: courtSettle at once is the API's 409
    CourtRewardHeld with the block it is releasable at; once the hold is mined, courtSettle
    pays the challenger (settled)."""
    from ledger import RpcChain, deploy
    from ledger.clients.registry import TokenStatus
    from ledger.devnet import anvil_binary, start_anvil, write_pidfile
    from ledger.errors import ChainError
    from tests.cli.test_serve import serve_until
    from tests.conftest import IN_CI, TEST_PARAMS, World
    from tests.contracts.batch_kit import register_batch, tid
    from tests.contracts.helpers import BASE_FP, NEAR_FP, details, register_esp, register_image

    node = node_or_skip()
    try:
        anvil_binary()
    except ChainError as exc:
        if IN_CI:
            pytest.fail(f"anvil is required in CI: {exc}")
        pytest.skip(str(exc))
    dev = start_anvil(tmp_path / "devnet" / "state.json")
    try:
        chain = RpcChain(dev.url, dev=True)
        accounts = chain.dev_accounts()
        world = World(chain, deploy(chain, accounts[0], TEST_PARAMS), TEST_PARAMS, accounts)
        world.deployment.manifest.save(tmp_path / "deployments" / f"{chain.chain_id}.json")
        write_pidfile(tmp_path / "devnet" / "anvil.json", dev)
        register_esp(world)
        batch_id, _ = register_batch(
            world,
            world.producer,
            fingerprints=[BASE_FP],
            item_details=[details()["base"]],
            esp=world.esp,
        )
        original = tid(batch_id, 0)
        copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
        pair = {"original": str(original), "duplicate": str(copy)}
        env = {
            **os.environ,
            "AIGC_CHAIN": "devnet",
            "AIGC_DATA_DIR": str(tmp_path),
            "AIGC_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
            "AIGC_BLOB_DIR": str(tmp_path / "blobs"),
            "AIGC_INDEXER_INTERVAL_S": "0.3",
        }

        def drive(port: int) -> dict | None:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code != 200:
                return None
            opened = _step(node, port, world, world.producer.key, "challenge", pair, tmp_path)
            thief = _step(node, port, world, world.buyer.key, "contest", pair, tmp_path)
            world.chain.mine(TEST_PARAMS.dispute_window_blocks + 1)
            done = _step(node, port, world, world.producer.key, "finalize", pair, tmp_path)
            world.chain.mine(TEST_PARAMS.reward_hold_blocks)
            paid = _step(node, port, world, world.producer.key, "settle", pair, tmp_path)
            return {"opened": opened, "thief": thief, "done": done, "paid": paid}

        code, out = serve_until(env, tmp_path, drive)
        assert code is None, f"aigc serve exited ({code}): {str(out)[-3000:]}"
        court = world.deployment.batch_court.address
        opened = out["opened"]
        assert opened["court"] == court
        deadline = int(opened["opened"]["ok"]["deadline"])
        assert opened["dispute"]["state"] == "open"
        assert opened["dispute"]["challenger"] == world.producer.address
        assert int(opened["dispute"]["deadline"]) == deadline
        early = opened["early"]
        assert (early["status"], early["code"]) == (409, "CourtDisputeWindow"), early
        assert int(early["fields"]["deadline"]) == deadline
        thief = out["thief"]["refused"]
        assert (thief["status"], thief["code"]) == (409, "CourtNotOwner"), thief
        assert thief["fields"]["caller"].lower() == world.buyer.address.lower()
        assert out["done"]["finalized"]["upheld"] is True
        assert out["done"]["dispute"]["state"] == "upheld"
        held = out["done"]["held"]
        assert (held["status"], held["code"]) == (409, "CourtRewardHeld"), held
        assert held["fields"]["releasableAtBlock"] == out["done"]["dispute"]["deadline"]
        # the copy's ESP is slashed, the slash burned at the EspRegistry: the court holds none
        assert int(out["done"]["dispute"]["slash"]) == 0
        burn = "0x000000000000000000000000000000000000dEaD"
        assert world.esps(world.deployer).compensation_of(burn) == world.params.esp_slash_amount
        assert out["paid"]["settled"]["state"] == "settled"
        assert out["paid"]["dispute"]["state"] == "settled"
        assert world.registry(world.deployer).record(copy).status is TokenStatus.REVOKED
        batches = world.deployment.batch_registry.functions
        assert batches.statusOf(original).call() == 1  # Active
    finally:
        dev.stop()
