"""A Python client of the marketplace API that signs in with Ethereum using a local key.

The key never leaves the process: the client signs the EIP-4361 message locally and sends only
the message and the signature. Any ``httpx.Client`` works (a FastAPI ``TestClient`` too).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pydantic_core
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from services.siwe import SiweMessage


class MarketError(Exception):
    """Raised when the API answers an error; carries the status and the stable error code."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def answer_json(resp: httpx.Response) -> Any:
    """The answer's JSON, parsed by pydantic-core, which bounds nesting (``ValueError`` beyond,
    as for any answer that is not JSON). Not ``resp.json()``: the processes that import the
    ledger run with Python's recursion limit raised to 100,000 (py-evm, py_ecc), and the
    standard parser recursed through an answer of 200,000 nested brackets until the process
    died (an API the caller does not trust, such as a juror's, could kill it)."""
    return pydantic_core.from_json(resp.content)


class MarketClient:
    """Signed-in access to the API as ``account``."""

    def __init__(self, http: httpx.Client, account: LocalAccount):
        self.http = http
        self.account = account
        self._token: str | None = None

    @property
    def address(self) -> str:
        return str(self.account.address)

    def sign_in(self) -> None:
        nonce = self._call("POST", "/v1/auth/nonce", auth=False)
        now = datetime.now(UTC).replace(microsecond=0)
        text = SiweMessage(
            domain=nonce["domain"],
            address=self.address,
            statement="Sign in to the AIGC marketplace.",
            uri=nonce["uri"],
            version="1",
            chain_id=nonce["chain_id"],
            nonce=nonce["nonce"],
            issued_at=now,
            expiration_time=now + timedelta(minutes=10),
        ).to_text()
        signature = self.account.sign_message(encode_defunct(text=text)).signature.hex()
        out = self._call(
            "POST",
            "/v1/auth/verify",
            auth=False,
            json={"message": text, "signature": "0x" + signature.removeprefix("0x")},
        )
        self._token = out["token"]

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params=params)

    def get_bytes(self, path: str) -> bytes:
        resp = self.http.get(path, headers=self._headers())
        self._raise(resp)
        return resp.content

    def post(self, path: str, *, json: Any = None, files: Any = None, data: Any = None) -> Any:
        return self._call("POST", path, json=json, files=files, data=data)

    def put(self, path: str, *, files: Any = None, json: Any = None) -> Any:
        return self._call("PUT", path, files=files, json=json)

    def delete(self, path: str) -> Any:
        return self._call("DELETE", path)

    # -- trades --------------------------------------------------------------------------------
    def relay_signed(self, tx: dict[str, Any], *, nonce: int, wait: bool = True) -> Any:
        """Signs an unsigned transaction the API built with the local key and relays it.

        The relay answers with the hash at once; with ``wait`` this follows it
        (:meth:`wait_tx`) and returns the mined status, else the relay's ``{tx_hash, state}``.
        Amounts come as decimal strings (every uint256 does) and are read with ``int``."""
        signed = self.account.sign_transaction(
            {
                "to": tx["to"],
                "data": tx["data"],
                "value": int(tx["value"]),
                "chainId": tx["chainId"],
                "gas": tx["gas"],
                "maxFeePerGas": int(tx["maxFeePerGas"]),
                "maxPriorityFeePerGas": int(tx["maxPriorityFeePerGas"]),
                "nonce": nonce,
            }
        )
        raw = "0x" + signed.raw_transaction.hex().removeprefix("0x")
        sent = self.post("/v1/tx/relay", json={"raw": raw})
        return self.wait_tx(sent["tx_hash"]) if wait else sent

    def wait_tx(self, tx_hash: str, *, timeout_s: float = 120.0, poll_s: float = 0.2) -> Any:
        """Follows ``GET /v1/tx/{hash}`` until the transaction is mined; a reverted one raises
        :class:`MarketError` with the contract's custom error as its code."""
        deadline = time.monotonic() + timeout_s
        while True:
            out = self.get(f"/v1/tx/{tx_hash}")
            if out["state"] == "mined":
                if out["status"] != 1:
                    err = out.get("error") or {}
                    raise MarketError(
                        409,
                        err.get("code", "transaction_reverted"),
                        err.get("message", "reverted"),
                    )
                return out
            if time.monotonic() >= deadline:
                raise MarketError(504, "tx_" + out["state"], f"{tx_hash} not mined in time")
            time.sleep(poll_s)

    def pay_trade(self, trade_id: int, *, nonce: int, timelock: int | None = None) -> Any:
        """Swap leg 2 through REST alone: asks ``payment-tx`` for every lock the offer requires
        (the seller's payment and, on a resale, the producer's royalty), signs each with the
        local key (nonces from ``nonce`` up) and relays it. Returns the ``payment-tx`` answer."""
        body = {} if timelock is None else {"timelock": timelock}
        out = self.post(f"/v1/trades/{trade_id}/payment-tx", json=body)
        for i, leg in enumerate(out["locks"]):
            self.relay_signed(leg["tx"], nonce=nonce + i)
        return out

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            self.sign_in()
        return {"Authorization": f"Bearer {self._token}"}

    def _call(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> Any:
        headers = self._headers() if auth else {}
        resp = self.http.request(method, path, headers=headers, **kwargs)
        if resp.status_code == 401 and auth and self._token is not None:
            self._token = None  # expired: sign in again once
            resp = self.http.request(method, path, headers=self._headers(), **kwargs)
        self._raise(resp)
        return answer_json(resp)

    @staticmethod
    def _raise(resp: httpx.Response) -> None:
        if resp.status_code < 400:
            return
        try:
            err = answer_json(resp)["error"]
            raise MarketError(resp.status_code, err["code"], err["message"])
        except (ValueError, KeyError, TypeError):
            raise MarketError(resp.status_code, "http_error", resp.text[:200]) from None
