"""How far back the training signal reaches: ``||dL/dh_t||`` and ``||dh_T/dh_t||``.

:func:`gradient_flow` runs a model once under :func:`~seqlab.diagnostics.trace.tracing` and
takes one ``autograd.grad`` of the loss with respect to every recorded hidden state. For each
layer it reports, for every step t, the mean over the batch of the per-sequence Euclidean norm
``||dL/dh_t^(b)||_2`` (the loss is a sum over sequences, so sequence b's hidden states only
receive gradient from its own term). ``dL/dh_t`` is the *total* derivative: through the next
step, the upper layers and the read-out alike.

The loss: a task model's ``model.loss(batch).loss`` (summed over the batch), or, for a bare
recurrent layer and an input ``x``, the probe ``L = sum_b w . h_T^(b)`` with a fixed random
unit vector ``w`` (seeded) on the top layer's last output: then ``dL/dh_t = w^T dh_T/dh_t``, the
signal a loss at the last step sends back.

:func:`jacobian_norms` gives, for one layer and one sequence, the norm of the state Jacobian
product ``||ds_T/ds_{T-k}|| = ||J_T J_{T-1} ... J_{T-k+1}||`` for ``k = 0..T`` where
``J_t = ds_t/ds_{t-1}`` is the recurrence's own Jacobian with the layer's inputs held fixed and
``s = h`` (``s = [h; c]`` for an LSTM, 2H wide). ``ord=2`` is the spectral norm (largest
singular value, the worst-case amplification of a perturbation), ``ord="fro"`` the Frobenius
norm. Cost: T Jacobians of size S x S and T products, O(T S^3): meant for H up to a few
hundred.

:func:`reach` summarises a curve: the number of steps back from T over which the norm stays
at or above ``tol`` times its value at T.

Example:
    >>> import torch
    >>> from seqlab.nn import RNN
    >>> rnn = RNN(2, 8)
    >>> flow = gradient_flow(rnn, torch.randn(3, 20, 2))
    >>> flow.norms["l0"].shape, bool(flow.norms["l0"][-1] > 0)
    ((20,), True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from seqlab.diagnostics.trace import LayerTrace, Trace, cell_step, require_recurrent, tracing
from seqlab.errors import ConfigError, DataError


@dataclass
class GradientFlow:
    """The result of :func:`gradient_flow` (arrays are numpy, time on the last axis).

    Attributes:
        loss: the loss value differentiated.
        norms: layer name -> (T,) mean over the batch of ``||dL/dh_t||``.
        per_sequence: layer name -> (B, T) the norms of each sequence.
        cell_norms: LSTM layers -> (T,) the same for the cell state ``c_t``.
        gates: layer name -> gate name -> {"mean", "high", "low"} each (T,): the mean
            activation and the fraction of units x sequences above ``1 - eps`` / below ``eps``.
        trace: the :class:`~seqlab.diagnostics.trace.Trace` (states still in the graph).
    """

    loss: float
    norms: dict[str, np.ndarray]
    per_sequence: dict[str, np.ndarray]
    cell_norms: dict[str, np.ndarray] = field(default_factory=dict)
    gates: dict[str, dict[str, dict[str, np.ndarray]]] = field(default_factory=dict)
    trace: Trace | None = None


def probe_loss(output: Tensor, seed: int = 0) -> Tensor:
    """``sum_b w . output[b, -1]`` with a seeded random unit vector ``w`` (batch-first)."""
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(output.shape[-1], generator=gen, dtype=torch.float64)
    w = (w / w.norm()).to(output)
    return (output[:, -1] * w).sum()


def gate_statistics(record: LayerTrace, eps: float = 0.05) -> dict[str, dict[str, np.ndarray]]:
    """Per gate, over time: mean activation, fraction above ``1 - eps`` and below ``eps``."""
    out = {}
    for name, steps in record.gates.items():
        g = torch.stack(steps).double()  # (T, B, H)
        flat = g.reshape(g.shape[0], -1)
        out[name] = {"mean": flat.mean(1).numpy(), "high": (flat > 1 - eps).double().mean(1)
                     .numpy(), "low": (flat < eps).double().mean(1).numpy()}
    return out


def _norms(grads: list[Tensor | None], like: list[Tensor]) -> np.ndarray:
    rows = [torch.zeros(s.shape[0], dtype=torch.float64) if g is None else
            g.detach().double().flatten(1).norm(dim=1) for g, s in zip(grads, like)]
    return torch.stack(rows, 1).numpy()  # (B, T)


def gradient_flow(model: nn.Module, batch: Any, *, probe_seed: int = 0, eps: float = 0.05
                  ) -> GradientFlow:
    """``||dL/dh_t||`` for every step and layer of ``model`` on ``batch`` (module docstring).

    Args:
        model: a task model (has ``loss``) or a bare seqlab recurrent layer.
        batch: the task model's batch, or the layer's input x (B, T, D).
        probe_seed: seed of the probe vector (bare layers).
        eps: saturation threshold of the gate statistics.
    """
    require_recurrent(model)
    if not 0 < eps < 0.5:
        raise ConfigError(f"eps must be in (0, 0.5), got {eps!r}")
    with tracing(model) as trace:
        if hasattr(model, "loss") and callable(model.loss):
            loss = model.loss(batch).loss
        else:
            if not isinstance(batch, Tensor) or batch.dim() != 3:
                raise DataError("a bare recurrent layer needs an input x (B, T, D), got "
                                f"{type(batch).__name__}")
            if batch.shape[1] < 1:
                raise DataError("the input must have at least one step (T >= 1)")
            out, _ = model(batch)
            out = out if getattr(model, "batch_first", True) else out.transpose(0, 1)
            loss = probe_loss(out, probe_seed)
    names = list(trace.layers)
    wanted: list[Tensor] = []
    for name in names:
        wanted += trace.layers[name].states + trace.layers[name].cells
    grads = torch.autograd.grad(loss, wanted, allow_unused=True)
    flow = GradientFlow(float(loss.detach()), {}, {}, trace=trace)
    i = 0
    for name in names:
        rec = trace.layers[name]
        T = len(rec.states)
        per = _norms(list(grads[i:i + T]), rec.states)
        i += T
        flow.per_sequence[name], flow.norms[name] = per, per.mean(0)
        if rec.cells:
            flow.cell_norms[name] = _norms(list(grads[i:i + T]), rec.cells).mean(0)
            i += T
        flow.gates[name] = gate_statistics(rec, eps)
    return flow


# ------------------------------------------------------------------------------ Jacobians
def _layer_steps(layer: nn.Module, x: Tensor, index: int):
    """For layer ``index`` of ``layer`` on one sequence x (1, T, D): the step function
    ``s_{t-1} -> s_t`` per t (flat state vectors) and the trajectory s_0..s_T."""
    from seqlab.nn.minrnn import _MinRNN

    with torch.no_grad(), tracing(layer) as trace:
        layer(x)
    names = [n for n in trace.layers if not n.endswith(".reverse")]
    if not 0 <= index < len(names):
        raise ConfigError(f"layer index must be in [0, {len(names)}), got {index}")
    if index > 0:
        inputs = torch.stack(trace.layers[names[index - 1]].states, 1)  # (1, T, H)
    else:
        inputs = x if getattr(layer, "batch_first", True) else x.transpose(0, 1)
    rec = trace.layers[names[index]]
    if isinstance(layer, _MinRNN):
        k = torch.nn.functional.linear(inputs, *layer.layer_parameters(index))[0]  # (T, G*H)
        coefs = [layer.coefficients(k[t]) for t in range(k.shape[0])]
        steps = [lambda s, ab=ab: ab[0] * s + ab[1] for ab in coefs]
        H = layer.hidden_size
        s0 = x.new_zeros(H)
        traj = [s0] + [h[0] for h in rec.states]
        return steps, traj
    if layer.bidirectional:
        raise ConfigError("jacobian_norms follows the forward direction of unidirectional "
                          "layers only")
    cell = layer.cells[index]
    xw = cell.project_input(inputs[0])  # (T, G*H)
    H = cell.output_size
    if rec.cells:
        def step(s, xw_t):
            h, c = cell_step(cell, xw_t[None], (s[None, :H], s[None, H:]))
            return torch.cat([h[0], c[0]])
        traj = [x.new_zeros(H + cell.hidden_size)] + [
            torch.cat([h[0], c[0]]) for h, c in zip(rec.states, rec.cells)]
    else:
        def step(s, xw_t):
            return cell_step(cell, xw_t[None], s[None])[0]
        traj = [x.new_zeros(H)] + [h[0] for h in rec.states]
    return [lambda s, xw_t=xw[t]: step(s, xw_t) for t in range(xw.shape[0])], traj


def step_jacobians(layer: nn.Module, x: Tensor, index: int = 0) -> list[Tensor]:
    """``J_t = ds_t / ds_{t-1}`` for t = 1..T of layer ``index`` on the one sequence x (1, T, D)."""
    if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[0] != 1:
        raise DataError(f"x must be one sequence (1, T, D), got "
                        f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
    steps, traj = _layer_steps(layer, x, index)
    return [torch.func.jacrev(f)(s.detach()).detach() for f, s in zip(steps, traj[:-1])]


def jacobian_norms(layer: nn.Module, x: Tensor, index: int = 0, ord: int | str = 2
                   ) -> np.ndarray:
    """``||ds_T/ds_{T-k}||`` for k = 0..T (module docstring); (T + 1,), the first entry 1."""
    if ord not in (2, "fro"):
        raise ConfigError(f"ord must be 2 (spectral) or 'fro', got {ord!r}")
    jacs = step_jacobians(layer, x, index)
    P = torch.eye(jacs[0].shape[0], dtype=jacs[0].dtype)
    out = [float(torch.linalg.matrix_norm(P, ord=ord))]
    for J in reversed(jacs):
        P = P @ J.detach()
        out.append(float(torch.linalg.matrix_norm(P, ord=ord)))
    return np.asarray(out)


def reach(norms_over_time: np.ndarray, tol: float = 1e-3) -> int:
    """Steps back from the last step over which the norm stays >= ``tol`` times its value there.

    ``norms_over_time`` is in time order (the last entry is t = T). Returns k in [0, T - 1]: the
    norm is >= tol * norm[T] at T, T-1, ..., T-k and below it at T-k-1 (k = T - 1: all steps).
    """
    a = np.asarray(norms_over_time, dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise DataError(f"norms must be a non-empty 1-D array, got shape {a.shape}")
    ref = a[-1]
    if not ref > 0:
        return 0
    below = np.nonzero(a[::-1] < tol * ref)[0]
    return int(below[0] - 1) if below.size else a.size - 1
