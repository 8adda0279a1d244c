"""Connecting to the configured chain and deployment."""

from __future__ import annotations

from ledger.chain import Chain, EmbeddedChain, RpcChain
from ledger.config import LedgerSettings
from ledger.deploy import Deployment, load_manifest
from ledger.devnet import read_pidfile
from ledger.errors import ChainError


def connect(settings: LedgerSettings) -> Chain:
    """The chain the settings name: embedded, the running devnet, or an RPC URL."""
    if settings.chain == "embedded":
        return EmbeddedChain()
    if settings.chain == "devnet":
        dev = read_pidfile(settings.devnet_pidfile)
        if dev is None:
            raise ChainError("no devnet is running: start one with `aigc devnet up`")
        return RpcChain(dev.url, dev=True)
    if not settings.rpc_url:
        raise ChainError("AIGC_CHAIN=rpc needs AIGC_RPC_URL")
    return RpcChain(settings.rpc_url)


def connect_deployment(settings: LedgerSettings) -> Deployment:
    """The configured chain plus the deployment its manifest records."""
    chain = connect(settings)
    if chain.ephemeral:
        raise ChainError(
            "the embedded chain is ephemeral (it lives in one process): use `aigc devnet up` "
            "or AIGC_CHAIN=rpc for commands that span processes"
        )
    return load_manifest(settings.manifest_path(chain.chain_id), chain)
