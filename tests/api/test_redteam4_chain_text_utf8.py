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

from typing import Any

from tests.api.test_redteam4_chain_text import uri_registration


def send_with_bytes(world, account, fn, marker: bytes, raw: bytes, *, value: int = 0) -> None:
    """Sends ``fn`` from ``account`` with the string bytes ``marker`` of its calldata replaced
    by ``raw`` (the same length: bytes no client would encode, such as invalid UTF-8); the
    contract takes any bytes as a string."""
    transactor = world.tx(account)
    tx: Any = transactor.unsigned(fn, value=value)
    data = bytes.fromhex(str(tx["data"]).removeprefix("0x"))
    assert data.count(marker) == 1 and len(marker) == len(raw)
    tx["data"] = "0x" + data.replace(marker, raw).hex()
    tx["nonce"] = world.chain.w3.eth.get_transaction_count(account.address, "pending")
    assert transactor._send_signed(tx)["status"] == 1  # the contract takes it


def test_a_non_utf8_metadata_uri_is_indexed_not_fatal(api):
    world = api.world
    reg, lock = uri_registration(world, "ipfs://QQQQ", ((30, 160, 30), (220, 20, 20)))
    client = world.registry(world.producer)
    client.commit(reg)
    fn = client.reveal_call(reg, lock, client.sign_attestation(world.esp, reg)).fn
    send_with_bytes(world, world.producer, fn, b"QQQQ", b"\xff\xfe\xfd\xfc")
    api.index()  # raised UnicodeDecodeError in the ledger's log decoding before the fix
    token = int.from_bytes(reg.content_hash, "big")
    product = api.client.get(f"/v1/products/{token}")
    assert product.status_code == 200, product.text
    shown = {k: v for k, v in product.json().items() if isinstance(v, str) and "ipfs://" in v}
    assert shown and all("\ufffd" in v for v in shown.values()), product.json()
