"""Neural building blocks: recurrent cells and layers, initializers, gradient helpers.

Layers follow torch.nn's arguments and shapes with ``batch_first=True`` by default::

    >>> import torch, seqlab.nn as snn
    >>> lstm = snn.LSTM(8, 16, num_layers=2)
    >>> out, (h, c) = lstm(torch.randn(3, 5, 8), lengths=torch.tensor([5, 2, 4]))
    >>> out.shape, h.shape
    (torch.Size([3, 5, 16]), torch.Size([2, 3, 16]))
"""

from seqlab.nn.attention import Attention, SelfAttentionPooling
from seqlab.nn.cells import (
    CELLS,
    GRUCell,
    LayerNormLSTMCell,
    LSTMCell,
    RNNCell,
    SimpleGRUCell,
)
from seqlab.nn.crf import CRF
from seqlab.nn.dropout import LockedDropout
from seqlab.nn.init import SCHEMES, init_recurrent, initialize, zaremba_uniform
from seqlab.nn.recurrent import GRU, LSTM, RNN, Recurrent
from seqlab.nn.utils import clip_grad_norm, clip_grad_value, detach_state

# MinGRU/MinLSTM (the scan backend) load on first use: their module imports numba.
_LAZY = {"MinGRU": "seqlab.nn.minrnn", "MinLSTM": "seqlab.nn.minrnn"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'seqlab.nn' has no attribute {name!r}")


__all__ = [
    "Attention",
    "CELLS",
    "CRF",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "LayerNormLSTMCell",
    "LockedDropout",
    "MinGRU",
    "MinLSTM",
    "RNN",
    "RNNCell",
    "Recurrent",
    "SCHEMES",
    "SelfAttentionPooling",
    "SimpleGRUCell",
    "clip_grad_norm",
    "clip_grad_value",
    "detach_state",
    "init_recurrent",
    "initialize",
    "zaremba_uniform",
]
