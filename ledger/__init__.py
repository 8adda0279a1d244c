"""The ledger: chain backends, deployment, typed contract clients and revert decoding.

Typical use::

    chain = EmbeddedChain()                      # or RpcChain(url), or a devnet
    deployment = deploy(chain, chain.dev_accounts()[0])
    htlc = HtlcClient(deployment, Transactor(chain, producer))
"""

from ledger.accounts import dev_accounts
from ledger.chain import Chain, EmbeddedChain, RpcChain
from ledger.clients import (
    Asset,
    EspRegistryClient,
    HtlcClient,
    LockStatus,
    LockTerms,
    Registration,
    RegistryClient,
    TokenStatus,
    new_secret,
)
from ledger.deploy import Deployment, DeployParams, Manifest, deploy, load_manifest
from ledger.errors import ContractRevert, LedgerError
from ledger.tx import Transactor

__all__ = [
    "Asset",
    "Chain",
    "ContractRevert",
    "DeployParams",
    "Deployment",
    "EmbeddedChain",
    "EspRegistryClient",
    "HtlcClient",
    "LedgerError",
    "LockStatus",
    "LockTerms",
    "Manifest",
    "Registration",
    "RegistryClient",
    "RpcChain",
    "TokenStatus",
    "Transactor",
    "deploy",
    "dev_accounts",
    "load_manifest",
    "new_secret",
]
