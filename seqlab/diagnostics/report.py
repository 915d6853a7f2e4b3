"""One diagnostics report over several models: the plots and a JSON summary.

:func:`fresh_models` builds freshly initialised stacks (``cell`` x ``init``) for
``seqlab diagnose --cell ...``; :func:`diagnose` runs every diagnostic on each model with the
same input and writes into ``out_dir``:

* ``gradient_flow.png`` - ``||dL/dh_t||`` of every layer of every model, against steps back;
* ``jacobian.png`` - ``||dh_T/dh_t||`` (spectral norm) of layer 0, when computed;
* ``gates.png`` - gate means and saturation over time (gated cells);
* ``spectra.png`` - largest singular value of each W_hh block (cells that have one);
* ``summary.json`` - per model: loss, per layer ``reach`` (steps back over which
  ``||dL/dh_t||`` stays >= ``tol`` x its value at T), the ratio ``||dL/dh_1|| / ||dL/dh_T||``,
  the Jacobian's reach and ratio, time-averaged gate means and saturation, and the W_hh
  spectra.

Init names: ``default`` (the layers' own), ``chrono`` (:func:`seqlab.nn.chrono.chrono_init`),
``seed001`` (:func:`seqlab.nn.init.init_recurrent`'s defaults: Xavier, orthogonal, forget
bias), and any scheme of :data:`seqlab.nn.init.SCHEMES`, which sets W_hh by that scheme (input
weights Xavier, biases zero, LSTM forget bias ``forget_bias``). Combinations that do not exist
(a W_hh scheme for MinGRU/MinLSTM, chrono for a plain RNN) raise a ConfigError.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seqlab.diagnostics.flow import gradient_flow, jacobian_norms, reach
from seqlab.diagnostics.plots import plot_curves, plot_gates, plot_spectra
from seqlab.diagnostics.spectra import recurrent_spectra
from seqlab.diagnostics.trace import require_recurrent
from seqlab.errors import ConfigError
from seqlab.nn.factory import check_cell, recurrent_stack
from seqlab.nn.init import SCHEMES

INITS = ("default", "chrono", "seed001", *SCHEMES)


def fresh_model(cell: str, init: str, input_size: int, hidden_size: int, num_layers: int = 1,
                length: int = 100, forget_bias: float = 1.0, seed: int = 0) -> nn.Module:
    """A freshly initialised float64 stack of ``cell`` under ``init`` (module docstring)."""
    check_cell(cell)
    if init not in INITS:
        raise ConfigError(f"init must be one of {INITS}, got {init!r}")
    torch.manual_seed(seed)
    model = recurrent_stack(cell, input_size, hidden_size, num_layers, backend="reference"
                            if cell not in ("mingru", "minlstm") else "auto").double()
    minimal = cell in ("mingru", "minlstm")
    if init == "chrono":
        from seqlab.nn.chrono import chrono_init

        chrono_init(model, t_max=max(float(length), 3.0),
                    generator=torch.Generator().manual_seed(seed))
    elif init != "default":
        if minimal:
            raise ConfigError(f"init {init!r} sets W_hh, which {cell} does not have (use "
                              "'default' or 'chrono')")
        from seqlab.nn.init import init_recurrent

        if init == "seed001":
            init_recurrent(model, forget_bias=forget_bias)
        else:
            init_recurrent(model, "xavier_uniform", init, "zeros", forget_bias=forget_bias)
    return model


def _atomic_json(path: Path, value: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(value, fh, indent=1)
    os.replace(tmp, path)


def _ratio(a: np.ndarray) -> float | None:
    return float(a[0] / a[-1]) if a[-1] > 0 else None


def diagnose(models: dict[str, nn.Module], batches: dict[str, Any] | Any, out_dir,
             *, tol: float = 1e-3, eps: float = 0.05, jacobian: bool = True,
             title: str = "") -> dict[str, Any]:
    """Every diagnostic on each model (label -> model), the files written into ``out_dir``.

    ``batches``: one input shared by every model (a bare layer's x, or a task batch), or a
    dict label -> batch. Returns the summary written to ``summary.json``.
    """
    if not models:
        raise ConfigError("diagnose needs at least one model")
    if not 0 < tol < 1:
        raise ConfigError(f"tol must be in (0, 1), got {tol!r}")
    for label, model in models.items():
        try:
            require_recurrent(model)
        except ConfigError as exc:
            raise ConfigError(f"{label}: {exc}") from None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"tol": tol, "eps": eps, "models": {}}
    flows, jacs, gates = {}, {}, {}
    for label, model in models.items():
        batch = batches[label] if isinstance(batches, dict) and label in batches else batches
        flow = gradient_flow(model, batch, eps=eps)
        entry: dict[str, Any] = {"loss": flow.loss, "layers": {}}
        for name, norms in flow.norms.items():
            flows[f"{label} {name}"] = norms
            g = flow.gates.get(name, {})
            if g:
                gates[f"{label} {name}"] = g
            entry["layers"][name] = {
                "steps": int(norms.size), "reach": reach(norms, tol),
                "first_over_last": _ratio(norms),
                "gates": {k: {"mean": float(v["mean"].mean()), "high": float(v["high"].mean()),
                              "low": float(v["low"].mean())} for k, v in g.items()}}
        if jacobian and isinstance(batch, torch.Tensor) and not getattr(
                model, "bidirectional", False):
            j = jacobian_norms(model, batch[:1])[::-1]  # time order, last = k = 0
            jacs[label] = j
            entry["jacobian_l0"] = {"reach": reach(j, tol), "first_over_last": _ratio(j),
                                    "norm": "spectral"}
        entry["spectra"] = recurrent_spectra(model)
        summary["models"][label] = entry
    suffix = f" ({title})" if title else ""
    files = [plot_curves(flows, out / "gradient_flow.png",
                         title=f"How far back the loss gradient reaches{suffix}",
                         ylabel="||dL/dh_t|| (mean over sequences)")]
    if jacs:
        files.append(plot_curves(jacs, out / "jacobian.png",
                                 title=f"Jacobian product norm, layer 0{suffix}",
                                 ylabel="||dh_T/dh_t||_2 (spectral norm)", reference=1.0,
                                 reference_label="1 (no growth, no decay)"))
    if gates:
        files.append(plot_gates(gates, out / "gates.png", title=f"Gate statistics{suffix}",
                                eps=eps))
    spectra = {label: e["spectra"] for label, e in summary["models"].items()
               if any(v for v in e["spectra"].values())}
    if spectra:
        files.append(plot_spectra(spectra, out / "spectra.png",
                                  title=f"Recurrent weight spectra{suffix}"))
    summary["files"] = [str(f) for f in files]
    _atomic_json(out / "summary.json", summary)
    return summary
