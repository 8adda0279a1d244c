"""The registered ESPs as the EspRegistry's events leave them: the task draw's candidates.

:class:`EspDirectory` is an indexer projection. Every field ``espInfo`` returns moves only with
an event (``EspRegistered``: active, endpoint, price, stake; ``EspUpdated``: endpoint, price;
``EspDeregistered``: inactive, by its own exit or a slash below half the minimum stake;
``EspStakeAdded``, ``EspStakeWithdrawn``, ``EspSlashed``: stake; ``ChallengeRecorded``: lost
challenges), so the directory answers what ``espInfo`` of every ESP answered as of the last
indexed block, from one query. ``POST /v1/tasks`` and ``GET /v1/esps`` read it
(:func:`current_esps`) instead of one ``eth_call`` per registered ESP (1,000 ESPs: 1,001
``eth_call`` and 6,008 JSON-RPC requests per post on the embedded chain; docs/reputation.md).

Freshness, as before (the chain's state at the request): the blocks the indexer has not read
yet (a poll's worth, and the configured confirmations) are read with ONE ``eth_getLogs`` of
those events (``esp`` is an indexed topic of each), and each ESP they name is read with
``espInfo``: an ESP that exited, was slashed out or repriced itself since the last poll is seen
as the chain has it, and one registered since is a candidate already. The drawn ESP is read
again (:func:`draw_live`) and the draw made again without it if it no longer fits: what a
reorg of the indexed blocks could leave stale until the next poll is never drawn either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import event_abi_to_log_topic, to_checksum_address
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ledger import EspRegistryClient
from ledger.clients.esp_registry import EspInfo
from ledger.deploy import Deployment
from ledger.indexer import ChainEvent
from ledger.logs import chunked
from marketplace_api.models import EspDirectoryRow


def _registered(esp: EspDirectoryRow, a: dict[str, Any]) -> None:
    esp.active, esp.endpoint = True, str(a["endpoint"])
    esp.price, esp.stake = str(int(a["price"])), str(int(a["stake"]))


def _updated(esp: EspDirectoryRow, a: dict[str, Any]) -> None:
    esp.endpoint, esp.price = str(a["endpoint"]), str(int(a["price"]))


def _deregistered(esp: EspDirectoryRow, a: dict[str, Any]) -> None:
    esp.active = False


def _stake(key: str | None) -> Callable[[EspDirectoryRow, dict[str, Any]], None]:
    def apply(esp: EspDirectoryRow, a: dict[str, Any]) -> None:
        esp.stake = "0" if key is None else str(int(a[key]))

    return apply


def _lost(esp: EspDirectoryRow, a: dict[str, Any]) -> None:
    esp.challenges_lost = int(a["challengesLost"])


_HANDLERS: dict[str, Callable[[EspDirectoryRow, dict[str, Any]], None]] = {
    "EspRegistered": _registered,
    "EspUpdated": _updated,
    "EspDeregistered": _deregistered,
    "EspStakeAdded": _stake("stake"),
    "EspStakeWithdrawn": _stake(None),  # the whole stake is withdrawn
    "EspSlashed": _stake("stakeLeft"),
    "ChallengeRecorded": _lost,
}


class EspDirectory:
    """Projection of the EspRegistry's events into ``esp_directory`` (one row per ESP)."""

    def __call__(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            handler = _HANDLERS.get(row["event"]) if row["contract"] == "EspRegistry" else None
            if handler is None:
                continue
            a = row["args"]
            esp = session.get(EspDirectoryRow, a["esp"])
            if esp is None:  # its first registration: it joins the registry's list
                listed = session.scalar(select(func.count()).select_from(EspDirectoryRow))
                esp = EspDirectoryRow(address=a["esp"], listed=int(listed or 0), challenges_lost=0)
                session.add(esp)
            handler(esp, a)
            esp.updated_block = row["block_number"]
            session.flush()

    def rewind(self, session: Session, ancestor: int) -> None:
        """After a reorg past ``ancestor`` (the indexer dropped the events above it): rebuilt
        from the EspRegistry's events that remain."""
        session.execute(delete(EspDirectoryRow))
        session.flush()
        replay = session.execute(
            select(ChainEvent.contract, ChainEvent.event, ChainEvent.args, ChainEvent.block_number)
            .where(ChainEvent.contract == "EspRegistry", ChainEvent.event.in_(tuple(_HANDLERS)))
            .where(ChainEvent.block_number <= ancestor)
            .order_by(ChainEvent.block_number, ChainEvent.log_index)
        )
        self(session, [r._asdict() for r in replay])


@dataclass(frozen=True)
class EspEntry:
    """An ESP's ``espInfo`` fields the draw and the listing use."""

    address: str
    endpoint: str
    price: int
    stake: int
    active: bool
    challenges_lost: int

    @classmethod
    def of_row(cls, row: EspDirectoryRow) -> EspEntry:
        return cls(
            row.address, row.endpoint, int(row.price), int(row.stake), row.active,
            row.challenges_lost,
        )  # fmt: skip

    @classmethod
    def of_info(cls, info: EspInfo) -> EspEntry:
        return cls(
            info.address, info.endpoint, info.price, info.stake, info.active,
            info.challenges_lost,
        )  # fmt: skip


def changed_since(deployment: Deployment, block: int) -> list[str]:
    """The ESPs named by a directory event after ``block`` (the indexer's checkpoint) up to the
    head, in the order of their first such event: one ``eth_getLogs`` (more only over a range a
    node refuses whole: :func:`ledger.logs.chunked`), none when the index is at the head."""
    w3 = deployment.chain.w3
    head = int(w3.eth.block_number)
    if head <= block:
        return []
    registry = EspRegistryClient(deployment).contract
    topics = [
        "0x" + bytes(event_abi_to_log_topic(e)).hex()  # type: ignore[arg-type]
        for e in registry.abi
        if e.get("type") == "event" and e.get("name") in _HANDLERS
    ]

    def fetch(frm: int, to: int) -> list[Any]:
        query: Any = {
            "address": registry.address,
            "fromBlock": frm,
            "toBlock": to,
            "topics": [topics],
        }
        return list(w3.eth.get_logs(query))

    seen: dict[str, None] = {}
    for logs in chunked(fetch, block + 1, head):
        for log in logs:
            seen[to_checksum_address(bytes(log["topics"][1])[-20:])] = None
    return list(seen)


def current_esps(
    session: Session, deployment: Deployment, *, indexed_to: int, max_price: int | None = None
) -> list[EspEntry]:
    """The active ESPs as the chain has them now, in the registry's order (``esps()``): the
    directory as of block ``indexed_to`` (the indexer's checkpoint), the ESPs with an event
    since read with ``espInfo``. Only those priced within ``max_price`` when it is given (what a
    task paying at most that can be drawn for)."""
    changed = changed_since(deployment, indexed_to)
    rows = session.scalars(
        select(EspDirectoryRow)
        .where(EspDirectoryRow.active | EspDirectoryRow.address.in_(changed))
        .order_by(EspDirectoryRow.listed)
    )
    entries = {r.address: EspEntry.of_row(r) for r in rows}
    reader = EspRegistryClient(deployment)
    for address in changed:  # a key already there keeps its place; a new ESP goes last
        entries[address] = EspEntry.of_info(reader.esp_info(address))
    return [e for e in entries.values() if e.active and (max_price is None or e.price <= max_price)]


def draw_live(
    candidates: Sequence[str], draw: Callable[[list[str]], str], fits: Callable[[str], bool]
) -> str:
    """``draw`` among ``candidates``, then ``fits`` (the chain's ``espInfo`` of the drawn ESP:
    active, priced within the task's ``max_price``) confirms it; a drawn ESP that no longer
    fits leaves the candidates and the draw is made again. ``draw`` raises when none is left
    (``NoEligibleEspError``: 422 ``no_eligible_esp``)."""
    left = list(candidates)
    while True:
        esp = draw(left)
        if fits(esp):
            return esp
        left.remove(esp)
