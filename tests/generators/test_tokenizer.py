"""The word-level tokenizer: synonyms, unknown words reported (never an error), persistence."""

from __future__ import annotations

import pytest

from generators.tokenizer import BOS, PAD, WordTokenizer, build_vocabulary


@pytest.fixture(scope="module")
def tokenizer() -> WordTokenizer:
    return WordTokenizer(build_vocabulary(), max_length=16)


def test_vocabulary_is_stable_and_starts_with_specials():
    vocabulary = build_vocabulary()
    assert vocabulary[:2] == [PAD, BOS]
    assert vocabulary == build_vocabulary()
    for word in ("red", "circle", "background", "left", "striped"):
        assert word in vocabulary


def test_synonyms_map_to_the_same_ids(tokenizer):
    a = tokenizer("a big gray disk in the centre on a violet backdrop")
    b = tokenizer("a large grey circle in the center on a purple background")
    assert a.ids == b.ids and a.unknown_words == ()


def test_unknown_words_are_dropped_and_reported(tokenizer):
    out = tokenizer("A crimson circle, trending on ArtStation!")
    assert out.unknown_words == ("crimson", "trending", "artstation")
    assert out.ids == tokenizer("a circle on").ids


def test_filler_words_are_silent(tokenizer):
    assert tokenizer("a picture of a plain red circle").unknown_words == ()


def test_padding_mask_and_truncation(tokenizer):
    out = tokenizer("red")
    assert out.ids[:2] == [1, tokenizer.vocabulary.index("red")]
    assert out.mask == [1, 1] + [0] * 14
    long = tokenizer(" ".join(["red"] * 40))
    assert len(long.ids) == 16 and sum(long.mask) == 16


def test_save_and_load(tmp_path, tokenizer):
    tokenizer.save(tmp_path)
    again = WordTokenizer.load(tmp_path)
    assert again.vocabulary == tokenizer.vocabulary and again.max_length == 16


def test_bad_construction():
    with pytest.raises(ValueError, match="<pad>"):
        WordTokenizer(["red"])
    with pytest.raises(ValueError, match="max_length"):
        WordTokenizer([PAD, BOS], max_length=1)
