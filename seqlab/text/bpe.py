"""Byte-level BPE through the ``tokenizers`` library, behind seqlab's tokenizer protocol."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from seqlab.errors import ConfigError, DataError, NotFittedError
from seqlab.io import open_text
from seqlab.text.base import SPECIAL_TOKENS, Encoding, Tokenizer, _check_text

__all__ = ["BPETokenizer"]


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


def _iter_texts(items: Any, seen: list[int]) -> Iterator[str]:
    """Yield texts from a str, a path, or an iterable of them; count non-blank pieces in seen[0]."""
    if isinstance(items, (str, os.PathLike)):
        items = [items]
    for item in items:
        if isinstance(item, os.PathLike):
            path = Path(item)
            if not path.is_file():
                raise DataError(f"BPE training file {str(path)!r} does not exist")
            with open_text(path) as handle:
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
