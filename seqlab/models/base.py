"""The contract every task model keeps, so that one fit loop, one checkpoint format and one
command line serve them all.

A task model is an ``nn.Module`` with:

- ``config_class``: its config dataclass (its own shape), and ``from_config(config, assets)``,
  where ``assets`` is the JSON-able dict of everything learned from data that the model needs to
  be rebuilt (vocabularies, tokenizers, tag or label sets, scalers); ``assets()`` returns it and
  the checkpoint stores it beside the weights.
- ``loss(batch, state=None) -> LossOutput``: the loss **summed** over the ``count`` items it
  covers (tokens, sentences, series steps), the number of ``sequences`` in the batch, the state
  to carry into the next batch (only models that carry one, like the language model; others
  return ``None``) and named metric ``sums`` (e.g. correct predictions, true positives).
- ``evaluate_batch(batch, state=None) -> LossOutput``: the same in evaluation mode; models whose
  figures need decoding (BLEU, span F1) override it to add their sums. Default: ``loss``.
- ``metrics(totals) -> dict[str, float]``: reported figures from totals summed over a whole
  split: ``totals["loss"]`` and ``totals["count"]`` plus every name of ``sums``. Sums add up
  exactly across batches and processes, so a figure never is a mean of batch means.
- ``log_metrics``: the names shown on progress lines; ``selection``: the default validation
  figure and its direction that pick the best checkpoint (``("loss", "min")``).

Example (a toy classifier; the contract test runs every registered model through the same):
    >>> import torch
    >>> class Toy(TaskModel):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.linear = torch.nn.Linear(3, 2)
    ...     def loss(self, batch, state=None):
    ...         x, y = batch
    ...         logits = self.linear(x)
    ...         nll = torch.nn.functional.cross_entropy(logits, y, reduction="sum")
    ...         correct = float((logits.argmax(-1) == y).sum())
    ...         return LossOutput(nll, len(y), len(y), sums={"correct": correct})
    ...     def metrics(self, totals):
    ...         return {"loss": totals["loss"] / totals["count"],
    ...                 "accuracy": totals["correct"] / totals["count"]}
    >>> out = Toy().loss((torch.zeros(4, 3), torch.tensor([0, 1, 1, 0])))
    >>> out.count, sorted(out.sums)
    (4, ['correct'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from torch import Tensor, nn

from seqlab.train.metrics import MAXIMISED, metric_direction  # noqa: F401 (re-exported)


@dataclass
class LossOutput:
    """What ``TaskModel.loss`` returns.

    Attributes:
        loss: 0-d tensor, the loss summed over ``count`` items (differentiable in training).
        count: number of items the sum covers (the token-level divisor).
        sequences: number of sequences in the batch (the divisor of ``loss_reduction =
            "sequence"``).
        state: recurrent state to carry into the next batch, or None.
        sums: named metric sums over the batch (floats), added up over a split.
    """

    loss: Tensor
    count: int
    sequences: int
    state: Any = None
    sums: dict[str, float] = field(default_factory=dict)


class TaskModel(nn.Module):
    """Base class of the registered task models (see the module docstring)."""

    task: ClassVar[str] = ""
    config_class: ClassVar[type | None] = None
    log_metrics: ClassVar[tuple[str, ...]] = ("loss",)
    selection: ClassVar[tuple[str, str]] = ("loss", "min")
    state_batch_dim: ClassVar[int] = 1  # batch axis of a carried state's tensors
    count_name: ClassVar[str] = "tok"  # what `count` counts, for "<name>/s" on progress lines

    @classmethod
    def from_config(cls, config: Any, assets: Mapping[str, Any]) -> TaskModel:
        raise NotImplementedError

    def assets(self) -> dict[str, Any]:
        """JSON-able data the model needs to be rebuilt (vocabularies, label sets)."""
        return {}

    def loss(self, batch: Any, state: Any = None) -> LossOutput:
        raise NotImplementedError

    def evaluate_batch(self, batch: Any, state: Any = None) -> LossOutput:
        return self.loss(batch, state)

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float]:
        count = totals.get("count", 0)
        return {"loss": totals["loss"] / count if count else float("nan")}
