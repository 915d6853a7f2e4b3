"""Word embeddings: word2vec (skip-gram, CBOW) and fastText, trained by Numba kernels.

``Word2Vec``/``FastText`` are trainers (``fit(corpus)`` returns the trainer); their result is
``.wv``, a standalone :class:`KeyedVectors` with similarity queries, analogy and word-pair
evaluation, and word2vec text/binary plus memory-mapped native I/O. Corpora are restartable
iterables of token lists (:class:`LineCorpus`). No PyTorch is imported here.
"""
