"""Word2Vec: skip-gram and CBOW with negative sampling or hierarchical softmax.

For a centre word ``w_t`` and a context word ``w_c`` within a window (its radius drawn
uniformly from 1..``window`` per position, the "random window shrink"), with input vectors
``syn0`` (the result, ``wv.vectors``) and output vectors ``syn1``:

* skip-gram, negative sampling: ``log sigmoid(syn1[w_t] . syn0[w_c]) +
  sum_{k=1..negative} log sigmoid(-syn1[n_k] . syn0[w_c])`` with ``n_k`` drawn from the
  unigram^0.75 table (Mikolov et al. 2013b, eq. 4; pairs as in the C tool);
* CBOW: the same with ``syn0[w_c]`` replaced by ``h = mean_c syn0[w_c]`` over the window;
* hierarchical softmax: ``log P(w_t | h) = sum_d log sigmoid((1 - 2 code_d) syn1[point_d] . h)``
  along ``w_t``'s Huffman path (``vocab.huffman_tree``).

Frequent words are subsampled (``sample``), the learning rate decays linearly from ``alpha``
to ``min_alpha`` over all epochs, and ``workers`` threads run the Numba kernels
(``_kernels.train_chunk``) hogwild. ``Word2Vec(...)`` only stores its options; ``fit(corpus)``
trains and returns ``self``; the vectors are ``model.wv`` (a :class:`KeyedVectors`).

Example:
    >>> from seqlab import Word2Vec, LineCorpus                       # doctest: +SKIP
    >>> model = Word2Vec(architecture="skipgram", epochs=5).fit(LineCorpus("ptb.train.txt"))
    >>> model.wv.most_similar("stock", topn=3)                         # doctest: +SKIP

Reference: Mikolov et al., "Efficient Estimation of Word Representations in Vector Space"
(2013) and "Distributed Representations of Words and Phrases and their Compositionality" (2013).
"""

from __future__ import annotations

import sys

import numpy as np

from seqlab.embeddings import _kernels, training
from seqlab.embeddings.corpus import MAX_SENTENCE_LENGTH, encode_corpus
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.vocab import build_vocab, huffman_tree, keep_probabilities, negative_table
from seqlab.errors import ConfigError, NotFittedError

ARCHITECTURES = ("skipgram", "cbow")
LOSSES = ("negative", "hierarchical")


class Word2Vec:
    """Trainer for word2vec vectors.

    Args:
        architecture: ``"skipgram"`` or ``"cbow"`` (CBOW averages the context vectors).
        loss: ``"negative"`` (negative sampling) or ``"hierarchical"`` (Huffman-tree softmax).
        vector_size: dimension of the vectors.
        window: maximum distance between centre and context word.
        negative: negative samples per prediction (``loss="negative"``).
        sample: subsampling threshold for frequent words (0 disables it).
        min_count: words rarer than this are dropped.
        alpha: initial learning rate.
        min_alpha: final learning rate (linear decay).
        epochs: passes over the corpus.
        workers: training threads.
        seed: random seed (initial vectors and each chunk's generator).
        max_vocab_size: keep at most this many of the most frequent words.
        progress: show a progress bar on stderr (``None``: when stderr is a terminal).

    Attributes:
        wv: the trained :class:`KeyedVectors` (after ``fit``).
        syn1_: output weights (Huffman internal nodes, or one row per word for negative).
        epoch_losses_: float64 sum of ``-log p`` over all predictions, per epoch.
        stats_: ``examples``, ``words`` (after subsampling), ``seconds``, ``corpus_words``.
    """

    def __init__(self, *, architecture: str = "skipgram", loss: str = "negative",
                 vector_size: int = 100, window: int = 5, negative: int = 5,
                 sample: float = 1e-3, min_count: int = 5, alpha: float = 0.025,
                 min_alpha: float = 0.0001, epochs: int = 5, workers: int = 3, seed: int = 1,
                 max_vocab_size: int | None = None, progress: bool | None = None) -> None:
        self.architecture = architecture
        self.loss = loss
        self.vector_size = vector_size
        self.window = window
        self.negative = negative
        self.sample = sample
        self.min_count = min_count
        self.alpha = alpha
        self.min_alpha = min_alpha
        self.epochs = epochs
        self.workers = workers
        self.seed = seed
        self.max_vocab_size = max_vocab_size
        self.progress = progress

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(architecture={self.architecture!r}, loss={self.loss!r}, "
                f"vector_size={self.vector_size}, window={self.window}, epochs={self.epochs})")

    def _validate(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture must be one of {ARCHITECTURES}, "
                              f"got {self.architecture!r}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        positive = {"vector_size": self.vector_size, "window": self.window,
                    "min_count": self.min_count, "epochs": self.epochs, "workers": self.workers}
        if self.loss == "negative":
            positive["negative"] = self.negative
        for name, value in positive.items():
            if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if not 0 <= self.sample < 1:
            raise ConfigError(f"sample must be in [0, 1), got {self.sample!r}")
        if not (self.alpha > 0 and 0 <= self.min_alpha <= self.alpha):
            raise ConfigError(f"need alpha > 0 and 0 <= min_alpha <= alpha, got alpha="
                              f"{self.alpha!r}, min_alpha={self.min_alpha!r}")

    # ---- hooks FastText overrides -------------------------------------------------------
    def _input_rows(self, keys: list[str]):
        """CSR lists of input rows per word; empty for word2vec (word ``w`` is row ``w``)."""
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int32))
        return empty, len(keys)

    def _make_vectors(self, keys, counts, syn0) -> KeyedVectors:
        return KeyedVectors(keys, syn0, counts)

    # ---- training -----------------------------------------------------------------------
    def fit(self, corpus) -> Word2Vec:
        """Build the vocabulary from ``corpus`` (a restartable iterable of token lists, e.g.
        :class:`LineCorpus`) and train; returns ``self``."""
        self._validate()
        words, raw_counts, tokens, starts = encode_corpus(corpus, MAX_SENTENCE_LENGTH)
        keys, counts, tokens, starts = build_vocab(words, raw_counts, tokens, starts,
                                                   self.min_count, self.max_vocab_size)
        V, D = len(keys), self.vector_size
        rng = np.random.default_rng(self.seed)
        (sub_ptr, sub_idx), n_rows = self._input_rows(keys)
        # uniform in [-1/D, 1/D), gensim's range (the C tool uses half of it)
        syn0 = (rng.random((n_rows, D), dtype=np.float32) * 2 - 1) / np.float32(D)
        hs = self.loss == "hierarchical"
        if hs:
            codes, points, codelens = huffman_tree(counts)
            syn1 = np.zeros((max(V - 1, 1), D), np.float32)
            table = np.zeros(1, np.int32)
        else:
            codes, points = np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int32)
            codelens = np.zeros(1, np.int32)
            syn1 = np.zeros((V, D), np.float32)
            table = negative_table(counts)
        keep = keep_probabilities(counts, self.sample)
        cbow = self.architecture == "cbow"
        negative = int(self.negative)
        window = int(self.window)

        def kernel(lo, hi, alpha_lo, alpha_hi, seed):
            return _kernels.train_chunk(tokens, starts, lo, hi, syn0, syn1, sub_ptr, sub_idx,
                                        cbow, hs, codes, points, codelens, table, negative,
                                        keep, window, alpha_lo, alpha_hi, seed)

        progress = sys.stderr.isatty() if self.progress is None else self.progress
        self.epoch_losses_, self.stats_ = training.run_epochs(
            kernel, starts, int(self.epochs), int(self.workers), float(self.alpha),
            float(self.min_alpha), int(self.seed), progress)
        self.stats_["corpus_words"] = int(raw_counts.sum())
        self.syn1_ = syn1
        self._huffman = (codes, points, codelens) if hs else None
        self._syn0 = syn0
        self.wv = self._make_vectors(keys, counts, syn0)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "wv"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(corpus)")

    def output_log_probabilities(self, hidden: np.ndarray) -> np.ndarray:
        """``log P(w | h)`` over the vocabulary for a hidden vector ``h`` (hierarchical softmax;
        for CBOW ``h`` is the mean of the context vectors, for skip-gram an input vector)."""
        self._check_fitted()
        if self._huffman is None:
            raise ConfigError("output_log_probabilities needs loss='hierarchical' (negative "
                              "sampling defines no normalised distribution)")
        h = np.asarray(hidden, np.float32)
        if h.shape != (self.wv.vector_size,):
            raise ConfigError(f"hidden must have shape ({self.wv.vector_size},), got {h.shape}")
        return _kernels.hs_log_probabilities(h, self.syn1_, *self._huffman)
