"""Liveness: the API answers and the chain behind it is reachable."""

from __future__ import annotations

from fastapi import APIRouter

from marketplace_api.deps import DeploymentDep
from marketplace_api.errors import declare
from marketplace_api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses=declare(502))
def healthz(deployment: DeploymentDep) -> Health:
    """Report the chain id, head block and contract addresses."""
    chain = deployment.chain
    contracts = {name: info["address"] for name, info in deployment.manifest.contracts.items()}
    return Health(
        status="ok",
        chain_id=chain.chain_id,
        block=int(chain.w3.eth.block_number),
        contracts=contracts,
    )
