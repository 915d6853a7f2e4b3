"""Recurrent cells: one time step each, written from the seeds' equations.

Every cell splits its step in two so that layers can hoist the input projection out of the time
loop (one GEMM for all ``x_t``):

* ``project_input(x)`` computes ``xw = x @ W_ih.T + b_ih`` for any leading shape;
* ``recur(xw, state)`` applies the recurrence to one step of ``xw``;
* ``forward(x, state=None) == recur(project_input(x), state)``.

Parameter names, shapes and gate orders follow PyTorch (``weight_ih``, ``weight_hh``, ``bias_ih``,
``bias_hh``; LSTM gates ``i, f, g, o``; GRU gates ``r, z, n``), so the state dict of a
``torch.nn.RNNCell``/``LSTMCell``/``GRUCell`` loads as is. States are ``h`` of shape (B, H), or
``(h, c)`` for the LSTM cells. Symbols: B batch, D input size, H hidden size, P projection size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.errors import ConfigError

State = Tensor | tuple[Tensor, Tensor]


class _Cell(nn.Module):
    """Shared plumbing: parameter creation, torch's default init, zero state."""

    num_gates = 1
    is_lstm = False

    def __init__(self, input_size: int, hidden_size: int, bias: bool, hh_in: int | None = None,
                 device=None, dtype=None) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        kw = {"device": device, "dtype": dtype}
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        G = self.num_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(G, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(G, hh_in or hidden_size, **kw))
        self.bias_ih = nn.Parameter(torch.empty(G, **kw)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(G, **kw)) if bias else None

    @property
    def output_size(self) -> int:
        """Size of ``h`` (the projection size for projected LSTMs)."""
        return self.hidden_size

    def reset_parameters(self) -> None:
        """torch's default: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)); layer-norm gains 1."""
        a = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -a, a)

    def init_state(self, batch_size: int, like: Tensor) -> State:
        """Zero state for ``batch_size`` sequences, on ``like``'s device and dtype."""
        return like.new_zeros(batch_size, self.output_size)

    def project_input(self, x: Tensor) -> Tensor:
        """``xw = x @ W_ih.T + b_ih``, shape (..., G*H)."""
        return F.linear(x, self.weight_ih, self.bias_ih)

    def forward(self, x: Tensor, state: State | None = None) -> State:
        """One step: x (B, D), state as ``init_state`` -> new state."""
        if state is None:
            state = self.init_state(x.shape[0], x)
        return self.recur(self.project_input(x), state)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"


class RNNCell(_Cell):
    """Elman cell (seed 001): ``h' = act(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)``.

    ``act`` is ``tanh`` or ``relu`` (``nonlinearity``), as in ``torch.nn.RNNCell``.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ConfigError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity
        self.reset_parameters()

    def recur(self, xw: Tensor, h: Tensor) -> Tensor:
        a = xw + F.linear(h, self.weight_hh, self.bias_hh)
        return torch.tanh(a) if self.nonlinearity == "tanh" else torch.relu(a)


class LSTMCell(_Cell):
    """LSTM cell (seeds 000/001), gates in torch's order ``i, f, g, o``::

        i, f, g, o = (xw + h @ W_hh.T + b_hh).chunk(4)      # xw = x @ W_ih.T + b_ih
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h' = sigmoid(o) * tanh(c')            # then h' = h' @ W_hr.T if proj_size > 0

    With ``proj_size = P > 0`` (as ``torch.nn.LSTM``) ``h`` has size P and ``W_hh`` is (4H, P).
    """

    num_gates, is_lstm = 4, True

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        if not isinstance(proj_size, int) or not 0 <= proj_size < hidden_size:
            raise ConfigError(f"proj_size must be an int in [0, hidden_size={hidden_size}), "
                              f"got {proj_size!r}")
        super().__init__(input_size, hidden_size, bias, proj_size or None, device, dtype)
        self.proj_size = proj_size
        self.weight_hr = (nn.Parameter(torch.empty(proj_size, hidden_size, device=device,
                                                   dtype=dtype)) if proj_size else None)
        self.reset_parameters()

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

    def init_state(self, batch_size: int, like: Tensor) -> tuple[Tensor, Tensor]:
        return like.new_zeros(batch_size, self.output_size), like.new_zeros(batch_size,
                                                                            self.hidden_size)

    def recur(self, xw: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        h, c = state
        i, f, g, o = (xw + F.linear(h, self.weight_hh, self.bias_hh)).chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        if self.weight_hr is not None:
            h = F.linear(h, self.weight_hr)
        return h, c


class GRUCell(_Cell):
    """GRU cell (seeds 000/001), gates in torch's order ``r, z, n``::

        x_r, x_z, x_n = xw.chunk(3)                        # xw = x @ W_ih.T + b_ih
        h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3)
        r = sigmoid(x_r + h_r);  z = sigmoid(x_z + h_z)
        n = tanh(x_n + r * h_n)                            # the candidate h~
        h' = z * h + (1 - z) * n

    The update gate ``z`` keeps the OLD state (seeds 000/001, torch). Seed 003 writes the
    opposite convention, ``c = u * c~ + (1 - u) * c_prev``: the same model with ``u = 1 - z``;
    its single-gate form is :class:`SimpleGRUCell`.
    """

    num_gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self.reset_parameters()

    def recur(self, xw: Tensor, h: Tensor) -> Tensor:
        x_r, x_z, x_n = xw.chunk(3, -1)
        h_r, h_z, h_n = F.linear(h, self.weight_hh, self.bias_hh).chunk(3, -1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        return z * h + (1 - z) * n


class SimpleGRUCell(_Cell):
    """Seed 003's simplified GRU: one update gate, no reset gate, 003's convention::

        u, c~ = (xw + c @ W_hh.T + b_hh).chunk(2)          # xw = x @ W_ih.T + b_ih
        u = sigmoid(u);  c~ = tanh(c~)                      # Gamma_u and the candidate
        c' = u * c~ + (1 - u) * c

    Here the update gate weights the NEW value (``W_u [c_prev, x] + b_u`` in 003 is
    ``x @ W_ih[:H].T + c @ W_hh[:H].T`` plus biases). Gate order: ``u`` then ``c~``.
    """

    num_gates = 2

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self.reset_parameters()

    def recur(self, xw: Tensor, c: Tensor) -> Tensor:
        u, c_tilde = (xw + F.linear(c, self.weight_hh, self.bias_hh)).chunk(2, -1)
        u = torch.sigmoid(u)
        return u * torch.tanh(c_tilde) + (1 - u) * c


class LayerNormLSTMCell(_Cell):
    """LSTM with layer norm on the gate pre-activations and on ``c`` (Ba et al. 2016, sec. 3.1)::

        i, f, g, o = (LN_ih(x @ W_ih.T) + LN_hh(h @ W_hh.T) + b_ih).chunk(4)
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h' = sigmoid(o) * tanh(LN_c(c'))

    ``LN_ih``/``LN_hh`` are layer norms over the 4H gate pre-activations with a gain and no shift
    (the shift is the bias ``b_ih``); ``LN_c`` has a gain and a shift. ``bias_hh`` is absent
    (it would duplicate ``b_ih``). Gains start at 1, shifts at 0.
    """

    num_gates, is_lstm = 4, True

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 eps: float = 1e-5, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self.bias_hh = None
        kw = {"device": device, "dtype": dtype}
        self.ln_ih = nn.LayerNorm(4 * hidden_size, eps=eps, bias=False, **kw)
        self.ln_hh = nn.LayerNorm(4 * hidden_size, eps=eps, bias=False, **kw)
        self.ln_c = nn.LayerNorm(hidden_size, eps=eps, **kw)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        a = 1.0 / math.sqrt(self.hidden_size)
        for p in (self.weight_ih, self.weight_hh, self.bias_ih):
            if p is not None:
                nn.init.uniform_(p, -a, a)
        for ln in (self.ln_ih, self.ln_hh, self.ln_c):
            ln.reset_parameters()

    def init_state(self, batch_size: int, like: Tensor) -> tuple[Tensor, Tensor]:
        return like.new_zeros(batch_size, self.hidden_size), like.new_zeros(batch_size,
                                                                            self.hidden_size)

    def project_input(self, x: Tensor) -> Tensor:
        xw = self.ln_ih(F.linear(x, self.weight_ih))
        return xw if self.bias_ih is None else xw + self.bias_ih

    def recur(self, xw: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        h, c = state
        i, f, g, o = (xw + self.ln_hh(F.linear(h, self.weight_hh))).chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(self.ln_c(c))
        return h, c


# name -> cell class, for `cell=` strings in the layers and for configs.
CELLS: dict[str, type[_Cell]] = {
    "rnn": RNNCell,
    "lstm": LSTMCell,
    "gru": GRUCell,
    "layernorm_lstm": LayerNormLSTMCell,
    "simple_gru": SimpleGRUCell,
}
