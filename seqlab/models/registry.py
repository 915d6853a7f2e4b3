"""Name -> class tables for the strings that come in from configs and the command line."""

from __future__ import annotations

import importlib

from seqlab.errors import ConfigError

# cell name -> recurrent stack factory in seqlab.nn (torch's signature, batch_first).
CELLS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}

# model name -> "module:Class"
MODELS = {"lm": "seqlab.models.language_model:LanguageModel"}


def recurrent_class(cell: str):
    """The ``seqlab.nn`` stack for ``cell`` ("lstm", "gru" or "rnn")."""
    if cell not in CELLS:
        raise ConfigError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
    return getattr(importlib.import_module("seqlab.nn"), CELLS[cell])


def model_class(name: str):
    """The model class registered as ``name``."""
    if name not in MODELS:
        raise ConfigError(f"model must be one of {sorted(MODELS)}, got {name!r}")
    module, cls = MODELS[name].split(":")
    return getattr(importlib.import_module(module), cls)
