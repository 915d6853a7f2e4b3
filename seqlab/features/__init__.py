"""Classical text models, scikit-learn style and free of PyTorch.

- ``counts``: ``CountVectorizer`` (bag of words; word/char n-grams).
- ``tfidf``: ``TfidfTransformer``, ``TfidfVectorizer`` (scikit-learn's and seed 001's formula).
- ``hashing``: ``HashingVectorizer`` (no vocabulary; scikit-learn's columns via ``murmurhash``,
  a numba MurmurHash3). ``analysis``: decoding, preprocessing, tokenizing and n-grams, shared
  by the vectorizers (scikit-learn's ``build_*`` methods).
- ``bm25``: ``BM25`` retrieval (robertson, lucene, atire, bm25l, bm25+); ``bm25_kernels``: its
  compiled top-k search.
- ``ngram_lm``: ``NgramLM`` (mle, add-k, Kneser-Ney, modified Kneser-Ney); ``ngram_counts``:
  n-gram tables in NumPy arrays and the smoothing equations; ``arpa``: ARPA file I/O.
- ``base``: the estimator protocol; ``tokenizers``: regex/whitespace/jieba tokenizers;
  ``stop_words``: the built-in English list (``stop_words="english"``).

Import the classes from ``seqlab`` (``from seqlab import BM25``); nothing is imported here so
that ``import seqlab.features.counts`` stays cheap.
"""
