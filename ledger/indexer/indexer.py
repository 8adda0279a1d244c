"""Follows the contracts' events into SQL, resumable, idempotent and reorg-safe.

Each ``poll()``:

1. checks that the checkpoint block is still on the chain; if not, walks back through the stored
   block hashes to the last common ancestor, deletes the rows above it and rewinds (a reorg deeper
   than ``max_reorg_depth`` raises :class:`ReorgTooDeep` and changes nothing: an operator must
   look);
2. reads logs from the checkpoint + 1 up to ``head - confirmations`` in batches (``batch_blocks``,
   halved while the node refuses a batch's ``eth_getLogs``: a node caps the range one may span);
3. for each batch, in ONE database transaction: inserts the events (a duplicate
   (block hash, tx hash, log index) is skipped), calls the ``projections`` (so derived tables move
   with the events), records block hashes, and moves the checkpoint.

Stopping at any point leaves the database at a batch boundary; the next run resumes there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import event_abi_to_log_topic
from hexbytes import HexBytes
from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from web3.exceptions import Web3Exception, Web3RPCError

from ledger import artifacts
from ledger.deploy import Deployment
from ledger.errors import LedgerError
from ledger.indexer._decoder import EventDecoder
from ledger.indexer.schema import ChainEvent, Checkpoint, IndexedBlock, IndexerBase

Projection = Callable[[Session, Sequence[dict[str, Any]]], None]
"""Called with the session and the batch's new events (dicts as stored), inside the batch's
transaction; also called with ``removed=True`` semantics through ``on_rewind``."""


class IndexerError(LedgerError):
    """Raised when the indexer cannot follow the chain."""


class LogRangeRefused(IndexerError):
    """The node answered a batch's ``eth_getLogs`` with an error (a range wider than its cap,
    among others): :meth:`Indexer.poll` halves the batch and reads it again."""


class ReorgTooDeep(IndexerError):
    """Raised when the chain reorganised deeper than the indexer may rewind by itself."""

    def __init__(self, depth_checked: int, checkpoint: int):
        self.depth_checked = depth_checked
        self.checkpoint = checkpoint
        super().__init__(
            f"chain reorganised below block {checkpoint - depth_checked} (checkpoint {checkpoint}, "
            f"limit {depth_checked} blocks): refusing to rewind automatically"
        )


class DatabaseOfAnotherDeployment(IndexerError):
    """Raised when the database already indexes another deployment (one database per deployment).

    Events, indexed block hashes and everything projected from them are not keyed by deployment,
    so following a second deployment into the same database would mix two chains' histories. A
    chain started afresh (embedded, or a devnet without its state file) is another deployment
    even where the addresses repeat: the deployment block's hash differs.
    """

    def __init__(self, indexed: str, requested: str):
        self.indexed = indexed
        self.requested = requested
        super().__init__(
            f"this database indexes deployment {indexed} (chain id:Registry:deployment block "
            f"hash), not {requested}: "
            "use a fresh database for a new deployment (e.g. another AIGC_DATABASE_URL)"
        )


@dataclass
class PollResult:
    from_block: int
    to_block: int
    events: int
    rewound_to: int | None = None


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | HexBytes):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class Indexer:
    """Indexes the events of one deployment into the database behind ``engine``."""

    def __init__(
        self,
        deployment: Deployment,
        engine: Engine,
        *,
        confirmations: int = 0,
        batch_blocks: int = 500,
        max_reorg_depth: int = 64,
        projections: Sequence[Projection] = (),
        on_rewind: Callable[[Session, int], None] | None = None,
    ):
        if confirmations < 0 or batch_blocks < 1 or max_reorg_depth < 1:
            raise ValueError("confirmations >= 0, batch_blocks >= 1, max_reorg_depth >= 1 required")
        self.deployment = deployment
        self.w3 = deployment.chain.w3
        self.engine = engine
        self.confirmations = confirmations
        self.batch_blocks = batch_blocks  # halved while the node refuses a batch's range
        self._configured_batch = batch_blocks
        self.max_reorg_depth = max_reorg_depth
        self.projections = list(projections)
        self.on_rewind = on_rewind
        manifest = deployment.manifest
        self.key = self._deployment_key()
        self._contracts = {manifest.address(n).lower(): n for n in manifest.contracts}
        # Keyed by (emitting address, topic0): the Registry and the BatchRegistry share event
        # signatures (Transfer, Revoked, MetadataUpdate, the challenge events), so a topic alone
        # would label one contract's log with the other's name.
        self._events: dict[tuple[str, bytes], EventDecoder] = {}
        for name in manifest.contracts:
            address = manifest.address(name).lower()
            for item in artifacts.abi(name):
                if item.get("type") == "event":
                    topic = bytes(event_abi_to_log_topic(item))  # type: ignore[arg-type]
                    self._events[(address, topic)] = EventDecoder(name, item)
        IndexerBase.metadata.create_all(engine)
        self._claim_database()

    # -- identity ------------------------------------------------------------------------------
    def _deployment_key(self) -> str:
        """``chain id:Registry:hash of the deployment block``.

        The block hash tells a re-created chain from the one the database followed: an embedded
        chain or a devnet started afresh deploys the same addresses at the same block numbers.
        """
        manifest = self.deployment.manifest
        try:
            block_hash = self._block_hash(manifest.block)
        except Web3Exception as exc:
            raise IndexerError(
                f"the deployment block {manifest.block} is not on this chain ({exc}): "
                "the chain was reset; redeploy"
            ) from None
        return f"{manifest.chain_id}:{manifest.address('Registry').lower()}:{block_hash}"

    def _claim_database(self) -> None:
        """Refuses a database that follows another deployment; adopts a checkpoint kept under
        the older key (chain id:Registry, no block hash) when its block is still on this chain."""
        legacy = self.key.rsplit(":", 1)[0]
        with Session(self.engine) as s, s.begin():
            rows = s.execute(select(Checkpoint)).scalars().all()
            for row in rows:
                if row.deployment == legacy and self._on_chain(row.block_number, row.block_hash):
                    row.deployment = self.key
            other = next((r.deployment for r in rows if r.deployment != self.key), None)
            if other is not None:  # raising inside begin() rolls the adoption back too
                raise DatabaseOfAnotherDeployment(other, self.key)

    def _on_chain(self, number: int, block_hash: str) -> bool:
        try:
            return self._block_hash(number) == block_hash
        except Web3Exception:
            return False

    # -- state ---------------------------------------------------------------------------------
    def checkpoint(self) -> tuple[int, str | None]:
        """(last indexed block, its hash); the deployment block - 1 when nothing is indexed."""
        with Session(self.engine) as s:
            cp = s.get(Checkpoint, self.key)
            if cp is None:
                return self.deployment.manifest.block - 1, None
            return cp.block_number, cp.block_hash

    # -- one round -----------------------------------------------------------------------------
    def poll(self) -> PollResult:
        """Indexes everything new (up to head - confirmations); returns what it did."""
        rewound = self._handle_reorg()
        start, _ = self.checkpoint()
        head = int(self.w3.eth.block_number) - self.confirmations
        total = 0
        frm = start + 1
        while frm <= head:
            to = min(head, frm + self.batch_blocks - 1)
            try:
                total += self._ingest(frm, to)
            except LogRangeRefused:
                # a node caps the blocks one eth_getLogs may span: the batch is halved and the
                # smaller size kept (ledger.logs); a refused single block is no range cap (the
                # node is failing): raised, and the configured size restored for the next poll
                if to == frm:
                    self.batch_blocks = self._configured_batch
                    raise
                self.batch_blocks = (to - frm + 1) // 2
                continue
            frm = to + 1
        return PollResult(start + 1, max(head, start), total, rewound)

    def _ingest(self, frm: int, to: int) -> int:
        manifest = self.deployment.manifest
        addresses = [manifest.address(n) for n in manifest.contracts]
        logs = self._get_logs(frm, to, addresses)
        rows = [row for row in (self._decode(log) for log in logs) if row is not None]
        wanted = set(range(max(frm, to - self.max_reorg_depth), to + 1))
        wanted |= {r["block_number"] for r in rows}
        blocks = {n: self.w3.eth.get_block(n) for n in sorted(wanted)}
        hashes = {n: "0x" + bytes(b["hash"]).hex() for n, b in blocks.items()}
        for r in rows:
            if hashes[r["block_number"]] != r["block_hash"]:
                raise IndexerError("chain changed while reading a batch; retry")
            r["block_time"] = int(blocks[r["block_number"]]["timestamp"])
        with Session(self.engine) as s, s.begin():
            if rows:
                s.execute(self._insert_ignore(ChainEvent), rows)
            for number, block_hash in hashes.items():
                if number >= to - self.max_reorg_depth:
                    s.merge(IndexedBlock(number=number, hash=block_hash))
            s.execute(delete(IndexedBlock).where(IndexedBlock.number < to - self.max_reorg_depth))
            for projection in self.projections:
                projection(s, rows)
            s.merge(Checkpoint(deployment=self.key, block_number=to, block_hash=hashes[to]))
        return len(rows)

    def _get_logs(self, frm: int, to: int, addresses: list[str]) -> list[dict[str, Any]]:
        """Logs of the range. Against a JSON-RPC node the raw answer is read directly (web3's
        result formatting took half the ingest time); eth-tester goes through web3."""
        if self.deployment.chain.kind == "embedded":
            query: Any = {"fromBlock": frm, "toBlock": to, "address": addresses}
            try:
                return [dict(log) for log in self.w3.eth.get_logs(query)]
            except (Web3RPCError, ValueError) as exc:
                raise LogRangeRefused(f"eth_getLogs failed: {exc}") from None
        params = [{"fromBlock": hex(frm), "toBlock": hex(to), "address": addresses}]
        response = self.w3.provider.make_request("eth_getLogs", params)  # type: ignore[arg-type]
        if "error" in response:
            raise LogRangeRefused(f"eth_getLogs failed: {response['error']}")
        return [
            {
                "blockNumber": int(log["blockNumber"], 16),
                "blockHash": bytes.fromhex(log["blockHash"][2:]),
                "transactionHash": bytes.fromhex(log["transactionHash"][2:]),
                "logIndex": int(log["logIndex"], 16),
                "topics": [bytes.fromhex(t[2:]) for t in log["topics"]],
                "data": bytes.fromhex(log["data"][2:]),
                "removed": log.get("removed", False),
                "address": log["address"],
            }
            for log in response["result"]
        ]

    def _decode(self, log: Any) -> dict[str, Any] | None:
        topic0 = bytes(log["topics"][0]) if log["topics"] else b""
        decoder = self._events.get((str(log["address"]).lower(), topic0))
        if decoder is None:
            return None
        return {
            "block_number": int(log["blockNumber"]),
            "block_hash": "0x" + bytes(log["blockHash"]).hex(),
            "tx_hash": "0x" + bytes(log["transactionHash"]).hex(),
            "log_index": int(log["logIndex"]),
            "contract": decoder.contract,
            "event": decoder.name,
            "args": _jsonable(decoder.args(log["topics"], bytes(log["data"]))),
        }

    def _block_hash(self, number: int) -> str:
        return "0x" + bytes(self.w3.eth.get_block(number)["hash"]).hex()

    def _insert_ignore(self, table: type[IndexerBase]) -> Any:
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        if dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing()
        raise IndexerError(f"unsupported database dialect {dialect}")

    # -- reorgs --------------------------------------------------------------------------------
    def _handle_reorg(self) -> int | None:
        number, stored_hash = self.checkpoint()
        if stored_hash is None:
            return None
        head = int(self.w3.eth.block_number)
        if number <= head and self._block_hash(number) == stored_hash:
            return None
        with Session(self.engine) as s:
            known = dict(s.execute(select(IndexedBlock.number, IndexedBlock.hash)).tuples().all())
        ancestor = None
        for n in range(min(number, head), number - self.max_reorg_depth - 1, -1):
            if n in known and n <= head and self._block_hash(n) == known[n]:
                ancestor = n
                break
        if ancestor is None:
            raise ReorgTooDeep(self.max_reorg_depth, number)
        with Session(self.engine) as s, s.begin():
            s.execute(delete(ChainEvent).where(ChainEvent.block_number > ancestor))
            s.execute(delete(IndexedBlock).where(IndexedBlock.number > ancestor))
            if self.on_rewind is not None:
                self.on_rewind(s, ancestor)
            s.merge(
                Checkpoint(deployment=self.key, block_number=ancestor, block_hash=known[ancestor])
            )
        return ancestor

    # -- reading -------------------------------------------------------------------------------
    def events(self, event: str | None = None) -> list[ChainEvent]:
        with Session(self.engine) as s:
            q = select(ChainEvent).order_by(ChainEvent.block_number, ChainEvent.log_index)
            if event is not None:
                q = q.where(ChainEvent.event == event)
            return list(s.scalars(q).all())
