r"""Classification figures from sums that add up exactly over batches and processes.

Single-label (binary or multi-class, ``C`` classes): each batch contributes the counts
``cm/i/j`` = number of items of true class ``i`` predicted as ``j`` (the confusion matrix
``M``), from which, over a whole split::

    accuracy    = sum_i M_ii / N
    P_c         = M_cc / sum_i M_ic          (0 when nothing was predicted as c)
    R_c         = M_cc / sum_j M_cj          (0 when c never occurs)
    F1_c        = 2 P_c R_c / (P_c + R_c)    (0 when P_c + R_c = 0)
    macro_f1    = mean_c F1_c
    micro_f1    = 2 TP / (2 TP + FP + FN) summed over classes (= accuracy for one label each)

Multi-label (each item has a set of labels, predicted where sigmoid > 0.5): the sums are
``tp/c``, ``fp/c``, ``fn/c`` per class and ``exact`` (items whose whole set is right);
``accuracy`` is that subset accuracy, P/R/F1 as above from tp, fp, fn.

Example (the hand-computed 2x2 case: 3 of 4 right):
    >>> import torch
    >>> sums = confusion_sums(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 1, 1]), 2)
    >>> figures = single_label_metrics(sums, ["neg", "pos"])
    >>> figures["accuracy"], round(figures["macro_f1"], 4), figures["precision/pos"]
    (0.75, 0.7333, 0.6666666666666666)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch


def confusion_sums(gold: torch.Tensor, pred: torch.Tensor, n_classes: int) -> dict[str, float]:
    """``cm/i/j`` counts of one batch (every pair, zeros included, so sums always align)."""
    flat = (gold.long() * n_classes + pred.long()).cpu()
    counts = torch.bincount(flat, minlength=n_classes * n_classes).tolist()
    return {f"cm/{k // n_classes}/{k % n_classes}": float(v) for k, v in enumerate(counts)}


def multilabel_sums(gold: torch.Tensor, pred: torch.Tensor) -> dict[str, float]:
    """``tp/c``, ``fp/c``, ``fn/c`` per class and ``exact`` of one (B, C) 0/1 batch."""
    gold, pred = gold.bool().cpu(), pred.bool().cpu()
    out = {"exact": float((gold == pred).all(dim=1).sum())}
    for c in range(gold.shape[1]):
        out[f"tp/{c}"] = float((gold[:, c] & pred[:, c]).sum())
        out[f"fp/{c}"] = float((~gold[:, c] & pred[:, c]).sum())
        out[f"fn/{c}"] = float((gold[:, c] & ~pred[:, c]).sum())
    return out


def confusion_matrix(totals: Mapping[str, float], n_classes: int) -> np.ndarray:
    """The (C, C) integer matrix ``M[true, predicted]`` from summed ``cm/i/j`` totals."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    for i in range(n_classes):
        for j in range(n_classes):
            m[i, j] = int(round(totals.get(f"cm/{i}/{j}", 0.0)))
    return m


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, labels: Sequence[str]
         ) -> dict[str, float]:
    p = np.array([_ratio(t, t + f) for t, f in zip(tp, fp, strict=True)])
    r = np.array([_ratio(t, t + f) for t, f in zip(tp, fn, strict=True)])
    f1 = np.array([_ratio(2 * a * b, a + b) for a, b in zip(p, r, strict=True)])
    out = {"macro_f1": float(f1.mean()) if len(f1) else 0.0,
           "micro_f1": _ratio(2 * tp.sum(), 2 * tp.sum() + fp.sum() + fn.sum())}
    for c, name in enumerate(labels):
        out[f"precision/{name}"] = float(p[c])
        out[f"recall/{name}"] = float(r[c])
    return out


def single_label_metrics(totals: Mapping[str, float], labels: Sequence[str]
                         ) -> dict[str, float]:
    """accuracy, macro/micro F1 and per-class precision/recall from ``cm/i/j`` totals."""
    m = confusion_matrix(totals, len(labels))
    n = m.sum()
    tp = np.diag(m).astype(float)
    out = {"accuracy": _ratio(float(tp.sum()), float(n))}
    out.update(_prf(tp, m.sum(axis=0) - tp, m.sum(axis=1) - tp, labels))
    return out


def multi_label_metrics(totals: Mapping[str, float], labels: Sequence[str],
                        items: float) -> dict[str, float]:
    """Subset accuracy, macro/micro F1 and per-class P/R from ``tp/fp/fn`` totals."""
    get = lambda kind: np.array([totals.get(f"{kind}/{c}", 0.0)  # noqa: E731
                                 for c in range(len(labels))])
    out = {"accuracy": _ratio(totals.get("exact", 0.0), items)}
    out.update(_prf(get("tp"), get("fp"), get("fn"), labels))
    return out


def format_confusion(matrix: np.ndarray, labels: Sequence[str]) -> str:
    """The matrix as aligned text: one row per true label, one column per predicted one."""
    width = max([len(str(v)) for v in matrix.ravel()] + [len(s) for s in labels] + [9])
    head = "true \\ pred".ljust(width + 2) + " ".join(s.rjust(width) for s in labels)
    rows = [name.ljust(width + 2) + " ".join(str(v).rjust(width) for v in row)
            for name, row in zip(labels, matrix, strict=True)]
    return "\n".join([head, *rows])


def plot_confusion(matrix: np.ndarray, labels: Sequence[str], path: str | Path,
                   title: str = "") -> Path:
    """Write the confusion matrix as a PNG (counts in the cells), atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    size = max(3.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    top = matrix.max() if matrix.size else 0
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center",
                color="white" if top and v > top / 2 else "black")
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
    return path
