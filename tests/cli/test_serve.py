"""`aigc serve` on the embedded chain, started twice: the chain is new each time, and so is its
database unless one is configured, in which case the second start is refused cleanly."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from ledger.devnet import free_port


def _checkpointed(db) -> bool:
    """Whether the indexer has written its checkpoint into the SQLite file ``db``."""
    try:
        with sqlite3.connect(db) as con:
            return bool(con.execute("SELECT count(*) FROM indexer_checkpoint").fetchone()[0])
    except sqlite3.Error:
        return False


def serve_until(
    env: dict[str, str],
    cwd,
    probe: Callable[[int], Any],
    *,
    command: Sequence[str] = (sys.executable, "-m", "aigc_cli.main", "serve"),
) -> tuple[int | None, Any]:
    """Starts `aigc serve` (or ``command``, given ``--port``) in ``cwd`` and stops it again;
    returns (exit code, output) if it exits first, else (None, the first truthy
    ``probe(port)``; transport errors count as not yet).

    The server's output goes to a file, not a pipe nobody reads while it runs: a server that
    wrote more than the pipe holds (64 KiB) blocked on the write and never served. The file is
    read when the server exits and into the message when it neither serves nor exits."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="aigc-serve-output-") as scratch:
        log = Path(scratch) / "output.txt"
        with log.open("w") as out:
            server = subprocess.Popen(
                [*command, "--port", str(port)],
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if server.poll() is not None:
                    return server.returncode, log.read_text(errors="replace")
                try:
                    if answer := probe(port):
                        return None, answer
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            raise AssertionError(
                f"{command[-1]} neither served nor exited; its output ends:\n"
                + log.read_text(errors="replace")[-4000:]
            )
        finally:
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=20)


def _serve(env: dict[str, str], cwd, until=lambda: True) -> tuple[int | None, str]:
    """(exit code, output) if `aigc serve` exits, (None, "") once it serves /healthz and
    ``until()`` holds."""

    def healthy(port: int) -> bool:
        return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200 and until()

    code, output = serve_until(env, cwd, healthy)
    return (None, "") if code is None else (code, output)


def test_embedded_serve_twice_with_and_without_a_configured_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGC_")}
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env |= {
        "AIGC_CHAIN": "embedded",
        "AIGC_DATA_DIR": str(tmp_path / "data"),
        "TMPDIR": str(scratch),
    }
    assert _serve(env, tmp_path) == (None, "")
    assert _serve(env, tmp_path) == (None, "")  # a scratch database each time
    assert not (tmp_path / ".aigc" / "marketplace.db").exists()
    assert not list(scratch.glob("aigc-serve-*"))  # removed when the server stopped

    env["AIGC_DATABASE_URL"] = f"sqlite:///{tmp_path / 'kept.db'}"
    assert _serve(env, tmp_path, until=lambda: _checkpointed(tmp_path / "kept.db")) == (None, "")
    code, output = _serve(env, tmp_path)
    assert code == 1, output
    assert "use a fresh database" in output and "Traceback" not in output


def test_workers_need_a_shared_chain(tmp_path):
    """N replicas of an in-process chain would be N different chains: refused, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGC_")}
    env |= {"AIGC_CHAIN": "embedded", "AIGC_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "aigc_cli.main", "serve", "--workers", "2"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "--workers needs a shared chain" in output and "Traceback" not in output


_CHATTY = """
import http.server, sys
sys.stdout.write("a chatty server's start-up log line\\n" * 20_000)  # ~700 KiB
sys.stdout.flush()
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        print("request", *args, flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[-1])), Health).serve_forever()
"""


def test_a_chatty_server_does_not_block_on_its_output(tmp_path):
    """A server that writes more than a pipe holds before it serves still serves (before: its
    output went to a pipe read only after it exited, so it blocked on the write and the test
    ran into its deadline: "neither served nor exited")."""
    env = dict(os.environ)

    def healthy(port: int) -> bool:
        return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200

    command = (sys.executable, "-c", _CHATTY, "chatty server")
    assert serve_until(env, tmp_path, healthy, command=command) == (None, True)
