"""An injected EIP-1193 test provider backed by a dev key.

``window.ethereum.request`` in the page forwards to a Python binding that signs with the account
(``personal_sign``, ``eth_signTypedData_v4``) and signs and sends transactions on the test chain
(``eth_sendTransaction``): the same calls a browser wallet answers, the key never in the page.
``reject`` makes the wallet refuse like a person pressing "Reject" (EIP-1193 code 4001);
``chain_id`` lets a test put the wallet on the wrong network. :class:`NodeBackedWallet` also
answers the reads a wallet proxies to its node, for the pages that run the SDK (viem).
"""

from __future__ import annotations

import re
from typing import Any

from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount

INIT = """
(() => {
  const listeners = {};
  window.ethereum = {
    isTestWallet: true,
    async request({ method, params }) {
      const answer = await window.__testWallet(method, params === undefined ? null : params);
      if (answer && answer.error) {
        const err = new Error(answer.error.message);
        err.code = answer.error.code;
        throw err;
      }
      return answer.result;
    },
    on(event, fn) { (listeners[event] ||= []).push(fn); },
    removeListener(event, fn) {
      listeners[event] = (listeners[event] || []).filter((f) => f !== fn);
    },
  };
})();
"""


class TestWallet:
    """One account's wallet on ``chain``; attach it to a Playwright page with :meth:`install`."""

    __test__ = False  # not a pytest class

    def __init__(self, account: LocalAccount, chain: Any):
        self.account = account
        self.chain = chain
        self.chain_id = chain.chain_id
        self.reject: set[str] = set()
        self.calls: list[str] = []
        self.sent: list[str] = []

    def install(self, page: Any) -> None:
        page.expose_function("__testWallet", self._answer)
        page.add_init_script(INIT)

    def _answer(self, method: str, params: Any) -> dict[str, Any]:
        self.calls.append(method)
        if method in self.reject:
            return {"error": {"code": 4001, "message": "User rejected the request."}}
        try:
            return {"result": self._handle(method, params or [])}
        except Exception as exc:  # a wallet reports, it does not crash the page
            return {"error": {"code": -32603, "message": str(exc)}}

    def _handle(self, method: str, params: list[Any]) -> Any:
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [self.account.address.lower()]  # as many wallets do: lower case
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "wallet_switchEthereumChain":
            self.chain_id = int(params[0]["chainId"], 16)
            return None
        if method == "personal_sign":
            data = bytes.fromhex(params[0][2:])
            assert params[1].lower() == self.account.address.lower()
            return "0x" + self.account.sign_message(encode_defunct(primitive=data)).signature.hex()
        if method == "eth_signTypedData_v4":
            import json

            typed = encode_typed_data(full_message=json.loads(params[1]))
            return "0x" + self.account.sign_message(typed).signature.hex()
        if method == "eth_sendTransaction":
            tx = dict(params[0])
            if int(tx.get("chainId", hex(self.chain_id)), 16) != self.chain_id:
                raise ValueError("chain id of the transaction is not the wallet's")
            if self.chain_id != self.chain.chain_id:
                raise ValueError("the wallet is on another network")
            w3 = self.chain.w3
            fields = {
                "to": w3.to_checksum_address(tx["to"]),
                "data": tx.get("data", "0x"),
                "value": int(tx.get("value", "0x0"), 16),
                "gas": int(tx["gas"], 16),
                "maxFeePerGas": int(tx["maxFeePerGas"], 16),
                "maxPriorityFeePerGas": int(tx["maxPriorityFeePerGas"], 16),
                "chainId": self.chain_id,
                "nonce": w3.eth.get_transaction_count(self.account.address, "pending"),
                "type": 2,
            }
            signed = self.account.sign_transaction(fields)
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
            receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
            if receipt["status"] != 1:
                raise ValueError("transaction reverted")
            self.sent.append("0x" + bytes(tx_hash).hex())
            return self.sent[-1]
        raise ValueError(f"unsupported method {method}")


# What a wallet answers by asking its node: the page reads the chain through the wallet, as
# MetaMask and others proxy reads to their RPC node (the embedded chain has no HTTP endpoint).
READS = {
    "eth_blockNumber",
    "eth_call",
    "eth_estimateGas",
    "eth_gasPrice",
    "eth_getBalance",
    "eth_getBlockByNumber",
    "eth_getCode",
    "eth_getLogs",
    "eth_getTransactionByHash",
    "eth_getTransactionCount",
    "eth_getTransactionReceipt",
    "eth_maxPriorityFeePerGas",
}


class NodeBackedWallet(TestWallet):
    """The test wallet, also answering reads from its node and filling gas and fees on the
    transactions a dapp leaves them out of (viem's writeContract through a JSON-RPC account)."""

    __test__ = False

    def __init__(self, account: Any, chain: Any):
        super().__init__(account, chain)
        self.errors: list[str] = []  # what it refused, for a failing test's message

    def _answer(self, method: str, params: Any) -> dict[str, Any]:
        answer = super()._answer(method, params)
        if "error" in answer:
            self.errors.append(f"{method}: {answer['error']['message']}")
        return answer

    def _handle(self, method: str, params: list[Any]) -> Any:
        w3 = self.chain.w3
        if method in READS:
            if method == "eth_getLogs":  # eth-tester's filter keys are snake_case
                params = [
                    {
                        _snake(k): int(v, 16) if k.endswith("Block") and v.startswith("0x") else v
                        for k, v in params[0].items()
                        if v is not None
                    }
                ]
            if method == "eth_call" and "from" not in params[0]:
                params = [{**params[0], "from": self.account.address}, *params[1:]]
            if method in ("eth_call", "eth_estimateGas") and "value" in params[0]:
                # eth-tester takes the value of a call as an int (a simulated payable call:
                # the SDK's courtReinstate simulates with the bond)
                params = [{**params[0], "value": int(params[0]["value"], 16)}, *params[1:]]
            answer = w3.provider.make_request(method, params)
            if "error" in answer:
                raise ValueError(str(answer["error"]))
            return _rpc(answer["result"])
        if method == "eth_sendTransaction":
            tx = dict(params[0])
            if "gas" not in tx:
                estimate = {k: tx[k] for k in ("from", "to", "data", "value") if k in tx}
                estimate["from"] = self.account.address
                tx["gas"] = hex(int(w3.eth.estimate_gas(estimate) * 1.3))
            if "maxFeePerGas" not in tx:
                base = w3.eth.get_block("latest")["baseFeePerGas"]
                tx["maxPriorityFeePerGas"] = hex(10**9)
                tx["maxFeePerGas"] = hex(2 * base + 10**9)
            params = [tx]
        return super()._handle(method, params)


def _rpc(value: Any) -> Any:
    """eth-tester's Python-shaped answer (snake_case keys, ints, bytes) as JSON-RPC sends it."""
    if isinstance(value, dict):
        return {
            re.sub(r"_([a-z0-9])", lambda m: m[1].upper(), k): _rpc(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_rpc(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def _snake(key: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), key)
