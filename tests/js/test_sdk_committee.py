"""The JavaScript SDK's requestReview and drawReview live: anvil and `aigc serve` (its indexer
running) over a deployment with a committee. The accused of a challenge asks for a review from
JavaScript: 409 CommitteeTooSmall while no juror is enrolled; once five are, the review is
requested (the fee paid, its draw block returned, nobody drawn); a second request is the
contract's CommitteeReviewExists (the API's 409); a draw in the draw block is
CommitteeDrawTooEarly; the contest follows, mined in the draw block, and then the accused draws
the five jurors itself."""

from __future__ import annotations

import os

import httpx
import pytest

from tests.js._node import node_or_skip, run_step

_REVIEW = """
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
if (step === 'small') {
  const deadline = Date.now() + 120_000  // the indexer has not seen both tokens yet: 404
  let r
  for (;;) {
    r = await refusal(() => aigc.requestReview(pair))
    if (r.ok || r.status !== 404 || Date.now() > deadline) break
    await new Promise((ok) => setTimeout(ok, 200))
  }
  out = { small: r }
} else {
  const review = await aigc.requestReview(pair)
  const again = await refusal(() => aigc.requestReview(pair))
  const early = await refusal(() => aigc.drawReview(pair))
  const contested = await aigc.contest(pair)
  const drawn = await aigc.drawReview(pair)
  out = { review, again, early, contested, drawn }
}
console.log(JSON.stringify(text(out)))
"""


@pytest.mark.anvil
@pytest.mark.slow
def test_the_accused_requests_a_committee_review_from_javascript(tmp_path):
    from ledger import RpcChain
    from ledger.clients.registry import DisputeState
    from ledger.devnet import anvil_binary, start_anvil, write_pidfile
    from ledger.errors import ChainError
    from tests.cli.test_serve import serve_until
    from tests.conftest import IN_CI
    from tests.contracts.committee_kit import CommitteeWorld, _make
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
        world, jurors = _make(chain)
        committee = CommitteeWorld(world, jurors)
        world.deployment.manifest.save(tmp_path / "deployments" / f"{chain.chain_id}.json")
        write_pidfile(tmp_path / "devnet" / "anvil.json", dev)
        register_esp(world)
        original = register_image(world, world.producer, fingerprint=BASE_FP)
        other = register_image(world, world.buyer, fingerprint=NEAR_FP, detail=details()["far"])
        world.registry(world.producer).challenge(original, other)
        pair = {"original": str(original), "duplicate": str(other)}
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
            small = run_step(node, _REVIEW, port, world, world.buyer.key, "small", pair, tmp_path)
            committee.enroll(5)
            done = run_step(node, _REVIEW, port, world, world.buyer.key, "review", pair, tmp_path)
            return {"small": small["small"], **done}

        code, out = serve_until(env, tmp_path, drive)
        assert code is None, f"aigc serve exited ({code}): {str(out)[-3000:]}"
        print(out)
        small = out["small"]
        assert (small["status"], small["code"]) == (409, "CommitteeTooSmall"), small
        client = committee.committee()
        review = out["review"]
        assert int(review["fee"]) == client.params().review_fee
        assert "jurors" not in review  # the request draws nobody
        got = client.review(bytes.fromhex(review["key"][2:]))
        assert got.requester == world.buyer.address
        assert got.draw_block == int(review["drawBlock"])
        again = out["again"]
        assert (again["status"], again["code"]) == (409, "CommitteeReviewExists"), again
        early = out["early"]
        assert (early["status"], early["code"]) == (409, "CommitteeDrawTooEarly"), early
        drawn = out["drawn"]
        assert drawn["outcome"] == "drawn" and len(drawn["jurors"]) == 5, drawn
        assert set(drawn["jurors"]) <= {j.address for j in jurors}
        got = client.review(bytes.fromhex(review["key"][2:]))
        assert got.jurors == tuple(drawn["jurors"])
        assert got.reveal_deadline == int(drawn["revealDeadline"])
        state = world.registry(world.buyer).dispute(original, other).state
        assert state is DisputeState.CONTESTED
    finally:
        dev.stop()
