"""Up-front input checks: every bad argument is refused with its name in the message."""

from __future__ import annotations

import pytest

from generators import InvalidGenerationArgumentError, UnknownGeneratorError, get_generator
from generators.base import check_request
from generators.registry import available_generators, register_generator

GOOD = {"seed": 1, "steps": 10, "width": 64, "height": 64, "guidance_scale": 3.0}
LIMITS = {"size_multiple": 16, "min_size": 32, "max_size": 256}


def test_good_request_passes():
    request = check_request("a red circle", **GOOD, **LIMITS)
    assert (request.prompt, request.seed, request.steps, request.width) == (
        "a red circle",
        1,
        10,
        64,
    )


@pytest.mark.parametrize(
    ("argument", "value", "reason"),
    [
        ("prompt", "", "empty"),
        ("prompt", "   ", "empty"),
        ("prompt", 42, "string"),
        ("prompt", "x" * 1001, "at most"),
        ("seed", -1, "between"),
        ("seed", 2**63, "between"),
        ("seed", 1.5, "integer"),
        ("seed", True, "integer"),
        ("steps", 0, "between"),
        ("steps", 501, "between"),
        ("width", 63, "multiple of 16"),
        ("width", 16, "between"),
        ("height", 1024, "between"),
        ("guidance_scale", -1.0, "between"),
        ("guidance_scale", "3", "number"),
    ],
)
def test_bad_argument_is_named(argument, value, reason):
    kwargs = dict(GOOD)
    prompt = "a red circle"
    if argument == "prompt":
        prompt = value
    else:
        kwargs[argument] = value
    with pytest.raises(InvalidGenerationArgumentError, match=reason) as info:
        check_request(prompt, **kwargs, **LIMITS)
    assert info.value.argument == argument
    assert str(info.value).startswith(f"invalid {argument}=")


def test_registry_names_known_generators():
    assert {"bundled", "diffusers"} <= set(available_generators())
    with pytest.raises(UnknownGeneratorError, match="known generators: bundled, diffusers"):
        get_generator("dall-e")


def test_registry_uses_configured_name(monkeypatch):
    from generators import get_settings, registry

    sentinel = object()
    monkeypatch.setitem(registry._FACTORIES, "fake-test", lambda **_: sentinel)
    monkeypatch.setenv("AIGC_GENERATOR", "fake-test")
    get_settings.cache_clear()
    assert get_generator() is sentinel


def test_register_rejects_bad_names():
    with pytest.raises(ValueError, match="name"):
        register_generator("", lambda **_: None)
