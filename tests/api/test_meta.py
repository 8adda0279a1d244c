"""Interfaces for wallets, dApps and marketplaces (issue 14, items 4 and 5): token metadata that
``tokenURI`` resolves to, content-addressed images, ERC-7572 collection metadata, and the
deployment with EIP-712 domains equal to what each contract reports (ERC-5267)."""

from __future__ import annotations

import io
import threading

import httpx
import uvicorn
from eth_account.messages import encode_typed_data
from PIL import Image
from web3.logs import DISCARD

from ledger import artifacts, deploy
from ledger.devnet import free_port
from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from services.content import canonical_hash
from services.listing import Offer
from services.market_client import MarketClient
from tests.api.test_products import _picture, _png, _register_picture
from tests.conftest import World
from tests.contracts.helpers import NEAR_FP, details, past_reclaim, register_esp, register_image


def _upload(api, owner, token_hex: str, img) -> None:
    files = {"image": ("x.png", _png(img), "image/png")}
    r = api.client.put(f"/v1/products/{token_hex}/image", files=files, headers=api.sign_in(owner))
    assert r.status_code == 200, r.text


def _attrs(meta: dict) -> dict:
    return {a["trait_type"]: a["value"] for a in meta["attributes"]}


def test_registered_token_has_erc721_metadata_with_its_provenance(api):
    world = api.world
    register_esp(world)
    img = _picture()
    token_hex = _register_picture(world, world.producer, img)
    token = int(token_hex, 16)
    api.index()
    _upload(api, world.producer, token_hex, img)
    meta = api.client.get(f"/v1/tokens/{token}").json()
    assert api.client.get(f"/v1/tokens/{token_hex}").json() == meta  # hex and decimal: one token
    assert meta["name"] == f"Proof-of-AIGC {token_hex[:10]}"
    base = "http://testserver"
    assert meta["image"] == f"{base}/v1/images/{token_hex[2:]}"
    assert meta["external_url"] == f"{base}/v1/products/{token}"
    registered = world.registry(world.buyer).registered(token)
    assert _attrs(meta) == {
        "Status": "active",
        "ESP": world.esp.address,
        "Model": "0x" + "02" * 32,
        "Producer": world.producer.address,
        "Fingerprint": "0x" + registered.fingerprint.hex(),
        "Content hash": token_hex,
        "Priority block": registered.priority_block,
        "Registration block": registered.proof.reveal_block,
        "Royalty (bps)": world.params.royalty_bps,
    }
    # The image: content-addressed (its pixels hash to the token id) and cached as immutable.
    got = api.client.get(meta["image"].removeprefix(base))
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert got.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert canonical_hash(Image.open(io.BytesIO(got.content))) == bytes.fromhex(token_hex[2:])
    assert api.client.get(f"/v1/images/{token_hex}").content == got.content  # 0x prefix too


def test_token_without_image_has_no_image_field(api):
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    api.index()
    meta = api.client.get(f"/v1/tokens/{token}").json()
    assert "image" not in meta and _attrs(meta)["Status"] == "active"
    r = api.client.get(f"/v1/images/{token:064x}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_image"


def test_revoked_token_shows_its_status_after_metadata_update(api):
    world = api.world
    register_esp(world)
    original = register_image(world, world.producer)
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    api.index()
    assert _attrs(api.client.get(f"/v1/tokens/{copy}").json())["Status"] == "active"
    client = world.registry(world.producer)
    client.challenge(original, copy)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert client.finalize(original, copy) is True
    # ERC-4906: the revocation tells marketplaces to fetch the token's metadata again ...
    updates = world.deployment.registry.events.MetadataUpdate().process_receipt(
        client.last_receipt, errors=DISCARD
    )
    assert [u["args"]["_tokenId"] for u in updates] == [copy]
    api.index()
    # ... and what they fetch says so.
    meta = api.client.get(f"/v1/tokens/{copy}").json()
    assert _attrs(meta)["Status"] == "revoked"
    assert meta["name"].startswith("[revoked] ") and "REVOKED" in meta["description"]
    assert _attrs(api.client.get(f"/v1/tokens/{original}").json())["Status"] == "active"


def test_unknown_and_malformed_ids(api):
    r = api.client.get(f"/v1/tokens/{2**200}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_token"
    assert api.client.get("/v1/tokens/0x" + "ab" * 32).json()["error"]["code"] == "unknown_token"
    for bad in ("-1", "012", "1.5", "0x" + "0" * 65, "abc", str(2**256 * 10)):
        r = api.client.get(f"/v1/tokens/{bad}")
        assert r.status_code == 422, bad
    r = api.client.get("/v1/images/" + "cd" * 32)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_image"
    for bad in ("..%2F..%2Fetc%2Fpasswd", "cd" * 31, "zz" * 32):
        assert api.client.get(f"/v1/images/{bad}").status_code in (404, 422), bad


def test_collection_metadata(api):
    meta = api.client.get("/v1/contract").json()
    assert meta["name"] == "Proof-of-AIGC" and meta["symbol"] == "AIGC"
    assert meta["seller_fee_basis_points"] == api.world.params.royalty_bps
    assert meta["external_link"] == "http://testserver/"
    # Behind a proxy: AIGC_PUBLIC_URL names the address clients reach.
    app = api.client.app
    app.state.settings = app.state.settings.model_copy(update={"public_url": "https://a.example/"})
    assert api.client.get("/v1/contract").json()["external_link"] == "https://a.example/"


def test_deployment_domains_are_what_each_contract_reports(api):
    """Finding: the Registry's ERC-5267 domain differed from the offer domain the API checked.
    Now every served domain is read back from its contract, and every contract that reports one
    is served."""
    world = api.world
    dep = api.client.get("/v1/deployment").json()
    assert dep["chain_id"] == world.chain.chain_id
    manifest = world.deployment.manifest
    assert "BatchCourt" in dep["contracts"]  # a wallet building a court challenge needs it
    reporting = set()
    for name, entry in dep["contracts"].items():
        assert entry["address"] == manifest.address(name)
        assert entry["abi"] == artifacts.abi(name)
        if any(item.get("name") == "eip712Domain" for item in entry["abi"]):
            reporting.add(name)
    assert reporting == {"Registry", "BatchRegistry", "EspRegistry"}
    served = {}
    for primary, msg in dep["eip712"].items():
        assert msg["primaryType"] == primary and primary in msg["types"]
        served.setdefault(msg["contract"], []).append(msg["domain"])
    assert set(served) == reporting and set(dep["eip712"]) >= {
        "Attestation",
        "Offer",
        "Quote",
        "BatchAttestation",
    }
    for name in reporting:
        contract = world.deployment.contract(name)
        _, d_name, version, chain_id, verifying, salt, extensions = (
            contract.functions.eip712Domain().call()
        )
        assert salt == b"\0" * 32 and extensions == []
        onchain = {
            "name": d_name,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": verifying,
        }
        assert all(d == onchain for d in served[name]), name


def test_offer_signed_with_the_contracts_own_domain_is_accepted(api):
    """A dApp that reads the domain from the Registry (ERC-5267) and the types from
    /v1/deployment signs an offer the API accepts (before: 422 bad_signature)."""
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)  # the market holds a token an earlier payer may still reclaim
    api.index()
    served = api.client.get("/v1/deployment").json()["eip712"]["Offer"]
    _, name, version, chain_id, verifying, _, _ = (
        world.deployment.registry.functions.eip712Domain().call()
    )
    offer = Offer(token, world.producer.address, 10**18 + 1, world.chain.timestamp() + 3600, 7)
    signable = encode_typed_data(
        domain_data={
            "name": name,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": verifying,
        },
        message_types=served["types"],
        message_data=offer.message(),
    )
    sig = world.producer.sign_message(signable).signature
    listing = MarketClient(api.client, world.producer).post(
        "/v1/listings",
        json={
            "token_id": str(token),
            "price": str(offer.price),
            "expiry": offer.expiry,
            "nonce": str(offer.nonce),
            "signature": "0x" + bytes(sig).hex(),
        },
    )
    assert listing["token_id"] == str(token) and listing["price"] == str(offer.price)


def test_token_uri_resolves_over_http_to_the_metadata(world, tmp_path):
    """What `cast call <registry> "tokenURI(uint256)(string)" <id>` then `curl` does: the
    deployed tokenURI and contractURI, read from the chain, fetched from the API on its port."""
    port = free_port()
    params = world.params.served_at(f"http://127.0.0.1:{port}")
    local = World(world.chain, deploy(world.chain, world.deployer, params), params, world.accounts)
    register_esp(local)
    token = register_image(local, local.producer)
    registry = local.deployment.registry
    uri = registry.functions.tokenURI(token).call()
    assert uri == f"http://127.0.0.1:{port}/v1/tokens/{token}"
    settings = ApiSettings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        blob_dir=tmp_path / "blobs",
        indexer_interval_s=0,
        follow_interval_s=0,  # the test polls: the embedded chain is not thread-safe
    )
    app = create_app(settings, local.deployment)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with httpx.Client(timeout=30) as http:
            while not server.started:
                assert thread.is_alive(), "the API server did not start"
                thread.join(0.05)
            app.state.market.poll()
            meta = http.get(uri)
            assert meta.status_code == 200, meta.text
            assert meta.headers["content-type"] == "application/json"
            body = meta.json()
            assert body["name"] == f"Proof-of-AIGC 0x{token:064x}"[:24]
            assert _attrs(body)["Producer"] == local.producer.address
            assert body["external_url"] == f"http://127.0.0.1:{port}/v1/products/{token}"
            collection = http.get(registry.functions.contractURI().call())
            assert collection.status_code == 200 and collection.json()["symbol"] == "AIGC"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_batched_items_name_tells_its_batch_and_index_apart():
    """A batched item's id is (batch << 32) | index: its leading bytes are zeros, so a name cut
    from the hex id would call every item of every batch "Proof-of-AIGC 0x00000000"."""
    from marketplace_api.routers.meta import token_name

    first, other = (7 << 32) | 0, (7 << 32) | 3
    assert token_name("batch", f"0x{first:064x}") == "AIGC Batch 7 #0"
    assert token_name("batch", f"0x{other:064x}", revoked=True) == "[revoked] AIGC Batch 7 #3"
    single = "0x" + "ab" * 32
    assert token_name("registry", single) == "Proof-of-AIGC 0xabababab"
    assert token_name("registry", single, revoked=True) == "[revoked] Proof-of-AIGC 0xabababab"
