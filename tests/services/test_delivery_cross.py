"""Python and JavaScript (js/sdk/src/delivery.js) agree on fresh keys, not only on the vectors:
JavaScript derives the delivery key from a wallet signature and seals, Python opens; and the
reverse. Node is required under CI (a missing node fails there, see tests/js/_node.py)."""

from __future__ import annotations

import io
import json
import secrets
import subprocess
from typing import Any

import numpy as np
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from PIL import Image

from services.content import canonical_hash
from services.exchange import SealError, key_commitment, open_sealed, public_key_bytes
from services.exchange.delivery_keys import (
    delivery_key_message,
    derive_delivery_key,
    verify_registration,
)
from services.exchange.sealing import (
    compressed,
    esp_sealing_key,
    recipient_sealing_key,
    seal_to,
)
from tests.js._node import ROOT, node_or_skip

DOMAIN, CHAIN_ID = "market.example.org", 8453

# Reads one JSON request on stdin, runs it through delivery.js, writes one JSON answer.
SCRIPT = """
import { bytesToHex, hexToBytes } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import * as d from './js/sdk/src/delivery.js'
const chunks = []
for await (const c of process.stdin) chunks.push(c)
const q = JSON.parse(Buffer.concat(chunks).toString())
const wallet = privateKeyToAccount(q.producer_private_key)
const where = { address: wallet.address, chainId: q.chain_id, domain: q.domain }
const deliveryKey = await d.deriveDeliveryKey({ signer: wallet, ...where })
const out = { registration: await d.registrationBody({ deliveryKey, ...where }) }
if (q.op === 'seal') {
  const key = d.espSealingKey({ espPrivateKey: q.esp_private_key,
    recipientPublicKey: deliveryKey.publicKey, preimage: q.preimage, taskId: q.task_id })
  out.sealed = bytesToHex(d.seal({ plaintext: hexToBytes(q.plaintext), key, taskId: q.task_id,
    recipientPublicKey: deliveryKey.publicKey }))
  out.key_commitment = bytesToHex(d.keyCommitment(key))
  out.content_hash = d.contentHash({ width: q.width, height: q.height, rgb: hexToBytes(q.rgb) })
} else {
  const opened = d.openDelivery({ sealed: hexToBytes(q.sealed), deliveryKey,
    espPublicKey: q.esp_public, preimage: q.preimage, taskId: q.task_id })
  out.plaintext = bytesToHex(opened.plaintext)
  out.key = bytesToHex(opened.key)
}
process.stdout.write(JSON.stringify(out))
"""


def _node(request: dict[str, Any]) -> dict[str, Any]:
    node = node_or_skip()
    run = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT],
        input=json.dumps(request),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return dict(json.loads(run.stdout))


def _h(b: bytes) -> str:
    return "0x" + b.hex()


@pytest.fixture
def case() -> dict[str, Any]:
    rng = np.random.default_rng(secrets.randbits(32))
    image = Image.fromarray(rng.integers(0, 256, (9, 7, 3), dtype=np.uint8))
    png = io.BytesIO()
    image.save(png, format="PNG")
    producer = Account.create()
    message = delivery_key_message(account=producer.address, chain_id=CHAIN_ID, domain=DOMAIN)
    signature = bytes(producer.sign_message(encode_defunct(text=message)).signature)
    return {
        "producer": producer,
        "delivery": derive_delivery_key(
            signature, account=producer.address, chain_id=CHAIN_ID, domain=DOMAIN
        ),
        "esp": bytes(Account.create().key),
        "preimage": secrets.token_bytes(32),
        "task_id": secrets.token_bytes(32),
        "image": image,
        "png": png.getvalue(),
    }


def _request(case: dict[str, Any], op: str) -> dict[str, Any]:
    return {
        "op": op,
        "producer_private_key": _h(bytes(case["producer"].key)),
        "chain_id": CHAIN_ID,
        "domain": DOMAIN,
        "preimage": _h(case["preimage"]),
        "task_id": _h(case["task_id"]),
    }


def _registration_checks(case: dict[str, Any], registration: dict[str, str]) -> None:
    assert registration["public_key"] == _h(case["delivery"].public)  # same key from the wallet
    verify_registration(
        bytes.fromhex(registration["public_key"][2:]),
        bytes.fromhex(registration["proof"][2:]),
        account=case["producer"].address,
        chain_id=CHAIN_ID,
        domain=DOMAIN,
    )


def test_javascript_seals_python_opens(case):
    image = case["image"]
    out = _node(
        {
            **_request(case, "seal"),
            "esp_private_key": _h(case["esp"]),
            "plaintext": _h(case["png"]),
            "width": image.width,
            "height": image.height,
            "rgb": _h(image.tobytes()),
        }
    )
    _registration_checks(case, out["registration"])
    sealed = bytes.fromhex(out["sealed"][2:])
    key = recipient_sealing_key(
        recipient_private=case["delivery"].secret,
        esp_public=public_key_bytes(case["esp"]),
        preimage=case["preimage"],
        task_id=case["task_id"],
    )
    assert _h(key_commitment(key)) == out["key_commitment"]
    opened = open_sealed(sealed, key=key, task_id=case["task_id"])
    assert opened == case["png"]
    assert out["content_hash"] == _h(canonical_hash(Image.open(io.BytesIO(opened))))
    with pytest.raises(SealError):  # the task binds it
        open_sealed(sealed, key=key, task_id=secrets.token_bytes(32))


def test_python_seals_javascript_opens(case):
    recipient = case["delivery"].public
    key = esp_sealing_key(
        esp_private=case["esp"],
        recipient_public=recipient,
        preimage=case["preimage"],
        task_id=case["task_id"],
    )
    sealed = seal_to(case["png"], key=key, task_id=case["task_id"], recipient_public=recipient)
    out = _node(
        {
            **_request(case, "open"),
            "sealed": _h(sealed),
            "esp_public": _h(compressed(public_key_bytes(case["esp"]))),
        }
    )
    _registration_checks(case, out["registration"])
    assert out["plaintext"] == _h(case["png"])
    assert out["key"] == _h(key)  # the key a fraud proof would reveal
