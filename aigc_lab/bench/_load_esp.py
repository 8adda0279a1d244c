"""One ESP worker as its own OS process for `aigc bench load --esp-processes` ("workers
elsewhere"): the same :class:`services.esp_worker.EspWorker` as the bench's threads, polling the
API over HTTP and sending its claims to the chain with its own key.

``python -m aigc_lab.bench._load_esp API_URL STATE_FILE CONSTANT INTERVAL``, with the key in
``LOAD_ESP_KEY`` (never on the command line, where ``ps`` shows it) and the chain and deployment
from the usual ``AIGC_CHAIN`` / ``AIGC_DATA_DIR``. The bench registered the ESP on chain before
starting it. Prints ``ready`` once it polls, stops on SIGTERM and prints its retries as JSON.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
from eth_account import Account


def spawn(
    *, api: str, key: bytes, state: Path, constant: bool, interval: float, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Starts one worker process; its output goes to ``state`` with the suffix ``.log``."""
    log = state.with_suffix(".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    args = [api, str(state), "1" if constant else "0", str(interval)]
    return subprocess.Popen(
        [sys.executable, "-m", "aigc_lab.bench._load_esp", *args],
        env=env | {"LOAD_ESP_KEY": key.hex()},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def main(argv: list[str]) -> None:
    from aigc_lab.bench._load_faults import Retries, esp_loop
    from aigc_lab.bench.load import PRICE, constant_image_maker, fp32
    from ledger import HtlcClient, Transactor
    from ledger.config import get_settings
    from ledger.connect import connect_deployment
    from services.esp_worker import EspWorker
    from services.market_client import MarketClient

    api, state, constant, interval = argv
    account = Account.from_key(bytes.fromhex(os.environ.pop("LOAD_ESP_KEY")))
    deployment = connect_deployment(get_settings())
    if constant == "1":
        make = constant_image_maker()
    else:
        from generators.maker import image_maker

        make = image_maker("bundled")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    retries = Retries()
    with httpx.Client(base_url=api, timeout=60) as http:
        worker = EspWorker(
            MarketClient(http, account),
            HtlcClient(deployment, Transactor(deployment.chain, account)),
            make_image=make,
            fingerprint=fp32,
            state_path=Path(state),
            price=PRICE,
            deadline_s=3600,
        )
        print("ready", flush=True)
        esp_loop(worker, stop, float(interval), retries)
    print(json.dumps({"retries": dict(retries.counts)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
