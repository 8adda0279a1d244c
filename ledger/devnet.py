"""A local anvil devnet that the project starts, stops and persists.

``start_anvil`` launches anvil (cancun, chain id 31337, the dev mnemonic) on a port with a state
file: anvil loads it on start, dumps it every few seconds and on a clean stop, so chain state
survives restarts. ``aigc devnet up|down|status`` wraps these with a pid file in the data dir.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ledger._paths import node_modules
from ledger.accounts import DEV_MNEMONIC
from ledger.chain import RpcChain
from ledger.config import LedgerSettings
from ledger.errors import ChainError

ANVIL_CHAIN_ID = 31337


def anvil_binary() -> Path:
    """The anvil executable: ``AIGC_ANVIL``, else the npm-pinned binary, else ``anvil`` on PATH."""
    override = LedgerSettings().anvil
    if override:
        return override
    pinned = sorted(node_modules().glob("@foundry-rs/anvil-*/bin/anvil"))
    if pinned:
        return pinned[0]
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise ChainError("anvil not found: run `npm ci` (or `make install`), or set AIGC_ANVIL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DevnetProcess:
    """A running anvil owned by the project."""

    pid: int
    port: int
    state_file: str
    log_file: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Stops anvil cleanly (SIGTERM makes it dump its state), SIGKILL after ``timeout``."""
        if not self.alive():
            return
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                done = self.pid if not self.alive() else 0
            if done:
                return
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)

    def kill(self) -> None:
        """Kills anvil abruptly (no final state dump): for fault-injection tests."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)


def start_anvil(
    state_file: Path,
    *,
    port: int | None = None,
    log_file: Path | None = None,
    state_interval: int = 2,
    timeout: float = 20.0,
) -> DevnetProcess:
    """Starts anvil persisting to ``state_file``; returns once it answers JSON-RPC."""
    port = port or free_port()
    state_file.parent.mkdir(parents=True, exist_ok=True)
    log_path = log_file or state_file.with_suffix(".log")
    cmd = [
        str(anvil_binary()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chain-id",
        str(ANVIL_CHAIN_ID),
        "--hardfork",
        "cancun",
        "--mnemonic",
        DEV_MNEMONIC,
        "--balance",
        "10000",
        "--state",
        str(state_file),
        "--state-interval",
        str(state_interval),
        # Keep past blocks' states in memory only (the last few hundred) and never on disk:
        # by default anvil moves older states into ~/.foundry/anvil/tmp and does not remove
        # them when it is stopped, about 2 GB per test run that mines registration windows (74 GB
        # had piled up on a developer machine). Nothing here reads state at an old block:
        # logs and receipts are kept, and evm_snapshot holds its own copy.
        "--prune-history",
    ]
    with open(log_path, "ab") as log:
        try:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        except OSError as exc:  # AIGC_ANVIL names no executable
            raise ChainError(f"cannot start anvil at {cmd[0]}: {exc.strerror or exc}") from exc
    dev = DevnetProcess(proc.pid, port, str(state_file), str(log_path))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ChainError(f"anvil exited with code {proc.returncode}; see {log_path}")
        try:
            RpcChain(dev.url, dev=True, timeout=1.0)
            return dev
        except ChainError:
            time.sleep(0.1)
    dev.kill()
    raise ChainError(f"anvil did not answer on port {port} within {timeout:.0f}s; see {log_path}")


def write_pidfile(path: Path, dev: DevnetProcess) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(dev)))


def read_pidfile(path: Path) -> DevnetProcess | None:
    """The devnet recorded in ``path`` if it is still running, else None."""
    try:
        dev = DevnetProcess(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return dev if dev.alive() else None
