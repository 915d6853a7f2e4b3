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
``model.save(path)`` writes the whole trainable model (options, vocabulary, input and output
weights) to one file; ``Word2Vec.load(path)`` reads it back and ``model.train(more_corpus)``
continues training with the same vocabulary.

Example (a toy corpus; a file is ``LineCorpus("ptb.train.txt")``):
    >>> from seqlab import Word2Vec
    >>> sentences = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "cat", "ran"]] * 50
    >>> model = Word2Vec(vector_size=8, min_count=1, epochs=2, workers=1, seed=1,
    ...                  progress=False).fit(sentences)
    >>> model.wv.vectors.shape, sorted(model.wv.index_to_key), model.epochs_trained_
    ((6, 8), ['a', 'cat', 'dog', 'ran', 'sat', 'the'], 2)
    >>> len(model.wv.most_similar("cat", topn=3))
    3

Reference: Mikolov et al., "Efficient Estimation of Word Representations in Vector Space"
(2013) and "Distributed Representations of Words and Phrases and their Compositionality" (2013).
"""

from __future__ import annotations

import sys

import numpy as np

from seqlab.embeddings import _kernels, formats, training
from seqlab.embeddings.corpus import MAX_SENTENCE_LENGTH, encode_corpus
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.vocab import (
    build_vocab,
    huffman_tree,
    keep_probabilities,
    map_to_vocab,
    negative_table,
)
from seqlab.errors import ConfigError, DataError, NotFittedError

ARCHITECTURES = ("skipgram", "cbow")
MODEL_FORMAT = "seqlab-word2vec-model-1"
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
        epochs_trained_: epochs over all ``fit``/``train`` calls (kept by ``save``/``load``).
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
        return np.zeros(0, np.int64), np.zeros(0, np.int32)

    def _n_input_rows(self, n_words: int) -> int:
        """Rows of the input matrix ``syn0``."""
        return n_words

    def _make_vectors(self, keys, counts, syn0) -> KeyedVectors:
        return KeyedVectors(keys, syn0, counts)

    # ---- training -----------------------------------------------------------------------
    def fit(self, corpus) -> Word2Vec:
        """Build the vocabulary from ``corpus`` (a restartable iterable of token lists, e.g.
        :class:`LineCorpus`) and train from fresh random weights; returns ``self``."""
        self._validate()
        words, raw_counts, tokens, starts = encode_corpus(corpus, MAX_SENTENCE_LENGTH)
        keys, counts, tokens, starts = build_vocab(words, raw_counts, tokens, starts,
                                                   self.min_count, self.max_vocab_size)
        V, D = len(keys), self.vector_size
        rng = np.random.default_rng(self.seed)
        n_rows = self._n_input_rows(V)
        # uniform in [-1/D, 1/D), gensim's range (the C tool uses half of it)
        syn0 = (rng.random((n_rows, D), dtype=np.float32) * 2 - 1) / np.float32(D)
        n_out = max(V - 1, 1) if self.loss == "hierarchical" else V
        self._set_state(keys, counts, syn0, np.zeros((n_out, D), np.float32), epochs_done=0)
        self._train_encoded(tokens, starts, int(raw_counts.sum()), int(self.epochs),
                            float(self.alpha), float(self.min_alpha))
        return self

    def train(self, corpus, *, epochs: int | None = None, alpha: float | None = None,
              min_alpha: float | None = None) -> Word2Vec:
        """Continue training a fitted (or loaded) model on ``corpus``; returns ``self``.

        The vocabulary stays fixed: words outside it are dropped (as unknown words are at
        ``fit``), and subsampling and the negative table keep the original counts. The learning
        rate decays linearly again from ``alpha`` to ``min_alpha`` (default: the model's) over
        the ``epochs`` (default: ``self.epochs``) passes of this call. ``epoch_losses_`` and
        ``stats_`` describe this call; ``epochs_trained_`` counts all epochs so far.
        """
        self._check_fitted()
        self._validate()  # options may have been changed since fit/load
        epochs = int(self.epochs) if epochs is None else epochs
        alpha = float(self.alpha) if alpha is None else alpha
        min_alpha = float(self.min_alpha) if min_alpha is None else min_alpha
        if not isinstance(epochs, int | np.integer) or isinstance(epochs, bool) or epochs < 1:
            raise ConfigError(f"epochs must be an integer >= 1, got {epochs!r}")
        if not (alpha > 0 and 0 <= min_alpha <= alpha):
            raise ConfigError(f"need alpha > 0 and 0 <= min_alpha <= alpha, got alpha="
                              f"{alpha!r}, min_alpha={min_alpha!r}")
        words, raw_counts, tokens, starts = encode_corpus(corpus, MAX_SENTENCE_LENGTH)
        tokens, starts = map_to_vocab(words, tokens, starts, self.wv.key_to_index)
        if len(tokens) == 0:
            raise DataError(f"corpus has no word of the model's vocabulary ({len(self.wv)} "
                            f"words, e.g. {self.wv.index_to_key[:3]})")
        self._train_encoded(tokens, starts, int(raw_counts.sum()), int(epochs), float(alpha),
                            float(min_alpha))
        return self

    def _set_state(self, keys, counts, syn0, syn1, epochs_done: int) -> None:
        """Install vocabulary and weights, and the tables derived from the counts."""
        self._sub_ptr, self._sub_idx = self._input_rows(keys)
        if self.loss == "hierarchical":
            self._huffman = huffman_tree(counts)
            self._table = np.zeros(1, np.int32)
        else:
            self._huffman = None
            self._table = negative_table(counts)
        self._keys, self._counts = list(keys), counts
        self._syn0, self.syn1_ = syn0, syn1
        self.epochs_trained_ = epochs_done
        self.wv = self._make_vectors(self._keys, counts, syn0)

    def _train_encoded(self, tokens, starts, corpus_words: int, epochs: int, alpha: float,
                       min_alpha: float) -> None:
        if self._huffman is not None:
            codes, points, codelens = self._huffman
        else:
            codes, points = np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int32)
            codelens = np.zeros(1, np.int32)
        keep = keep_probabilities(self._counts, self.sample)
        syn0, syn1, table = self._syn0, self.syn1_, self._table
        sub_ptr, sub_idx = self._sub_ptr, self._sub_idx
        hs, cbow = self._huffman is not None, self.architecture == "cbow"
        negative, window = int(self.negative), int(self.window)

        def kernel(lo, hi, alpha_lo, alpha_hi, seed):
            if not (hs or len(sub_ptr)):  # word2vec with negative sampling
                fn = _kernels.train_cbow_ns if cbow else _kernels.train_sg_ns
                return fn(tokens, starts, lo, hi, syn0, syn1, table, negative, keep, window,
                          alpha_lo, alpha_hi, seed)
            return _kernels.train_chunk(tokens, starts, lo, hi, syn0, syn1, sub_ptr, sub_idx,
                                        cbow, hs, codes, points, codelens, table, negative,
                                        keep, window, alpha_lo, alpha_hi, seed)

        progress = sys.stderr.isatty() if self.progress is None else self.progress
        self.epoch_losses_, self.stats_ = training.run_epochs(
            kernel, starts, epochs, int(self.workers), alpha, min_alpha, int(self.seed),
            progress, epoch_offset=self.epochs_trained_)
        self.stats_["corpus_words"] = corpus_words
        self.epochs_trained_ += epochs
        self.wv = self._make_vectors(self._keys, self._counts, syn0)  # fresh norms

    # ---- persistence --------------------------------------------------------------------
    _PARAMS = ("architecture", "loss", "vector_size", "window", "negative", "sample",
               "min_count", "alpha", "min_alpha", "epochs", "workers", "seed",
               "max_vocab_size", "progress")

    def get_params(self) -> dict:
        """The constructor options, as a dict (``type(self)(**get_params())`` rebuilds it)."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def save(self, path) -> None:
        """Write the whole trainable model to one file (atomically): the options, vocabulary
        and counts, input weights (for fastText including the n-gram buckets) and output
        weights. ``load`` it to query it or to continue with :meth:`train`. For the vectors
        alone use ``model.wv.save`` / ``save_word2vec_format``."""
        self._check_fitted()
        params = {k: (v.item() if isinstance(v, np.generic) else v)
                  for k, v in self.get_params().items()}
        meta = {"class": type(self).__name__, "format": MODEL_FORMAT, "params": params,
                "epochs_trained": int(self.epochs_trained_)}
        arrays = {"syn0": self._syn0, "syn1": self.syn1_,
                  "counts": np.asarray(self._counts, np.int64)}
        formats.write_native(path, self._keys, arrays, meta)

    @classmethod
    def load(cls, path) -> Word2Vec:
        """Read a file written by :meth:`save` (into memory, writable, ready to ``train``).

        ``Word2Vec.load`` returns a :class:`FastText` for a fastText model; ``FastText.load``
        refuses a word2vec model.
        """
        keys, arrays, meta = formats.read_native(path, mmap=None)
        if meta.get("format") != MODEL_FORMAT:
            kind = meta.get("class", "unknown")
            raise DataError(f"{path}: not a seqlab Word2Vec/FastText model file (it holds "
                            f"{kind}; vectors files load with KeyedVectors.load)")
        from seqlab.embeddings.fasttext import FastText

        classes = {"Word2Vec": Word2Vec, "FastText": FastText}
        target = classes.get(meta.get("class"))
        if target is None or not issubclass(target, cls):
            raise DataError(f"{path}: holds a {meta.get('class')!r} model, which "
                            f"{cls.__name__}.load cannot return")
        params = meta.get("params")
        if not isinstance(params, dict) or set(params) != set(target._PARAMS):
            raise DataError(f"{path}: model options are missing or unknown: {params!r}")
        model = target(**params)
        model._validate()
        missing = {"syn0", "syn1", "counts"} - set(arrays)
        if missing:
            raise DataError(f"{path}: model arrays missing: {sorted(missing)}")
        syn0, syn1, counts = arrays["syn0"], arrays["syn1"], arrays["counts"]
        V, D = len(keys), model.vector_size
        n_rows = model._n_input_rows(V)
        n_out = max(V - 1, 1) if model.loss == "hierarchical" else V
        for name, arr, shape, dtype in (("syn0", syn0, (n_rows, D), np.float32),
                                        ("syn1", syn1, (n_out, D), np.float32),
                                        ("counts", counts, (V,), np.int64)):
            if arr.shape != shape or arr.dtype != dtype:
                raise DataError(f"{path}: array {name} has shape {arr.shape} and dtype "
                                f"{arr.dtype}, expected {shape} {np.dtype(dtype)}")
        if V == 0 or len(set(keys)) != V or counts.min() < 1:
            raise DataError(f"{path}: the vocabulary is empty, has duplicates or a count < 1")
        model._set_state(keys, counts, syn0, syn1, int(meta.get("epochs_trained", 0)))
        return model

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
