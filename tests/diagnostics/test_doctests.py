"""The Example sections of the diagnostics and long-range modules run (doctest)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["seqlab.diagnostics.trace", "seqlab.diagnostics.flow",
                                    "seqlab.diagnostics.spectra", "seqlab.diagnostics.monitor",
                                    "seqlab.data.longrange", "seqlab.models.longrange",
                                    "seqlab.nn.chrono"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
