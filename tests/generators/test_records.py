"""Generation records: JSON round trip, field checks naming the field, replay."""

from __future__ import annotations

import json

import pytest

from generators import GenerationRecord, InvalidRecordError, replay

PROMPT = "a yellow triangle on a purple background"


@pytest.fixture(scope="module")
def record(bundled):
    return GenerationRecord.from_result(
        bundled.generate(PROMPT, seed=5, steps=6), fingerprint="ab12"
    )


def test_round_trip(record):
    again = GenerationRecord.from_json(record.to_json())
    assert again == record
    assert json.loads(record.to_json())["version"] == 1


def test_replay_reproduces_pixels(bundled, record):
    rerun = replay(record, bundled)
    assert rerun.weights_match and rerun.scheduler_match and rerun.image_match


def test_replay_of_a_false_claim_does_not_match(bundled, record):
    payload = json.loads(record.to_json())
    payload["seed"] = 6
    rerun = replay(GenerationRecord.from_json(json.dumps(payload)), bundled)
    assert not rerun.image_match


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seed", -1),
        ("seed", "5"),
        ("steps", None),
        ("weights_sha256", "xyz"),
        ("image_sha256", "00"),
        ("prompt", ""),
        ("guidance_scale", "high"),
        ("version", 2),
        ("fingerprint", 12),
    ],
)
def test_bad_field_is_named(record, field, value):
    payload = json.loads(record.to_json())
    payload[field] = value
    with pytest.raises(InvalidRecordError) as info:
        GenerationRecord.from_json(json.dumps(payload))
    assert info.value.field == field


def test_prompt_hash_must_match(record):
    payload = json.loads(record.to_json())
    payload["prompt"] = "a green square on a red background"
    with pytest.raises(InvalidRecordError, match="prompt_sha256"):
        GenerationRecord.from_json(json.dumps(payload))


@pytest.mark.parametrize("text", ["not json", "[1, 2]", "{"])
def test_not_a_record(text):
    with pytest.raises(InvalidRecordError, match="json"):
        GenerationRecord.from_json(text)
