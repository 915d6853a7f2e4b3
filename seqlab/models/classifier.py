r"""Recurrent text classifier: embedding, a seqlab recurrent encoder, pooling, an MLP head.

Equations, for a text of ``n`` real tokens ``x_1..x_n`` padded to ``T`` (``m_t = 1`` for
``t <= n``, else 0)::

    e_t        = E[x_t]                                   # (B, T, D); E random or pretrained
    h_1..h_T   = rnn(dropout(e_1..e_T), lengths=n)        # (B, T, H'), H' = dirs * H;
                                                          # padded steps give h_t = 0
    pooling:
      last       z = [h->_n ; h<-_1]                      # forward state at the text's own last
                                                          # real step; backward state at step 1
      mean       z = sum_t m_t h_t / n
      max        z_k = max_{t <= n} h_t,k
      attention  a_t = softmax_{t <= n}(v . tanh(W h_t + b)),  z = sum_t a_t h_t
    u_0 = dropout(z);  u_l = dropout(relu(W_l u_{l-1} + b_l)) for l = 1..mlp_layers
    s   = W_o u_L + b_o                                   # (B, C) scores

    single-label:  p(c | x) = softmax(s)_c;   loss = sum_i w_{y_i} (-log p(y_i | x_i))
    multi-label:   p(c | x) = sigmoid(s_c);   loss = sum_i sum_c w_c BCE(sigmoid(s_ic), y_ic)

With ``teachers`` (classifier checkpoints) the training loss also pulls p(. | x) towards their
mean probability (knowledge distillation, :mod:`seqlab.models.distillation`); validation keeps
the loss above.

``w`` are the class weights (1 by default; ``"balanced"``: w_c = N / (C N_c), scikit-learn's
rule, from the training label counts). The loss is a sum over the batch's texts; the engine
divides it by their number. Pooling only ever reads real steps, so a text gives the same
probabilities alone or in a padded batch.

The label vocabulary, the token vocabulary and the tokenizer are the model's assets (saved in
the checkpoint); ``labels[c]`` names class ``c``.

Example:
    >>> import torch
    >>> assets = {"vocab_size": 20, "labels": ["neg", "pos"]}
    >>> model = RecurrentClassifier.from_config(ClassifierConfig(
    ...     embedding_dim=8, hidden_size=8, bidirectional=True, pooling="attention"), assets)
    >>> batch = {"tokens": torch.tensor([[5, 6, 7], [8, 9, 0]]), "lengths": torch.tensor([3, 2]),
    ...          "labels": torch.tensor([1, 0])}
    >>> out = model.loss(batch)
    >>> out.count, sorted(model.metrics({"loss": 1.0, "count": 2, "cm/0/0": 1, "cm/1/1": 1}))[:3]
    (2, ['accuracy', 'loss', 'macro_f1'])
    >>> scores, weights = model(batch["tokens"], batch["lengths"])
    >>> tuple(scores.shape), weights[1, 2].item()
    ((2, 2), 0.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from seqlab.config import check
from seqlab.errors import ConfigError, DataError
from seqlab.models.base import LossOutput, TaskModel
from seqlab.models.classification_metrics import (
    confusion_sums,
    multi_label_metrics,
    multilabel_sums,
    single_label_metrics,
)
from seqlab.nn.attention import SelfAttentionPooling
from seqlab.nn.factory import RECURRENT_CELLS, check_cell, recurrent_stack

POOLINGS = ("last", "mean", "max", "attention")


def class_weights(spec: str, labels: list[str], counts: list[int] | None) -> Tensor | None:
    """Per-class loss weights: ``""`` none, ``"balanced"`` (N / (C N_c)) or ``"a:2,b:0.5"``."""
    if not spec:
        return None
    if spec == "balanced":
        if not counts or len(counts) != len(labels) or min(counts) <= 0:
            raise ConfigError("model.class_weights='balanced' needs the training count of "
                              "every label (each > 0)")
        total = float(sum(counts))
        return torch.tensor([total / (len(labels) * c) for c in counts])
    weights = torch.ones(len(labels))
    for part in spec.split(","):
        name, sep, value = part.rpartition(":")
        if not sep or name not in labels:
            raise ConfigError(f"model.class_weights: {part!r} must be LABEL:WEIGHT with LABEL "
                              f"one of {labels}")
        try:
            weights[labels.index(name)] = float(value)
        except ValueError:
            raise ConfigError(f"model.class_weights: weight {value!r} of {name!r} is not a "
                              "number") from None
    if bool((weights <= 0).any()):
        raise ConfigError(f"model.class_weights must all be > 0, got {spec!r}")
    return weights


class ClassifierHead(TaskModel):
    """What every seqlab text classifier shares: labels, loss, sums, figures, probabilities.

    Subclasses define ``forward(tokens, lengths) -> (scores (B, C), weights or None)``.
    """

    count_name: ClassVar[str] = "text"
    log_metrics: ClassVar[tuple[str, ...]] = ("accuracy",)
    selection: ClassVar[tuple[str, str]] = ("accuracy", "max")

    def _setup_labels(self, assets: Mapping[str, Any], weights_spec: str) -> None:
        labels = list(assets.get("labels") or [])
        if len(labels) < 2 and not assets.get("multi_label"):
            raise DataError(f"a classifier needs at least 2 labels, got {labels}")
        if not labels:
            raise DataError("a classifier needs at least 1 label")
        self.labels = labels
        self.multi_label = bool(assets.get("multi_label", False))
        w = class_weights(weights_spec, labels, assets.get("label_counts"))
        self.register_buffer("class_weight", w if w is not None else torch.ones(len(labels)))
        # softmax temperature, 1 unless calibrate_temperature set it (kept in the assets)
        self.register_buffer("temperature", torch.tensor(float(assets.get("temperature", 1.0))),
                             persistent=False)

    @property
    def n_classes(self) -> int:
        return len(self.labels)

    def check_tokens(self, tokens: Tensor, lengths: Tensor) -> None:
        if tokens.dim() != 2 or lengths.dim() != 1 or lengths.shape[0] != tokens.shape[0]:
            raise DataError(f"tokens must be (B, T) and lengths (B,), got {tuple(tokens.shape)} "
                            f"and {tuple(lengths.shape)}")
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.vocab_size):
            raise DataError(f"token ids must be in [0, {self.vocab_size}), got "
                            f"[{int(tokens.min())}, {int(tokens.max())}]")
        if lengths.numel() and (int(lengths.min()) < 1 or int(lengths.max()) > tokens.shape[1]):
            raise DataError(f"lengths must be in [1, T={tokens.shape[1]}] (an empty text has "
                            f"no token to classify), got [{int(lengths.min())}, "
                            f"{int(lengths.max())}]")

    def probabilities(self, scores: Tensor) -> Tensor:
        """softmax(s / tau) over classes (single-label) or sigmoid(s_c / tau) per class
        (multi-label); tau = ``temperature``, 1 unless calibrated (training never uses it)."""
        scores = scores / self.temperature.to(scores.dtype)
        return torch.sigmoid(scores) if self.multi_label else torch.softmax(scores, dim=-1)

    @torch.no_grad()
    def predict_proba(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        """(B, C) class probabilities of a padded batch, in eval mode."""
        was = self.training
        self.eval()
        try:
            return self.probabilities(self(tokens, lengths)[0])
        finally:
            self.train(was)

    def loss(self, batch: Mapping[str, Tensor], state: Any = None) -> LossOutput:
        """The training loss; with ``model.teachers`` it mixes in their soft targets
        (:mod:`seqlab.models.distillation`)."""
        return self._loss(batch, distill=True)

    def evaluate_batch(self, batch: Mapping[str, Tensor], state: Any = None) -> LossOutput:
        """The hard-label loss and sums, whatever the training loss was."""
        return self._loss(batch, distill=False)

    def _loss(self, batch: Mapping[str, Tensor], distill: bool) -> LossOutput:
        scores, _ = self(batch["tokens"], batch["lengths"])
        labels = batch["labels"]
        n = scores.shape[0]
        if self.multi_label:
            target = labels.to(scores.dtype)
            per = nn.functional.binary_cross_entropy_with_logits(scores, target, reduction="none")
            loss = (per * self.class_weight.to(scores.dtype)).sum()
            sums = multilabel_sums(target > 0.5, scores > 0)
        else:
            loss = nn.functional.cross_entropy(scores, labels, reduction="none")
            loss = (loss * self.class_weight.to(scores.dtype)[labels]).sum()
            sums = confusion_sums(labels, scores.argmax(dim=-1), self.n_classes)
        spec = getattr(getattr(self, "config", None), "teachers", "")
        if distill and spec:
            from seqlab.models.distillation import Teachers, soft_loss, teacher_paths

            if getattr(self, "_teachers", None) is None:  # read once, never a submodule
                self._teachers = Teachers(teacher_paths(spec), self._assets).to(scores.device)
            a, T = self.config.distill_weight, self.config.distill_temperature
            q = self._teachers.probabilities(batch["tokens"], batch["lengths"], T,
                                             self.multi_label)
            loss = (1 - a) * loss + a * soft_loss(scores, q, T, self.multi_label)
        return LossOutput(loss, n, n, None, sums)

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float]:
        count = totals.get("count", 0)
        figures = {"loss": totals["loss"] / count if count else float("nan")}
        if self.multi_label:
            figures.update(multi_label_metrics(totals, self.labels, count))
        else:
            figures.update(single_label_metrics(totals, self.labels))
        return figures

    def assets(self) -> dict[str, Any]:
        return dict(self._assets)

    def evaluation_report(self, totals: Mapping[str, float], checkpoint: str,
                          split: str) -> str:
        """The confusion matrix as text, also drawn to ``confusion_<split>.png`` beside the
        checkpoint (single-label), or per-label tp/fp/fn (multi-label)."""
        from pathlib import Path

        from seqlab.models.classification_metrics import (
            confusion_matrix,
            format_confusion,
            plot_confusion,
        )

        if self.multi_label:
            return "\n".join(f"{name}: tp {int(totals.get(f'tp/{c}', 0))} fp "
                             f"{int(totals.get(f'fp/{c}', 0))} fn {int(totals.get(f'fn/{c}', 0))}"
                             for c, name in enumerate(self.labels))
        matrix = confusion_matrix(totals, self.n_classes)
        folder = Path(checkpoint)
        folder = folder if folder.is_dir() else folder.parent
        accuracy = np.trace(matrix) / max(int(matrix.sum()), 1)
        png = plot_confusion(matrix, self.labels, folder / f"confusion_{split}.png",
                             title=f"{split}: accuracy {accuracy:.4f}")
        return format_confusion(matrix, self.labels) + f"\n(confusion matrix drawn to {png})"


def fit_temperature(scores: Tensor, labels: Tensor, multi_label: bool = False) -> float:
    """Temperature scaling (Guo et al. 2017): the tau > 0 minimising the held-out NLL of
    softmax(s / tau) (multi-label: the summed BCE of sigmoid(s / tau)). One parameter, so
    predictions (the argmax) never change; found by golden-section search on log tau in
    [log 0.05, log 20], in float64."""
    s, y = scores.detach().double(), labels

    def nll(log_t: float) -> float:
        z = s / float(np.exp(log_t))
        if multi_label:
            return float(nn.functional.binary_cross_entropy_with_logits(z, y.double(),
                                                                        reduction="sum"))
        return float(nn.functional.cross_entropy(z, y, reduction="sum"))

    lo, hi = float(np.log(0.05)), float(np.log(20.0))
    g = (np.sqrt(5.0) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2))


@torch.no_grad()
def calibrate_temperature(model: ClassifierHead, batches: Any) -> float:
    """Fit ``model.temperature`` on held-out ``batches`` (e.g. the dev split); returns it."""
    was = model.training
    model.eval()
    scores, labels = [], []
    for b in batches:
        scores.append(model(b["tokens"], b["lengths"])[0])
        labels.append(b["labels"])
    model.train(was)
    if not scores:
        raise DataError("calibration needs at least one held-out batch")
    tau = fit_temperature(torch.cat(scores), torch.cat(labels), model.multi_label)
    model.temperature.fill_(tau)
    model._assets["temperature"] = tau
    return tau


@dataclass
class ClassifierConfig:
    """The recurrent classifier's shape (see the module docstring)."""

    HELP: ClassVar[dict[str, str]] = {
        "cell": "recurrent cell", "embedding_dim": "embedding width D",
        "hidden_size": "recurrent width H per direction", "num_layers": "stacked layers",
        "bidirectional": "a backward layer beside each forward one",
        "dropout": "dropout on the embeddings, between layers and before each head layer",
        "pooling": "how the steps become one vector", "attention_size": "W's rows in "
        "attention pooling (0: the encoder width)", "mlp_hidden": "width of the head's hidden "
        "layers", "mlp_layers": "hidden layers of the head (0: linear)",
        "class_weights": "'' (none), balanced (N / (C N_c)) or LABEL:W,LABEL:W",
        "pretrained": "word vectors file (word2vec .txt/.vec/.bin or seqlab KeyedVectors)",
        "freeze_embeddings": "keep the embedding fixed", "backend": "recurrent backend",
        "teachers": "classifier checkpoints (comma-separated) to distil from: their mean "
        "probability is a soft target (Hinton et al. 2015)", "distill_weight": "weight a of "
        "the soft target in the loss (1 - a: the labels')", "distill_temperature": "softmax "
        "temperature T of teachers and student in the soft term", "init_from": "classifier "
        "checkpoint whose embedding and encoder start this run (e.g. biLM-pretrained, "
        "seqlab.models.encoder_pretraining)"}
    CHOICES: ClassVar[dict[str, tuple]] = {"cell": tuple(RECURRENT_CELLS), "pooling": POOLINGS}
    RESUMABLE: ClassVar[tuple[str, ...]] = ("backend",)

    cell: str = "lstm"
    embedding_dim: int = 100
    hidden_size: int = 100
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.3
    pooling: str = "max"
    attention_size: int = 0
    mlp_hidden: int = 100
    mlp_layers: int = 0
    class_weights: str = ""
    pretrained: str = ""
    freeze_embeddings: bool = False
    backend: str = "auto"
    teachers: str = ""
    distill_weight: float = 0.5
    distill_temperature: float = 1.0
    init_from: str = ""

    def __post_init__(self) -> None:
        check_cell(self.cell, self.bidirectional, name="model.cell")
        for name in ("embedding_dim", "hidden_size", "num_layers", "mlp_hidden"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, f"model.{name}", "an int > 0", value)
        check(self.attention_size >= 0, "model.attention_size", ">= 0", self.attention_size)
        check(self.mlp_layers >= 0, "model.mlp_layers", ">= 0", self.mlp_layers)
        check(0.0 <= self.dropout < 1.0, "model.dropout", "in [0, 1)", self.dropout)
        check(self.pooling in POOLINGS, "model.pooling", f"one of {POOLINGS}", self.pooling)
        check(0.0 <= self.distill_weight <= 1.0, "model.distill_weight", "in [0, 1]",
              self.distill_weight)
        check(self.distill_temperature > 0, "model.distill_temperature", "> 0",
              self.distill_temperature)


def mlp_head(width: int, hidden: int, layers: int, classes: int, dropout: float) -> nn.Module:
    parts: list[nn.Module] = [nn.Dropout(dropout)]
    for _ in range(layers):
        parts += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
        width = hidden
    parts.append(nn.Linear(width, classes))
    return nn.Sequential(*parts)


class RecurrentClassifier(ClassifierHead):
    """Embedding -> recurrent encoder -> pooling -> MLP (equations in the module docstring).

    Build with :meth:`from_config` (``assets``: ``vocab`` or ``vocab_size``, ``labels``,
    optionally ``multi_label``, ``label_counts``) or :class:`seqlab.TextClassifier`.

    Shape: ``forward(tokens (B, T) long, lengths (B,))`` -> ``(scores (B, C), weights)``;
    ``weights`` (B, T) are the attention weights (0 at padded steps), or None for the other
    poolings.
    """

    task = "classifier"
    config_class = ClassifierConfig

    def __init__(self, config: ClassifierConfig, assets: Mapping[str, Any]) -> None:
        super().__init__()
        self.config = config
        self._assets = dict(assets)
        self._setup_labels(assets, config.class_weights)
        vocab = assets.get("vocab")
        self.vocab_size = len(vocab["tokens"]) if vocab else int(assets.get("vocab_size", 0))
        if self.vocab_size < 2:
            raise DataError(f"a classifier needs a vocabulary, got size {self.vocab_size}")
        c = config
        self.embedding = nn.Embedding(self.vocab_size, c.embedding_dim, padding_idx=0)
        self.drop = nn.Dropout(c.dropout)
        self.rnn = recurrent_stack(c.cell, c.embedding_dim, c.hidden_size, c.num_layers,
                                   bidirectional=c.bidirectional, dropout=c.dropout,
                                   backend=c.backend)
        self.directions = 2 if c.bidirectional else 1
        width = self.directions * c.hidden_size
        self.attention = (SelfAttentionPooling(width, c.attention_size or None)
                          if c.pooling == "attention" else None)
        self.head = mlp_head(width, c.mlp_hidden, c.mlp_layers, self.n_classes, c.dropout)
        if c.freeze_embeddings:
            self.embedding.weight.requires_grad_(False)

    @classmethod
    def from_config(cls, config: ClassifierConfig, assets: Mapping[str, Any],
                    vectors: Any = None) -> RecurrentClassifier:
        """The model for ``config``; pretrained vectors (``vectors`` or ``config.pretrained``)
        fill the embedding rows of the words they know, then ``config.init_from`` (a
        classifier checkpoint) overwrites embedding and encoder, unless the assets say a
        checkpoint's weights will be loaded over them (``pretrained_found`` /
        ``initialised_from`` set)."""
        model = cls(config, assets)
        source = vectors if vectors is not None else config.pretrained
        if source is not None and source != "" and "pretrained_found" not in assets:
            if not assets.get("vocab"):
                raise ConfigError("pretrained vectors need the vocabulary in the assets")
            from seqlab.embeddings.pretrained import copy_pretrained, load_pretrained

            found = copy_pretrained(model.embedding, assets["vocab"]["tokens"],
                                    load_pretrained(source))
            model._assets["pretrained_found"] = found
        if config.init_from and "initialised_from" not in assets:
            from seqlab.models.encoder_pretraining import copy_encoder

            copy_encoder(model, config.init_from)
            model._assets["initialised_from"] = config.init_from
        return model

    def pool(self, h: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor | None]:
        """(B, T, H') steps -> (B, H') over real steps only, and the attention weights."""
        B, T, _ = h.shape
        mask = torch.arange(T, device=h.device)[None, :] < lengths[:, None]  # (B, T)
        pooling = self.config.pooling
        if pooling == "attention":
            return self.attention(h, mask)
        if pooling == "mean":
            return (h * mask[..., None]).sum(1) / lengths[:, None].to(h.dtype), None
        if pooling == "max":
            return h.masked_fill(~mask[..., None], float("-inf")).max(dim=1).values, None
        H = self.config.hidden_size
        last = h[torch.arange(B, device=h.device), lengths - 1]  # (B, H')
        if self.directions == 1:
            return last, None
        return torch.cat([last[:, :H], h[:, 0, H:]], dim=-1), None

    def forward(self, tokens: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor | None]:
        self.check_tokens(tokens, lengths)
        lengths = lengths.to(tokens.device).long()
        x = self.drop(self.embedding(tokens))
        h, _ = self.rnn(x, lengths=lengths.cpu())
        z, weights = self.pool(h, lengths)
        return self.head(z), weights

