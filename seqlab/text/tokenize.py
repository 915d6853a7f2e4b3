"""Tokenizers: text -> list of token strings (the vocabulary then maps tokens to ids).

Every tokenizer follows one protocol, :class:`Tokenizer`:

- ``tokenize(text) -> list[str]``
- ``encode_with_offsets(text) -> Encoding(tokens, offsets, ids)``: ``offsets[i] = (start, end)``
  such that ``text[start:end]`` is the surface of ``tokens[i]`` (before lower-casing); ``ids``
  are filled only by tokenizers that own an id space (BPE), else ``None``.
- ``detokenize(tokens) -> str``: characters are joined with ``""``, words with ``" "``; jieba
  words with ``""`` (Chinese is written without spaces); BPE through its byte-level decoder, so
  ``bpe.detokenize(bpe.tokenize(text)) == text`` exactly.
- ``to_dict()`` / ``Tokenizer.from_dict(d)`` (a JSON-safe dict that travels in checkpoints and
  prepared corpora), ``save(path)`` / ``Tokenizer.load(path)`` (one JSON file, written atomically).
- ``keeps_newlines``: whether ``"\\n"`` comes out as a token (character tokenizer) or is dropped
  as whitespace (all others). :func:`seqlab.data.corpus.prepare` uses it to choose its default
  line-end convention.
- ``own_vocab()``: the tokenizer's own vocabulary in id order (BPE) or ``None``.

The base class and :class:`Encoding` live in :mod:`seqlab.text.base`, the BPE wrapper in
:mod:`seqlab.text.bpe`; this module re-exports both, so import everything from here.

``get_tokenizer(name, **options)`` builds one from the literal registry :data:`TOKENIZERS`:

==============  ==========================================================================
``word``        :class:`WordTokenizer`: whitespace, then punctuation split off (rules below)
``whitespace``  :class:`WhitespaceTokenizer`: ``str.split()``, nothing else (PTB, WikiText)
``char``        :class:`CharTokenizer`: every character, whitespace and newlines included
``jieba``       :class:`JiebaTokenizer`: Chinese words through ``jieba`` (its log silenced)
``bpe``         :class:`BPETokenizer`: byte-level BPE trained by ``tokenizers`` on your corpus
==============  ==========================================================================

Example:
    >>> WordTokenizer().tokenize("Don't panic: it's 3.14, e-mail <unk>!")
    ["Don't", 'panic', ':', "it's", '3.14', ',', 'e-mail', '<unk>', '!']
    >>> CharTokenizer().detokenize(["a", "b"])
    'ab'
"""

from __future__ import annotations

import logging
import re
from typing import Any

from seqlab.errors import ConfigError
from seqlab.text.base import (
    BOS_TOKEN,
    EOS_TOKEN,
    PAD_TOKEN,
    SPECIAL_TOKENS,
    UNK_TOKEN,
    Encoding,
    Tokenizer,
    _check_text,
)
from seqlab.text.bpe import BPETokenizer

__all__ = [
    "Encoding", "Tokenizer", "WordTokenizer", "WhitespaceTokenizer", "CharTokenizer",
    "JiebaTokenizer", "BPETokenizer", "TOKENIZERS", "get_tokenizer", "SPECIAL_TOKENS",
    "PAD_TOKEN", "UNK_TOKEN", "BOS_TOKEN", "EOS_TOKEN",
]


# <tag> specials | numbers with . , : inside | words with inner ' ’ - | runs of . or - | one symbol
_WORD_RE = re.compile(r"<\w+>|\d+(?:[.,:]\d+)*|\w+(?:['’-]\w+)*|\.{2,}|-{2,}|[^\w\s]")
_SPACE_RE = re.compile(r"\S+")


class WordTokenizer(Tokenizer):
    """Words by whitespace, with punctuation split off by simple rules.

    Rules, applied left to right (``_WORD_RE``):

    1. ``<word>`` stays one token (``<unk>``, ``<eos>`` as in PTB/WikiText text);
    2. a number keeps inner ``.``, ``,``, ``:`` (``3.14``, ``1,000``, ``10:30``);
    3. a word keeps inner apostrophes and hyphens (``don't``, ``e-mail``, ``rock'n'roll``);
    4. ``...`` / ``--`` runs stay together;
    5. every other non-space, non-word character is a token by itself (``"(x)." -> ( x ) .``).

    No abbreviation list: ``"U.S."`` gives ``U . S .``. ``\\w`` is Unicode-aware, so accented
    and non-Latin letters are word characters.

    Args:
        lowercase: lower-case every token (offsets still point at the original text).
    """

    name = "word"

    def __init__(self, lowercase: bool = False) -> None:
        if not isinstance(lowercase, bool):
            raise ConfigError(f"lowercase must be a bool, got {lowercase!r}")
        self.lowercase = lowercase

    def _config(self) -> dict[str, Any]:
        return {"lowercase": self.lowercase}

    def encode_with_offsets(self, text: str) -> Encoding:
        matches = list(_WORD_RE.finditer(_check_text(text)))
        tokens = [m.group() for m in matches]
        if self.lowercase:
            tokens = [t if t in SPECIAL_TOKENS else t.lower() for t in tokens]
        return Encoding(tokens, [m.span() for m in matches])


class WhitespaceTokenizer(Tokenizer):
    """Split on runs of whitespace only (``str.split()``): PTB and WikiText are pre-tokenized."""

    name = "whitespace"

    def tokenize(self, text: str) -> list[str]:
        return _check_text(text).split()

    def encode_with_offsets(self, text: str) -> Encoding:
        matches = list(_SPACE_RE.finditer(_check_text(text)))
        return Encoding([m.group() for m in matches], [m.span() for m in matches])


class CharTokenizer(Tokenizer):
    """Every character is a token, spaces and newlines included (char-rnn, nanoGPT)."""

    name = "char"
    keeps_newlines = True
    joiner = ""

    def tokenize(self, text: str) -> list[str]:
        return list(_check_text(text))

    def encode_with_offsets(self, text: str) -> Encoding:
        tokens = list(_check_text(text))
        return Encoding(tokens, [(i, i + 1) for i in range(len(tokens))])


def _jieba():
    """Import jieba with its startup log ("Building prefix dict ...") silenced."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


class JiebaTokenizer(Tokenizer):
    """Chinese words through ``jieba`` (default, accurate mode). Whitespace tokens are dropped.

    ``detokenize`` joins with ``""``: spaces between words are not restored.

    Args:
        hmm: let jieba's HMM find words missing from its dictionary.
    """

    name = "jieba"
    joiner = ""

    def __init__(self, hmm: bool = True) -> None:
        self.hmm = bool(hmm)

    def _config(self) -> dict[str, Any]:
        return {"hmm": self.hmm}

    def encode_with_offsets(self, text: str) -> Encoding:
        text = _check_text(text)
        tokens: list[str] = []
        offsets: list[tuple[int, int]] = []
        if text:
            for word, start, end in _jieba().tokenize(text, HMM=self.hmm):
                if word.strip():
                    tokens.append(word)
                    offsets.append((start, end))
        return Encoding(tokens, offsets)


# name -> class. One literal table: the names the CLI and configs accept.
TOKENIZERS: dict[str, type[Tokenizer]] = {
    "word": WordTokenizer,
    "whitespace": WhitespaceTokenizer,
    "char": CharTokenizer,
    "jieba": JiebaTokenizer,
    "bpe": BPETokenizer,
}


def get_tokenizer(name: str | Tokenizer, **options: Any) -> Tokenizer:
    """Build a tokenizer by registry name (``options`` go to its constructor).

    A :class:`Tokenizer` instance is returned unchanged (options must then be empty).
    """
    if isinstance(name, Tokenizer):
        if options:
            raise ConfigError(f"options {sorted(options)} given with a tokenizer instance {name!r}")
        return name
    cls = TOKENIZERS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"unknown tokenizer {name!r}; "
                          f"valid names: {', '.join(sorted(TOKENIZERS))}")
    try:
        return cls(**options)
    except TypeError as exc:
        raise ConfigError(f"bad options for tokenizer {name!r}: {exc}") from exc
