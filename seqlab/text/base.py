"""The tokenizer protocol: :class:`Encoding`, the :class:`Tokenizer` base class, the specials.

Concrete tokenizers and the registry are in :mod:`seqlab.text.tokenize` (import them from there).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from seqlab.errors import DataError
from seqlab.io import atomic_write_json, read_json

__all__ = ["Encoding", "Tokenizer", "SPECIAL_TOKENS", "PAD_TOKEN", "UNK_TOKEN", "BOS_TOKEN",
           "EOS_TOKEN"]

# The vocabulary's fixed specials (seqlab.text.vocab keeps ids 0..3 for them). Word tokenizers keep
# them intact and BPE learns them as unsplittable tokens, so "<unk>" in PTB text stays one token.
SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>")
PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN = SPECIAL_TOKENS

_FORMAT = "seqlab.tokenizer"


@dataclass(frozen=True)
class Encoding:
    """One text's tokens with their character offsets (and ids when the tokenizer has its own).

    Attributes:
        tokens: the token strings.
        offsets: ``(start, end)`` per token; ``text[start:end]`` is the token's surface.
        ids: the tokenizer's own ids (BPE), or ``None``; vocabulary ids come from ``Vocab.encode``.
    """

    tokens: list[str]
    offsets: list[tuple[int, int]]
    ids: list[int] | None = None

    def __len__(self) -> int:
        return len(self.tokens)


class Tokenizer:
    """Base class (protocol: see seqlab.text.tokenize); subclasses define encode_with_offsets."""

    name: ClassVar[str] = ""
    keeps_newlines: ClassVar[bool] = False
    joiner: ClassVar[str] = " "

    def encode_with_offsets(self, text: str) -> Encoding:
        raise NotImplementedError

    def tokenize(self, text: str) -> list[str]:
        """Split ``text`` into token strings."""
        return self.encode_with_offsets(_check_text(text)).tokens

    def detokenize(self, tokens: Iterable[str]) -> str:
        """Join tokens back into text (``joiner.join(tokens)``; BPE decodes bytes instead)."""
        return self.joiner.join(tokens)

    def own_vocab(self) -> list[str] | None:
        """Tokens of the tokenizer's own vocabulary in id order, or ``None`` (it has none).

        Tokenizers with a closed vocabulary (BPE) return it, so a ``Vocab`` built from it never
        maps their output to ``<unk>``.
        """
        return None

    def _config(self) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description: ``{"format", "name", **options}``; inverse of ``from_dict``."""
        return {"format": _FORMAT, "name": self.name, **self._config()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tokenizer:
        """Rebuild the tokenizer ``to_dict`` described (any kind when called on the base class)."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise DataError(f"tokenizer dict must have format {_FORMAT!r}, got {got!r}")
        from seqlab.text.tokenize import TOKENIZERS

        name = data.get("name")
        target = TOKENIZERS.get(name)
        if target is None:
            raise DataError(f"tokenizer dict names unknown tokenizer {name!r}; "
                            f"valid names: {', '.join(sorted(TOKENIZERS))}")
        if cls is not Tokenizer and target is not cls:
            raise DataError(f"tokenizer dict describes {name!r}, not {cls.name!r}")
        options = {k: v for k, v in data.items() if k not in ("format", "name")}
        return target._from_config(options)

    @classmethod
    def _from_config(cls, options: dict[str, Any]) -> Tokenizer:
        return cls(**options)

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``to_dict()`` as one JSON file, atomically (tmp file + ``os.replace``)."""
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Tokenizer:
        """Read a file written by ``save``; a missing or corrupt file is a ``DataError``."""
        return cls.from_dict(read_json(path, "tokenizer"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self._config().items() if k != "model")
        return f"{type(self).__name__}({opts})"


def _check_text(text: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return text
