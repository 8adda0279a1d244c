"""The adherence checker reads back the renderer's ground truth from pixels."""

from __future__ import annotations

import random

from PIL import Image

from generators.checker import classify_shape, read_image
from generators.render import render
from generators.scene import SHAPES, Scene, SceneObject, sample_scene


def test_reads_rendered_scenes_correctly():
    rng = random.Random(11)
    scenes = [sample_scene(rng) for _ in range(300)]
    right = sum(read_image(render(s)).triple == s.triple for s in scenes)
    assert right >= 297  # the checker is not the bottleneck of any adherence figure


def test_every_shape_is_told_apart_at_every_size():
    for shape in SHAPES:
        for half in (0.1, 0.16, 0.25, 0.3):
            obj = SceneObject("yellow", shape, "medium", None, (0.45, 0.55), half)
            reading = read_image(render(Scene("blue", "plain", (obj,))))
            assert (reading.colour, reading.shape, reading.background) == ("yellow", shape, "blue")


def test_flat_image_has_no_object():
    reading = read_image(Image.new("RGB", (64, 64), (30, 70, 215)))
    assert reading.background == "blue"
    assert reading.colour is None and reading.shape is None and reading.area == 0.0


def test_a_wrong_image_is_caught():
    obj = SceneObject("red", "circle", "large", None, (0.5, 0.5), 0.27)
    drawn = render(Scene("green", "plain", (obj,)))
    assert read_image(drawn).triple == ("red", "circle", "green")
    assert read_image(drawn).triple != ("red", "square", "green")
    assert classify_shape(__import__("numpy").ones((10, 10), bool)) == "square"
