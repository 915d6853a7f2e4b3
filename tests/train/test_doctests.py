"""The Example sections of the training-engine docstrings run (doctest)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["seqlab.config", "seqlab.models.base",
                                    "seqlab.models.language_model", "seqlab.nn.factory",
                                    "seqlab.tasks", "seqlab.tasks.registry",
                                    "seqlab.train.averaging"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
