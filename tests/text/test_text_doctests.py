"""The Example sections of the text/data docstrings run (doctest)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["seqlab.text.tokenize", "seqlab.text.vocab", "seqlab.text.tags",
                                    "seqlab.data.batching"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
