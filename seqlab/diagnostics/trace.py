"""Step-by-step tracing of seqlab recurrent layers: every hidden state kept in the graph.

Inside :func:`tracing`, every recurrent layer of a model (``seqlab.nn`` RNN/LSTM/GRU and
MinGRU/MinLSTM) runs a per-step loop written from the cells' equations (the same function as
its fast backends, tested to float64 tolerance) that records, per layer and direction:

* ``states[t]``: the hidden state ``h_t`` (B, H) *as used downstream* (the tensor the next
  step, the next layer and the output read), so ``dL/dh_t`` is one ``autograd.grad`` away;
* ``cells[t]``: an LSTM's cell state ``c_t``;
* ``gates[name][t]``: the sigmoid gate activations (detached): LSTM ``i, f, o``,
  GRU ``r, z``, seed 003's GRU ``u``, MinGRU ``z``, MinLSTM ``f`` (the normalised
  forget ``f / (f + i)``).

Layers are named ``<module path>[.l<layer>][.reverse]``, e.g. ``rnn.l0``; a trace of a bare
layer names it ``l0``, ``l1``...

Example:
    >>> import torch
    >>> from seqlab.nn import GRU
    >>> gru = GRU(3, 4, num_layers=2)
    >>> with tracing(gru) as trace:
    ...     out, _ = gru(torch.randn(2, 5, 3))
    >>> sorted(trace.layers), len(trace.layers["l1"].states), sorted(trace.layers["l0"].gates)
    (['l0', 'l1'], 5, ['r', 'z'])
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.errors import ConfigError
from seqlab.nn.backends import keep_where
from seqlab.nn.cells import GRUCell, LayerNormLSTMCell, LSTMCell, RNNCell, SimpleGRUCell
from seqlab.nn.validation import check_input, check_lengths


@dataclass
class LayerTrace:
    """What one layer (one direction) recorded, in time order."""

    kind: str  # "rnn", "lstm", "gru", "simple_gru", "layernorm_lstm", "mingru", "minlstm"
    states: list[Tensor] = field(default_factory=list)
    cells: list[Tensor] = field(default_factory=list)
    gates: dict[str, list[Tensor]] = field(default_factory=dict)

    def add_gates(self, **gates: Tensor) -> None:
        for name, value in gates.items():
            self.gates.setdefault(name, []).append(value.detach())


@dataclass
class Trace:
    """Every traced layer's :class:`LayerTrace`, by name (in the order the model ran them)."""

    layers: dict[str, LayerTrace] = field(default_factory=dict)

    def new(self, name: str, kind: str) -> LayerTrace:
        self.layers[name] = LayerTrace(kind)
        return self.layers[name]


def recurrent_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(path, layer)`` of every seqlab recurrent layer inside ``model`` (outermost only)."""
    from seqlab.nn.minrnn import _MinRNN
    from seqlab.nn.recurrent import Recurrent

    found = []
    for name, sub in model.named_modules():
        if isinstance(sub, Recurrent | _MinRNN) and not any(
                name.startswith(f"{p}.") for p, _ in found if p):
            found.append((name, sub))
    return found


def require_recurrent(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """:func:`recurrent_layers`, or a ConfigError naming the model when it has none."""
    layers = recurrent_layers(model)
    if not layers:
        raise ConfigError(f"diagnostics need a seqlab recurrent layer (RNN, LSTM, GRU, MinGRU, "
                          f"MinLSTM); {type(model).__name__} has none")
    return layers


# ---------------------------------------------------------------------------------- cells
def cell_kind(cell: nn.Module) -> str:
    for cls, kind in ((LayerNormLSTMCell, "layernorm_lstm"), (LSTMCell, "lstm"),
                      (SimpleGRUCell, "simple_gru"), (GRUCell, "gru"), (RNNCell, "rnn")):
        if type(cell) is cls:
            return kind
    raise ConfigError(f"diagnostics do not know the cell {type(cell).__name__}")


def cell_step(cell: nn.Module, xw: Tensor, state, record: LayerTrace | None = None):
    """One step of ``cell`` from its projected input ``xw`` (the cells' equations), with gates.

    Returns the new state (h, or (h, c)) exactly as ``cell.recur(xw, state)``.
    """
    kind = cell_kind(cell)
    if kind == "rnn":
        a = xw + F.linear(state, cell.weight_hh, cell.bias_hh)
        return torch.tanh(a) if cell.nonlinearity == "tanh" else torch.relu(a)
    if kind in ("lstm", "layernorm_lstm"):
        h, c = state
        hh = (F.linear(h, cell.weight_hh, cell.bias_hh) if kind == "lstm"
              else cell.ln_hh(F.linear(h, cell.weight_hh)))
        i, f, g, o = (xw + hh).chunk(4, -1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c if kind == "lstm" else cell.ln_c(c))
        if kind == "lstm" and cell.weight_hr is not None:
            h = F.linear(h, cell.weight_hr)
        if record is not None:
            record.add_gates(i=i, f=f, o=o)
        return h, c
    if kind == "gru":
        x_r, x_z, x_n = xw.chunk(3, -1)
        h_r, h_z, h_n = F.linear(state, cell.weight_hh, cell.bias_hh).chunk(3, -1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        if record is not None:
            record.add_gates(r=r, z=z)
        return z * state + (1 - z) * n
    u, c_tilde = (xw + F.linear(state, cell.weight_hh, cell.bias_hh)).chunk(2, -1)
    u = torch.sigmoid(u)
    if record is not None:
        record.add_gates(u=u)
    return u * torch.tanh(c_tilde) + (1 - u) * state


def unroll_traced(cell: nn.Module, x: Tensor, state, mask: Tensor | None, reverse: bool,
                  record: LayerTrace):
    """The reference loop of :func:`seqlab.nn.recurrent.unroll`, recording every step."""
    # unbind, not xw[t]: the backward of T selects would write T full-size zero tensors (O(T^2))
    xw = cell.project_input(x).unbind(0)  # T x (B, G*H)
    T = x.shape[0]
    outputs: list[Tensor] = [x] * T
    steps = list(reversed(range(T))) if reverse else list(range(T))
    states, cells = [None] * T, [None] * T
    for t in steps:
        new = cell_step(cell, xw[t], state, record)
        if mask is not None:
            new = keep_where(mask[t], new, state)
        state = new
        h = state[0] if isinstance(state, tuple) else state
        states[t] = h
        if isinstance(state, tuple):
            cells[t] = state[1]
        outputs[t] = h if mask is None else h * mask[t]
    if reverse:  # gates were appended in processing order: put them in time order
        for name in record.gates:
            record.gates[name].reverse()
    record.states.extend(states)
    if isinstance(state, tuple):
        record.cells.extend(cells)
    return torch.stack(outputs), state


def _recurrent_forward(layer, trace: Trace, prefix: str):
    def forward(x: Tensor, state=None, lengths: Tensor | None = None):
        B, T = check_input(x, layer.input_size, layer.batch_first)
        lengths = check_lengths(lengths, B, T)
        state = layer._check_state(state, B, x)
        x_tm = x.transpose(0, 1) if layer.batch_first else x
        mask = None
        if lengths is not None:
            mask = (torch.arange(T).unsqueeze(1) < lengths.unsqueeze(0)).unsqueeze(-1).to(
                x.device)
        states, D, finals = layer._split_state(state), layer.num_directions, []
        for li in range(layer.num_layers):
            outs = []
            for d in range(D):
                cell = layer.cells[li * D + d]
                name = f"{prefix}l{li}" + (".reverse" if d else "")
                out, final = unroll_traced(cell, x_tm, states[li * D + d], mask, d == 1,
                                           trace.new(name, cell_kind(cell)))
                outs.append(out)
                finals.append(final)
            x_tm = torch.cat(outs, -1) if D == 2 else outs[0]
            if layer.dropout and layer.training and li < layer.num_layers - 1:
                x_tm = F.dropout(x_tm, layer.dropout, training=True)
        output = x_tm.transpose(0, 1) if layer.batch_first else x_tm
        return output, layer._join_state(finals)
    return forward


def _min_forward(layer, trace: Trace, prefix: str):
    from seqlab.nn.minrnn import MinGRU

    kind = "mingru" if isinstance(layer, MinGRU) else "minlstm"

    def forward(x: Tensor, state: Tensor | None = None, lengths: Tensor | None = None):
        B, T = check_input(x, layer.input_size, layer.batch_first)
        lengths = check_lengths(lengths, B, T)
        state = layer._initial_state(state, x, B)
        if not layer.batch_first:
            x = x.transpose(0, 1)
        mask = None
        if lengths is not None:
            mask = (torch.arange(T, device=x.device) < lengths.to(x.device).unsqueeze(1)
                    ).unsqueeze(2)
        finals = []
        for li in range(layer.num_layers):
            if li > 0 and layer.dropout > 0:
                x = F.dropout(x, layer.dropout, layer.training)
            record = trace.new(f"{prefix}l{li}", kind)
            k = F.linear(x, *layer.layer_parameters(li))
            if mask is not None:
                k = torch.where(mask, k, 0)
            h, outs, ks = state[li], [], k.unbind(1)  # unbind: one stack in backward
            for t in range(T):
                a, b = layer.coefficients(ks[t])
                record.add_gates(**({"z": 1 - a} if kind == "mingru" else {"f": a}))
                new = a * h + b
                h = new if mask is None else torch.where(mask[:, t], new, h)
                record.states.append(h)
                outs.append(h if mask is None else h * mask[:, t])
            x = torch.stack(outs, 1)
            finals.append(h)
        output = x if layer.batch_first else x.transpose(0, 1)
        return output, torch.stack(finals)
    return forward


@contextlib.contextmanager
def tracing(model: nn.Module):
    """Run every recurrent layer of ``model`` step by step, recording into the yielded
    :class:`Trace` (module docstring). The layers' own forwards come back on exit."""
    from seqlab.nn.minrnn import _MinRNN

    layers = require_recurrent(model)
    trace = Trace()
    for path, layer in layers:
        prefix = f"{path}." if path else ""
        make = _min_forward if isinstance(layer, _MinRNN) else _recurrent_forward
        layer.forward = make(layer, trace, prefix)  # instance attribute shadows the method
    try:
        yield trace
    finally:
        for _, layer in layers:
            del layer.forward
