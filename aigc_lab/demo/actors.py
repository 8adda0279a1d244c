"""The demo's cast, each with its own key: producers, a consumer, a plagiarist, three ESPs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from PIL import Image
from web3.types import TxReceipt

from aigc_lab.demo.stack import Stack
from ledger import EspRegistryClient, HtlcClient, RegistryClient, Transactor
from ledger.clients import BatchRegistryClient
from services.esp_worker import EspWorker
from services.market_client import MarketClient
from services.producer import ProducerSession
from services.provenance import fingerprint

PRODUCERS = ("Alice", "Bob", "Dave")
ESPS = ("ESP-A", "ESP-B", "ESP-C")  # ESP-B colludes with the plagiarist, ESP-C turns lazy


@dataclass
class GasLog:
    """Gas per operation (contract function), summed over the run. ``prefixes`` names the
    contracts whose functions share a name with another's (the BatchRegistry's ``commit``,
    ``reveal``, ``challenge``: "batch commit"), by address."""

    used: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    prefixes: dict[str, str] = field(default_factory=dict)

    def add(self, function: str, receipt: TxReceipt) -> None:
        prefix = self.prefixes.get(str(receipt.get("to") or "").lower(), "")
        self.used[prefix + function].append(int(receipt["gasUsed"]))


@dataclass
class Actor:
    name: str
    account: LocalAccount
    client: MarketClient
    htlc: HtlcClient
    registry: RegistryClient
    esps: EspRegistryClient
    batches: BatchRegistryClient

    @property
    def address(self) -> str:
        return str(self.account.address)


def fp32(image: Image.Image) -> bytes:
    return fingerprint(image).to_bytes32()


class Cast:
    """Everyone in the story, wired to the stack."""

    def __init__(
        self, stack: Stack, *, make_image: Any, price: int, deadline_s: int, state_dir: Path
    ):
        self.gas = GasLog(prefixes={stack.deployment.batch_registry.address.lower(): "batch "})
        self.make_image = make_image
        keys = stack.chain.dev_accounts()
        names = ("deployer", *PRODUCERS, "Carol", "Mallory", *ESPS)
        self.actors = {name: self._actor(stack, name, keys[i]) for i, name in enumerate(names) if i}
        self.producers = {
            name: ProducerSession(a.client, a.htlc, a.registry, a.esps, fingerprint=fp32)
            for name, a in self.actors.items()
            if name in PRODUCERS
        }
        self.workers: dict[str, EspWorker] = {}
        for name in ESPS:
            a = self.actors[name]
            a.esps.register(
                f"http://{name.lower()}.demo",
                price=price,
                stake=int(stack.deployment.manifest.params["esp_min_stake"]),
            )
            self.workers[name] = EspWorker(
                a.client,
                a.htlc,
                make_image=make_image,
                fingerprint=fp32,
                state_path=state_dir / f"{name}.json",
                price=price,
                deadline_s=deadline_s,
                batches=True,  # answers batch attestation requests, as `aigc esp run` does
            )
        self.name_of = {a.address: name for name, a in self.actors.items()}

    def _actor(self, stack: Stack, name: str, key: LocalAccount) -> Actor:
        tx = Transactor(stack.chain, key, on_receipt=self.gas.add)
        client = MarketClient(stack.http, key)
        return Actor(
            name,
            key,
            client,
            HtlcClient(stack.deployment, tx),
            RegistryClient(stack.deployment, tx),
            EspRegistryClient(stack.deployment, tx),
            BatchRegistryClient(stack.deployment, tx),
        )

    def serve(self) -> list[str]:
        """One round of every ESP worker."""
        done = []
        for name, worker in self.workers.items():
            done += [f"{name} {action}" for action in worker.step()]
        return done
