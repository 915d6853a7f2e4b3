"""Perplexity and bits per token from summed log-likelihoods (seed 000's definition).

    PP  = exp(-1/N sum_i log p(x_i | x_<i))        (natural log)
    bpc = -1/N sum_i log2 p(x_i | x_<i) = (nats per token) / ln 2

N counts every predicted token of the split; sums are accumulated over batches and divided
once, so the figure is token-weighted, never a mean of batch means.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from seqlab.errors import DataError

# figures where larger is better; every other name is minimised (loss, ppl, bpc, mse, smape)
MAXIMISED = frozenset({"accuracy", "acc", "f1", "precision", "recall", "bleu", "chrf",
                       "exact_match", "macro_f1", "micro_f1"})


def metric_direction(name: str) -> str:
    """"max" for figures where larger is better (accuracy, F1, BLEU...), else "min"."""
    grows = name.endswith(("_f1", "_accuracy", "_bleu")) or name.startswith(("f1_", "accuracy_"))
    return "max" if name in MAXIMISED or grows else "min"


def perplexity(nll_sum: float, count: int) -> float:
    """exp(nll_sum / count); ``count`` must be > 0."""
    if count <= 0:
        raise DataError(f"count must be > 0 to compute perplexity, got {count}")
    mean = nll_sum / count
    return math.exp(mean) if mean < 700 else math.inf


def bits_per_token(nll_sum: float, count: int) -> float:
    """Mean negative log2-likelihood (bits per character for a character model)."""
    if count <= 0:
        raise DataError(f"count must be > 0 to compute bits per token, got {count}")
    return nll_sum / count / math.log(2)


def perplexity_of_probs(probs: Iterable[float]) -> float:
    """Perplexity of a sequence given each token's conditional probability (seed 000)."""
    logs = [math.log(p) for p in probs]
    return perplexity(-sum(logs), len(logs))


class NLLMeter:
    """Accumulates (nll_sum, count) over batches; reports nats/token, perplexity, bits/token."""

    def __init__(self) -> None:
        self.nll_sum = 0.0
        self.count = 0

    def add(self, nll_sum: float, count: int) -> None:
        self.nll_sum += float(nll_sum)
        self.count += int(count)

    @property
    def loss(self) -> float:
        """Mean nats per token."""
        return self.nll_sum / self.count if self.count else float("nan")

    @property
    def ppl(self) -> float:
        return perplexity(self.nll_sum, self.count) if self.count else float("nan")

    @property
    def bpc(self) -> float:
        return bits_per_token(self.nll_sum, self.count) if self.count else float("nan")


LABELS = {"bpc": "bits per character", "ppl": "perplexity", "loss": "loss (nats per item)",
          "f1": "F1", "bleu": "BLEU", "accuracy": "accuracy"}


def plot_curve(history: list[dict], path, unit: str = "ppl") -> None:
    """Save train/valid figure ``unit`` (e.g. "ppl", "bpc", "f1") per evaluation as a PNG
    (matplotlib, Agg). Splits without the figure (F1 is not computed on train) are left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlab.io import atomic_open

    steps = [h["step"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    values = []
    for split in ("train", "valid"):
        ys = [h.get(f"{split}_{unit}", math.nan) for h in history]
        if all(math.isnan(y) for y in ys):
            continue
        ax.plot(steps, ys, marker="o", label=split)
        values += [y for y in ys if math.isfinite(y)]
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(LABELS.get(unit, unit))
    if unit == "ppl" and values and max(values) > 3 * min(values):
        from matplotlib.ticker import FormatStrFormatter

        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        with atomic_open(path, "wb") as handle:
            fig.savefig(handle, dpi=100, format="png")
    finally:
        plt.close(fig)
