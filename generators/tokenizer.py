"""A word-level tokenizer for the bundled model: a fixed vocabulary, synonyms, unknown words.

Words outside the vocabulary are dropped and reported (never an error): a prompt such as
"a crimson circle on a blue background, trending on artstation" still generates, and the caller
learns which words the model could not read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FILLER", "SYNONYMS", "TokenizedPrompt", "WordTokenizer", "build_vocabulary"]

PAD, BOS = "<pad>", "<bos>"
SYNONYMS: dict[str, str] = {
    "gray": "grey",
    "centre": "center",
    "middle": "center",
    "big": "large",
    "huge": "large",
    "little": "small",
    "tiny": "small",
    "disc": "circle",
    "disk": "circle",
    "dot": "circle",
    "box": "square",
    "rhombus": "diamond",
    "lozenge": "diamond",
    "violet": "purple",
    "magenta": "pink",
    "turquoise": "cyan",
    "aqua": "cyan",
    "backdrop": "background",
    "upper": "top",
    "lower": "bottom",
    "stripy": "striped",
    "stripes": "striped",
    "spotted": "dotted",
    "dots": "dotted",
    "an": "a",
    "the": "a",
    "at": "in",
    "near": "in",
    "against": "on",
    "over": "on",
    "circles": "circle",
    "squares": "square",
    "triangles": "triangle",
    "diamonds": "diamond",
    "stars": "star",
}
# Filler words a person may write that carry nothing the model draws: dropped silently.
FILLER: frozenset[str] = frozenset(
    {"plain", "solid", "of", "coloured", "colored", "shape", "shaped", "image", "picture", "one"}
)
_WORD = re.compile(r"[a-z]+")


def build_vocabulary() -> list[str]:
    """Every canonical word a training caption can contain, in a stable order."""
    from generators import captions
    from generators.scene import COLOURS, PATTERNS, SHAPES

    text = " ".join(
        [*captions._BACKGROUND_TEMPLATES, *COLOURS, *SHAPES, *PATTERNS, "and medium"]
        + [w for words in captions._SIZE_WORDS.values() for w in words]
        + [p for phrases in captions._POSITION_PHRASES.values() for p in phrases]
    )
    words = {SYNONYMS.get(w, w) for w in _WORD.findall(text.replace("{", " {"))}
    words -= {"objects", "bg"} | FILLER  # template placeholders, words that draw nothing
    return [PAD, BOS, *sorted(words)]


@dataclass(frozen=True)
class TokenizedPrompt:
    """Token ids (BOS first, padded), the attention mask, and the words that were dropped."""

    ids: list[int]
    mask: list[int]
    unknown_words: tuple[str, ...]


class WordTokenizer:
    """Maps lower-cased words (after synonyms) to ids; pads or truncates to ``max_length``."""

    def __init__(self, vocabulary: list[str], max_length: int = 32) -> None:
        if vocabulary[:2] != [PAD, BOS]:
            raise ValueError("vocabulary must start with the <pad> and <bos> tokens")
        if max_length < 2:
            raise ValueError(f"max_length={max_length} must be at least 2")
        self.vocabulary = list(vocabulary)
        self.max_length = max_length
        self._ids = {w: i for i, w in enumerate(vocabulary)}

    def __len__(self) -> int:
        return len(self.vocabulary)

    def __call__(self, prompt: str) -> TokenizedPrompt:
        ids, unknown = [self._ids[BOS]], []
        for word in _WORD.findall(prompt.lower()):
            canonical = SYNONYMS.get(word, word)
            if canonical in self._ids:
                ids.append(self._ids[canonical])
            elif canonical not in FILLER:
                unknown.append(word)
        ids = ids[: self.max_length]
        mask = [1] * len(ids) + [0] * (self.max_length - len(ids))
        return TokenizedPrompt(ids + [0] * (self.max_length - len(ids)), mask, tuple(unknown))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        payload = {"vocabulary": self.vocabulary, "max_length": self.max_length}
        (folder / "vocab.json").write_text(json.dumps(payload, indent=1) + "\n")

    @classmethod
    def load(cls, folder: Path) -> WordTokenizer:
        payload = json.loads((folder / "vocab.json").read_text())
        return cls(list(payload["vocabulary"]), int(payload["max_length"]))
