"""Red team 4: a metadata URI that is not UTF-8 no longer stops the indexer.

The Registry takes any bytes as a registration's metadata URI (a Solidity ``string`` is not
checked), and the indexer decodes each log with ``eth_abi``, which decodes a ``string`` as
strict UTF-8: a ``Registered`` whose URI holds ``0xff`` raises ``UnicodeDecodeError`` in the
decoding of the block's logs, so the poll failed, and every later poll failed on the same block,
for the gas of one registration (a strict xfail before the fix). The indexer's decoder now
decodes strings with ``errors="replace"`` (ledger/indexer/_decoder.py): the bytes that are not
UTF-8 are shown as U+FFFD and the product is indexed.
"""

from __future__ import annotations

from PIL import Image

from ledger import Registration
from services.content import canonical_hash
from services.provenance import fingerprint
from services.provenance.detail import detail_descriptor
from tests.contracts.helpers import paid_lock, register_esp


def test_a_non_utf8_metadata_uri_is_indexed_not_fatal(api):
    world = api.world
    register_esp(world)
    img = Image.new("RGB", (64, 64), (30, 160, 30))
    for x in range(0, 64, 8):
        img.paste((220, 20, 20), (x // 2, x, x // 2 + 9, x + 6))
    lock = paid_lock(world, world.producer, world.esp)
    reg = Registration(
        content_hash=canonical_hash(img),
        fingerprint=fingerprint(img).to_bytes32(),
        detail=detail_descriptor(img),
        owner=world.producer.address,
        esp=world.esp.address,
        task_id=lock.id,
        model_id=b"\x01" * 32,
        seed=1,
        metadata_uri="ipfs://QQQQ",
    )
    client = world.registry(world.producer)
    client.commit(reg)
    fn = client.reveal_call(reg, lock, client.sign_attestation(world.esp, reg)).fn
    transactor = world.tx(world.producer)
    tx = transactor.unsigned(fn)
    data = bytes.fromhex(str(tx["data"]).removeprefix("0x"))
    assert data.count(b"ipfs://QQQQ") == 1
    tx["data"] = "0x" + data.replace(b"ipfs://QQQQ", b"ipfs://\xff\xfe\xfd\xfc").hex()
    tx["nonce"] = world.chain.w3.eth.get_transaction_count(world.producer.address, "pending")
    receipt = transactor._send_signed(tx)
    assert receipt["status"] == 1  # the contract takes it
    api.index()  # raised UnicodeDecodeError in the ledger's log decoding before the fix
    token = int.from_bytes(reg.content_hash, "big")
    product = api.client.get(f"/v1/products/{token}")
    assert product.status_code == 200, product.text
    shown = {k: v for k, v in product.json().items() if isinstance(v, str) and "ipfs://" in v}
    assert shown and all("\ufffd" in v for v in shown.values()), product.json()
