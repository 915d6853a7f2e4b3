"""PNG plots of the diagnostics, several models overlaid (matplotlib, Agg backend).

Every figure has a title, labelled axes with units and a legend naming each model, so it
reads without the code. Files are written atomically (a temporary file, then renamed).

* :func:`plot_curves` - any curves over "steps back from the last step" (``||dL/dh_t||``,
  ``||dh_T/dh_t||``), log scale, with an optional horizontal reference line;
* :func:`plot_gates` - gate means and saturation fractions over time, one panel per gate kind;
* :func:`plot_training_norms` - a :class:`~seqlab.diagnostics.monitor.GradientMonitor`'s
  total norm per step, the clipped norm and the exploding events marked.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> Path:
    with warnings.catch_warnings():  # long legends: keep the default layout, no warning
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=path.parent, prefix=f".{path.stem}")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        fig.clear()
        _pyplot().close(fig)
    return path


def plot_curves(curves: dict[str, np.ndarray], path, *, title: str, ylabel: str,
                reference: float | None = None, reference_label: str = "") -> Path:
    """Overlay ``curves`` (label -> values in time order, last = step T) against k = T - t.

    Values <= 0 are left out of the log-scale axis (an exactly vanished gradient).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, values in curves.items():
        v = np.asarray(values, dtype=float)[::-1]  # k = 0 is the last step
        k = np.arange(v.size)
        keep = np.isfinite(v) & (v > 0)
        ax.plot(k[keep], v[keep], label=label, linewidth=1.4)
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle="--", linewidth=1, label=reference_label)
    ax.set_yscale("log")
    ax.set_xlabel("steps back from the last step, k = T - t")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_gates(gates: dict[str, dict[str, dict[str, np.ndarray]]], path, *, title: str,
               eps: float = 0.05) -> Path:
    """``gates``: model label -> gate name -> {"mean", "high", "low"} (T,) arrays.

    Left panel: mean activation of every gate over time; right panel: the fraction of
    (unit, sequence) pairs saturated high (> 1 - eps, solid) and low (< eps, dotted).
    """
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, per_gate in gates.items():
        for gate, stats in per_gate.items():
            t = np.arange(1, len(stats["mean"]) + 1)
            line, = left.plot(t, stats["mean"], label=f"{label}: {gate}", linewidth=1.2)
            right.plot(t, stats["high"], color=line.get_color(), linewidth=1.2,
                       label=f"{label}: {gate} > {1 - eps:g}")
            right.plot(t, stats["low"], color=line.get_color(), linestyle=":", linewidth=1.2,
                       label=f"{label}: {gate} < {eps:g}")
    left.set_title("mean gate activation")
    left.set_xlabel("time step t")
    left.set_ylabel("mean over units and sequences")
    right.set_title("saturated fraction")
    right.set_xlabel("time step t")
    right.set_ylabel("fraction of units x sequences")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    fig.suptitle(title)
    return _save(fig, path)


def plot_training_norms(monitors: dict, path, *, title: str) -> Path:
    """``monitors``: label -> GradientMonitor. Total gradient norm per step (log scale), the
    norm after clipping (dashed) and exploding events (crosses)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, mon in monitors.items():
        steps = [h["step"] for h in mon.history]
        line, = ax.plot(steps, mon.totals(), label=f"{label}: ||g|| before clipping")
        if mon.clip is not None:
            ax.plot(steps, [h["clipped_total"] for h in mon.history], linestyle="--",
                    color=line.get_color(), label=f"{label}: after clipping at {mon.clip:g}")
        if mon.events:
            ax.plot([e["step"] for e in mon.events], [e["total"] for e in mon.events], "x",
                    color=line.get_color(), markersize=8,
                    label=f"{label}: jump > {mon.factor:g}x recent mean")
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("total gradient L2 norm")
    ax.set_title(title)
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_spectra(spectra: dict[str, dict], path, *, title: str) -> Path:
    """``spectra``: model label -> :func:`~seqlab.diagnostics.spectra.recurrent_spectra`.

    Bars of the largest singular value of each W_hh block per layer (a gate's block, or the
    whole matrix for a plain RNN), with the line 1 where a linear recurrence neither grows
    nor decays. Layers without W_hh (MinGRU/MinLSTM) are left out.
    """
    plt = _pyplot()
    bars = [(f"{label} {layer}: {block}", s["sigma_max"])
            for label, layers in spectra.items() for layer, blocks in layers.items()
            if blocks for block, s in blocks.items() if block != "W_hh" or len(blocks) == 1]
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(bars) + 2), 4.2))
    ax.bar(range(len(bars)), [v for _, v in bars], color="tab:blue")
    ax.set_xticks(range(len(bars)), [n for n, _ in bars], rotation=60, ha="right", fontsize=7)
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="1")
    ax.set_ylabel("largest singular value of the W_hh block")
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, path)
