"""The public API: ``seqlab`` exports the layers, decoding functions and models the README shows,
and every error seqlab raises on purpose is a SeqlabError that is also the matching built-in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import seqlab
from seqlab import errors

ROOT = Path(seqlab.__file__).parent


def test_layers_decoding_and_models_are_exported():
    import seqlab.generate.decoding as decoding
    import seqlab.nn as snn

    for name in ("LSTM", "GRU", "RNN", "CRF", "Attention", "SelfAttentionPooling"):
        assert getattr(seqlab, name) is getattr(snn, name)
    for name in ("greedy", "sample", "beam_search", "score", "encode_prompt"):
        assert getattr(seqlab, name) is getattr(decoding, name)
    for name in ("LanguageModel", "Word2Vec", "FastText", "KeyedVectors", "BM25", "NgramLM",
                 "MinGRU", "MinLSTM", "CountVectorizer", "TfidfVectorizer", "load"):
        assert name in seqlab.__all__


@pytest.mark.parametrize("cls, builtin", [
    (errors.ConfigError, ValueError), (errors.DataError, ValueError),
    (errors.CheckpointError, ValueError), (errors.MissingFileError, FileNotFoundError),
    (errors.UnknownKeyError, KeyError), (errors.NotFittedError, AttributeError),
])
def test_errors_are_seqlab_errors_and_builtins(cls, builtin):
    assert issubclass(cls, errors.SeqlabError) and issubclass(cls, builtin)
    assert str(cls("a message")) == "a message"  # KeyError/OSError would decorate it


def test_no_bare_builtin_errors_outside_seqlab_nn():
    """seqlab.nn follows torch.nn's ValueErrors (and is refactored elsewhere): not checked."""
    bare = re.compile(r"raise (ValueError|KeyError|FileNotFoundError)\(")
    found = [f"{p.relative_to(ROOT)}:{i}" for p in ROOT.rglob("*.py") if "nn" not in p.parts
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if bare.search(line)]
    assert not found, f"raise a seqlab.errors class instead: {found}"


def test_unknown_words_are_key_errors_with_a_plain_message():
    import numpy as np

    from seqlab import KeyedVectors

    wv = KeyedVectors(["a", "b"], np.eye(2, dtype=np.float32))
    with pytest.raises(KeyError) as info:
        wv["zebra"]
    assert isinstance(info.value, errors.SeqlabError)
    assert str(info.value).startswith("word 'zebra' not in vocabulary")
