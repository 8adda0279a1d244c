"""The JavaScript SDK's batch vectors (js/sdk/test/vectors/batch.json) against the Python side.

The node tests themselves (js/sdk/test/batch.test.js) run with the SDK's other unit tests in
tests/js/test_sdk_unit.py; here the vectors they match are checked to be what ``ledger.merkle``
computes today (so a change to the Merkle rules that is not carried to the SDK fails), and the
attestation digest to be the EIP-712 digest eth_account computes.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from ledger import eip712, merkle
from ledger.clients.batch_registry import sign_batch_attestation
from services.batch import BatchItem, BatchLayout, SignedBatch
from tests.js._node import (
    ROOT,
    SDK,
    Steps,
    anvil_devnet,
    deployed_world,
    last_json,
    node_or_skip,
    run_node,
    serve_and_drive,
    serve_env,
    step_script,
)

VECTORS = SDK / "test" / "vectors" / "batch.json"
GEN = ROOT / "scripts" / "gen-batch-vectors"


def _b(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def test_the_committed_vectors_are_what_ledger_merkle_computes():
    run = subprocess.run(
        [sys.executable, str(GEN), "--check"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]


def test_the_vectors_roots_and_proofs_verify_in_python():
    doc = json.loads(VECTORS.read_text())
    assert [b["count"] for b in doc["batches"]] == [1, 2, 3, 4, 5, 7, 8, 100]
    for b in doc["batches"]:
        fps = [_b(x) for x in b["fingerprints"]]
        assert fps == sorted(fps) and len(set(fps)) == len(fps), "fingerprints strictly increasing"
        assert [keccak(_b(d)) for d in b["details"]] == [_b(x) for x in b["detail_hashes"]]
        root = _b(b["items_root"])
        for i, proof in b["item_proofs"].items():
            leaf = _b(b["item_leaves"][int(i)])
            steps = [_b(p) for p in proof]
            assert merkle.ordered_verify(steps, root, leaf, int(i), b["count"])
            assert not merkle.ordered_verify(steps, _b(b["fp_root"]), leaf, int(i), b["count"])


def test_the_attestation_vector_is_the_eip712_digest_and_signature_of_its_key():
    a = json.loads(VECTORS.read_text())["attestation"]
    types = {
        "BatchAttestation": [
            {"name": "taskId", "type": "bytes32"},
            {"name": "producer", "type": "address"},
            {"name": "itemsRoot", "type": "bytes32"},
            {"name": "fpRoot", "type": "bytes32"},
            {"name": "count", "type": "uint32"},
            {"name": "modelId", "type": "bytes32"},
        ]
    }
    message = {
        "taskId": _b(a["task_id"]),
        "producer": a["producer"],
        "itemsRoot": _b(a["items_root"]),
        "fpRoot": _b(a["fp_root"]),
        "count": a["count"],
        "modelId": _b(a["model_id"]),
    }
    dom = eip712.domain(
        "AIGC BatchRegistry", chain_id=a["chain_id"], contract=a["verifying_contract"]
    )
    signable = encode_typed_data(domain_data=dom, message_types=types, message_data=message)
    assert keccak(b"\x19" + signable.version + signable.header + signable.body) == _b(a["digest"])
    signer = Account.from_key(a["signer_key"])
    assert eip712.recover(_b(a["signature"]), dom, types, message) == signer.address


def test_the_services_layout_orders_and_roots_a_batch_as_the_sdk_vectors_do():
    """services.batch.layout (the ESP's and producer's side) and the SDK's buildBatch agree on the
    token order and both roots: the vectors' items, shuffled, lay out as the vectors say."""
    for b in json.loads(VECTORS.read_text())["batches"]:
        items = [
            BatchItem(content_hash=_b(c), fingerprint=_b(f), detail_hash=_b(d), seed=int(s))
            for c, f, d, s in zip(
                b["content_hashes"], b["fingerprints"], b["detail_hashes"], b["seeds"], strict=True
            )
        ]
        layout = BatchLayout.of(list(reversed(items)))
        assert list(layout.items) == items
        assert layout.fp_root == _b(b["fp_root"])
        assert layout.items_root == _b(b["items_root"])
        assert layout.commitment(owner=b["owner"], salt=_b(b["salt"])) == _b(b["commitment"])


def test_the_deployed_batch_registry_computes_the_vectors_leaves_and_commitment(embedded_world):
    """The contract's own views (fingerprintLeaf, itemLeaf, commitmentFor) give the vectors the
    SDK matches: the JS, the Python and the Solidity encodings are one."""
    fns = embedded_world.deployment.batch_registry.functions
    b = next(b for b in json.loads(VECTORS.read_text())["batches"] if b["count"] == 7)
    for i in range(b["count"]):
        assert fns.fingerprintLeaf(i, _b(b["fingerprints"][i])).call() == _b(
            b["fingerprint_leaves"][i]
        )
        leaf = fns.itemLeaf(
            i, _b(b["content_hashes"][i]), _b(b["detail_hashes"][i]), int(b["seeds"][i])
        ).call()
        assert leaf == _b(b["item_leaves"][i])
    commitment = fns.commitmentFor(
        _b(b["items_root"]), _b(b["fingerprints_hash"]), b["count"], b["owner"], _b(b["salt"])
    ).call()
    assert commitment == _b(b["commitment"])


def test_the_sdk_attestation_digest_is_the_deployed_contracts_attestation_digest(embedded_world):
    """batchAttestationDigest (viem's hashTypedData under the SDK's domain and types), run in
    node for the deployed contract's address and chain, equals its attestationDigest."""
    node = node_or_skip()
    a = json.loads(VECTORS.read_text())["attestation"]
    contract = embedded_world.deployment.batch_registry
    args = {
        "chainId": embedded_world.chain.chain_id,
        "verifyingContract": contract.address,
        "taskId": a["task_id"],
        "producer": a["producer"],
        "itemsRoot": a["items_root"],
        "fpRoot": a["fp_root"],
        "count": a["count"],
        "modelId": a["model_id"],
    }
    script = (
        "import { batchAttestationDigest } from './js/sdk/src/index.js';"
        "console.log(batchAttestationDigest(JSON.parse(process.argv[1])))"
    )
    digest = run_node(node, script, json.dumps(args)).strip()
    on_chain = contract.functions.attestationDigest(
        _b(a["task_id"]),
        a["producer"],
        _b(a["items_root"]),
        _b(a["fp_root"]),
        a["count"],
        _b(a["model_id"]),
    ).call()
    assert digest == "0x" + on_chain.hex()


_REGISTER = """
import { readFileSync } from 'node:fs'
import { createPublicClient, createWalletClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import { createAigcClient } from './js/sdk/src/index.js'
const [rpc, chainId, key, file, htlc] = process.argv.slice(1)
const chain = { ...anvil, id: Number(chainId), rpcUrls: { default: { http: [rpc] } } }
const publicClient = createPublicClient({ chain, transport: http(rpc), pollingInterval: 50 })
const walletClient = createWalletClient({
  account: privateKeyToAccount(key), chain, transport: http(rpc), pollingInterval: 50,
})
const aigc = createAigcClient({ baseUrl: 'http://api.invalid', publicClient, walletClient })
const attestation = JSON.parse(readFileSync(file, 'utf8'))
try {
  const r = await aigc.registerBatch({ attestation, metadataUri: 'ipfs://batch', htlc })
  const { batchId, startId, count } = r
  console.log(JSON.stringify({ batchId: String(batchId), startId: String(startId), count }))
} catch (err) {
  console.log(JSON.stringify({ error: err.code ?? String(err) }))
}
"""


def _signed_batch(
    world,
    n: int,
    *,
    producer=None,
    esp=None,
    tag: str = "",
    copies: tuple[int, ...] = (),
    paid: bool = True,
) -> dict:
    """A batch of ``n`` items attested by ``esp`` (the world's ESP) for ``producer`` (the
    world's producer) over a paid lock; item ``i`` has content ``keccak("content {tag}{i}")``,
    fingerprint ``keccak("fingerprint {tag}{i}")`` (``keccak("fingerprint {i}")`` for ``i`` in
    ``copies``: the untagged batch's) and detail bytes ``_detail(i)``. With ``paid=False`` the
    ESP has not claimed the lock's fee."""
    from tests.contracts.helpers import lock_fee, paid_lock, register_esp

    producer = producer or world.producer
    if esp is None:
        esp = world.esp
        if not world.esps(esp).esp_info(esp.address).endpoint:  # first use
            register_esp(world, esp)
    if paid:
        lock = paid_lock(world, producer, esp)
    else:
        lock, _ = lock_fee(world, sender=producer, receiver=esp.address)
    items = [
        BatchItem(
            content_hash=keccak(text=f"content {tag}{i}"),
            fingerprint=keccak(text=f"fingerprint {'' if i in copies else tag}{i}"),
            detail_hash=keccak(_detail(i)),
            seed=i,
        )
        for i in range(n)
    ]
    contract = world.deployment.batch_registry.address
    unsigned = SignedBatch(
        esp=esp.address,
        producer=producer.address,
        lock=lock,
        model_id=keccak(text="model"),
        layout=BatchLayout.of(items),
        chain_id=world.chain.chain_id,
        contract=contract,
        signature=b"",
    )
    signature = sign_batch_attestation(
        esp, unsigned.message(), chain_id=world.chain.chain_id, contract=contract
    )
    return SignedBatch(**{**unsigned.__dict__, "signature": signature}).to_json()


def _detail(i: int) -> bytes:
    return f"detail descriptor {i}".encode() * (i + 1)


def _register_from_node(world, key: bytes, attestation: dict, tmp_path) -> dict:
    node = node_or_skip()
    path = tmp_path / "attestation.json"
    path.write_text(json.dumps(attestation))
    argv = (world.chain.url, str(world.chain.chain_id), "0x" + bytes(key).hex(), str(path))
    return last_json(run_node(node, _REGISTER, *argv, world.deployment.htlc.address))


@pytest.mark.anvil
@pytest.mark.slow
@pytest.mark.parametrize("chain", ["anvil"], indirect=True)
def test_register_batch_from_javascript_on_anvil(world, tmp_path):
    """registerBatch through a viem wallet on anvil: the ESP's attestation file (made by
    services.batch) is checked, committed with its bond and revealed; every item is a token of
    the producer. The same file in another wallet's hands, or a batch whose fee the ESP has not
    claimed (its reveal would fail and the bond burn), is refused before anything is sent."""
    unpaid = _signed_batch(world, 2, paid=False, tag="unpaid ")
    nonce = world.chain.w3.eth.get_transaction_count(world.producer.address)
    assert _register_from_node(world, world.producer.key, unpaid, tmp_path) == {
        "error": "lock_not_paid"
    }
    assert world.chain.w3.eth.get_transaction_count(world.producer.address) == nonce
    attestation = _signed_batch(world, 5)
    copier = _register_from_node(world, world.attacker.key, attestation, tmp_path)
    assert copier == {"error": "not_producer"}
    out = _register_from_node(world, world.producer.key, attestation, tmp_path)
    assert "error" not in out, out
    batch_id = int(out["batchId"])
    assert out["count"] == 5 and int(out["startId"]) == merkle.token_id(batch_id, 0)
    registry = world.deployment.batch_registry.functions
    for i in range(5):
        assert registry.ownerOf(merkle.token_id(batch_id, i)).call() == world.producer.address
    record = registry.batchOf(batch_id).call()
    assert "0x" + record[1].hex() == attestation["items_root"]
    assert "0x" + record[0].hex() == attestation["fp_root"]


_LIVE = step_script("""
import { tokenId } from './js/sdk/src/index.js'
async function indexed(batchId) {
  const deadline = Date.now() + 120_000
  for (;;) {
    try {
      return await aigc.getBatch({ batchId })
    } catch (err) {
      if (!(err instanceof AigcApiError) || err.status !== 404 || Date.now() > deadline) throw err
      await new Promise((ok) => setTimeout(ok, 200))
    }
  }
}
let out
if (step === 'register') {
  const r = await aigc.registerBatch({ attestation: args.attestation, via: args.via })
  const batch = await indexed(r.batchId)
  const items = r.attestation.batch.items.map((it, k) => ({ ...it, detail: args.details[k] }))
  const published = await aigc.publishBatchManifest({ batchId: r.batchId, items })
  const proof = await aigc.getBatchProof({
    tokenId: r.startId + 2n, batchRegistry: r.attestation.batchRegistry,
  })
  out = {
    batchId: String(r.batchId), count: r.count, indexed: batch.count,
    published: published.manifestPublished, seed: String(proof.item?.seed),
    contentHash: proof.item?.contentHash,
  }
} else {
  const pair = { original: tokenId(args.original[0], args.original[1]),
    duplicate: tokenId(args.duplicate[0], args.duplicate[1]), batchRegistry: args.batchRegistry }
  const act = step === 'challenge' ? aigc.challengeBatch : aigc.finalizeBatch
  out = await act(pair)
}
console.log(JSON.stringify(out))
""")


def _details(attestation: dict, tag: str = "") -> list[str]:
    """The detail bytes of each item of ``attestation``, in its token order."""
    n = len(attestation["items"])
    by_content = {keccak(text=f"content {tag}{i}"): _detail(i) for i in range(n)}
    return ["0x" + by_content[_b(it["content_hash"])].hex() for it in attestation["items"]]


@pytest.mark.anvil
@pytest.mark.slow
def test_register_and_challenge_batches_through_the_api_from_javascript(tmp_path):
    """Against anvil and `aigc serve` (its indexer running), from JavaScript only: the producer
    registers a batch through the API's unsigned transactions (checked against the SDK's
    encoding), publishes its manifest and gets an item's opening checked against the chain's
    roots; a copier batches a copy of one item under another ESP; the producer challenges it
    (challengeBatch) and, once the window has passed, finalizes (finalizeBatch): the copy alone
    is revoked."""
    from tests.conftest import TEST_PARAMS
    from tests.contracts.helpers import copier_esp

    node = node_or_skip()
    with anvil_devnet(tmp_path) as chain:
        world = deployed_world(chain)
        registry = world.deployment.batch_registry.functions

        def drive(port: int) -> dict:
            steps = Steps(node, _LIVE, port, chain, tmp_path)
            original = _signed_batch(world, 4)
            first = steps(
                world.producer,
                "register",
                attestation=original,
                via="api",
                details=_details(original),
            )
            # the copier's batch holds item 1's fingerprint again, attested by another ESP
            copy = _signed_batch(
                world, 3, producer=world.attacker, esp=copier_esp(world), tag="copy ", copies=(1,)
            )
            second = steps(
                world.attacker,
                "register",
                attestation=copy,
                via="wallet",
                details=_details(copy, "copy "),
            )
            fp = keccak(text="fingerprint 1").hex()
            a = next(it["index"] for it in original["items"] if it["fingerprint"][2:] == fp)
            b = next(it["index"] for it in copy["items"] if it["fingerprint"][2:] == fp)
            pair = {
                "original": [int(first["batchId"]), a],
                "duplicate": [int(second["batchId"]), b],
                "batchRegistry": world.deployment.batch_registry.address,
            }
            steps(world.producer, "challenge", **pair)
            world.chain.mine(TEST_PARAMS.dispute_window_blocks + 1)
            steps(world.producer, "finalize", **pair)
            return {"first": first, "second": second, "pair": pair, "original": original}

        out = serve_and_drive(serve_env(tmp_path, world.deployment), tmp_path, drive)
        first, second = out["first"], out["second"]
        assert first["count"] == first["indexed"] == 4 and first["published"] is True
        item = out["original"]["items"][2]
        assert first["seed"] == item["seed"] and first["contentHash"] == item["content_hash"]
        one, copy_batch = int(first["batchId"]), int(second["batchId"])
        for i in range(4):
            assert registry.ownerOf(merkle.token_id(one, i)).call() == world.producer.address
            assert registry.statusOf(merkle.token_id(one, i)).call() == 1  # Active
        dup = out["pair"]["duplicate"][1]
        for i in range(3):
            assert registry.statusOf(merkle.token_id(copy_batch, i)).call() == (
                2 if i == dup else 1
            ), f"copy batch item {i}"
