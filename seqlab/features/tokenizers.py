"""Word tokenizers for the classical models, by name (one literal table) or any callable.

``regex`` is scikit-learn's default ``token_pattern`` (runs of 2+ word characters), ``whitespace``
splits on blanks (PTB and other pre-tokenized corpora), ``jieba`` cuts Chinese into words.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from seqlab.errors import ConfigError

TOKEN_PATTERN = r"(?u)\b\w\w+\b"


def regex_words(text: str, pattern: str = TOKEN_PATTERN) -> list[str]:
    """Tokens matched by ``pattern`` (its one group if it has exactly one, as in scikit-learn)."""
    compiled = re.compile(pattern)
    if compiled.groups > 1:
        raise ConfigError(f"token_pattern must have at most one capturing group, got {pattern!r}")
    return compiled.findall(text)


def whitespace_words(text: str) -> list[str]:
    return text.split()


def jieba_words(text: str) -> list[str]:
    """Chinese (and mixed) text cut into words by jieba's default dictionary; blanks dropped."""
    import jieba

    jieba.setLogLevel(60)  # no "Building prefix dict" chatter on stderr
    return [w for w in jieba.lcut(text) if w.strip()]


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "regex": regex_words,
    "whitespace": whitespace_words,
    "jieba": jieba_words,
}


def resolve_tokenizer(tokenizer: str | Callable[[str], list[str]] | None,
                      default: str = "regex") -> Callable[[str], list[str]]:
    """A callable tokenizer from a name in ``TOKENIZERS``, a callable, or None (``default``)."""
    if tokenizer is None:
        tokenizer = default
    if callable(tokenizer):
        return tokenizer
    if tokenizer in TOKENIZERS:
        return TOKENIZERS[tokenizer]
    raise ConfigError(f"tokenizer must be a callable or one of {sorted(TOKENIZERS)}, "
                      f"got {tokenizer!r}")
