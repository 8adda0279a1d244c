"""Deploying the contracts and the manifest every later command reads.

The manifest (JSON) records the chain id, the backend, the RPC URL, the deployer, the block of
deployment, each contract's address with the sha256 of the artifact it was deployed from, and the
deployment parameters (the Registry's metadata locations among them: ``base_uri`` + token id is
each token's ``tokenURI``, ``contract_uri`` its ERC-7572 collection metadata; both default to the
marketplace API's routes under ``AIGC_PUBLIC_URL``). :func:`load_manifest` refuses a manifest
whose chain id differs from the connected chain or whose addresses hold no code (a reset devnet).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import rlp
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract

from ledger import artifacts
from ledger.chain import Chain
from ledger.config import LedgerSettings
from ledger.errors import DeploymentError
from ledger.tx import Transactor

DEFAULT_MATCH_THRESHOLD = 15  # = services.provenance.MATCH_THRESHOLD (a test keeps them equal)
# Where `aigc serve` listens by default: the API that serves token and collection metadata.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def public_url(default: str = DEFAULT_PUBLIC_URL) -> str:
    """The marketplace API's public base URL: ``AIGC_PUBLIC_URL``, else ``default`` (read when
    called: a deployment is made once, and tests change the environment between two)."""
    return (LedgerSettings().public_url or default).rstrip("/")


def token_base_uri(api_url: str) -> str:
    """The Registry's base URI for an API at ``api_url``: ``tokenURI(id)`` = this + id (decimal),
    which the API's ``GET /v1/tokens/{id}`` answers with ERC-721 metadata JSON."""
    return f"{api_url.rstrip('/')}/v1/tokens/"


def collection_uri(api_url: str) -> str:
    """The Registry's ERC-7572 ``contractURI`` for an API at ``api_url``."""
    return f"{api_url.rstrip('/')}/v1/contract"


def claim_window_blocks(registration_window_blocks: int) -> int:
    """The blocks after a fee lock's block in which its fee may be claimed (the image delivered):
    the registration window less a tenth of it (at least one block), which the producer keeps to
    commit. One home for that margin: the deployment's HashTimeLock ``claimWindow`` and the
    latest quote deadline the producer's tools accept (``services.generation``)."""
    return max(0, registration_window_blocks - max(1, registration_window_blocks // 10))


@dataclass(frozen=True)
class DeployParams:
    """Deployment parameters with the product's defaults (wei, seconds, blocks)."""

    min_lock_duration: int = 60
    # The longest an ERC-721 lock (a listing in the swap escrow) may last: a day. A listing
    # ends, so a taker cannot park a token its earlier payer would reclaim (``reclaim`` refuses
    # an escrowed token); the Registry then keeps it out of the escrow for commitTtl + 1 blocks.
    max_token_lock_duration: int = 86_400
    esp_min_stake: int = 10**17
    esp_unbonding_period: int = 86_400
    # Stake slashed (burned) per upheld challenge against an image the ESP attested (capped at
    # the stake): half the minimum stake; an ESP left below half the minimum is deactivated, so
    # one staked at the minimum serves on after one lost challenge and stops at the second.
    esp_slash_amount: int = 5 * 10**16
    registration_bond: int = 10**16
    challenge_deposit: int = 10**16
    # What a challenger gets from a revoked copy's bond: its gas (challenge + finalize + settle,
    # ~201k gas) at about 1 gwei, never a profit at that price or above; the rest is burned.
    # aigc_lab.provenance.economics shows squatting loses money with it (docs/provenance.md).
    challenge_reward: int = 2 * 10**14
    match_threshold: int = DEFAULT_MATCH_THRESHOLD
    commit_ttl_blocks: int = 8  # a reveal follows its commit within a few blocks
    registration_window_blocks: int = 7_200  # commit within a day of the paid generation lock
    dispute_window_blocks: int = 50_400  # a week for the accused to contest
    # A revocation settles two weeks and two blocks (and a review, below) after it is decided,
    # so a challenge of the winner opened within a window of its win is decided (and the win
    # reversed) before the winner can settle: opened at win + window, it is finalized from
    # win + 2 x window + 1, and the winner settles from win + hold. At one window the two
    # raced (found in review); at two windows the winner settled in the block before (red
    # team). The BatchRegistry refuses a hold under 2 x dispute window + 2 (``BatchWrongValue``).
    # The winner may contest that challenge in the window's last block with a committee review,
    # which ``resolve`` waits for: the Registry also counts the review (red team 7), its commit
    # and reveal phases + 3 blocks (the draw two blocks after the request, ``resolve`` the block
    # after the reveal deadline), and refuses less (``RegistryWrongValue``): 100,802 + 7,203 =
    # 108,005 blocks (15 days at 12 s).
    reward_hold_blocks: int = 108_005
    royalty_bps: int = 500
    # BatchRegistry (issue 16): the bond each batched item stakes (as a single registration's,
    # so a batch is no cheaper way to squat) and the most items one reveal may carry.
    batch_bond_per_item: int = 10**16
    max_batch: int = 2_048
    # The committee of stage 3 (issue 11, docs/provenance.md "Committee (stage 3)"): jurors drawn
    # per review, each juror's bond, the requester's fee, and the two phases of a review (half a
    # day each at 12 s: a day in all, well inside the week-long dispute window).
    committee_jurors: int = 5
    juror_bond: int = 5 * 10**16
    review_fee: int = 10**16
    review_commit_blocks: int = 3_600
    review_reveal_blocks: int = 3_600
    # The owner (the deployer) may move both later: `setBaseURI`, `setContractURI`.
    base_uri: str = field(default_factory=lambda: token_base_uri(public_url()))
    contract_uri: str = field(default_factory=lambda: collection_uri(public_url()))

    @property
    def claim_window_blocks(self) -> int:
        """The HashTimeLock's ``claimWindow``: an Ether or ERC-20 lock (a generation fee) is
        withdrawn (the image delivered) at most this many blocks after its lock's block, which
        leaves its producer a tenth of the registration window (at least one block) to commit
        inside it. The margin is the one the producer's tools leave for a quoted deadline
        (``services.generation.latest_quote_deadline``): 6,480 of 7,200 blocks, 36 of 40."""
        return claim_window_blocks(self.registration_window_blocks)

    def served_at(self, api_url: str) -> DeployParams:
        """These parameters with the metadata URIs of the API at ``api_url``."""
        return replace(self, base_uri=token_base_uri(api_url), contract_uri=collection_uri(api_url))


@dataclass
class Manifest:
    chain_id: int
    backend: str
    rpc_url: str | None
    deployer: str
    block: int
    contracts: dict[str, dict[str, str]]
    params: dict[str, Any] = field(default_factory=dict)

    def address(self, name: str) -> str:
        try:
            return self.contracts[name]["address"]
        except KeyError:
            raise DeploymentError(f"manifest has no {name}") from None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


@dataclass
class Deployment:
    """Connected contract objects of one deployment."""

    chain: Chain
    manifest: Manifest
    # web3 builds a class per ABI function for every Contract object (0.15-0.46 s for the
    # Registry's); the objects hold no per-call state, so one per name is kept.
    _contracts: dict[str, Contract] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def contract(self, name: str) -> Contract:
        if name not in self._contracts:
            address = to_checksum_address(self.manifest.address(name))
            self._contracts[name] = self.chain.w3.eth.contract(
                address=address, abi=artifacts.abi(name)
            )
        return self._contracts[name]

    @property
    def htlc(self) -> Contract:
        return self.contract("HashTimeLock")

    @property
    def esp_registry(self) -> Contract:
        return self.contract("EspRegistry")

    @property
    def registry(self) -> Contract:
        return self.contract("Registry")

    @property
    def batch_registry(self) -> Contract:
        """The BatchRegistry (issue 16); a manifest from before it raises DeploymentError."""
        if "BatchRegistry" not in self.manifest.contracts:
            raise DeploymentError(
                "this deployment has no BatchRegistry (made before batch registration): redeploy"
            )
        return self.contract("BatchRegistry")

    @property
    def batch_court(self) -> Contract:
        """The BatchCourt (issue 16: a batched original challenges a single copy); a manifest
        from before it raises DeploymentError."""
        if "BatchCourt" not in self.manifest.contracts:
            raise DeploymentError(
                "this deployment has no BatchCourt (made before batched originals could "
                "challenge single copies): redeploy"
            )
        return self.contract("BatchCourt")

    @property
    def committee(self) -> Contract:
        """The CommitteeVerifier (issue 11: stage 3 by staked ESPs); a manifest from before it
        raises DeploymentError."""
        if "CommitteeVerifier" not in self.manifest.contracts:
            raise DeploymentError(
                "this deployment has no CommitteeVerifier (made before committee review): redeploy"
            )
        return self.contract("CommitteeVerifier")

    @property
    def reputation_view(self) -> Contract:
        return self.contract("ReputationView")


def deploy_contract(tx: Transactor, name: str, *args: Any, value: int = 0) -> tuple[str, int]:
    """Deploys artifact ``name``; returns (address, gas used)."""
    art = artifacts.load(name)
    factory = tx.chain.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    receipt = tx.send(factory.constructor(*args), value=value)  # type: ignore[arg-type]
    return str(receipt["contractAddress"]), int(receipt["gasUsed"])


def _nonce(chain: Chain, address: str) -> int:
    return int(chain.w3.eth.get_transaction_count(to_checksum_address(address), "pending"))


def _create_address(sender: str, nonce: int) -> str:
    """The address a contract created by ``sender`` with ``nonce`` gets (CREATE)."""
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


def least_review_blocks(p: DeployParams) -> int:
    """The blocks a committee review adds to a contested challenge's decision: requested as the
    accused contests, drawn two blocks on, its commit and reveal phases, ``resolve`` the block
    after the reveal deadline (the Registry's constructor and ``EspRegistry.bindRegistry`` count
    the same). A draw the pool delays (busy jurors, a re-arm) comes later still."""
    return p.review_commit_blocks + p.review_reveal_blocks + 3


def _check_params(p: DeployParams) -> None:
    """The constructors' checks, before any transaction is sent."""
    least = 2 * p.dispute_window_blocks + 2 + least_review_blocks(p)
    if p.reward_hold_blocks < least:
        raise DeploymentError(
            f"reward_hold_blocks {p.reward_hold_blocks} < 2 x dispute_window_blocks + 2 + the "
            f"committee's review ({least}): a winner could settle before a challenge of it "
            "opened within a window of its win is decided"
        )
    if p.claim_window_blocks < 1:
        raise DeploymentError(
            f"registration_window_blocks {p.registration_window_blocks} < 2: no block is left "
            "for an ESP to claim its fee and its producer to commit after it"
        )


def deploy(chain: Chain, deployer: LocalAccount, params: DeployParams | None = None) -> Deployment:
    """Deploys HashTimeLock, EspRegistry, CommitteeVerifier, Registry, ReputationView,
    BatchRegistry, BatchCourt and DetailVerifier, binds them."""
    p = params or DeployParams()
    _check_params(p)
    tx = Transactor(chain, deployer)
    htlc, _ = deploy_contract(
        tx, "HashTimeLock", p.min_lock_duration, p.claim_window_blocks, p.max_token_lock_duration
    )
    esps, _ = deploy_contract(
        tx, "EspRegistry", htlc, p.esp_min_stake, p.esp_unbonding_period, p.esp_slash_amount
    )
    # The committee takes the DetailVerifier's old place (the third transaction), so that the
    # Registry, which reads its verifier's `length` in its constructor, and every contract after
    # it keep their addresses; the rule it falls back on is deployed last, five transactions on.
    # It reviews only disputes open at the three forums, created after it too (Registry,
    # BatchRegistry, BatchCourt: one, three and four transactions on), so their addresses are
    # fixed now by the nonce, and checked below as the rule's.
    nonce = _nonce(chain, deployer.address)
    rule_address = _create_address(deployer.address, nonce + 5)
    forums = {
        "Registry": _create_address(deployer.address, nonce + 1),
        "BatchRegistry": _create_address(deployer.address, nonce + 3),
        "BatchCourt": _create_address(deployer.address, nonce + 4),
    }
    verifier, _ = deploy_contract(
        tx,
        "CommitteeVerifier",
        rule_address,
        esps,
        (forums["Registry"], forums["BatchRegistry"], forums["BatchCourt"]),
        (
            p.committee_jurors,
            p.juror_bond,
            p.review_fee,
            p.review_commit_blocks,
            p.review_reveal_blocks,
        ),
    )
    config = (
        esps,
        htlc,
        verifier,
        (
            p.registration_bond,
            p.challenge_deposit,
            p.challenge_reward,
            p.match_threshold,
            p.commit_ttl_blocks,
            p.registration_window_blocks,
            p.dispute_window_blocks,
            p.reward_hold_blocks,
            p.royalty_bps,
        ),
        p.base_uri,
        p.contract_uri,
        # The BatchCourt, the one caller of `revokeCopied`, is deployed three transactions later
        # (after ReputationView and BatchRegistry), so its address is fixed now by the nonce.
        _create_address(deployer.address, _nonce(chain, deployer.address) + 3),
    )
    registry, _ = deploy_contract(tx, "Registry", config)
    view, _ = deploy_contract(tx, "ReputationView", esps)
    # After the others, so each keeps the address it had before batch registration; before the
    # binding, so its constructor's event is not in the manifest's block (where indexing starts).
    batch_config = (
        registry,
        esps,
        htlc,
        verifier,
        (
            p.batch_bond_per_item,
            p.challenge_deposit,
            p.challenge_reward,
            p.match_threshold,
            p.commit_ttl_blocks,
            p.registration_window_blocks,
            p.dispute_window_blocks,
            p.reward_hold_blocks,  # a batch win is held as long as a single one (issue 11)
            p.royalty_bps,
            p.max_batch,
        ),
        p.base_uri,  # batch ids (< 2**96) never meet a Registry id: one token route serves both
        config[-1],  # the same BatchCourt may revoke a batched second registration of an image
    )
    batch_registry, _ = deploy_contract(tx, "BatchRegistry", batch_config)
    # The court holds the copies' bonds and deposits; their ESPs' slashes are burned at the
    # EspRegistry (it never pays the court).
    court, _ = deploy_contract(tx, "BatchCourt", registry, batch_registry, verifier, htlc)
    if court.lower() != config[-1].lower():
        raise DeploymentError(
            f"BatchCourt deployed at {court}, not at {config[-1]} where the Registry and the "
            "BatchRegistry expect it: "
            "another transaction from the deployer interleaved; redeploy"
        )
    rule, _ = deploy_contract(tx, "DetailVerifier")
    for name, address, expected in (
        ("Registry", registry, forums["Registry"]),
        ("BatchRegistry", batch_registry, forums["BatchRegistry"]),
        ("DetailVerifier", rule, rule_address),
    ):
        if address.lower() != expected.lower():
            raise DeploymentError(
                f"{name} deployed at {address}, not at {expected} where the CommitteeVerifier "
                "expects it: another transaction from the deployer interleaved; redeploy"
            )
    esp_contract = chain.w3.eth.contract(
        address=to_checksum_address(esps), abi=artifacts.abi("EspRegistry")
    )
    # Both registries report their revocations (issue 16: a batched copy's ESP is slashed too).
    tx.send(esp_contract.functions.bindRegistry(registry, batch_registry))
    manifest = Manifest(
        chain_id=chain.chain_id,
        backend=chain.kind,
        rpc_url=getattr(chain, "url", None),
        deployer=str(deployer.address),
        block=int(chain.w3.eth.block_number),
        contracts={
            name: {"address": addr, "artifactSha256": artifacts.artifact_hash(name)}
            for name, addr in (
                ("HashTimeLock", htlc),
                ("EspRegistry", esps),
                ("Registry", registry),
                ("BatchRegistry", batch_registry),
                ("BatchCourt", court),
                ("CommitteeVerifier", verifier),
                ("DetailVerifier", rule),
                ("ReputationView", view),
            )
        },
        params=asdict(p),
    )
    return Deployment(chain, manifest)


def load_manifest(path: Path, chain: Chain) -> Deployment:
    """The deployment recorded at ``path``, checked against the connected ``chain``."""
    try:
        manifest = Manifest(**json.loads(path.read_text()))
    except FileNotFoundError:
        raise DeploymentError(f"no deployment manifest at {path}: run `aigc deploy`") from None
    except (ValueError, TypeError) as exc:
        raise DeploymentError(f"manifest {path} is malformed: {exc}") from None
    if manifest.chain_id != chain.chain_id:
        raise DeploymentError(
            f"manifest {path} is for chain {manifest.chain_id}, connected to {chain.chain_id}"
        )
    for name in manifest.contracts:
        if len(chain.w3.eth.get_code(to_checksum_address(manifest.address(name)))) == 0:
            raise DeploymentError(
                f"no code at {name} {manifest.address(name)}: the chain was reset; redeploy"
            )
    return Deployment(chain, manifest)
