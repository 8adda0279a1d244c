"""Messages and signatures made by viem (the pinned npm package, as a dApp makes them) sign in:
createSiweMessage with and without a statement, with every optional field and a scheme;
account.signMessage's 65-byte signature and its EIP-2098 compact form. Needs node (skipped
locally without it, a failure under CI)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest

from services import siwe
from tests.js._node import ROOT, node_or_skip

SCRIPT = """
import { createSiweMessage } from 'viem/siwe';
import { privateKeyToAccount } from 'viem/accounts';
import { parseSignature, serializeCompactSignature, signatureToCompactSignature } from 'viem';

const account = privateKeyToAccount('0x' + '01'.repeat(32));
const base = {
  address: account.address, chainId: 31337, domain: 'localhost:8000',
  nonce: 'abcdef0123456789', uri: 'http://localhost:8000', version: '1',
  issuedAt: new Date('2026-01-02T03:04:05.678Z'),
};
const cases = {
  plain: base,
  full: {
    ...base,
    statement: 'Sign in to the AIGC marketplace: terms at https://example.com/tos?v=2#top',
    expirationTime: new Date('2026-01-02T03:14:05.678Z'),
    notBefore: new Date('2026-01-02T03:04:05.678Z'),
    requestId: 'req-42',
    resources: ['ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
                'https://example.com/claims/1.json?x=1#y'],
  },
  scheme: { ...base, scheme: 'http' },
};
const out = {};
for (const [name, fields] of Object.entries(cases)) {
  const message = createSiweMessage(fields);
  const signature = await account.signMessage({ message });
  const compact = serializeCompactSignature(signatureToCompactSignature(parseSignature(signature)));
  out[name] = { message, signature, compact, address: account.address };
}
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def viem_cases() -> dict:
    node = node_or_skip()
    run = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.parametrize("name", ["plain", "full", "scheme"])
@pytest.mark.parametrize("form", ["signature", "compact"])
def test_viem_messages_and_signatures_verify(viem_cases, name, form):
    case = viem_cases[name]
    assert len(bytes.fromhex(case["compact"][2:])) == 64
    signed = siwe.verify(
        case["message"],
        case[form],
        domain="localhost:8000",
        uri="http://localhost:8000",
        chain_id=31337,
        now=datetime(2026, 1, 2, 3, 5, tzinfo=UTC),
        scheme="http",
    )
    msg = signed.message
    assert msg.address == case["address"] and signed.wallet == siwe.WalletKind.EOA
    if name == "plain":
        assert msg.statement is None and f"{case['address']}\n\n\nURI:" in case["message"]
    if name == "full":
        assert msg.statement.startswith("Sign in") and msg.request_id == "req-42"
        assert len(msg.resources) == 2
        assert msg.expiration_time == datetime(2026, 1, 2, 3, 14, 5, 678000, tzinfo=UTC)
    if name == "scheme":
        assert msg.scheme == "http"
