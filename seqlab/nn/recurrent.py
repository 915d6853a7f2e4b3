"""Deep, bidirectional, variable-length recurrent layers: ``RNN``, ``LSTM``, ``GRU``.

A layer is a grid of cells (``cells[layer * D + direction]``, D = 2 if bidirectional) unrolled
over time. ``forward(x, state=None, lengths=None) -> (output, final_state)`` uses torch.nn's
shapes with ``batch_first=True`` by default:

* x: (B, T, D_in); output: (B, T, D * H_out), H_out = proj_size or hidden_size;
* state: h of shape (num_layers * D, B, H_out), for the LSTM ``(h, c)`` with c (num_layers * D,
  B, hidden_size);
* lengths: (B,) integers in [1, T] in any order, or a (B, T) boolean mask (True = real step).
  Padded positions output zeros and never change the state, so the final state of each
  sequence is taken at its own last step and the backward direction starts there.

Backends (``backend=``): ``reference`` (the per-step loop over the cells, ground truth),
``fused`` (PyTorch's native kernels, plain cells only), ``compiled`` (any cell, input
projection hoisted; LSTM, LayerNorm-LSTM and GRU cells as a C time loop with a hand-written
backward, the others through ``torch.compile``) and ``auto`` (fused where it can,
else compiled; for plain LSTMs on CPU, fused or compiled by a one-time measurement, see
``autotune.py``). ``layer.backend_used`` says which one ran in the last call: if the compiled
backend fails inside a call (no C compiler, an inductor error), that call runs the reference loop
and ``backend_used`` reads ``"reference (compiled failed: ...)"``; the next call tries again.
"""

from __future__ import annotations

import logging
import re

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.errors import ConfigError
from seqlab.nn import autotune, backends
from seqlab.nn.cells import CELLS, GRUCell, LSTMCell, RNNCell
from seqlab.nn.padding import keep_where, zero_padding
from seqlab.nn.validation import check_dtype, check_input, check_lengths, check_state

log = logging.getLogger(__name__)

BACKENDS = ("reference", "fused", "compiled", "auto")
_TORCH_NAME = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")


def unroll(cell: nn.Module, x: Tensor, state, mask: Tensor | None, reverse: bool = False):
    """The reference loop: one direction of one layer over time-major ``x`` (T, B, D).

    ``mask`` (T, B, 1) is True at real steps; at padded steps the state is kept and the output
    is zero. Returns (output (T, B, H_out), final state).
    """
    outputs: list[Tensor] = [x] * x.shape[0]
    for t in reversed(range(x.shape[0])) if reverse else range(x.shape[0]):
        new = cell(x[t], state)
        if mask is not None:
            new = keep_where(mask[t], new, state)
        state = new
        h = state[0] if isinstance(state, tuple) else state
        outputs[t] = h if mask is None else h * mask[t]
    return torch.stack(outputs), state


class Recurrent(nn.Module):
    """Shared body of RNN/LSTM/GRU; use those classes (torch's constructor arguments)."""

    mode = ""  # "RNN", "LSTM" or "GRU"
    default_cell: type[nn.Module] = RNNCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, nonlinearity: str = "tanh", *, cell=None,
                 backend: str = "auto", device=None, dtype=None) -> None:
        super().__init__()
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ConfigError(f"num_layers must be an int >= 1, got {num_layers!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        self.nonlinearity = nonlinearity
        self.num_directions = 2 if bidirectional else 1
        cell_cls = self._resolve_cell(cell)
        kwargs = {"bias": bias, "device": device, "dtype": dtype}
        if cell_cls is RNNCell:
            kwargs["nonlinearity"] = nonlinearity
        elif proj_size:
            if cell_cls is not LSTMCell:
                raise ConfigError(f"proj_size={proj_size} needs cell=LSTMCell, got "
                                  f"{cell_cls.__name__}")
            kwargs["proj_size"] = proj_size
        cells = []
        for layer in range(num_layers):
            width = input_size if layer == 0 else cells[-1].output_size * self.num_directions
            cells += [cell_cls(width, hidden_size, **kwargs) for _ in range(self.num_directions)]
        self.cells = nn.ModuleList(cells)
        self.is_lstm = bool(getattr(cells[0], "is_lstm", False))
        self.output_size = cells[0].output_size
        self.backend = backend
        self._runs = self._resolve_backend(backend)  # what forward dispatches on
        self.backend_used = self._runs  # what the last call ran (and why, if it fell back)
        self.register_load_state_dict_pre_hook(_accept_torch_names)

    # ----------------------------------------------------------------------------- configuration
    def _resolve_cell(self, cell) -> type[nn.Module]:
        if cell is None:
            return self.default_cell
        if isinstance(cell, str):
            if cell not in CELLS:
                raise ConfigError(f"cell must be one of {sorted(CELLS)} or a cell class, "
                                  f"got {cell!r}")
            cell = CELLS[cell]
        if not (isinstance(cell, type) and issubclass(cell, nn.Module)):
            raise ConfigError(f"cell must be a cell name or an nn.Module subclass, got {cell!r}")
        if bool(getattr(cell, "is_lstm", False)) != (self.mode == "LSTM"):
            kind = "an LSTM-style cell with (h, c) state" if self.mode == "LSTM" else \
                "a cell with a single state h"
            raise ConfigError(f"cell for {self.mode} must be {kind}, got {cell.__name__}")
        return cell

    def _resolve_backend(self, backend: str) -> str:
        if backend == "scan":
            raise ConfigError("backend='scan' runs only MinGRU/MinLSTM (gates that depend on the "
                              f"input alone); {type(self).__name__} supports {BACKENDS}")
        if backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {BACKENDS}, got {backend!r}")
        fusable = type(self.cells[0]) is self.default_cell
        if backend == "fused" and not fusable:
            raise ConfigError("backend='fused' supports only the plain "
                              f"{self.default_cell.__name__}, got cell "
                              f"{type(self.cells[0]).__name__}; use 'compiled' or 'auto'")
        if backend == "auto":
            backend = "fused" if fusable else "compiled"
            log.info("%s: backend='auto' picked %r", type(self).__name__, backend)
        return backend

    @property
    def torch_mode(self) -> str:
        """The mode string of torch's kernels: LSTM, GRU, RNN_TANH or RNN_RELU."""
        return f"RNN_{self.nonlinearity.upper()}" if self.mode == "RNN" else self.mode

    # ----------------------------------------------------------------------------- forward
    def forward(self, x: Tensor, state=None, lengths: Tensor | None = None):
        """Runs the layers over ``x``; see the module docstring for shapes.

        Args:
            x: (B, T, input_size), or (T, B, input_size) if ``batch_first=False``.
            state: initial state (zeros if None): h, or ``(h, c)`` for the LSTM.
            lengths: (B,) lengths in [1, T] in any order, or a (B, T) boolean mask.

        Returns:
            ``(output, final_state)``, both in torch.nn's shapes.
        """
        B, T = check_input(x, self.input_size, self.batch_first)
        check_dtype(x, self)
        lengths = check_lengths(lengths, B, T)
        state = self._check_state(state, B, x)
        # exporters (ONNX's) record the reference loop, except the fused kernel without lengths:
        # pack_padded_sequence's batch sizes are data and the C loops are opaque ctypes calls
        if (torch.compiler.is_exporting() or torch.jit.is_tracing()) and (
                lengths is not None or self._runs == "compiled"):
            output, final = self._run("reference", x, state, lengths)
            self.backend_used = "reference (exporting)"
            return output, final
        if self.backend == "auto" and self._runs == "fused" and autotune.eligible(self, x):
            kind, why = autotune.choose(self, x, state, lengths)
            output, final = self._run(kind, x, state, lengths)
            self.backend_used = f"{self.backend_used} ({why})"
            return output, final
        return self._run(self._runs, x, state, lengths)

    def _run(self, kind: str, x: Tensor, state, lengths: Tensor | None):
        """``forward`` on backend ``kind`` (checked inputs); sets ``backend_used``."""
        if kind == "fused":
            self.backend_used = "fused"
            return backends.fused_forward(self, x, state, lengths)
        T = x.shape[1] if self.batch_first else x.shape[0]
        x_tm = x.transpose(0, 1) if self.batch_first else x  # (T, B, D)
        mask = None
        if lengths is not None:
            steps = torch.arange(T).unsqueeze(1) < lengths.unsqueeze(0)  # (T, B)
            mask = steps.unsqueeze(-1).to(x.device)
            x_tm = zero_padding(x_tm, mask)  # NaN/inf in the padding reach no gradient
        states = self._split_state(state)
        self.backend_used = kind
        if kind == "compiled":
            try:
                output, finals = self._stack(backends.compiled_unroll, x_tm, states, mask)
            except Exception as error:  # noqa: BLE001 - no C compiler, inductor failure...
                # local to this call: the next call (of this or any layer) tries again
                self.backend_used = backends.fallback_note(error)
                output, finals = self._stack(unroll, x_tm, states, mask)
        else:
            output, finals = self._stack(unroll, x_tm, states, mask)
        output = output.transpose(0, 1) if self.batch_first else output
        return output, self._join_state(finals)

    def _stack(self, run, x: Tensor, states: list, mask: Tensor | None):
        """Depth and direction: ``run(cell, x, state, mask, reverse)`` for each cell."""
        D, finals = self.num_directions, []
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                out, final = run(self.cells[layer * D + d], x, states[layer * D + d], mask, d == 1)
                outs.append(out)
                finals.append(final)
            x = torch.cat(outs, -1) if D == 2 else outs[0]  # (T, B, D * H_out)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        return x, finals

    def step(self, x_t: Tensor, state=None):
        """One time step for generation: x_t (B, input_size) -> (output (B, H_out), state).

        Repeated calls equal ``forward`` on the whole sequence (unidirectional layers only).
        A single step has no time loop to fuse: LSTMs run their cells directly, since torch's
        oneDNN LSTM kernel costs 2.7x more per one-step call at B=1, H=200 (1.1x at B=20, H=650;
        ``benchmarks/recurrent_speed.py --sections step``); fused GRU/RNN layers call their
        kernel, which is as fast here.
        """
        if self.bidirectional:
            raise ConfigError("step() needs a unidirectional layer: the backward direction "
                              "needs the whole sequence; call forward()")
        if not isinstance(x_t, Tensor) or x_t.dim() != 2:
            got = tuple(x_t.shape) if isinstance(x_t, Tensor) else type(x_t).__name__
            raise ValueError(f"x_t must be a 2-D tensor (B, input_size={self.input_size}), "
                             f"got {got}")
        if self._runs == "fused" and not self.is_lstm:
            output, state = self(x_t.unsqueeze(1 if self.batch_first else 0), state)
            return output.squeeze(1 if self.batch_first else 0), state
        B, _ = check_input(x_t.unsqueeze(1), self.input_size, True)
        check_dtype(x_t, self)
        states = self._split_state(self._check_state(state, B, x_t))
        finals, x = [], x_t
        for layer, cell in enumerate(self.cells):
            finals.append(cell(x, states[layer]))
            x = finals[-1][0] if self.is_lstm else finals[-1]  # (B, H_out)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        return x, self._join_state(finals)

    # ----------------------------------------------------------------------------- state
    def _state_shapes(self, B: int) -> tuple[tuple[int, int, int], ...]:
        n = self.num_layers * self.num_directions
        h = (n, B, self.output_size)
        return (h, (n, B, self.hidden_size)) if self.is_lstm else (h,)

    def _check_state(self, state, B: int, x: Tensor):
        shapes = self._state_shapes(B)
        if state is None:
            zeros = [x.new_zeros(s) for s in shapes]
            return tuple(zeros) if self.is_lstm else zeros[0]
        if self.is_lstm:
            if not isinstance(state, tuple | list) or len(state) != 2:
                raise ValueError(f"state must be a tuple (h, c) for {type(self).__name__}, got "
                                 f"{type(state).__name__}")
            return (check_state(state[0], "state h", shapes[0], x.dtype),
                    check_state(state[1], "state c", shapes[1], x.dtype))
        return check_state(state, "state", shapes[0], x.dtype)

    def _split_state(self, state) -> list:
        if self.is_lstm:
            return list(zip(state[0].unbind(0), state[1].unbind(0)))
        return list(state.unbind(0))

    def _join_state(self, finals: list):
        if self.is_lstm:
            return torch.stack([h for h, _ in finals]), torch.stack([c for _, c in finals])
        return torch.stack(finals)

    # ----------------------------------------------------------------------------- torch interop
    def flat_weights(self) -> list[Tensor]:
        """Parameters in torch.nn's ``_flat_weights`` order (same tensors, not copies)."""
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        names += ["weight_hr"] if self.proj_size else []
        return [getattr(cell, n) for cell in self.cells for n in names]

    def torch_names(self) -> list[str]:
        """torch.nn's parameter names, in the order of :meth:`flat_weights`."""
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        names += ["weight_hr"] if self.proj_size else []
        return [f"{n}_l{k // self.num_directions}{'_reverse' if k % self.num_directions else ''}"
                for k in range(len(self.cells)) for n in names]

    @classmethod
    def from_torch(cls, module: nn.RNNBase, backend: str = "auto") -> Recurrent:
        """A seqlab layer with a copy of ``module``'s configuration and weights."""
        if not isinstance(module, getattr(nn, cls.mode)):
            raise ConfigError(f"{cls.__name__}.from_torch needs a torch.nn.{cls.mode}, "
                              f"got {type(module).__name__}")
        p = next(module.parameters())
        kwargs = {"num_layers": module.num_layers, "bias": module.bias,
                  "batch_first": module.batch_first, "dropout": module.dropout,
                  "bidirectional": module.bidirectional}
        if cls.mode == "LSTM":
            kwargs["proj_size"] = module.proj_size
        if cls.mode == "RNN":
            kwargs["nonlinearity"] = module.nonlinearity
        layer = cls(module.input_size, module.hidden_size, **kwargs, backend=backend,
                    device=p.device, dtype=p.dtype)
        layer.load_state_dict(module.state_dict())
        return layer

    def to_torch(self) -> nn.RNNBase:
        """A ``torch.nn`` module with a copy of this layer's configuration and weights."""
        if type(self.cells[0]) is not self.default_cell:
            raise ConfigError(f"to_torch() needs the plain {self.default_cell.__name__}, got "
                              f"{type(self.cells[0]).__name__}: torch.nn has no such cell")
        p = self.cells[0].weight_ih
        kwargs = {"num_layers": self.num_layers, "bias": self.bias, "batch_first": self.batch_first,
                  "dropout": self.dropout, "bidirectional": self.bidirectional,
                  "device": p.device, "dtype": p.dtype}
        if self.mode == "LSTM":
            kwargs["proj_size"] = self.proj_size
        if self.mode == "RNN":
            kwargs["nonlinearity"] = self.nonlinearity
        module = getattr(nn, self.mode)(self.input_size, self.hidden_size, **kwargs)
        module.load_state_dict(dict(zip(self.torch_names(), self.flat_weights())))
        return module

    def __getattr__(self, name: str):
        match = _TORCH_NAME.match(name)
        if match is None:
            return super().__getattr__(name)
        param, layer, reverse = match.groups()
        cells = super().__getattr__("cells")
        return getattr(cells[int(layer) * self.num_directions + bool(reverse)], param)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, backend={self.backend_used!r}")


def _accept_torch_names(module: Recurrent, state_dict, prefix, *args) -> None:
    """Lets ``load_state_dict`` take torch.nn's names (``weight_ih_l0_reverse``...) as is."""
    for key in list(state_dict):
        if not key.startswith(prefix):
            continue
        match = _TORCH_NAME.match(key[len(prefix):])
        if match:
            param, layer, reverse = match.groups()
            index = int(layer) * module.num_directions + bool(reverse)
            state_dict[f"{prefix}cells.{index}.{param}"] = state_dict.pop(key)


class RNN(Recurrent):
    """Elman RNN layers (``tanh`` or ``relu``); torch.nn.RNN's arguments, ``batch_first=True``."""

    mode, default_cell = "RNN", RNNCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = True,
                 dropout: float = 0.0, bidirectional: bool = False, *, cell=None,
                 backend: str = "auto", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, nonlinearity, cell=cell, backend=backend,
                         device=device, dtype=dtype)


class LSTM(Recurrent):
    """LSTM layers; torch.nn.LSTM's arguments (``proj_size`` too), ``batch_first=True``.

    ``cell=LayerNormLSTMCell`` (or ``"layernorm_lstm"``) gives the layer-norm variant.
    """

    mode, default_cell = "LSTM", LSTMCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, *, cell=None, backend: str = "auto", device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, cell=cell, backend=backend, device=device,
                         dtype=dtype)


class GRU(Recurrent):
    """GRU layers; torch.nn.GRU's arguments, ``batch_first=True``.

    ``cell=SimpleGRUCell`` (or ``"simple_gru"``) gives seed 003's single-gate GRU.
    """

    mode, default_cell = "GRU", GRUCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False, *,
                 cell=None, backend: str = "auto", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, cell=cell, backend=backend, device=device, dtype=dtype)
