"""Pretrained word vectors into a model's embedding table (word2vec/fastText files or seqlab's).

    >>> import torch
    >>> from seqlab.embeddings.keyed_vectors import KeyedVectors
    >>> kv = KeyedVectors(["cat", "dog"], torch.ones(2, 3).numpy())
    >>> emb = torch.nn.Embedding(4, 3, padding_idx=0)
    >>> copy_pretrained(emb, ["<pad>", "<unk>", "cat", "emu"], kv)
    1
    >>> emb.weight[2].tolist()
    [1.0, 1.0, 1.0]
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seqlab.errors import ConfigError

__all__ = ["load_pretrained", "copy_pretrained"]


def load_pretrained(source: Any) -> Any:
    """A :class:`KeyedVectors` from itself, a word2vec text (``.txt``/``.vec``) or binary
    (``.bin``) file, or a file saved by :meth:`KeyedVectors.save`."""
    from seqlab.embeddings.keyed_vectors import KeyedVectors

    if isinstance(source, KeyedVectors):
        return source
    path = str(source)
    if path.endswith((".txt", ".vec")):
        return KeyedVectors.load_word2vec_format(path)
    if path.endswith(".bin"):
        return KeyedVectors.load_word2vec_format(path, binary=True)
    return KeyedVectors.load(path)


def copy_pretrained(embedding: nn.Embedding, tokens: list[str], vectors: Any,
                    skip: int = 1, option: str = "model.embedding_dim") -> int:
    """Set the rows of ``tokens`` that ``vectors`` knows (after the first ``skip`` rows, e.g.
    ``<pad>``) to their vectors; returns how many were found. A dimension mismatch is a
    :class:`ConfigError` naming both sizes and ``option``."""
    if vectors.vector_size != embedding.embedding_dim:
        raise ConfigError(f"the pretrained vectors have {vectors.vector_size} dimensions but "
                          f"{option} is {embedding.embedding_dim}: set {option} to "
                          f"{vectors.vector_size}")
    found = 0
    with torch.no_grad():
        for i, token in enumerate(tokens):
            if i >= skip and token in vectors:
                embedding.weight[i] = torch.as_tensor(vectors.get_vector(token),
                                                      dtype=embedding.weight.dtype)
                found += 1
    return found
