"""Gas of batch settlement (issue 16), per lock, at batch sizes N = 1, 10, 100.

A fresh deployment, one registered ESP, one producer locking N acknowledged Ether fees; then the
ESP claims all N in one ``withdrawBatch`` and the producer rates all N in one
``submitFeedbackBatch`` (which also frees the ESP's stake from them). Every secret and timelock
is fixed and free of zero bytes, so calldata, and so gas, is exact and repeatable.
"""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from ledger.chain import Chain
from ledger.clients import EspRegistryClient, HtlcClient, LockTerms
from ledger.clients.batch import submit_feedback_batch, withdraw_batch
from ledger.deploy import Deployment, DeployParams, deploy
from ledger.gas import _deadline, _secret
from ledger.tx import Transactor

SIZES = (1, 10, 100)
# Issue 16: "a batched fee claim <= 15,000 per lock at N = 100".
GOALS = {"htlc_withdraw_batch_per_lock@100": 15_000}


def measure_batches(
    chain: Chain,
    accounts: list[LocalAccount],
    params: DeployParams | None = None,
    sizes: tuple[int, ...] = SIZES,
) -> dict[str, int]:
    """``{"htlc_withdraw_batch_per_lock@N": gas // N, "feedback_submit_batch_per_lock@N": ...}``
    (the 21,000 base of the one transaction included, shared by the N locks)."""
    deployer, producer, esp = accounts[:3]
    dep: Deployment = deploy(chain, deployer, params or DeployParams())
    esps = EspRegistryClient(dep, Transactor(chain, esp))
    esps.register("http://esp.example", price=10**15, stake=dep.manifest.params["esp_min_stake"])
    htlc = HtlcClient(dep, Transactor(chain, producer))
    fb = EspRegistryClient(dep, Transactor(chain, producer))
    esp_htlc = HtlcClient(dep, Transactor(chain, esp))
    gas: dict[str, int] = {}
    n_secret = 1000
    for n in sizes:
        locks: list[LockTerms] = []
        preimages: list[bytes] = []
        timelock = _deadline(chain, 3600)
        for _ in range(n):
            n_secret += 1
            preimage, hashlock = _secret(n_secret)
            while 0 in preimage:
                n_secret += 1
                preimage, hashlock = _secret(n_secret)
            lock = htlc.lock_ether(esp.address, amount=10**15, hashlock=hashlock, timelock=timelock)
            fb.acknowledge(lock, fb.sign_quote(esp, lock))
            locks.append(lock)
            preimages.append(preimage)
        receipt = withdraw_batch(esp_htlc, locks, preimages)
        gas[f"htlc_withdraw_batch_per_lock@{n}"] = int(receipt["gasUsed"]) // n
        receipt = submit_feedback_batch(fb, locks, [True] * n)
        gas[f"feedback_submit_batch_per_lock@{n}"] = int(receipt["gasUsed"]) // n
    return gas
