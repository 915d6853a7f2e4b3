r"""Language-model pretraining of a classifier's own encoder (a bidirectional LM, as in ELMo).

Dai & Le (2015) start a text classifier's LSTM from a language model trained on unlabelled
text of the same kind; Peters et al. (2018) train a forward and a backward LM over shared
token embeddings. Here the classifier's embedding and bidirectional encoder *are* the biLM,
so the weights carry over without any mapping. For a text x_1..x_n (``h->_t``, ``h<-_t``: the
encoder's forward and backward halves at step t)::

    h->_1..n, h<-_1..n = rnn(dropout(E[x_1..x_n]))
    loss = sum_{t=1}^{n-1} -log softmax(W-> dropout(h->_t) + b->)_{x_{t+1}}
         + sum_{t=2}^{n}   -log softmax(W<- dropout(h<-_t) + b<-)_{x_{t-1}}

(2 (n - 1) predictions per text; a one-token text has none). The output layers W->, W<- are
thrown away afterwards. :class:`BiLMPretraining` keeps the task contract, so the engine's
fit loop trains it on the classifier's own batches (labels unused), and ``perplexity`` is
exp of the loss per prediction. Then the classifier is saved and ``model.init_from`` starts
a run from it.

Example:
    >>> import torch
    >>> from seqlab.models.classifier import ClassifierConfig, RecurrentClassifier
    >>> clf = RecurrentClassifier.from_config(ClassifierConfig(embedding_dim=8, hidden_size=6),
    ...                                       {"vocab_size": 12, "labels": ["a", "b"]})
    >>> lm = BiLMPretraining(clf)
    >>> out = lm.loss({"tokens": torch.tensor([[3, 4, 5], [6, 7, 0]]),
    ...                "lengths": torch.tensor([3, 2])})
    >>> out.count  # 2 * (3 - 1) + 2 * (2 - 1)
    6
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError
from seqlab.models.base import LossOutput, TaskModel


class BiLMPretraining(TaskModel):
    """A bidirectional language model over a :class:`RecurrentClassifier`'s encoder."""

    count_name: ClassVar[str] = "tok"
    log_metrics: ClassVar[tuple[str, ...]] = ("ppl",)
    selection: ClassVar[tuple[str, str]] = ("loss", "min")

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        if getattr(classifier, "directions", 0) != 2:
            raise ConfigError("biLM pretraining needs a bidirectional classifier "
                              "(model.bidirectional = true)")
        self.classifier = classifier
        H, V = classifier.config.hidden_size, classifier.vocab_size
        self.forward_out = nn.Linear(H, V)
        self.backward_out = nn.Linear(H, V)
        self.drop = nn.Dropout(classifier.config.dropout)

    def loss(self, batch: Mapping[str, Tensor], state: Any = None) -> LossOutput:
        c = self.classifier
        tokens, lengths = batch["tokens"], batch["lengths"]
        c.check_tokens(tokens, lengths)
        lengths = lengths.to(tokens.device).long()
        h, _ = c.rnn(c.drop(c.embedding(tokens)), lengths=lengths.cpu())  # (B, T, 2H)
        H = c.config.hidden_size
        T = tokens.shape[1]
        steps = torch.arange(T, device=tokens.device)[None, :]
        # forward: step t (0-based) predicts token t + 1, for t + 1 < n
        fwd_mask = (steps[:, :-1] + 1) < lengths[:, None]
        fwd = self.forward_out(self.drop(h[:, :-1, :H][fwd_mask]))
        # backward: step t predicts token t - 1, for 1 <= t < n
        bwd_mask = steps[:, 1:] < lengths[:, None]
        bwd = self.backward_out(self.drop(h[:, 1:, H:][bwd_mask]))
        nll = (nn.functional.cross_entropy(fwd, tokens[:, 1:][fwd_mask], reduction="sum")
               + nn.functional.cross_entropy(bwd, tokens[:, :-1][bwd_mask], reduction="sum"))
        count = int(fwd_mask.sum()) + int(bwd_mask.sum())
        return LossOutput(nll, count, tokens.shape[0], None, {})

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float]:
        count = totals.get("count", 0)
        loss = totals["loss"] / count if count else float("nan")
        return {"loss": loss, "ppl": math.exp(min(loss, 50.0))}


def copy_encoder(model: nn.Module, path: str) -> list[str]:
    """Copy the embedding and encoder weights of the classifier checkpoint at ``path`` into
    ``model`` (``model.init_from``); returns the names copied. Shapes must agree."""
    from pathlib import Path

    from seqlab.train.checkpoint import load_checkpoint

    if not Path(path).exists():
        raise ConfigError(f"model.init_from: no checkpoint at {path}")
    ckpt = load_checkpoint(path)
    if ckpt.task != "classifier":
        raise ConfigError(f"model.init_from: {path} is a checkpoint of task {ckpt.task!r}")
    if ckpt.assets.get("vocab") != model.assets().get("vocab"):
        raise ConfigError(f"model.init_from: {path} was trained with another vocabulary than "
                          "this run (build both from the same data settings)")
    own = model.state_dict()
    names = [n for n in own if n.startswith(("embedding.", "rnn."))]
    missing = [n for n in names if n not in ckpt.model_state]
    wrong = [f"{n} {tuple(ckpt.model_state[n].shape)} vs {tuple(own[n].shape)}"
             for n in names if n in ckpt.model_state and ckpt.model_state[n].shape != own[n].shape]
    if missing or wrong:
        raise ConfigError(f"model.init_from: {path} does not fit this model's encoder: "
                          f"missing {missing[:3]}, other shapes {wrong[:3]}")
    with torch.no_grad():
        for n in names:
            own[n].copy_(ckpt.model_state[n])
    return names
