"""The chain side of reputation: the ``ReputationView`` contract and the evidence events.

* :class:`OnChainReputation` reads ``contracts/ReputationView.sol`` (1e18 fixed point) as floats
  and :class:`Opinion` objects, so anyone can check a ranking against the chain.
* :func:`interactions_from_events` turns EspRegistry's ``FeedbackRecorded`` events into
  :class:`Interaction` records (time = the block's timestamp, as ``EvidenceLib`` records it),
  ready for :class:`ReputationEngine`: the same evidence on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from web3 import Web3
from web3.contract import Contract
from web3.types import BlockIdentifier

from ledger import artifacts
from ledger.logs import event_logs
from ledger.tx import call
from services.reputation.interactions import Interaction
from services.reputation.opinion import Opinion
from services.reputation.params import ReputationParams
from services.reputation.verdicts import VERDICT_EVENTS

__all__ = ["ONE", "OnChainReputation", "interactions_from_events", "verdict_rows"]

ONE = 10**18
"""Fixed-point one of the contracts."""


class OnChainReputation:
    """Read-only access to a deployed ``ReputationView``."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract

    @classmethod
    def at(cls, w3: Web3, address: str) -> OnChainReputation:
        """The view deployed at ``address`` (ABI from the committed artifact)."""
        checksum = Web3.to_checksum_address(address)
        return cls(w3.eth.contract(address=checksum, abi=artifacts.abi("ReputationView")))

    def parameters(self) -> ReputationParams:
        """The contract's constants as :class:`ReputationParams` (equal to the defaults)."""
        decay, period, value_ref, negative, prior, base = call(
            self.contract.functions.parameters().call
        )
        return ReputationParams(
            decay=decay / ONE,
            period=int(period),
            negative_weight=negative / ONE,
            prior_weight=prior / ONE,
            base_rate=base / ONE,
            value_reference=int(value_ref),
        )

    def reputation(self, producer: str, esp: str, *, now: int | None = None) -> float:
        """T = b + a*u of ``esp`` from ``producer``'s view, at ``now`` (default: latest block)."""
        if now is None:
            raw = call(self.contract.functions.reputation(producer, esp).call)
        else:
            raw = call(self.contract.functions.reputationAt(producer, esp, now).call)
        return int(raw) / ONE

    def _opinion(self, function: str, producer: str, esp: str, now: int) -> Opinion:
        fn: Any = getattr(self.contract.functions, function)(producer, esp, now)
        b, d, u = call(fn.call)
        base = call(self.contract.functions.BASE_RATE().call)
        return Opinion(int(b) / ONE, int(d) / ONE, int(u) / ONE, int(base) / ONE)

    def local_opinion(self, producer: str, esp: str, *, now: int) -> Opinion:
        """``producer``'s own opinion about ``esp``."""
        return self._opinion("localOpinion", producer, esp, now)

    def recommended_opinion(self, producer: str, esp: str, *, now: int) -> Opinion:
        """The weighted average of the other producers' opinions about ``esp``."""
        return self._opinion("recommendedOpinion", producer, esp, now)

    def opinion(self, producer: str, esp: str, *, now: int) -> Opinion:
        """The consensus of the local and the recommended opinion."""
        return self._opinion("combinedOpinion", producer, esp, now)


def interactions_from_events(
    esp_registry: Contract, *, from_block: int = 0, to_block: int | str = "latest"
) -> list[Interaction]:
    """Every ``FeedbackRecorded`` event of ``esp_registry`` in the range, as interactions; read
    in chunks (a node limits the blocks one log query may span). ``to_block``: a number or a
    block tag ("latest", "finalized", ...)."""
    w3 = esp_registry.w3
    tag = cast(BlockIdentifier, to_block)
    stop = to_block if isinstance(to_block, int) else int(w3.eth.get_block(tag)["number"])
    logs = event_logs(esp_registry, "FeedbackRecorded", from_block, stop)
    timestamps: dict[int, int] = {}
    out: list[Interaction] = []
    for log in logs:
        block = int(log["blockNumber"])
        if block not in timestamps:
            timestamps[block] = int(w3.eth.get_block(block)["timestamp"])
        args = log["args"]
        out.append(
            Interaction(
                producer=str(args["producer"]),
                esp=str(args["esp"]),
                positive=bool(args["positive"]),
                value=int(args["value"]),
                time=timestamps[block],
            )
        )
    return out


def verdict_rows(
    contracts: Mapping[str, Contract], *, from_block: int = 0, to_block: int | str = "latest"
) -> list[dict[str, Any]]:
    """What ``services.reputation.verdicts.lost_challenges`` reads, straight from the chain:
    every log of ``VERDICT_EVENTS`` that the given contracts (manifest name -> contract: the
    Registry, BatchRegistry, BatchCourt and EspRegistry that are deployed) emitted in the range,
    in chain order, as rows (contract, event, args, tx_hash, block_time). Anyone can rebuild the
    ranking's verdicts with it, without the marketplace's database."""
    tag = cast(BlockIdentifier, to_block)
    found: list[tuple[int, int, str, str, Any]] = []
    w3: Web3 | None = None
    for name, contract in contracts.items():
        w3 = contract.w3
        stop = to_block if isinstance(to_block, int) else int(w3.eth.get_block(tag)["number"])
        names = {i.get("name") for i in contract.abi if i.get("type") == "event"}
        for event in sorted(VERDICT_EVENTS & names):
            for log in event_logs(contract, event, from_block, stop):
                found.append((int(log["blockNumber"]), int(log["logIndex"]), name, event, log))
    found.sort(key=lambda f: (f[0], f[1]))
    times: dict[int, int] = {}
    rows: list[dict[str, Any]] = []
    for block, _, name, event, log in found:
        if block not in times and w3 is not None:
            times[block] = int(w3.eth.get_block(block)["timestamp"])
        rows.append(
            {
                "contract": name,
                "event": event,
                "args": dict(log["args"]),
                "tx_hash": "0x" + bytes(log["transactionHash"]).hex(),
                "block_time": times[block],
            }
        )
    return rows
