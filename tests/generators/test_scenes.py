"""Scenes, captions and the renderer: the ground truth the bundled model learns from."""

from __future__ import annotations

import random

import numpy as np
import pytest

from generators.captions import caption, held_out_captions
from generators.render import render, render_array
from generators.scene import COLOURS, SHAPES, held_out_triples, sample_scene
from generators.tokenizer import WordTokenizer, build_vocabulary


def test_render_is_deterministic_and_sized():
    scene = sample_scene(random.Random(1))
    a, b = render(scene, 64), render(scene, 64)
    assert a.size == (64, 64) and a.mode == "RGB"
    assert a.tobytes() == b.tobytes()
    array = render_array(scene)
    assert array.shape == (3, 64, 64)
    assert array.min() >= -1.0 and array.max() <= 1.0


def test_render_rejects_tiny_sizes():
    with pytest.raises(ValueError, match="size"):
        render(sample_scene(random.Random(1)), 4)


def test_background_fills_the_corners():
    scene = sample_scene(random.Random(2))
    pixels = np.asarray(render(scene))
    corner_colour = np.asarray(COLOURS[scene.background])
    corners = [pixels[0, 0], pixels[0, -1], pixels[-1, 0], pixels[-1, -1]]
    assert sum(np.abs(c.astype(int) - corner_colour).sum() < 10 for c in corners) >= 2


def test_main_object_is_largest_and_first_in_caption():
    rng = random.Random(3)
    for _ in range(200):
        scene = sample_scene(rng)
        text = caption(scene, rng)
        assert all(scene.main.half > other.half for other in scene.objects[1:])
        first_shape = min((text.find(s), s) for s in SHAPES if s in text)[1]
        assert first_shape == scene.main.shape
        assert scene.background in text and scene.main.colour in text
        assert scene.main.colour != scene.background


def test_training_captions_use_only_known_words():
    from generators.bundled import BUNDLED_WEIGHTS

    committed = WordTokenizer.load(BUNDLED_WEIGHTS / "tokenizer")
    assert committed.vocabulary == build_vocabulary()  # the training grammar's words, no others
    tokenizer = committed
    rng = random.Random(4)
    for _ in range(300):
        assert tokenizer(caption(sample_scene(rng), rng)).unknown_words == ()


def test_held_out_triples_never_reach_training():
    held = held_out_triples()
    assert 50 <= len(held) <= 120
    rng = random.Random(5)
    assert all(sample_scene(rng, exclude=held).triple not in held for _ in range(500))


def test_held_out_captions_are_fixed_and_held_out():
    pairs = held_out_captions(50)
    assert pairs == held_out_captions(50)
    held = held_out_triples()
    assert all(scene.triple in held for _, scene in pairs)
    assert len({text for text, _ in pairs}) == 50


def test_documentation_grid_prompts_are_held_out():
    from generators.evaluate import GRID_PROMPTS
    from generators.scene import COLOURS, SHAPES

    held = held_out_triples()
    tokenizer = WordTokenizer(build_vocabulary())
    for prompt in GRID_PROMPTS:
        words = prompt.replace("big", "large").split()
        shape_at = min(i for i, w in enumerate(words) if w in SHAPES)
        colour = words[shape_at - 1]
        background = [w for w in words if w in COLOURS][-1]
        assert (colour, words[shape_at], background) in held, prompt
        assert tokenizer(prompt).unknown_words == ()


def test_novel_phrasings_caption_the_same_scenes_in_words_training_never_used():
    from generators import captions

    plain, novel = held_out_captions(30), held_out_captions(30, novel_phrasing=True)
    assert [s for _, s in plain] == [s for _, s in novel]
    every_training = captions.training_templates(more_phrasings=True)
    assert not set(captions.NOVEL_TEMPLATES) & set(every_training)
    rng = random.Random(3)
    training = {caption(sample_scene(rng), rng, templates=every_training) for _ in range(3000)}
    assert not training & {text for text, _ in novel}
    tokenizer = WordTokenizer(build_vocabulary())
    assert any(tokenizer(text).unknown_words for text, _ in novel)


def test_more_phrasings_use_only_words_the_vocabulary_has():
    from generators import captions
    from generators.bundled import BUNDLED_WEIGHTS

    committed = WordTokenizer.load(BUNDLED_WEIGHTS / "tokenizer")
    assert committed.vocabulary == build_vocabulary()  # the training grammar's words, no others
    tokenizer = committed
    rng = random.Random(4)
    for _ in range(300):
        text = caption(sample_scene(rng), rng, templates=captions.MORE_TEMPLATES)
        assert tokenizer(text).unknown_words == (), text
    assert captions.training_templates() == captions._BACKGROUND_TEMPLATES
