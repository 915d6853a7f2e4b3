"""FastText: word2vec whose input vector is the mean of a word's own row and its n-gram rows.

A word ``w`` is wrapped as ``<w>``; its character n-grams of length ``min_n..max_n`` are hashed
(32-bit FNV-1a over the UTF-8 bytes, each byte sign-extended as in fastText's ``char``) into
``bucket`` rows of ``vectors_ngrams``. Training uses ``x_w = mean(E[w], G[h_1], ..., G[h_k])``
where skip-gram's ``syn0[w_c]`` and CBOW's context rows were (Bojanowski et al. 2017, sec. 3.2);
the gradient reaches every row of the mean. After training ``wv[w]`` is ``x_w`` for
vocabulary words and ``mean_k G[h_k]`` for unseen ones.

Reference: Bojanowski, Grave, Joulin, Mikolov, "Enriching Word Vectors with Subword
Information", TACL 2017.
"""

from __future__ import annotations

import numpy as np

from seqlab.embeddings import _kernels
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word2vec import Word2Vec
from seqlab.errors import ConfigError, UnknownKeyError


def ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """Character n-grams of ``<word>``, shortest first (``"<"``/``">"`` alone never count)."""
    ext = f"<{word}>"
    out = []
    for n in range(min_n, min(len(ext), max_n) + 1):
        for i in range(len(ext) - n + 1):
            if n == 1 and (i == 0 or i == len(ext) - 1):
                continue
            out.append(ext[i:i + n])
    return out


def ngram_hash(ngram: str) -> int:
    """fastText's hash: FNV-1a (32 bit) over UTF-8 bytes, bytes sign-extended like C ``char``."""
    h = 2166136261
    for byte in ngram.encode("utf-8"):
        h ^= byte if byte < 128 else byte | 0xFFFFFF00
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def ngram_buckets(word: str, min_n: int, max_n: int, bucket: int) -> list[int]:
    """Bucket rows of ``word``'s n-grams (duplicates kept, as in fastText)."""
    return [ngram_hash(g) % bucket for g in ngrams(word, min_n, max_n)]


class FastTextKeyedVectors(KeyedVectors):
    """Vectors for vocabulary words plus n-gram buckets that give unseen words a vector.

    ``word in wv`` is True whenever the word has at least one n-gram (a vector exists);
    ``wv.has_index_for(word)`` tells whether it is in the vocabulary.
    """

    def __init__(self, keys, vectors, vectors_ngrams, min_n: int, max_n: int, counts=None):
        super().__init__(keys, vectors, counts)
        self.vectors_ngrams = vectors_ngrams
        self.min_n, self.max_n = int(min_n), int(max_n)

    @property
    def bucket(self) -> int:
        return int(self.vectors_ngrams.shape[0])

    def __contains__(self, key: str) -> bool:
        return key in self.key_to_index or bool(ngrams(key, self.min_n, self.max_n))

    def get_vector(self, key: str, norm: bool = False) -> np.ndarray:
        if key in self.key_to_index:
            return super().get_vector(key, norm)
        rows = ngram_buckets(key, self.min_n, self.max_n, self.bucket)
        if not rows:
            raise UnknownKeyError(f"word {key!r} is not in the vocabulary and has no character "
                           f"{self.min_n}..{self.max_n}-grams")
        vec = np.asarray(self.vectors_ngrams[rows], np.float32).mean(axis=0)
        return vec / max(float(np.linalg.norm(vec)), 1e-30) if norm else vec

    def _native_arrays(self):
        arrays, _ = super()._native_arrays()
        arrays["vectors_ngrams"] = np.asarray(self.vectors_ngrams, np.float32)
        return arrays, {"class": "FastTextKeyedVectors", "min_n": self.min_n,
                        "max_n": self.max_n}

    @classmethod
    def _from_native(cls, keys, arrays, meta):
        return cls(keys, arrays["vectors"], arrays["vectors_ngrams"], meta["min_n"],
                   meta["max_n"], arrays.get("counts"))


class FastText(Word2Vec):
    """Trainer for fastText subword vectors; every :class:`Word2Vec` option applies.

    Args:
        min_n: shortest character n-gram.
        max_n: longest character n-gram (``max_n < min_n`` disables n-grams).
        bucket: number of hash buckets (rows of ``wv.vectors_ngrams``).
        **kwargs: the :class:`Word2Vec` options (``architecture``, ``loss``, ``vector_size``...).
    """

    _PARAMS = (*Word2Vec._PARAMS, "min_n", "max_n", "bucket")

    def __init__(self, *, min_n: int = 3, max_n: int = 6, bucket: int = 2_000_000,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.min_n = min_n
        self.max_n = max_n
        self.bucket = bucket

    def _validate(self) -> None:
        super()._validate()
        if not (isinstance(self.min_n, int) and self.min_n >= 1):
            raise ConfigError(f"min_n must be an integer >= 1, got {self.min_n!r}")
        if not isinstance(self.max_n, int):
            raise ConfigError(f"max_n must be an integer, got {self.max_n!r}")
        if not (isinstance(self.bucket, int) and self.bucket >= 1):
            raise ConfigError(f"bucket must be an integer >= 1, got {self.bucket!r}")

    def _input_rows(self, keys):
        V = len(keys)
        rows = [[w] + [V + b for b in ngram_buckets(k, self.min_n, self.max_n, self.bucket)]
                for w, k in enumerate(keys)]
        ptr = np.zeros(V + 1, np.int64)
        np.cumsum([len(r) for r in rows], out=ptr[1:])
        idx = np.fromiter((i for r in rows for i in r), np.int32, count=int(ptr[-1]))
        return ptr, idx

    def _n_input_rows(self, n_words: int) -> int:
        return n_words + self.bucket

    def _make_vectors(self, keys, counts, syn0) -> FastTextKeyedVectors:
        ptr, idx = self._sub_ptr, self._sub_idx
        vectors = _kernels.csr_mean_rows(syn0, ptr, idx)
        return FastTextKeyedVectors(keys, vectors, syn0[len(keys):], self.min_n, self.max_n,
                                    counts)
