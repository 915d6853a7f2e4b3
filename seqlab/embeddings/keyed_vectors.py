"""``KeyedVectors``: a word -> vector table with similarity queries, analogies and file I/O.

The trained result of :class:`~seqlab.embeddings.word2vec.Word2Vec` (its ``.wv``), also usable
on its own (``KeyedVectors.load_word2vec_format("GoogleNews.bin", binary=True)``). Names follow
gensim where gensim has one: ``key_to_index``, ``index_to_key``, ``vectors``, ``wv[word]``,
``word in wv``, ``most_similar``, ``most_similar_cosmul``, ``similarity``.

Similarities are cosines of unit vectors ``u_w = v_w / ||v_w||``:

* ``most_similar(positive=P, negative=N)`` ranks words by ``cos(w, m)`` with
  ``m = sum_{p in P} u_p - sum_{n in N} u_n`` (3CosAdd; Mikolov et al. 2013), inputs excluded.
* ``most_similar_cosmul`` ranks by ``prod_{p} s(w, p) / (prod_{n} s(w, n) + 1e-6)`` with
  ``s = (1 + cos) / 2`` (3CosMul; Levy & Goldberg 2014, eq. 4 and footnote 7).
* ``analogy(a, b, c)`` answers "a is to b as c is to ?" with P = {b, c}, N = {a}.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from seqlab.embeddings import formats
from seqlab.errors import ConfigError, DataError, UnknownKeyError

Item = str | np.ndarray


class KeyedVectors:
    """Vectors addressed by string keys, rows in ``index_to_key`` order (most frequent first).

    Args:
        keys: the words, one per row of ``vectors``.
        vectors: float array of shape ``(len(keys), vector_size)``.
        counts: optional corpus frequency of each key.
    """

    def __init__(self, keys: Sequence[str], vectors: np.ndarray, counts=None) -> None:
        vectors = np.asarray(vectors) if isinstance(vectors, np.memmap) else np.asarray(
            vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(keys):
            raise DataError(
                f"vectors must have shape (len(keys)={len(keys)}, dim), got {vectors.shape}")
        self.index_to_key: list[str] = list(keys)
        self.key_to_index: dict[str, int] = {k: i for i, k in enumerate(self.index_to_key)}
        if len(self.key_to_index) != len(self.index_to_key):
            raise DataError("keys must be unique")
        self.vectors = vectors
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self._norms: np.ndarray | None = None

    # ---- lookup -------------------------------------------------------------------------
    @property
    def vector_size(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, key: str) -> bool:
        return key in self.key_to_index

    def has_index_for(self, key: str) -> bool:
        """True if ``key`` has its own row (for fastText, ``in`` also covers OOV words)."""
        return key in self.key_to_index

    def get_index(self, key: str) -> int:
        try:
            return self.key_to_index[key]
        except KeyError:
            raise UnknownKeyError(f"word {key!r} not in vocabulary ({len(self)} words)") from None

    def get_vector(self, key: str, norm: bool = False) -> np.ndarray:
        """The vector of ``key`` (a copy scaled to unit length if ``norm``)."""
        i = self.get_index(key)
        if not norm:
            return self.vectors[i]
        n = float(self.norms[i])
        return self.vectors[i] / (n if n > 0 else 1.0)

    def __getitem__(self, key: str | Iterable[str]) -> np.ndarray:
        if isinstance(key, str):
            return self.get_vector(key)
        return np.stack([self.get_vector(k) for k in key])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} keys, vector_size={self.vector_size})"

    @property
    def norms(self) -> np.ndarray:
        if self._norms is None:
            self._norms = np.linalg.norm(self.vectors, axis=1).astype(np.float32)
        return self._norms

    def get_normed_vectors(self) -> np.ndarray:
        norms = self.norms
        return self.vectors / np.where(norms > 0, norms, 1.0)[:, None]

    def _unit(self, item: Item) -> np.ndarray:
        vec = self.get_vector(item) if isinstance(item, str) else np.asarray(item, np.float32)
        if vec.shape != (self.vector_size,):
            raise DataError(f"vector must have shape ({self.vector_size},), got {vec.shape}")
        n = float(np.linalg.norm(vec))
        return vec / n if n > 0 else vec

    # ---- similarity ---------------------------------------------------------------------
    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words."""
        return float(np.dot(self._unit(w1), self._unit(w2)))

    def _cosines(self, vec: np.ndarray, end: int) -> np.ndarray:
        norms = self.norms[:end]
        return (self.vectors[:end] @ vec) / np.where(norms > 0, norms, 1.0)

    def _rank(self, scores: np.ndarray, exclude: set[int], topn: int):
        k = min(len(scores), topn + len(exclude))
        best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        best = best[np.argsort(-scores[best], kind="stable")]
        out = [(self.index_to_key[i], float(scores[i])) for i in best if int(i) not in exclude]
        return out[:topn]

    def _inputs(self, positive, negative):
        positive = [positive] if isinstance(positive, str | np.ndarray) else list(positive or [])
        negative = [negative] if isinstance(negative, str | np.ndarray) else list(negative or [])
        if not positive and not negative:
            raise ConfigError("most_similar needs at least one positive or negative word")
        exclude = {self.key_to_index[w] for w in positive + negative
                   if isinstance(w, str) and w in self.key_to_index}
        return positive, negative, exclude

    def most_similar(self, positive=None, negative=None, topn: int = 10,
                     restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """Top ``topn`` words by cosine to ``unit(sum u_positive - sum u_negative)`` (3CosAdd).

        Args:
            positive: words (or vectors) that contribute positively.
            negative: words (or vectors) that contribute negatively.
            topn: number of results.
            restrict_vocab: only search the first (most frequent) this many words.
        """
        positive, negative, exclude = self._inputs(positive, negative)
        mean = np.zeros(self.vector_size, dtype=np.float32)
        for item in positive:
            mean += self._unit(item)
        for item in negative:
            mean -= self._unit(item)
        mean = self._unit(mean / (len(positive) + len(negative)))
        end = len(self) if restrict_vocab is None else min(restrict_vocab, len(self))
        return self._rank(self._cosines(mean, end), exclude, topn)

    def most_similar_cosmul(self, positive=None, negative=None, topn: int = 10,
                            restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """Top ``topn`` by ``prod_p s(w,p) / (prod_n s(w,n) + 1e-6)``, ``s=(1+cos)/2`` (3CosMul)."""
        positive, negative, exclude = self._inputs(positive, negative)
        end = len(self) if restrict_vocab is None else min(restrict_vocab, len(self))
        num = np.ones(end, dtype=np.float32)
        den = np.ones(end, dtype=np.float32)
        for item in positive:
            num *= (1 + self._cosines(self._unit(item), end)) / 2
        for item in negative:
            den *= (1 + self._cosines(self._unit(item), end)) / 2
        scores = num / (den + 1e-6) if negative else num
        return self._rank(scores, exclude, topn)

    def analogy(self, a: str, b: str, c: str, topn: int = 1, method: str = "add",
                restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """"``a`` is to ``b`` as ``c`` is to ?" with 3CosAdd (``method="add"``) or 3CosMul."""
        if method == "add":
            return self.most_similar([b, c], [a], topn, restrict_vocab)
        if method == "mul":
            return self.most_similar_cosmul([b, c], [a], topn, restrict_vocab)
        raise ConfigError(f"method must be 'add' or 'mul', got {method!r}")

    # ---- evaluation ---------------------------------------------------------------------
    def evaluate_analogies(self, path, restrict_vocab: int = 300_000,
                           case_insensitive: bool = True, method: str = "add"):
        """Accuracy on a questions-words file; see :func:`evaluation.evaluate_analogies`."""
        from seqlab.embeddings.evaluation import evaluate_analogies

        return evaluate_analogies(self, path, restrict_vocab, case_insensitive, method)

    def evaluate_similarity(self, path, restrict_vocab: int = 300_000,
                            case_insensitive: bool = True):
        """Spearman/Pearson on a word-pair file; see :func:`evaluation.evaluate_similarity`."""
        from seqlab.embeddings.evaluation import evaluate_similarity

        return evaluate_similarity(self, path, restrict_vocab, case_insensitive)

    # ---- I/O ----------------------------------------------------------------------------
    def save_word2vec_format(self, path, binary: bool = False) -> None:
        """Write word2vec text (``binary=False``) or binary format (gensim/C-tool compatible)."""
        formats.write_word2vec(path, self.index_to_key, self.vectors, binary=binary)

    @classmethod
    def load_word2vec_format(cls, path, binary: bool = False, limit: int | None = None):
        """Read word2vec text or binary format (first ``limit`` vectors if given)."""
        keys, vectors = formats.read_word2vec(path, binary=binary, limit=limit)
        return KeyedVectors(keys, vectors)

    def _native_arrays(self) -> tuple[dict, dict]:
        arrays = {"vectors": np.asarray(self.vectors, dtype=np.float32)}
        if self.counts is not None:
            arrays["counts"] = self.counts
        return arrays, {"class": "KeyedVectors"}

    def save(self, path) -> None:
        """Write the native format (one file; :meth:`load` memory-maps it)."""
        arrays, meta = self._native_arrays()
        formats.write_native(path, self.index_to_key, arrays, meta)

    @classmethod
    def load(cls, path, mmap: str | None = "r") -> KeyedVectors:
        """Load a native file; ``mmap="r"`` maps the vectors read-only instead of reading them."""
        keys, arrays, meta = formats.read_native(path, mmap=mmap)
        if "vectors" not in arrays:
            raise DataError(f"{path}: holds a trainable {meta.get('class', '?')} model, not "
                            "vectors; read it with Word2Vec.load(path) and use its .wv")
        if meta.get("class") == "FastTextKeyedVectors":
            from seqlab.embeddings.fasttext import FastTextKeyedVectors

            return FastTextKeyedVectors._from_native(keys, arrays, meta)
        kv = KeyedVectors.__new__(KeyedVectors)
        KeyedVectors.__init__(kv, keys, arrays["vectors"], arrays.get("counts"))
        return kv
