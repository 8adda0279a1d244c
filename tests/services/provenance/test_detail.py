"""The detail descriptor (stage 2): golden values, robustness, and DetailRule.sol agreement."""

from __future__ import annotations

import hashlib
import random

import pytest
from PIL import Image, ImageEnhance, ImageOps

from services.provenance import (
    DETAIL_LENGTH,
    DegenerateImageError,
    InvalidDetailError,
    ProvenanceError,
    detail_descriptor,
    detail_matches,
    detail_score,
    is_valid_detail,
)
from services.provenance._procedural import procedural_image

from .conftest import analytic_image

# sha256 of the descriptors, pinned so that a numpy / scipy / Pillow upgrade cannot shift
# published descriptors silently (a challenge recomputes nothing: it compares published bytes).
GOLDEN = {
    "camera": "0b04b81b9035df99b1201cf9b760946aaa7942325f28b8aa2245299126bf09de",
    "astronaut": "dd889c573f41d6a810ea346b21ac87f65a561d71b190aae45cea4a5edc889540",
    "analytic": "87a850b7156b9ade158ae4670357799275f1272029275a3e7b72eaab629e1879",
    "procedural1": "89e68eb169f7c4658e868e8c4071045e82753aec2711af743afa089715159234",
}


def _digest(image: Image.Image) -> str:
    return hashlib.sha256(detail_descriptor(image)).hexdigest()


def test_golden_values(camera: Image.Image, astronaut: Image.Image, analytic: Image.Image) -> None:
    got = {
        "camera": _digest(camera),
        "astronaut": _digest(astronaut),
        "analytic": _digest(analytic),
        "procedural1": _digest(procedural_image(1)),
    }
    assert got == GOLDEN


def test_length_header_and_determinism(astronaut: Image.Image) -> None:
    d = detail_descriptor(astronaut)
    assert len(d) == DETAIL_LENGTH == 1116
    assert d[:4] == bytes([3, 7, 16, 6])
    assert detail_descriptor(astronaut.copy()) == d
    assert is_valid_detail(d)
    assert detail_score(d, d).luma >= 9999 and detail_matches(d, d)


def _dihedral(image: Image.Image) -> list[Image.Image]:
    t = Image.Transpose
    ops = (t.ROTATE_90, t.ROTATE_180, t.ROTATE_270, t.FLIP_LEFT_RIGHT, t.FLIP_TOP_BOTTOM)
    return [image.transpose(op) for op in (*ops, t.TRANSPOSE, t.TRANSVERSE)]


def test_every_rotation_and_mirroring_matches(
    astronaut: Image.Image, analytic: Image.Image
) -> None:
    for image in (astronaut, analytic):
        d = detail_descriptor(image)
        for turned in _dihedral(image):
            assert detail_score(d, detail_descriptor(turned)).luma >= 9900
            assert detail_matches(detail_descriptor(turned), d)


def _edits(image: Image.Image) -> list[Image.Image]:
    w, h = image.size
    return [
        image.resize((w // 4, h // 4), Image.Resampling.LANCZOS),
        image.crop((round(0.05 * w), round(0.05 * h), round(0.95 * w), round(0.95 * h))),
        image.crop((round(0.12 * w), round(0.12 * h), round(0.88 * w), round(0.88 * h))),
        image.crop((round(0.1 * w), 0, w, h)),
        image.crop((0, 0, w, round(0.9 * h))).transpose(Image.Transpose.ROTATE_90),
        image.rotate(3, Image.Resampling.BICUBIC),
        ImageEnhance.Brightness(image).enhance(1.3),
        ImageEnhance.Contrast(image).enhance(0.7),
        ImageOps.grayscale(image).convert("RGB"),
    ]


def test_plagiarist_edits_still_match(astronaut: Image.Image, camera: Image.Image) -> None:
    for image in (astronaut, camera):
        d = detail_descriptor(image)
        for copy in _edits(image):
            assert detail_matches(d, detail_descriptor(copy)), detail_score(
                d, detail_descriptor(copy)
            )


def test_distinct_images_do_not_match(
    camera: Image.Image, astronaut: Image.Image, analytic: Image.Image
) -> None:
    details = [detail_descriptor(im) for im in (camera, astronaut, analytic)]
    details += [detail_descriptor(procedural_image(seed)) for seed in range(6)]
    for i, a in enumerate(details):
        for b in details[i + 1 :]:
            assert not detail_matches(a, b)


def test_bad_lengths_and_types_raise(astronaut: Image.Image) -> None:
    d = detail_descriptor(astronaut)
    for bad in (d[:-1], d + b"\x00", b""):
        with pytest.raises(InvalidDetailError) as info:
            detail_matches(d, bad)
        assert isinstance(info.value, ProvenanceError) and isinstance(info.value, ValueError)
        assert not is_valid_detail(bad)
    with pytest.raises(InvalidDetailError):
        detail_score("not bytes", d)  # type: ignore[arg-type]
    assert not is_valid_detail(bytes([1]) + d[1:])
    assert not is_valid_detail(d[:4] + bytes(DETAIL_LENGTH - 4))


def test_degenerate_images_are_refused() -> None:
    with pytest.raises(DegenerateImageError, match="too small"):
        detail_descriptor(Image.new("RGB", (31, 200), "red"))
    with pytest.raises(DegenerateImageError, match="flat"):
        detail_descriptor(Image.new("RGB", (300, 200), (40, 90, 200)))


# ---------------------------------------------------------------------------------------------
# DetailRule.sol agreement (embedded chain; py-evm runs one comparison in about a second)


@pytest.fixture(scope="module")
def harness(embedded_chain):  # type: ignore[no-untyped-def]
    from ledger import artifacts
    from ledger.deploy import deploy_contract
    from ledger.tx import Transactor

    tx = Transactor(embedded_chain, embedded_chain.dev_accounts()[0])
    address, _ = deploy_contract(tx, "DetailRuleHarness")
    contract = embedded_chain.w3.eth.contract(
        address=address, abi=artifacts.abi("DetailRuleHarness")
    )
    return tx, contract


def _agreement_pairs() -> list[tuple[bytes, bytes]]:
    analytic = analytic_image()
    base = detail_descriptor(analytic)
    proc = detail_descriptor(procedural_image(3))
    pairs = [(base, detail_descriptor(turned)) for turned in _dihedral(analytic)[::2]]
    pairs.append((base, detail_descriptor(ImageOps.grayscale(analytic))))
    pairs.append((base, detail_descriptor(analytic.crop((30, 20, 290, 220)))))
    pairs.append((base, proc))
    rng = random.Random(11)
    noise = bytearray(base)
    for k in rng.sample(range(4, DETAIL_LENGTH), 300):  # near the thresholds: a damaged copy
        noise[k] = (noise[k] + rng.randrange(-60, 61)) % 256
    pairs.append((base, bytes(noise)))
    pairs.append((bytes(base[:4]) + rng.randbytes(DETAIL_LENGTH - 4), base))  # random content
    flat_centre = bytearray(base)
    flat_centre[4 + 4 * 8 : 4 + 12 * 8] = b"\x88" * 64  # rows 4..11 of the full view all level 8
    pairs.append((base, bytes(flat_centre)))
    return pairs


def test_contract_and_python_agree(harness) -> None:  # type: ignore[no-untyped-def]
    _, contract = harness
    assert contract.functions.length().call() == DETAIL_LENGTH
    for a, b in _agreement_pairs():
        expected = detail_score(a, b)
        got = contract.functions.score(a, b).call()
        assert tuple(got) == (
            expected.luma,
            expected.interior,
            expected.chroma,
            expected.orientation,
            expected.view_a,
            expected.view_b,
        )
    a, b = _agreement_pairs()[0]
    assert contract.functions.matches(a, b).call() is detail_matches(a, b) is True
    a, b = _agreement_pairs()[-4]
    assert contract.functions.matches(a, b).call() is detail_matches(a, b) is False
    assert contract.functions.matches(a, b[:-1]).call() is False
    assert contract.functions.isValid(a).call() is is_valid_detail(a) is True
    assert contract.functions.isValid(a[:4] + bytes(DETAIL_LENGTH - 4)).call() is False
    assert contract.functions.isValid(bytes([1]) + a[1:]).call() is False


def test_gas_of_one_matches_call(harness) -> None:  # type: ignore[no-untyped-def]
    tx, contract = harness
    a, b = _agreement_pairs()[0]
    # A transaction with ample gas, signed by hand: an estimate would run the call a dozen times.
    w3 = tx.chain.w3
    built = contract.functions.matches(a, b).build_transaction(
        {
            "from": tx.account.address,
            "gas": 3_000_000,
            "nonce": w3.eth.get_transaction_count(tx.account.address),
            "chainId": tx.chain.chain_id,
        }
    )
    signed = tx.account.sign_transaction(built)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    assert receipt["status"] == 1
    print(f"DetailRule.matches: {receipt['gasUsed']} gas in a transaction")
    assert receipt["gasUsed"] < 2_500_000
