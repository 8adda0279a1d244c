"""Chain backends behind one interface.

- :class:`EmbeddedChain`: py-evm in process through eth-tester. Zero set-up, ephemeral: state
  lives in memory and dies with the process (it says so).
- :class:`RpcChain`: any EVM JSON-RPC URL. :func:`ledger.devnet.start_anvil` gives one backed by a
  local anvil with a state file; against anvil the dev-only controls (snapshot, time travel) work
  through anvil's ``evm_*`` methods, against other nodes they raise :class:`ChainError`.

Every backend answers ``w3`` (a web3.py ``Web3``), ``chain_id``, ``snapshot``/``revert``,
``mine`` and ``increase_time``. All are pinned to the cancun EVM where the project starts them.
"""

from __future__ import annotations

import itertools
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3._utils.abi import build_strict_registry
from web3.providers.eth_tester import EthereumTesterProvider

from ledger.abi_text import lenient_codec
from ledger.accounts import DEV_HD_BASE, DEV_MNEMONIC, dev_accounts
from ledger.errors import ChainError


class Chain:
    """Base class: a connected ``Web3`` plus the controls tests and demos need."""

    kind = "base"
    ephemeral = False
    # The block gas estimates run against: nodes take "pending" (the next block); eth-tester
    # refuses that tag but already estimates in a fresh block on top of the head.
    estimate_block = "pending"

    def __init__(self, w3: Web3):
        # contract reads decode a string that is not UTF-8 with U+FFFD instead of raising
        # (ledger.abi_text): an ESP's endpoint is whatever bytes it registered
        w3.codec = lenient_codec(build_strict_registry())
        self.w3 = w3

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def dev_accounts(self) -> list[LocalAccount]:
        """The funded dev accounts (local chains only)."""
        raise ChainError(f"{self.kind} chain has no dev accounts: use a keystore (aigc account)")

    def snapshot(self) -> Any:
        raise ChainError(f"{self.kind} chain cannot take snapshots")

    def revert(self, snapshot_id: Any) -> None:
        raise ChainError(f"{self.kind} chain cannot revert to snapshots")

    def mine(self, blocks: int = 1) -> None:
        raise ChainError(f"{self.kind} chain cannot mine on demand")

    def increase_time(self, seconds: int) -> None:
        """Moves the chain's clock forward and mines a block at the new time."""
        raise ChainError(f"{self.kind} chain cannot travel in time")

    def timestamp(self) -> int:
        """The chain's "now": the timestamp the next block will carry (the pending block's).

        Local chains stamp blocks with the wall clock, so after a quiet spell the latest block's
        timestamp lags; a timelock computed from it could already be too short.
        """
        try:
            return int(self.w3.eth.get_block("pending")["timestamp"])
        except Exception:  # a node without a pending block: the head is the best guess
            return int(self.w3.eth.get_block("latest")["timestamp"])

    def close(self) -> None:
        """Releases the connection (and, for owned processes, stops them)."""

    def describe(self) -> str:
        return f"{self.kind} chain (id {self.chain_id})"


def _estimate_in_two_runs(state: Any, transaction: Any) -> int:
    """py-evm's gas estimate in two executions instead of a binary search's ~14.

    py-evm's default estimator bisects between the intrinsic gas and the block gas limit,
    executing the transaction at every step; the detail rule's ``resolve`` (2.1M gas of
    comparison) took minutes to estimate. Here the transaction runs once at the block gas limit
    (a revert there is raised exactly as the default estimator raises it): what executes no code
    (a plain transfer) gets its intrinsic gas, as before; anything else is tried once more at its
    intrinsic gas plus what its execution used (py-evm counts the two apart, and execution gas
    is counted before refunds) plus 1/32 plus 21,000, which covers the 63/64 rule's reserve for
    nested calls, and if that still fails the default search decides. The estimate can be above
    the minimum, never below what succeeds; gas *used* (receipts, the gas snapshots) does not
    depend on it.
    """
    from eth.estimators.gas import _get_computation_error, binary_gas_search_intrinsic_tolerance
    from eth.vm.spoof import SpoofTransaction

    maximum = SpoofTransaction(transaction, gas=state.gas_limit, gas_price=0)
    snapshot = state.snapshot()
    try:
        computation = state.apply_transaction(maximum)
        if computation.is_error:
            raise computation.error
        used = int(computation.get_gas_used())
    finally:
        state.revert(snapshot)
    intrinsic = int(transaction.intrinsic_gas)
    if used == 0:
        return intrinsic
    candidate = min(int(state.gas_limit), intrinsic + used + used // 32 + 21_000)
    retry: Any = SpoofTransaction(transaction, gas=candidate)
    if _get_computation_error(state, retry) is None:
        return candidate
    return int(binary_gas_search_intrinsic_tolerance(state, transaction))


def _estimate_at_the_pending_stamp(chain: Any, transaction: Any, at_header: Any = None) -> int:
    """py-evm's ``Chain.estimate_gas``, run in a block stamped as the pending block is.

    py-evm estimates in a fresh child of the head stamped with the wall clock, but eth-tester
    stamps the pending block (where the transaction is then mined) when the previous block was
    mined. After a quiet spell the two differ by the whole spell: a lock whose timelock was
    computed from :meth:`Chain.timestamp` (the pending stamp) plus the HTLC's minimum failed
    estimation with ``LockTimelockTooShort`` although it would have been mined fine (a test
    chain idle ~20 minutes in a loaded CI run refused a 120 s lock). Estimating at the stamp the
    transaction will be mined with keeps estimation and execution in the same block time."""
    if at_header is not None:
        from eth.chains.base import Chain as PyEvmChain

        return int(PyEvmChain.estimate_gas(chain, transaction, at_header))
    head = chain.get_canonical_head()
    vm = chain.get_vm(head)
    child = vm.generate_block_from_parent_header_and_coinbase(head, head.coinbase).header
    stamp = max(int(chain.header.timestamp), int(head.timestamp) + 1)
    changes: dict[str, Any] = {"timestamp": stamp}
    if hasattr(child, "base_fee_per_gas"):
        changes["base_fee_per_gas"] = 0  # costless, as py-evm's own estimate
    header = child.copy(**changes)
    previous = itertools.chain((head.hash,), vm.previous_hashes)
    state = vm.build_state(vm.chaindb.db, header, vm.chain_context, previous)
    snapshot = state.snapshot()
    try:
        return int(chain.gas_estimator(state, transaction))
    finally:
        state.revert(snapshot)


def _transaction_by_hash(chain: Any, transaction_hash: bytes) -> tuple[Any, Any, int]:
    """eth-tester's transaction lookup, through py-evm's hash index instead of a walk of the chain.

    eth-tester finds a transaction (for every receipt, and for every transaction in the range of
    every ``get_logs``) by decoding the blocks from the head down until it meets it: the cost of a
    receipt grew with the chain's height, and a juror's log scan over a few hundred blocks took
    minutes. py-evm already keeps a hash -> (block, index) index of the canonical chain; the hit
    is checked against the canonical block at that height (a snapshot revert may leave entries
    above the head), and anything else takes eth-tester's own walk, so answers are unchanged.
    """
    from eth.exceptions import TransactionNotFound

    head = chain.get_block()
    for index, transaction in enumerate(head.transactions):
        if transaction.hash == transaction_hash:
            return head, transaction, index
    try:
        number, index = chain.chaindb.get_transaction_index(transaction_hash)
    except TransactionNotFound:
        number = None
    if number is not None and number < head.number:
        block = chain.get_canonical_block_by_number(number)
        if index < len(block.transactions) and block.transactions[index].hash == transaction_hash:
            return block, block.transactions[index], index
    found: tuple[Any, Any, int] = _walk_the_chain(chain, transaction_hash)
    return found


_walk_the_chain: Any = None  # eth-tester's own lookup, kept for what the index does not answer


def _index_transaction_lookups() -> None:
    """Installs :func:`_transaction_by_hash` in eth-tester's py-evm backend (once per process)."""
    global _walk_the_chain
    from eth_tester.backends.pyevm import main as pyevm

    if _walk_the_chain is None:
        _walk_the_chain = pyevm._get_transaction_by_hash
        pyevm._get_transaction_by_hash = _transaction_by_hash


class EmbeddedChain(Chain):
    """py-evm (cancun) in this process, funded dev accounts; nothing persists."""

    kind = "embedded"
    ephemeral = True
    estimate_block = "latest"

    def __init__(self) -> None:
        from eth.vm.forks import CancunVM
        from eth_tester import EthereumTester, PyEVMBackend

        backend = PyEVMBackend.from_mnemonic(
            DEV_MNEMONIC,
            num_accounts=10,
            hd_path=DEV_HD_BASE,
            genesis_state_overrides={"balance": 10_000 * 10**18},
            vm_configuration=((0, CancunVM),),
        )
        # On the class for the chain objects a revert to genesis rebuilds, and on this one too:
        # py-evm's constructor already put its default (the bisection) on the instance, which
        # shadowed the class attribute, so until now the estimates here were still bisected.
        type(backend.chain).gas_estimator = staticmethod(_estimate_in_two_runs)
        backend.chain.gas_estimator = _estimate_in_two_runs
        type(backend.chain).estimate_gas = _estimate_at_the_pending_stamp
        _index_transaction_lookups()
        self.tester = EthereumTester(backend)
        super().__init__(Web3(EthereumTesterProvider(self.tester)))

    def dev_accounts(self) -> list[LocalAccount]:
        return dev_accounts()

    def snapshot(self) -> int:
        return int(self.tester.take_snapshot())

    def revert(self, snapshot_id: Any) -> None:
        self.tester.revert_to_snapshot(snapshot_id)

    def mine(self, blocks: int = 1) -> None:
        tester = self.tester
        quiet = not (tester._block_filters or tester._log_filters)
        if blocks > 1 and tester.auto_mine_transactions and quiet:
            # eth-tester reads every block it mined back (a third of the time) only to feed
            # filters; with none installed and no pending transactions the blocks are the same.
            tester.backend.mine_blocks(blocks)
            return
        tester.mine_blocks(blocks)

    def increase_time(self, seconds: int) -> None:
        self.tester.time_travel(self.timestamp() + int(seconds))

    def describe(self) -> str:
        return f"embedded py-evm chain (id {self.chain_id}; ephemeral: state is lost on exit)"


class RpcChain(Chain):
    """Any JSON-RPC node. ``dev=True`` (anvil) enables dev accounts and ``evm_*`` controls."""

    kind = "rpc"

    def __init__(self, url: str, *, dev: bool = False, timeout: float = 30.0):
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))
        if not w3.is_connected():
            raise ChainError(f"no EVM node answers at {url}")
        super().__init__(w3)
        self.url = url
        self.dev = dev
        if dev:
            self.kind = "anvil"

    def _rpc(self, method: str, params: list[Any]) -> Any:
        if not self.dev:
            raise ChainError(f"{method} is a dev-node method; {self.url} is not a devnet")
        resp = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in resp:
            raise ChainError(f"{method} failed: {resp['error']}")
        return resp.get("result")

    def dev_accounts(self) -> list[LocalAccount]:
        if not self.dev:
            return super().dev_accounts()
        return dev_accounts()

    def snapshot(self) -> Any:
        return self._rpc("evm_snapshot", [])

    def revert(self, snapshot_id: Any) -> None:
        if not self._rpc("evm_revert", [snapshot_id]):
            raise ChainError(f"evm_revert to {snapshot_id} was refused")

    def mine(self, blocks: int = 1) -> None:
        self._rpc("anvil_mine", [hex(blocks)])

    def increase_time(self, seconds: int) -> None:
        self._rpc("evm_increaseTime", [int(seconds)])
        self._rpc("evm_mine", [])

    def describe(self) -> str:
        return f"{self.kind} chain at {self.url} (id {self.chain_id})"
