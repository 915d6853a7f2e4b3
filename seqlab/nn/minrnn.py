"""MinGRU and MinLSTM (Feng et al. 2024, "Were RNNs All We Needed?", arXiv:2410.01201).

Their gates read only the input x_t, never h_{t-1}, so one layer is the elementwise linear
recurrence ``h_t = a_t * h_{t-1} + b_t`` whose coefficients come from one input projection of all
steps at once. Training therefore runs in parallel over time (``seqlab.nn.scan``); generation
runs step by step with :meth:`step`.

Backends (``backend=``):

* ``sequential``: the per-step loop (ground truth);
* ``logspace``: the paper's log-space parallel scan (``logcumsumexp``), chunked against underflow;
* ``scan``: the fast one; on CPU float32/float64 a fused Numba kernel (gates + recurrence, with a
  hand-written backward), elsewhere (CUDA, half precision) the log-space scan;
* ``auto``: ``scan``. ``module.backend_used`` names the backend that ran last, e.g.
  ``"scan (numba)"`` or ``"scan (logspace)"``.

All backends compute the same function: the candidate state goes through the paper's positive
activation ``g`` (the log-space version's, appendix) in every backend, so they agree to float
tolerance and a state dict moves between them unchanged.
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.errors import ConfigError, DataError
from seqlab.nn import scan
from seqlab.nn.padding import keep_where, zero_padding
from seqlab.nn.validation import check_dtype, check_input, check_lengths, check_state

log = logging.getLogger(__name__)

BACKENDS = ("auto", "scan", "logspace", "sequential")


def g(k: Tensor) -> Tensor:
    """The paper's positive activation: ``g(k) = k + 0.5`` for ``k >= 0``, else ``sigmoid(k)``."""
    return torch.where(k >= 0, k + 0.5, torch.sigmoid(k))


def log_g(k: Tensor) -> Tensor:
    """``log g(k)``: ``log(k + 0.5)`` for ``k >= 0``, else ``-softplus(-k)``."""
    return torch.where(k >= 0, torch.log(F.relu(k) + 0.5), -F.softplus(-k))


class _MinRNN(nn.Module):
    """Shared stacking, validation and backend dispatch; subclasses give the gate math."""

    gates: int  # chunks of H in the input projection
    kind: str  # the fused CPU kernel: "gru" or "lstm"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 batch_first: bool = True, bias: bool = True, dropout: float = 0.0,
                 backend: str = "auto", device=None, dtype=None) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}")
        if backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.batch_first, self.bias, self.dropout = batch_first, bias, dropout
        self.backend = backend
        self.backend_used = "scan" if backend == "auto" else backend
        if backend == "auto":
            log.info("%s: backend='auto' picked 'scan'", type(self).__name__)
        factory = {"device": device, "dtype": dtype}
        for layer in range(num_layers):
            fan_in = input_size if layer == 0 else hidden_size
            weight = nn.Parameter(torch.empty(self.gates * hidden_size, fan_in, **factory))
            self.register_parameter(f"weight_ih_l{layer}", weight)
            b = nn.Parameter(torch.empty(self.gates * hidden_size, **factory)) if bias else None
            self.register_parameter(f"bias_ih_l{layer}", b)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), as torch.nn.Linear's bias."""
        for name, p in self.named_parameters():
            fan_in = getattr(self, name.replace("bias", "weight")).shape[1]
            nn.init.uniform_(p, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def layer_parameters(self, layer: int) -> tuple[Tensor, Tensor | None]:
        """``(weight_ih_l{layer}, bias_ih_l{layer})``."""
        return getattr(self, f"weight_ih_l{layer}"), getattr(self, f"bias_ih_l{layer}")

    # -- gate math: the subclasses' docstrings give it in these symbols
    def coefficients(self, k: Tensor) -> tuple[Tensor, Tensor]:
        """``(a, b)`` of ``h_t = a * h_{t-1} + b`` from the pre-activations ``k`` (..., G*H)."""
        raise NotImplementedError

    def log_coefficients(self, k: Tensor) -> tuple[Tensor, Tensor]:
        """``(log a, log b)``, computed stably (softplus) for the log-space scan."""
        raise NotImplementedError

    # -- public API
    def forward(self, x: Tensor, state: Tensor | None = None,
                lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Runs all layers over whole sequences.

        Args:
            x: (B, T, input_size) if ``batch_first`` else (T, B, input_size).
            state: (num_layers, B, H) initial states; zeros if None.
            lengths: (B,) ints in [1, T] (unsorted is fine) or a (B, T) boolean prefix mask.
                Padded steps output zeros and leave the state unchanged.

        Returns:
            ``(output, h_n)``: output (B, T, H) (or (T, B, H)), h_n (num_layers, B, H) holding
            each sequence's state after its last real step.
        """
        B, T = check_input(x, self.input_size, self.batch_first)
        check_dtype(x, self)
        lengths = check_lengths(lengths, B, T)
        state = self._initial_state(state, x, B)
        if not self.batch_first:
            x = x.transpose(0, 1)
        if lengths is not None:  # NaN/inf in the padding must reach no gradient (dW = dP.T @ x)
            x = zero_padding(x, (torch.arange(T) < lengths.unsqueeze(1)).unsqueeze(2)
                             .to(x.device))
        finals = []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
            x, h_last = self._layer(layer, x, state[layer], lengths)  # (B, T, H), (B, H)
            finals.append(h_last)
        output = x if self.batch_first else x.transpose(0, 1)
        return output, torch.stack(finals)

    def step(self, x_t: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One time step for generation: ``x_t`` (B, input_size), ``state`` (num_layers, B, H).

        Returns ``(h_t, new_state)`` with ``h_t`` (B, H) the top layer's output.
        """
        if not isinstance(x_t, Tensor) or x_t.dim() != 2:
            got = tuple(x_t.shape) if isinstance(x_t, Tensor) else type(x_t).__name__
            raise DataError(f"x_t must be a 2-D tensor (B, input_size={self.input_size}), "
                              f"got {got}")
        check_input(x_t.unsqueeze(1), self.input_size, True)
        check_dtype(x_t, self)
        state = self._initial_state(state, x_t, x_t.shape[0])
        new_state, h = [], x_t
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                h = F.dropout(h, self.dropout, self.training)
            a, b = self.coefficients(F.linear(h, *self.layer_parameters(layer)))
            h = a * state[layer] + b
            new_state.append(h)
        return h, torch.stack(new_state)

    # -- internals
    def _initial_state(self, state: Tensor | None, x: Tensor, B: int) -> Tensor:
        shape = (self.num_layers, B, self.hidden_size)
        if state is None:
            return x.new_zeros(shape)
        return check_state(state, "state", shape, x.dtype)

    def _layer(self, layer: int, x: Tensor, h0: Tensor, lengths: Tensor | None):
        weight, bias = self.layer_parameters(layer)
        backend = "scan" if self.backend == "auto" else self.backend
        if backend == "scan" and scan.fused_scan_supported(x):
            self.backend_used = "scan (numba)"
            return scan.fused_layer(self.kind, x, weight, bias, h0, lengths)
        if backend == "scan":
            backend, self.backend_used = "logspace", "scan (logspace)"
        else:
            self.backend_used = backend
        k = F.linear(x, weight, bias)  # (B, T, G*H)
        mask = None
        if lengths is not None:
            lengths = lengths.to(x.device)
            mask = (torch.arange(x.shape[1], device=x.device) < lengths.unsqueeze(1)).unsqueeze(2)
            k = torch.where(mask, k, 0)  # whatever the padding holds, it stays finite
        if backend == "sequential":
            states = self._sequential(k, h0, mask)
        else:
            states = scan.logspace_scan(*self.log_coefficients(k), h0)
        if mask is None:
            return states, states[:, -1]
        # padded steps follow all real ones, so they cannot change them: zero the outputs there
        # and read each final state at its sequence's last real step
        h_last = states[torch.arange(x.shape[0], device=x.device), lengths - 1]
        return torch.where(mask, states, 0), h_last

    def _sequential(self, k: Tensor, h0: Tensor, mask: Tensor | None) -> Tensor:
        h, states = h0, []
        for t in range(k.shape[1]):
            a, b = self.coefficients(k[:, t])
            h_new = a * h + b
            h = h_new if mask is None else keep_where(mask[:, t], h_new, h)  # a=1, b=0 if padded
            states.append(h)
        return torch.stack(states, 1)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"batch_first={self.batch_first}, bias={self.bias}, dropout={self.dropout}, "
                f"backend={self.backend!r}")


class MinGRU(_MinRNN):
    """MinGRU (Feng et al. 2024, Sec. 3.1), stacked ``num_layers`` deep.

    With ``k_z, k_h = (x_t @ weight_ih.T + bias_ih).chunk(2, -1)`` (gate order z, h~)::

        z_t       = sigmoid(k_z)
        h_tilde_t = g(k_h)          g(k) = k + 0.5 if k >= 0 else sigmoid(k)
        h_t       = (1 - z_t) * h_{t-1} + z_t * h_tilde_t

    i.e. ``a_t = 1 - z_t``, ``b_t = z_t * h_tilde_t``. In log space (the paper's appendix):
    ``log a = -softplus(k_z)``, ``log b = -softplus(-k_z) + log g(k_h)``. ``g`` keeps
    ``h_tilde > 0`` so that ``log b`` exists; it is used by every backend.

    Args:
        input_size: features D of x.
        hidden_size: units H.
        num_layers: stacked layers; layer l > 0 reads layer l-1's output.
        batch_first: x is (B, T, D) if True, else (T, B, D).
        bias: learn ``bias_ih_l{k}``.
        dropout: dropout on the input of every layer but the first (training only).
        backend: ``"auto"``, ``"scan"``, ``"logspace"`` or ``"sequential"`` (module docstring).

    Example:
        >>> out, h = MinGRU(8, 16, num_layers=2)(torch.randn(3, 5, 8))
        >>> out.shape, h.shape
        (torch.Size([3, 5, 16]), torch.Size([2, 3, 16]))
    """

    gates = 2
    kind = "gru"  # seqlab.nn.scan.fused_layer

    def coefficients(self, k: Tensor) -> tuple[Tensor, Tensor]:
        k_z, k_h = k.chunk(2, -1)
        z = torch.sigmoid(k_z)
        return 1 - z, z * g(k_h)

    def log_coefficients(self, k: Tensor) -> tuple[Tensor, Tensor]:
        k_z, k_h = k.chunk(2, -1)
        return -F.softplus(k_z), -F.softplus(-k_z) + log_g(k_h)


class MinLSTM(_MinRNN):
    """MinLSTM (Feng et al. 2024, Sec. 3.2, length-independent scaling), stacked.

    With ``k_f, k_i, k_h = (x_t @ weight_ih.T + bias_ih).chunk(3, -1)`` (gate order f, i, h~)::

        f_t = sigmoid(k_f),   i_t = sigmoid(k_i)
        f_n = f_t / (f_t + i_t),   i_n = i_t / (f_t + i_t)
        h_t = f_n * h_{t-1} + i_n * g(k_h)

    In log space: with ``d = softplus(-k_f) - softplus(-k_i)``, ``log f_n = -softplus(d)``,
    ``log i_n = -softplus(-d)``. Arguments as :class:`MinGRU`.
    """

    gates = 3
    kind = "lstm"

    def coefficients(self, k: Tensor) -> tuple[Tensor, Tensor]:
        k_f, k_i, k_h = k.chunk(3, -1)
        # f / (f + i) = sigmoid(log f - log i): the same number, without 0/0 when f, i underflow
        log_f, log_i = F.logsigmoid(k_f), F.logsigmoid(k_i)
        f_n, i_n = torch.sigmoid(log_f - log_i), torch.sigmoid(log_i - log_f)
        return f_n, i_n * g(k_h)

    def log_coefficients(self, k: Tensor) -> tuple[Tensor, Tensor]:
        k_f, k_i, k_h = k.chunk(3, -1)
        d = F.softplus(-k_f) - F.softplus(-k_i)
        return -F.softplus(d), -F.softplus(-d) + log_g(k_h)
