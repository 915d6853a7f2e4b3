"""The Example sections of the classifier modules' docstrings run (doctest)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["seqlab.models.classifier",
                                    "seqlab.models.fasttext_classifier",
                                    "seqlab.models.classification_metrics",
                                    "seqlab.models.text_classifier",
                                    "seqlab.models.encoder_pretraining"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
