"""The detail descriptor (stage 2): golden values, robustness, and DetailRule.sol agreement."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

import services.provenance.detail as detail_module
from aigc_lab.provenance._procedural import procedural_image
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
# Small drawings on a uniform background: the views are made of the content's bounding box


def _sprite(kind: str, *, shift: tuple[int, int] = (0, 0), canvas: int = 256) -> Image.Image:
    """A small grey drawing on white (four distinct ones), placed at ``shift`` from the centre."""
    image = Image.new("RGB", (canvas, canvas), "white")
    draw = ImageDraw.Draw(image)
    dx, dy = shift[0] + (canvas - 256) // 2, shift[1] + (canvas - 256) // 2

    def box(*xy: int) -> tuple[int, ...]:
        return tuple(v + (dx if k % 2 == 0 else dy) for k, v in enumerate(xy))

    if kind == "figure":  # a head on a body
        draw.ellipse(box(112, 80, 144, 112), fill=(60, 60, 60))
        draw.rectangle(box(108, 112, 148, 176), fill=(90, 90, 90))
    elif kind == "lamp":  # a shade on a post
        shade = [(104, 112), (152, 112), (140, 80), (116, 80)]
        draw.polygon([box(x, y) for x, y in shade], fill=(70, 70, 70))  # type: ignore[misc]
        draw.rectangle(box(122, 112, 134, 176), fill=(80, 80, 80))
    elif kind == "door":  # a slab with a round window
        draw.rectangle(box(104, 84, 152, 172), fill=(80, 80, 80))
        draw.ellipse(box(116, 100, 140, 124), fill="white")
    else:  # an egg with a band
        draw.ellipse(box(100, 84, 156, 172), fill=(70, 70, 70))
        draw.line(box(104, 128, 152, 128), fill="white", width=6)
    return image


SPRITES = ("figure", "lamp", "door", "egg")


def test_distinct_small_drawings_on_white_do_not_match_when_trimmed() -> None:
    """The collision that dominated the wave-2 corpus (sprites against clip art): with the
    whole canvas in the views, four distinct drawings all matched (the white margin ties into
    one rank level and leaves "a blob in the middle"); trimmed to their content they do not."""
    pairs = [(a, b) for i, a in enumerate(SPRITES) for b in SPRITES[i + 1 :]]
    trimmed = {k: detail_descriptor(_sprite(k), trim=True) for k in SPRITES}
    assert not any(detail_matches(trimmed[a], trimmed[b]) for a, b in pairs)
    whole = {k: detail_descriptor(_sprite(k), trim=False) for k in SPRITES}
    assert all(detail_matches(whole[a], whole[b]) for a, b in pairs)  # what the trim fixes


def test_trimmed_small_drawings_match_when_moved_cropped_turned_or_badged() -> None:
    for kind in SPRITES:
        d = detail_descriptor(_sprite(kind), trim=True)
        image = _sprite(kind)
        copies = [
            _sprite(kind, shift=(-40, 30)),  # moved on the canvas
            _sprite(kind, canvas=360),  # more margin
            image.crop((50, 0, 256, 256)),  # a one-sided crop that cuts only background
            image.crop((31, 31, 225, 225)),  # a 12% centred crop
            image.rotate(3, Image.Resampling.BICUBIC),  # black corners
            image.transpose(Image.Transpose.ROTATE_90),
        ]
        badged = image.copy()
        ImageDraw.Draw(badged).ellipse((216, 8, 248, 40), fill=(200, 30, 30), outline="white")
        copies.append(badged)  # a badge apart, under half the drawing's mass, is left out
        for copy in copies:
            score = detail_score(d, detail_descriptor(copy, trim=True))
            assert score.matches, (kind, score)


def _box_of(image: Image.Image) -> tuple[int, int, int, int]:
    grey, cb, cr = (
        p if p is None else detail_module._shrink(p) for p in detail_module._planes(image)
    )
    assert grey is not None
    return detail_module._content_box(grey, cb, cr)


def _near(box: tuple[int, int, int, int], expected: tuple[int, int, int, int], tol: int) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(box, expected, strict=True))


def test_content_box_ignores_rotation_corners_noise_and_badges() -> None:
    image = _sprite("figure")  # drawn over x 108..148, y 80..176 (one pixel of smoothing around)
    assert _box_of(image) == (107, 79, 150, 178)
    assert _near(_box_of(image.rotate(3, Image.Resampling.BICUBIC)), (107, 79, 150, 178), 6)
    pixels = np.asarray(image, dtype=np.float64)
    pixels += np.random.default_rng(5).normal(0.0, 12.0, size=pixels.shape)  # the noise edit
    noisy = Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))
    assert _near(_box_of(noisy), (107, 79, 150, 178), 2)
    badged = image.copy()
    ImageDraw.Draw(badged).ellipse((216, 8, 248, 40), fill=(200, 30, 30))
    assert _box_of(badged) == (107, 79, 150, 178)
    # no flat border (a photograph, a texture): the whole canvas
    rng = random.Random(5)
    texture = Image.new("L", (128, 128))
    texture.putdata([rng.randrange(256) for _ in range(128 * 128)])
    assert _box_of(texture.convert("RGB")) == (0, 0, 128, 128)
    # a drawing that covers more than half the canvas keeps the whole canvas
    big = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(big).rectangle((12, 40, 190, 160), fill=(30, 90, 160))
    assert _box_of(big) == (0, 0, 200, 200)
    ImageDraw.Draw(big).rectangle((12, 40, 190, 160), fill="white")
    ImageDraw.Draw(big).rectangle((12, 60, 190, 140), fill=(30, 90, 160))
    assert _box_of(big) == (11, 59, 192, 142)


# ---------------------------------------------------------------------------------------------
# DetailRule.sol agreement, on the session's ``chain`` (anvil where installed: py-evm takes about
# a second per comparison, anvil milliseconds); the harness is reverted away after the module.


@pytest.fixture(scope="module")
def harness(chain):  # type: ignore[no-untyped-def]
    from ledger import artifacts
    from ledger.deploy import deploy_contract
    from ledger.tx import Transactor

    snapshot = chain.snapshot()
    tx = Transactor(chain, chain.dev_accounts()[0])
    address, _ = deploy_contract(tx, "DetailRuleHarness")
    contract = chain.w3.eth.contract(address=address, abi=artifacts.abi("DetailRuleHarness"))
    yield tx, contract
    chain.revert(snapshot)


def _agreement_pairs() -> list[tuple[bytes, bytes]]:
    analytic = analytic_image()
    base = detail_descriptor(analytic)
    proc = detail_descriptor(procedural_image(3))
    pairs = [(base, detail_descriptor(turned)) for turned in _dihedral(analytic)[::2]]
    pairs.append((base, detail_descriptor(ImageOps.grayscale(analytic))))
    pairs.append((base, detail_descriptor(analytic.crop((30, 20, 290, 220)))))
    pairs.append((base, proc))
    figure = detail_descriptor(_sprite("figure"), trim=True)  # trimmed descriptors: same format
    pairs.append((figure, detail_descriptor(_sprite("figure", shift=(-40, 30)), trim=True)))
    pairs.append((figure, detail_descriptor(_sprite("door"), trim=True)))
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
