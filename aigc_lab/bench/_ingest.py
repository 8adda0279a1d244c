"""Test data for ``aigc bench api``: products in the database, events on chain, and the timed
ingest of those events by the indexer."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from eth_typing import HexStr
from eth_utils import to_checksum_address
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session
from web3 import HTTPProvider, Web3
from web3.exceptions import Web3Exception
from web3.types import Nonce, RPCEndpoint, TxParams, Wei

from aigc_lab.bench._report import ApiBenchError, IngestResult
from ledger import Chain, Deployment, RpcChain
from ledger.indexer import Indexer
from marketplace_api.db import Base, make_engine
from marketplace_api.market import Market
from marketplace_api.models import Product, ProductEvent


def fill_products(engine: Engine, count: int, *, seed: int = 0) -> list[str]:
    """Inserts ``count`` products, each with its ``registered`` history entry, shaped like the
    catalog's rows; returns their token ids in registration order."""
    rng = random.Random(seed)

    def address() -> str:
        return str(to_checksum_address("0x" + rng.randbytes(20).hex()))

    producers = [address() for _ in range(max(1, count // 20))]
    esps = [address() for _ in range(8)]
    model = "0x" + hashlib.sha256(b"bundled").hexdigest()
    products: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for i in range(count):
        token = "0x" + hashlib.sha256(f"aigc-bench-{seed}-{i}".encode()).hexdigest()
        producer, esp = rng.choice(producers), rng.choice(esps)
        products.append(
            {"token_id": token, "fingerprint": "0x" + rng.randbytes(32).hex(),
             "producer": producer, "owner": producer, "esp": esp,
             "task_id": "0x" + rng.randbytes(32).hex(), "model_id": model,
             "seed": str(rng.randrange(2**32)), "registered_block": 100 + i, "status": "active",
             "image_blob": None, "metadata_uri": f"aigc://token/{int(token, 16)}"}
        )  # fmt: skip
        history.append(
            {"token_id": token, "kind": "registered", "block_number": 100 + i,
             "tx_hash": "0x" + rng.randbytes(32).hex(), "data": {"producer": producer, "esp": esp}}
        )  # fmt: skip
    with Session(engine) as session, session.begin():
        if products:
            session.execute(insert(Product), products)
            session.execute(insert(ProductEvent), history)
    return [p["token_id"] for p in products]


def tx_batch_size(chain: Chain, per_block: int) -> int:
    """Transactions sent between two progress reports (one block on anvil)."""
    return per_block if isinstance(chain, RpcChain) else 25


def put_events(
    deployment: Deployment, *, count: int, per_block: int = 100, seed: int = 0,
    on_batch: Callable[[], None] = lambda: None,
) -> None:  # fmt: skip
    """Puts ``count`` events on chain: Registry commits and HTLC Ether locks, alternating.

    On anvil (automine paused) ``per_block`` transactions go in one JSON-RPC batch and are mined
    together; on the embedded chain each transaction is mined on its own. The sender is a dev
    account the node holds the key of (``eth_sendTransaction``).
    """
    chain, w3 = deployment.chain, deployment.chain.w3
    accounts = chain.dev_accounts()
    sender, receiver = accounts[7].address, accounts[8].address
    rng = random.Random(seed)
    nonce = w3.eth.get_transaction_count(sender)
    timelock = chain.timestamp() + 86_400
    fee = 2 * int(w3.eth.get_block("latest").get("baseFeePerGas", 0)) + 10**9
    registry, htlc, chain_id = deployment.registry, deployment.htlc, chain.chain_id
    bond = int(registry.functions.parameters().call()[0])  # a commit carries the bond (v2)

    def tx(i: int) -> TxParams:
        if i % 2 == 0:
            to, value = registry.address, bond
            data = registry.encode_abi("commit", args=[rng.randbytes(32)])
        else:
            to, value = htlc.address, 1
            data = htlc.encode_abi("lockEther", args=[receiver, rng.randbytes(32), timelock])
        return {"from": sender, "to": to, "data": HexStr(data), "value": Wei(value),
                "gas": 150_000, "nonce": Nonce(nonce + i), "maxFeePerGas": Wei(fee),
                "maxPriorityFeePerGas": Wei(10**9), "chainId": chain_id}  # fmt: skip

    batch_size = tx_batch_size(chain, per_block)
    anvil = isinstance(chain, RpcChain) and isinstance(w3.provider, HTTPProvider)
    try:
        if anvil:
            w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [False])
        for first in range(0, count, batch_size):
            todo = range(first, min(count, first + batch_size))
            if anvil:
                _send_batch(cast(HTTPProvider, w3.provider), [tx(i) for i in todo])
                chain.mine(1)
                mined = len(w3.eth.get_block("latest")["transactions"])
                if mined != len(todo):
                    raise ApiBenchError(f"anvil mined {mined} of {len(todo)} transactions")
            else:
                for i in todo:
                    w3.eth.send_transaction(tx(i))
            on_batch()
    except Web3Exception as exc:
        raise ApiBenchError(f"putting events on chain failed: {exc}") from None
    finally:
        if anvil:
            w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [True])


def _send_batch(provider: HTTPProvider, txs: Sequence[TxParams]) -> None:
    """``eth_sendTransaction`` for each of ``txs`` in one JSON-RPC batch (web3's own batching
    refuses that method); the node signs for its unlocked dev accounts."""
    raw = [{k: hex(v) if isinstance(v, int) else v for k, v in tx.items()} for tx in txs]
    answers = provider.make_batch_request(
        [(RPCEndpoint("eth_sendTransaction"), [tx]) for tx in raw]
    )
    errors = [a["error"] for a in answers if "error" in a] if isinstance(answers, list) else []
    if not isinstance(answers, list) or errors:
        raise ApiBenchError(f"the node refused transactions: {errors[:1] or answers}")


class _TimedEth:
    """Stands in for ``w3.eth`` inside an indexer and adds up the seconds of its chain reads."""

    def __init__(self, eth: Any) -> None:
        self._eth = eth
        self.seconds = 0.0

    def _timed(self, read: Callable[[], Any]) -> Any:
        began = time.perf_counter()
        try:
            return read()
        finally:
            self.seconds += time.perf_counter() - began

    @property
    def block_number(self) -> int:
        return int(self._timed(lambda: self._eth.block_number))

    def get_logs(self, query: Any) -> Any:
        return self._timed(lambda: self._eth.get_logs(query))

    def get_block(self, ident: Any) -> Any:
        return self._timed(lambda: self._eth.get_block(ident))


class _TimedProvider:
    """Stands in for the provider: times raw requests (the indexer reads logs raw from nodes)."""

    def __init__(self, provider: Any, eth: _TimedEth) -> None:
        self._provider = provider
        self._eth = eth

    def make_request(self, method: Any, params: Any) -> Any:
        return self._eth._timed(lambda: self._provider.make_request(method, params))


class _TimedWeb3:
    def __init__(self, w3: Web3) -> None:
        self.eth = _TimedEth(w3.eth)
        self.codec = w3.codec
        self.provider = _TimedProvider(w3.provider, self.eth)


def measure_ingest(deployment: Deployment, db_path: Path, *, projections: bool) -> IngestResult:
    """Times one ``poll()`` from scratch into a fresh SQLite file at ``db_path``: the API's
    indexer with its projections, or (``projections=False``) a bare :class:`Indexer`."""
    if db_path.exists():
        raise ApiBenchError(f"{db_path} exists: the ingest needs a fresh database")
    engine = make_engine(f"sqlite:///{db_path}")
    try:
        if projections:
            Base.metadata.create_all(engine)
            indexer = Market(deployment, engine).indexer
        else:
            indexer = Indexer(deployment, engine)
        timed = _TimedWeb3(indexer.w3)
        indexer.w3 = cast(Web3, timed)
        began = time.perf_counter()
        result = indexer.poll()
        seconds = time.perf_counter() - began
    finally:
        engine.dispose()
    return IngestResult(
        indexer="API (projections)" if projections else "bare Indexer",
        events=result.events,
        blocks=result.to_block - result.from_block + 1,
        seconds=seconds,
        chain_read_s=timed.eth.seconds,
    )
