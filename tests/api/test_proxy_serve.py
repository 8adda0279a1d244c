"""`aigc serve` believes X-Forwarded-For only from AIGC_TRUSTED_PROXIES.

uvicorn rewrites the client address from X-Forwarded-For itself when the peer is loopback (its
``proxy_headers`` default, trusting 127.0.0.1 and ::1). So with AIGC_TRUSTED_PROXIES unset, a
client on the API's host (or any client of a local proxy that passes the header through
unchanged) wrote a fresh address per request and got a fresh nonce bucket each time (failed
before: 6 of 6 nonces at a limit of 2). `aigc serve` now turns uvicorn's handling off; the API's
own rule (marketplace_api.proxies) is the only one.
"""

from __future__ import annotations

import os

import httpx

from tests.cli.test_serve import serve_until


def _statuses(env: dict[str, str], cwd, forwarded: list[str]) -> list[int]:
    def probe(port: int) -> list[int] | None:
        if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code != 200:
            return None
        return [
            httpx.post(
                f"http://127.0.0.1:{port}/v1/auth/nonce", headers={"X-Forwarded-For": xff}
            ).status_code
            for xff in forwarded
        ]

    code, answer = serve_until(env, cwd, probe)
    assert code is None, answer
    return answer


def test_serve_reads_x_forwarded_for_only_from_trusted_proxies(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGC_")}
    env |= {
        "AIGC_CHAIN": "embedded",
        "AIGC_DATA_DIR": str(tmp_path / "data"),
        "AIGC_RATE_NONCE_PER_MINUTE": "2",
        "AIGC_INDEXER_INTERVAL_S": "0",
    }
    spoofed = [f"198.51.100.{i}" for i in range(6)]
    assert _statuses(env, tmp_path, spoofed) == [200, 200, 429, 429, 429, 429]

    env["AIGC_TRUSTED_PROXIES"] = "127.0.0.1/32, ::1"  # a proxy on this host
    forwarded = ["203.0.113.9, 198.51.100.1", "198.51.100.1", "198.51.100.1", "198.51.100.2"]
    assert _statuses(env, tmp_path, forwarded) == [200, 200, 429, 200]
