"""Text -> tokens -> ids: normalization, tokenizers and the vocabulary.

``normalize`` holds small pure functions, ``tokenize`` the tokenizers (word, whitespace, char,
jieba, BPE) behind one protocol, ``vocab`` the :class:`~seqlab.text.vocab.Vocab`. Names below
import on use, so ``import seqlab.text`` pulls in neither jieba nor tokenizers.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Vocab": "seqlab.text.vocab",
    "Tokenizer": "seqlab.text.tokenize",
    "Encoding": "seqlab.text.tokenize",
    "get_tokenizer": "seqlab.text.tokenize",
    "WordTokenizer": "seqlab.text.tokenize",
    "WhitespaceTokenizer": "seqlab.text.tokenize",
    "CharTokenizer": "seqlab.text.tokenize",
    "JiebaTokenizer": "seqlab.text.tokenize",
    "BPETokenizer": "seqlab.text.tokenize",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seqlab.text' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
