"""seqlab: sequence models from bag-of-words and n-grams to RNN/LSTM/GRU, each proven equal to
its reference (PyTorch, scikit-learn, gensim, rank_bm25/bm25s, KenLM).

Public names are imported lazily, so ``import seqlab`` is cheap and the classical side
(features, BM25, n-gram LMs) never pulls in PyTorch.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# name -> module that defines it. One literal table: the public API at a glance.
_EXPORTS = {
    # errors
    "SeqlabError": "seqlab.errors",
    "NotFittedError": "seqlab.errors",
    "ConfigError": "seqlab.errors",
    "DataError": "seqlab.errors",
    # classical features
    "CountVectorizer": "seqlab.features.counts",
    "TfidfTransformer": "seqlab.features.tfidf",
    "TfidfVectorizer": "seqlab.features.tfidf",
    "HashingVectorizer": "seqlab.features.hashing",
    "BM25": "seqlab.features.bm25",
    "NgramLM": "seqlab.features.ngram_lm",
    # embeddings
    "KeyedVectors": "seqlab.embeddings.keyed_vectors",
    "Word2Vec": "seqlab.embeddings.word2vec",
    "FastText": "seqlab.embeddings.fasttext",
    "LineCorpus": "seqlab.embeddings.corpus",
    # text
    "Vocab": "seqlab.text.vocab",
    "get_tokenizer": "seqlab.text.tokenize",
    "WordTokenizer": "seqlab.text.tokenize",
    "CharTokenizer": "seqlab.text.tokenize",
    "JiebaTokenizer": "seqlab.text.tokenize",
    "BPETokenizer": "seqlab.text.tokenize",
    # data
    "DATASETS": "seqlab.data.sources",
    "load_text": "seqlab.data.lines",
    "prepare": "seqlab.data.corpus",
    "PreparedCorpus": "seqlab.data.corpus",
    "LMStream": "seqlab.data.batching",
    "pad_batch": "seqlab.data.batching",
    # recurrent, parallel over time
    "MinGRU": "seqlab.nn.minrnn",
    "MinLSTM": "seqlab.nn.minrnn",
    # models
    "LanguageModel": "seqlab.models.language_model",
    "CheckpointError": "seqlab.errors",
    "LanguageModelConfig": "seqlab.models.language_model",
    "TextClassifier": "seqlab.models.text_classifier",
    "RecurrentClassifier": "seqlab.models.classifier",
    "FastTextClassifier": "seqlab.models.fasttext_classifier",
    "Seq2Seq": "seqlab.models.seq2seq",
    "Tagger": "seqlab.models.tagger",
    "Forecaster": "seqlab.models.forecaster",
    "RunConfig": "seqlab.config",
    "load_checkpoint": "seqlab.train.checkpoint",
    # tasks: one registry and one loader for every trained model (training:
    # seqlab.tasks.train; the name `seqlab.train` is the training-machinery subpackage)
    "TASKS": "seqlab.tasks",
    "load": "seqlab.tasks",
    # layers (seqlab.nn, imported on first use: PyTorch only then)
    "RNN": "seqlab.nn",
    "LSTM": "seqlab.nn",
    "GRU": "seqlab.nn",
    "CRF": "seqlab.nn",
    "Attention": "seqlab.nn",
    "SelfAttentionPooling": "seqlab.nn",
    # decoding over any model with forward and step
    "greedy": "seqlab.generate.decoding",
    "sample": "seqlab.generate.decoding",
    "beam_search": "seqlab.generate.decoding",
    "score": "seqlab.generate.decoding",
    "encode_prompt": "seqlab.generate.decoding",
    # more errors; file input and output
    "MissingFileError": "seqlab.errors",
    "UnknownKeyError": "seqlab.errors",
    "text_policy": "seqlab.io",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seqlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
