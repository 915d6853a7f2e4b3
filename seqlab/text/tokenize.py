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

import gzip
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from seqlab.errors import ConfigError, DataError, NotFittedError

__all__ = [
    "Encoding", "Tokenizer", "WordTokenizer", "WhitespaceTokenizer", "CharTokenizer",
    "JiebaTokenizer", "BPETokenizer", "TOKENIZERS", "get_tokenizer", "SPECIAL_TOKENS",
    "PAD_TOKEN", "UNK_TOKEN", "BOS_TOKEN", "EOS_TOKEN",
]

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
    """Base class of the protocol above; subclasses set ``name``, define ``encode_with_offsets``."""

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
        return _atomic_write_json(Path(path), self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Tokenizer:
        """Read a file written by ``save``; a missing or corrupt file is a ``DataError``."""
        return cls.from_dict(_read_json(Path(path), "tokenizer"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self._config().items() if k != "model")
        return f"{type(self).__name__}({opts})"


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


class BPETokenizer(Tokenizer):
    """Byte-level BPE learned from your corpus by the ``tokenizers`` library.

    Pipeline (``tokenizers`` components): pre-tokenizer ``ByteLevel(add_prefix_space=False)``
    (GPT-2 regex, bytes mapped to printable symbols, so no text is ever unknown), model ``BPE``,
    decoder ``ByteLevel``. :data:`SPECIAL_TOKENS` are learned as unsplittable tokens, so
    ``"<unk>"`` in the text stays one token.

    Build one with :meth:`train` (a classmethod returning a trained tokenizer), or construct it
    untrained (``BPETokenizer(vocab_size=..., min_frequency=...)``) and call :meth:`fit`;
    :func:`seqlab.data.corpus.prepare` fits an untrained one on the train split.

    Args:
        model: a trained ``tokenizers.Tokenizer`` (or ``None`` for an untrained one).
        vocab_size: BPE vocabulary size the trainer aims at (>= 256 + 4: the byte alphabet and
            the specials).
        min_frequency: a pair is merged only if it occurs at least this often.
    """

    name = "bpe"

    def __init__(self, model: Any = None, *, vocab_size: int = 8000,
                 min_frequency: int = 2) -> None:
        if not isinstance(vocab_size, int) or vocab_size < 260:
            raise ConfigError(f"vocab_size must be an int >= 260 (256 bytes + 4 specials), "
                              f"got {vocab_size!r}")
        if not isinstance(min_frequency, int) or min_frequency < 1:
            raise ConfigError(f"min_frequency must be an int >= 1, got {min_frequency!r}")
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self._model = model

    @property
    def trained(self) -> bool:
        return self._model is not None

    @classmethod
    def train(cls, texts_or_files: str | os.PathLike | Iterable[str | os.PathLike], *,
              vocab_size: int = 8000, min_frequency: int = 2) -> BPETokenizer:
        """Learn a BPE vocabulary and return the trained tokenizer.

        Args:
            texts_or_files: texts and/or files. A ``str`` is *text*; a ``pathlib.Path`` (any
                ``os.PathLike``) is a *file* read line by line (``.gz`` decompressed). One item
                or an iterable of them.
            vocab_size: see the class.
            min_frequency: see the class.
        """
        return cls(vocab_size=vocab_size, min_frequency=min_frequency).fit(texts_or_files)

    def fit(self, texts_or_files: str | os.PathLike | Iterable[str | os.PathLike]) -> BPETokenizer:
        """Train in place with this tokenizer's ``vocab_size``/``min_frequency``; returns self."""
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import decoders, models, pre_tokenizers, processors, trainers

        model = HFTokenizer(models.BPE())
        model.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        model.decoder = decoders.ByteLevel()
        model.post_processor = processors.ByteLevel(trim_offsets=True)
        trainer = trainers.BpeTrainer(
            vocab_size=self.vocab_size, min_frequency=self.min_frequency,
            special_tokens=list(SPECIAL_TOKENS), show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        )
        seen = [0]
        model.train_from_iterator(_iter_texts(texts_or_files, seen), trainer=trainer)
        if seen[0] == 0:
            raise DataError("BPETokenizer.train: texts_or_files holds no non-blank text")
        self._model = model
        return self

    def _require(self):
        if self._model is None:
            raise NotFittedError("BPETokenizer is not trained: call BPETokenizer.train(...) or "
                                 ".fit(...) first (seqlab prepare trains it on the train split)")
        return self._model

    def encode_with_offsets(self, text: str) -> Encoding:
        enc = self._require().encode(_check_text(text), add_special_tokens=False)
        return Encoding(list(enc.tokens), [tuple(o) for o in enc.offsets], list(enc.ids))

    def token_to_id(self, token: str) -> int:
        """The BPE model's own id of ``token`` (an error for tokens it does not have)."""
        idx = self._require().token_to_id(token)
        if idx is None:
            raise DataError(f"token {token!r} is not in the BPE vocabulary")
        return idx

    def own_vocab(self) -> list[str]:
        """All BPE tokens by BPE id: ids 0..3 are ``SPECIAL_TOKENS``, the same as ``Vocab``'s."""
        vocab = self._require().get_vocab(with_added_tokens=True)
        return sorted(vocab, key=vocab.__getitem__)

    def detokenize(self, tokens: Iterable[str]) -> str:
        model = self._require()
        ids = [self.token_to_id(t) for t in tokens]
        return model.decode(ids, skip_special_tokens=False)

    def _config(self) -> dict[str, Any]:
        model = None if self._model is None else json.loads(self._model.to_str())
        return {"vocab_size": self.vocab_size, "min_frequency": self.min_frequency, "model": model}

    @classmethod
    def _from_config(cls, options: dict[str, Any]) -> BPETokenizer:
        options = dict(options)
        model = options.pop("model", None)
        if model is not None:
            from tokenizers import Tokenizer as HFTokenizer

            try:
                model = HFTokenizer.from_str(json.dumps(model))
            except Exception as exc:  # the Rust side raises plain Exception
                raise DataError(f"BPE tokenizer model in the dict is corrupt: {exc}") from exc
        return cls(model, **options)


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


def _check_text(text: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return text


def _iter_texts(items: Any, seen: list[int]) -> Iterator[str]:
    """Yield texts from a str, a path, or an iterable of them; count non-blank pieces in seen[0]."""
    if isinstance(items, (str, os.PathLike)):
        items = [items]
    for item in items:
        if isinstance(item, os.PathLike):
            path = Path(item)
            if not path.is_file():
                raise DataError(f"BPE training file {str(path)!r} does not exist")
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        seen[0] += 1
                        yield line
        elif isinstance(item, str):
            if item.strip():
                seen[0] += 1
                yield item
        else:
            raise TypeError(f"texts_or_files items must be str (text) or os.PathLike (file), "
                            f"got {type(item).__name__}")


def _atomic_write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise DataError(f"{what} file {str(path)!r} does not exist")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{what} file {str(path)!r} is corrupt (not valid JSON): {exc}") from exc
