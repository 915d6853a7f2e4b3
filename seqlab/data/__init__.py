"""Corpora -> ids -> batches.

``sources`` is the dataset registry (mirror, cache, download), ``lines`` reads any source's
splits as restartable line streams, ``corpus`` prepares memory-mapped id files once, and
``batching`` cuts them into LM stream windows or padded batches. Names below import on use
(``from seqlab.data import LMStream`` does not import the registry, nor the registry torch).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "DATASETS": "seqlab.data.sources",
    "dataset_path": "seqlab.data.sources",
    "load_text": "seqlab.data.lines",
    "open_source": "seqlab.data.lines",
    "prepare": "seqlab.data.corpus",
    "PreparedCorpus": "seqlab.data.corpus",
    "LMStream": "seqlab.data.batching",
    "pad_batch": "seqlab.data.batching",
    "padding_mask": "seqlab.data.batching",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seqlab.data' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
