"""The Example sections of the seq2seq docstrings run (doctest)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["seqlab.models.seq2seq", "seqlab.models.seq2seq_decoders",
                                    "seqlab.models.seq2seq_text"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
