"""The API never trusts attested values: wherever it holds a token's image bytes, it recomputes
the fingerprint and the detail descriptor from them (DESIGN section 5).

The attack (red team 2, fd38427, ``tests/contracts/test_redteam2_attestation.py``): a plagiarist
running its own staked ESP registers a real (edited) copy of a victim's image with ANOTHER
image's fingerprint and descriptor. Nothing on chain ties the attested values to the content, so
the victim's challenge is ``RegistryNotAdmissible`` and a watch that compares attested values
never tells the victim. Off chain, the market refuses to list or sell such a token
(409 ``attestation_mismatch``), marks it in the product views, and the watch compares the
recomputed values, telling the victim that the registration is a near copy of its image (and
that an on-chain challenge would not be admissible).
"""

from __future__ import annotations

import io

import pytest
import skimage.data
from PIL import Image, ImageOps

from ledger import Registration
from services.content import canonical_hash
from services.market_client import MarketError
from services.provenance import detail_descriptor, fingerprint
from tests.api._trading import list_token
from tests.contracts.helpers import paid_lock, register_esp


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _register(world, owner, esp, img: Image.Image, *, values: Image.Image | None = None) -> int:
    """Registers ``img``'s bytes for ``owner`` under ``esp``'s attestation, with the fingerprint
    and descriptor of ``values`` (``img``'s own unless given: a false attestation)."""
    values = img if values is None else values
    lock = paid_lock(world, owner, esp)
    reg = Registration(
        content_hash=canonical_hash(img),
        fingerprint=fingerprint(values).to_bytes32(),
        detail=detail_descriptor(values),
        owner=owner.address,
        esp=esp.address,
        task_id=lock.id,
        model_id=b"\x02" * 32,
        seed=1,
    )
    client = world.registry(owner)
    client.commit(reg)
    client.reveal(reg, lock, client.sign_attestation(esp, reg))
    return int.from_bytes(reg.content_hash, "big")


def _upload(api, account, token: int, img: Image.Image):
    files = {"image": ("i.png", _png(img), "image/png")}
    return api.client.put(f"/v1/products/{token}/image", files=files, headers=api.sign_in(account))


@pytest.fixture
def scene(api):
    """The victim's camera image (honestly attested by the default ESP), and the plagiarist's
    JPEG-30 mirrored copy of it attested by its own staked ESP with the astronaut's values."""
    world = api.world
    register_esp(world)
    plagiarist_esp = register_esp(world, world.accounts[8])
    camera = Image.fromarray(skimage.data.camera()).convert("RGB")
    buf = io.BytesIO()
    ImageOps.mirror(camera).save(buf, format="JPEG", quality=30)
    copy_image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    astronaut = Image.fromarray(skimage.data.astronaut()).convert("RGB")
    original = _register(world, world.producer, world.esp, camera)
    copy = _register(world, world.attacker, plagiarist_esp, copy_image, values=astronaut)
    api.index()
    return original, copy, copy_image, plagiarist_esp


def test_a_misattested_copy_is_not_listed_and_its_victim_is_told(api, scene):
    world = api.world
    original, copy, copy_image, plagiarist_esp = scene
    victim = api.sign_in(world.producer)
    # the attested values say "unrelated": the watch (attested values) is silent so far
    assert api.client.get("/v1/notifications", headers=victim).json()["items"] == []
    assert api.client.get(f"/v1/products/{copy}").json()["attestation"] == "unchecked"

    # the plagiarist attaches its token's image (its content hash checks): the API recomputes
    r = _upload(api, world.attacker, copy, copy_image)
    assert r.status_code == 200, r.text  # failed before: 422 fingerprint_mismatch, not kept
    assert r.json()["attestation"] == "mismatch"
    product = api.client.get(f"/v1/products/{copy}").json()
    assert product["attestation"] == "mismatch" and product["has_image"] is True
    assert product["image_fingerprint"] == fingerprint(copy_image).hex()
    assert product["image_fingerprint"] != product["fingerprint"]
    listed = api.client.get("/v1/products", params={"esp": plagiarist_esp.address}).json()
    assert [p["attestation"] for p in listed["items"]] == ["mismatch"]

    # not listed (409, nothing written)
    with pytest.raises(MarketError) as refused:
        list_token(api, world.attacker, copy)
    assert (refused.value.status, refused.value.code) == (409, "attestation_mismatch")
    assert api.client.get("/v1/listings", params={"token_id": str(copy)}).json()["items"] == []

    # the victim is told, from the recomputed values, with no challenge that would revert
    notes = api.client.get("/v1/notifications", headers=victim).json()["items"]
    (note,) = notes
    assert note["kind"] == "misattested_copy"
    assert (note["original"], note["duplicate"]) == (str(original), str(copy))
    assert note["esp"] == plagiarist_esp.address
    assert note["challenge_admissible"] is False and "prepared_challenge" not in note
    assert "report" in note["advice"].lower()
    # attaching again tells nobody twice
    assert _upload(api, world.attacker, copy, copy_image).status_code == 200
    assert len(api.client.get("/v1/notifications", headers=victim).json()["items"]) == 1


def test_a_misattested_token_listed_before_its_image_is_not_sold(api, scene):
    world = api.world
    _, copy, copy_image, _ = scene
    listing = list_token(api, world.attacker, copy)  # no image held yet: unchecked
    buyer = api.sign_in(world.buyer)
    trade = api.client.post("/v1/trades", json={"listing_id": listing["id"]}, headers=buyer)
    assert trade.status_code == 201, trade.text
    assert _upload(api, world.attacker, copy, copy_image).status_code == 200
    # off the market as a revoked token is: the listing and the unpaid request end
    assert api.client.get(f"/v1/listings/{listing['id']}").json()["status"] == "cancelled"
    got = api.client.get(f"/v1/trades/{trade.json()['id']}", headers=buyer).json()
    assert got["status"] == "cancelled"
    # and a listing of it again is refused, naming the fingerprints
    with pytest.raises(MarketError) as refused:
        list_token(api, world.attacker, copy, nonce=2)
    assert refused.value.code == "attestation_mismatch"
    assert fingerprint(copy_image).hex() in refused.value.message


def test_an_honest_token_with_its_image_is_marked_and_listed(api, scene):
    world = api.world
    original = scene[0]
    camera = Image.fromarray(skimage.data.camera()).convert("RGB")
    r = _upload(api, world.producer, original, camera)
    assert r.status_code == 200, r.text
    assert r.json()["attestation"] == "matches"
    assert list_token(api, world.producer, original)["status"] == "open"
