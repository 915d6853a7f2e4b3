"""Spectral radius and largest singular value of each recurrent weight matrix W_hh.

For a tanh RNN ``h_t = tanh(W_ih x_t + W_hh h_{t-1} + b)`` the step Jacobian is
``diag(1 - h_t^2) W_hh``, so ``||dh_T/dh_t|| <= sigma_max(W_hh)^(T - t)``: with
``sigma_max < 1`` gradients must vanish (Pascanu et al. 2013); a spectral radius ``rho > 1``
is necessary for them to explode. For gated cells the same numbers are given per gate block of
W_hh (LSTM ``i, f, g, o``; GRU ``r, z, n``). MinGRU/MinLSTM have no W_hh (their gates read
only the input): they are listed with ``None``.

Example:
    >>> import torch
    >>> from seqlab.nn import RNN, init_recurrent
    >>> rnn = init_recurrent(RNN(3, 6), weight_hh="orthogonal")
    >>> s = recurrent_spectra(rnn)["l0"]["W_hh"]
    >>> round(s["spectral_radius"], 6), round(s["sigma_max"], 6)
    (1.0, 1.0)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqlab.diagnostics.trace import cell_kind, require_recurrent

GATE_NAMES = {"rnn": ("W_hh",), "lstm": ("i", "f", "g", "o"),
              "layernorm_lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n"),
              "simple_gru": ("u", "c")}


def matrix_spectrum(w: Tensor) -> dict[str, float]:
    """``spectral_radius`` (max |eigenvalue|, square matrices) and ``sigma_max`` of ``w``."""
    w = w.detach().double()
    out = {"sigma_max": float(torch.linalg.matrix_norm(w, ord=2))}
    if w.shape[0] == w.shape[1]:
        out["spectral_radius"] = float(torch.linalg.eigvals(w).abs().max())
    return out


def recurrent_spectra(model: nn.Module) -> dict[str, dict[str, dict[str, float]] | None]:
    """Layer name -> block name -> :func:`matrix_spectrum` (``"W_hh"`` for the whole matrix,
    also given for gated cells); ``None`` for layers without W_hh (MinGRU/MinLSTM)."""
    from seqlab.nn.minrnn import _MinRNN

    out: dict[str, dict[str, dict[str, float]] | None] = {}
    for path, layer in require_recurrent(model):
        prefix = f"{path}." if path else ""
        if isinstance(layer, _MinRNN):
            for li in range(layer.num_layers):
                out[f"{prefix}l{li}"] = None
            continue
        D = layer.num_directions
        for k, cell in enumerate(layer.cells):
            name = f"{prefix}l{k // D}" + (".reverse" if k % D else "")
            kind = cell_kind(cell)
            w = cell.weight_hh
            blocks = {"W_hh": matrix_spectrum(w)}
            gates = GATE_NAMES[kind]
            if len(gates) > 1:
                for gate, block in zip(gates, w.chunk(len(gates), 0)):
                    blocks[gate] = matrix_spectrum(block)
            out[name] = blocks
    return out
