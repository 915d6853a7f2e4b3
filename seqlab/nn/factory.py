"""One table of recurrent cell names, shared by every model config and the command line.

Each name builds a stacked, batch-first recurrent layer from :mod:`seqlab.nn`:

=================  =====================================  ================  ===============
name               layer                                  state             bidirectional
=================  =====================================  ================  ===============
``rnn``            ``RNN`` (tanh)                         h (L*dirs, B, H)  yes
``lstm``           ``LSTM``                               (h, c)            yes
``gru``            ``GRU``                                h                 yes
``layernorm_lstm`` ``LSTM(cell="layernorm_lstm")``        (h, c)            yes
``simple_gru``     ``GRU(cell="simple_gru")`` (seed 003)  h                 yes
``mingru``         ``MinGRU`` (parallel scan)             h (L, B, H)       no
``minlstm``        ``MinLSTM`` (parallel scan)            h (L, B, H)       no
=================  =====================================  ================  ===============

Example:
    >>> import torch
    >>> layer = recurrent_stack("gru", 8, 16, num_layers=2, bidirectional=True)
    >>> out, h = layer(torch.randn(3, 5, 8))
    >>> tuple(out.shape), tuple(h.shape)
    ((3, 5, 32), (4, 3, 16))
"""

from __future__ import annotations

import importlib

from torch import nn

from seqlab.errors import ConfigError

# name -> (class name in seqlab.nn, cell= argument or None, supports bidirectional)
RECURRENT_CELLS: dict[str, tuple[str, str | None, bool]] = {
    "rnn": ("RNN", None, True),
    "lstm": ("LSTM", None, True),
    "gru": ("GRU", None, True),
    "layernorm_lstm": ("LSTM", "layernorm_lstm", True),
    "simple_gru": ("GRU", "simple_gru", True),
    "mingru": ("MinGRU", None, False),
    "minlstm": ("MinLSTM", None, False),
}


def check_cell(cell: str, bidirectional: bool = False, name: str = "cell") -> None:
    """Raise ConfigError unless ``cell`` is a known name (and supports ``bidirectional``)."""
    if cell not in RECURRENT_CELLS:
        raise ConfigError(f"{name} must be one of {sorted(RECURRENT_CELLS)}, got {cell!r}")
    if bidirectional and not RECURRENT_CELLS[cell][2]:
        raise ConfigError(f"{name}={cell!r} runs forward in time only (a parallel scan); "
                          "bidirectional needs one of "
                          f"{sorted(k for k, v in RECURRENT_CELLS.items() if v[2])}")


def recurrent_stack(cell: str, input_size: int, hidden_size: int, num_layers: int = 1, *,
                    bidirectional: bool = False, dropout: float = 0.0,
                    backend: str = "auto") -> nn.Module:
    """A batch-first stack of ``num_layers`` layers of ``cell`` (see the table above).

    ``dropout`` applies between layers only (as torch.nn); ``backend`` is passed through
    (``"auto"`` lets each layer pick its fastest).
    """
    check_cell(cell, bidirectional)
    class_name, variant, _ = RECURRENT_CELLS[cell]
    cls = getattr(importlib.import_module("seqlab.nn"), class_name)
    dropout = dropout if num_layers > 1 else 0.0
    if class_name in ("MinGRU", "MinLSTM"):
        # the scan layers' backends: "reference" is their readable per-step loop
        backend = {"fused": "auto", "compiled": "auto", "reference": "sequential"}.get(
            backend, backend)
        return cls(input_size, hidden_size, num_layers=num_layers, batch_first=True,
                   dropout=dropout, backend=backend)
    kwargs = {"cell": variant} if variant else {}
    return cls(input_size, hidden_size, num_layers=num_layers, batch_first=True,
               dropout=dropout, bidirectional=bidirectional, backend=backend, **kwargs)
