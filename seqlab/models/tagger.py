"""Sequence taggers: word (and character) features -> recurrent encoder -> softmax or CRF.

For a sentence of words ``w_1..w_T`` (Huang et al. 2015; Lample et al. 2016; Ma & Hovy 2016):

    x_t = [E w_t ; c_t]                       word embedding, optional character feature c_t
    c_t = [h_fwd_last ; h_bwd_first]          char-BiLSTM over the word's characters (Lample)
        | max_j relu(W * [e_{j-1}; e_j; e_{j+1}] + b)   char-CNN, max over characters (Ma & Hovy)
    h_t = BiRNN(dropout(x))_t                 any seqlab cell, ``lengths`` respected
    s_t = W_o dropout(h_t) + b_o              emission scores (T, K)

``dropout`` draws a new mask per word, or with ``variational_dropout`` one mask per sentence
shared by all its words (:class:`seqlab.nn.LockedDropout`); the recurrent connections are not
dropped (that would rule out the fused whole-sequence kernels).

Heads: ``softmax``: ``p(y_t | w) = softmax(s_t)``, loss ``-sum_t log p(y_t)``, prediction the
per-token argmax. ``crf``: ``p(y | w) = exp(score(y)) / Z`` with ``score(y) = start[y_1] +
sum_t s_t[y_t] + sum_t A[y_{t-1}, y_t] + end[y_T]`` (:class:`seqlab.nn.CRF`), loss ``-log
p(y | w)``, prediction the Viterbi path; for span tags the CRF forbids invalid transitions
(no ``I-X`` after ``O`` in BIO). Word dropout replaces a training word by ``<unk>`` with
probability ``word_dropout`` so the ``<unk>`` row learns something.

Metrics: for span tags (``assets["scheme"]`` set) span precision/recall/F1 exactly as
conlleval counts them (:func:`seqlab.text.tags.span_prf`), micro and per type, plus token
accuracy; for plain tags (POS) token accuracy. Counts are sums, so figures add up exactly over
batches and processes.

Example:
    >>> import torch
    >>> assets = {"words": ["<pad>", "<unk>", "a", "b"], "chars": ["<pad>", "<unk>", "a", "b"],
    ...           "tags": ["A", "B"], "scheme": None}
    >>> m = Tagger.from_config(TaggerConfig(hidden_size=8, embedding_dim=8, char="cnn",
    ...                                     char_dim=4, char_hidden=4), assets)
    >>> batch = {"words": torch.tensor([[2, 3]]), "chars": torch.tensor([[[2], [3]]]),
    ...          "lengths": torch.tensor([2]), "tags": torch.tensor([[0, 1]])}
    >>> out = m.loss(batch)
    >>> out.count, len(m.predict(batch)[0])
    (2, 2)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from seqlab.config import check
from seqlab.errors import ConfigError, DataError
from seqlab.models.base import LossOutput, TaskModel
from seqlab.nn.dropout import LockedDropout
from seqlab.nn.factory import RECURRENT_CELLS, check_cell, recurrent_stack

HEADS = ("crf", "softmax")
CHAR_FEATURES = ("none", "lstm", "cnn")


@dataclass
class TaggerConfig:
    """The tagger's shape (see :class:`Tagger`)."""

    HELP: ClassVar[dict[str, str]] = {
        "cell": "recurrent cell of the word encoder", "embedding_dim": "word embedding width",
        "hidden_size": "recurrent width per direction", "num_layers": "stacked layers",
        "bidirectional": "read the sentence both ways", "dropout": "dropout on embeddings and "
        "encoder outputs", "word_dropout": "probability of replacing a training word by <unk>",
        "variational_dropout": "one dropout mask per sentence, the same at every word, on the "
        "embeddings and encoder outputs (Reimers & Gurevych 2017)",
        "head": "crf (Viterbi over tag transitions) or softmax (per token)",
        "char": "character features: none, lstm (Lample et al.), cnn (Ma & Hovy)",
        "char_dim": "character embedding width", "char_hidden": "char-LSTM width per "
        "direction, or char-CNN filters", "char_kernel": "char-CNN window",
        "pretrained": "word vectors to start from (word2vec .txt/.vec/.bin or a seqlab .kv)",
        "pretrained_vocab": "with --pretrained, the vocabulary also holds the vectors' words "
        "(unseen in train, they keep their vectors: Lample et al.)",
        "freeze_embeddings": "keep the word embeddings fixed", "backend": "recurrent backend"}
    CHOICES: ClassVar[dict[str, tuple]] = {"cell": tuple(RECURRENT_CELLS), "head": HEADS,
                                           "char": CHAR_FEATURES}
    RESUMABLE: ClassVar[tuple[str, ...]] = ("backend",)

    cell: str = "lstm"
    embedding_dim: int = 100
    hidden_size: int = 200
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.5
    word_dropout: float = 0.05
    variational_dropout: bool = False
    head: str = "crf"
    char: str = "none"
    char_dim: int = 25
    char_hidden: int = 25
    char_kernel: int = 3
    pretrained: str = ""
    pretrained_vocab: bool = True
    freeze_embeddings: bool = False
    backend: str = "auto"

    def __post_init__(self) -> None:
        check_cell(self.cell, self.bidirectional, name="model.cell")
        for name in ("embedding_dim", "hidden_size", "num_layers", "char_dim", "char_hidden",
                     "char_kernel"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, f"model.{name}", "an int > 0", value)
        for name in ("dropout", "word_dropout"):
            value = getattr(self, name)
            check(0.0 <= value < 1.0, f"model.{name}", "in [0, 1)", value)
        check(self.head in HEADS, "model.head", f"one of {HEADS}", self.head)
        check(self.char in CHAR_FEATURES, "model.char", f"one of {CHAR_FEATURES}", self.char)


class CharFeatures(nn.Module):
    """One vector per word from its characters: char-BiLSTM (``kind="lstm"``) or char-CNN.

    Shape: ``chars`` (N, C) long ids (0-padded), ``lengths`` (N,) >= 1 -> (N, out_size).
    """

    def __init__(self, kind: str, n_chars: int, dim: int, hidden: int, kernel: int = 3) -> None:
        super().__init__()
        from seqlab.nn import LSTM

        self.kind = kind
        self.embedding = nn.Embedding(n_chars, dim, padding_idx=0)
        if kind == "lstm":
            self.rnn = LSTM(dim, hidden, bidirectional=True, batch_first=True)
            self.out_size = 2 * hidden
        else:
            self.conv = nn.Conv1d(dim, hidden, kernel, padding=kernel // 2)
            self.out_size = hidden

    def forward(self, chars: Tensor, lengths: Tensor) -> Tensor:
        e = self.embedding(chars)  # (N, C, d)
        if self.kind == "lstm":
            _, (h, _) = self.rnn(e, lengths=lengths)  # h (2, N, hidden)
            return torch.cat([h[0], h[1]], dim=-1)
        y = torch.relu(self.conv(e.transpose(1, 2)))[:, :, :chars.shape[1]]  # (N, hidden, C)
        real = torch.arange(chars.shape[1], device=chars.device)[None, :] < lengths[:, None]
        return y.masked_fill(~real[:, None, :], float("-inf")).max(dim=2).values


class Tagger(TaskModel):
    """Word/char features -> recurrent encoder -> emissions -> softmax or CRF (module docstring).

    Build with :meth:`from_config` (``assets``: ``words``, ``chars``, ``tags``, ``scheme``).

    Batches are dicts: ``words`` (B, T) long (0 = padding, 1 = ``<unk>``), ``chars`` (B, T, C)
    long, ``lengths`` (B,), and ``tags`` (B, T) long for the loss.
    """

    task = "tagger"
    config_class = TaggerConfig
    count_name = "tok"

    def __init__(self, config: TaggerConfig, assets: Mapping[str, Any]) -> None:
        super().__init__()
        self.config, self._assets = config, dict(assets)
        for key in ("words", "tags"):
            if not assets.get(key):
                raise DataError(f"a tagger needs {key!r} in its assets")
        self.tags: list[str] = list(assets["tags"])
        self.scheme: str | None = assets.get("scheme")
        c = config
        self.embedding = nn.Embedding(len(assets["words"]), c.embedding_dim, padding_idx=0)
        if c.freeze_embeddings:
            self.embedding.weight.requires_grad_(False)
        width = c.embedding_dim
        self.chars = None
        if c.char != "none":
            if len(assets.get("chars") or []) < 2:
                raise DataError("character features need the character vocabulary in assets")
            self.chars = CharFeatures(c.char, len(assets["chars"]), c.char_dim, c.char_hidden,
                                      c.char_kernel)
            width += self.chars.out_size
        self.drop = LockedDropout(c.dropout) if c.variational_dropout else nn.Dropout(c.dropout)
        self.rnn = recurrent_stack(c.cell, width, c.hidden_size, c.num_layers,
                                   bidirectional=c.bidirectional, dropout=c.dropout,
                                   backend=c.backend)
        self.out = nn.Linear(c.hidden_size * (2 if c.bidirectional else 1), len(self.tags))
        self.crf = None
        if c.head == "crf":
            from seqlab.nn.crf import CRF, allowed_transitions

            constraints = allowed_transitions(self.tags, self.scheme) if self.scheme else None
            if self.scheme == "IOB1":  # IOB1's B- follows a span of its type only: no rule to
                constraints = None     # state per transition beyond BIO's; leave it free
            self.crf = CRF(len(self.tags), batch_first=True, constraints=constraints)

    @classmethod
    def from_config(cls, config: TaggerConfig, assets: Mapping[str, Any],
                    vectors: Any = None) -> Tagger:
        """The model; pretrained vectors (``vectors`` or ``config.pretrained``) fill the rows
        of the words they know, unless the assets say a checkpoint's weights come next."""
        model = cls(config, assets)
        source = vectors if vectors is not None else config.pretrained
        if source not in (None, "") and "pretrained_found" not in assets:
            from seqlab.embeddings.pretrained import copy_pretrained
            from seqlab.models.tagger_task import normalised_vectors

            found = copy_pretrained(model.embedding, list(assets["words"]),
                                    normalised_vectors(source, assets), skip=2)
            model._assets["pretrained_found"] = found
        return model

    @property
    def spans(self) -> bool:
        return self.scheme is not None

    @property
    def selection(self) -> tuple[str, str]:  # type: ignore[override]
        return ("f1", "max") if self.spans else ("accuracy", "max")

    @property
    def log_metrics(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("f1", "accuracy") if self.spans else ("accuracy",)

    def assets(self) -> dict[str, Any]:
        return dict(self._assets)

    # ------------------------------------------------------------------ forward
    def _check(self, batch: Mapping[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        words, lengths = batch["words"], batch["lengths"].long()
        if words.dim() != 2 or lengths.shape != words.shape[:1]:
            raise DataError(f"words must be (B, T) with lengths (B,), got {tuple(words.shape)} "
                            f"and {tuple(lengths.shape)}")
        if bool((lengths < 0).any()) or bool((lengths > words.shape[1]).any()):
            raise DataError(f"lengths must be in [0, {words.shape[1]}], got {lengths.tolist()}")
        if bool((words < 0).any()) or bool((words >= self.embedding.num_embeddings).any()):
            raise DataError(f"word ids must be in [0, {self.embedding.num_embeddings})")
        mask = torch.arange(words.shape[1], device=words.device)[None, :] < lengths[:, None]
        return words, lengths, mask

    def emissions(self, batch: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
        """Emission scores (B, T, K) and the mask (B, T) of real tokens (rows of length 0, all
        padding, get zero scores and are left out of the encoder)."""
        words, lengths, mask = self._check(batch)
        real = lengths > 0
        if not bool(real.all()):
            scores = self.out.weight.new_zeros(*words.shape, len(self.tags))
            if bool(real.any()):
                sub = {k: v[real] for k, v in batch.items() if isinstance(v, Tensor)}
                scores[real] = self.emissions(sub)[0]
            return scores, mask
        if self.training and self.config.word_dropout > 0:
            drop = torch.rand(words.shape, device=words.device) < self.config.word_dropout
            words = words.masked_fill(drop & mask, 1)
        x = self.embedding(words)
        if self.chars is not None:
            chars = batch["chars"]
            flat = chars[mask]  # (N, C), real tokens only
            char_lengths = (flat > 0).sum(1).clamp(min=1)
            feats = x.new_zeros(*words.shape, self.chars.out_size)
            feats[mask] = self.chars(flat, char_lengths).to(x.dtype)
            x = torch.cat([x, feats], dim=-1)
        h, _ = self.rnn(self.drop(x), lengths=lengths)
        return self.out(self.drop(h)), mask

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        return self.emissions(batch)[0]

    def loss(self, batch: Mapping[str, Tensor], state: Any = None) -> LossOutput:
        scores, mask = self.emissions(batch)
        tags = batch["tags"].long()
        if self.crf is not None:
            real = mask[:, 0]  # rows with at least one token
            nll = -self.crf(scores[real], tags[real].masked_fill(~mask[real], 0), mask[real],
                            reduction="sum") if bool(real.any()) else scores.sum() * 0
        else:
            nll = nn.functional.cross_entropy(scores[mask], tags[mask], reduction="sum")
        return LossOutput(nll, int(mask.sum()), int(mask.shape[0]))

    @torch.no_grad()
    def predict(self, batch: Mapping[str, Tensor]) -> list[list[int]]:
        """Tag ids of each sentence (its own length): Viterbi with a CRF head, else argmax."""
        scores, mask = self.emissions(batch)
        if self.crf is not None:
            real = mask[:, 0]
            paths = iter(self.crf.decode(scores[real].float(), mask[real]) if bool(real.any())
                         else [])
            return [next(paths) if r else [] for r in real.tolist()]
        best = scores.argmax(-1)
        return [best[i, :n].tolist() for i, n in enumerate(mask.sum(1).tolist())]

    @torch.no_grad()
    def tag(self, sentences: list[list[str]], batch_size: int = 256) -> list[list[str]]:
        """Tags of tokenised ``sentences`` (lists of words), batched by length; an empty
        sentence gets no tags. The order of the input is kept.

        >>> import torch
        >>> assets = {"words": ["<pad>", "<unk>", "a"], "tags": ["A", "B"], "scheme": None}
        >>> m = Tagger.from_config(TaggerConfig(hidden_size=4, embedding_dim=4), assets).eval()
        >>> [len(t) for t in m.tag([["a", "zz", "a"], [], ["a"]])]
        [3, 0, 1]
        """
        from seqlab.models.tagger_task import Encoder

        if batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {batch_size}")
        was_training = self.training
        self.eval()
        encoder = Encoder(self._assets)
        device = self.out.weight.device
        order = sorted((i for i, s in enumerate(sentences) if s), key=lambda i: len(sentences[i]))
        out: list[list[str]] = [[] for _ in sentences]
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = {k: v.to(device) for k, v in encoder.batch([sentences[i] for i in idx]).items()}
            for i, path in zip(idx, self.predict(batch)):
                out[i] = [self.tags[j] for j in path]
        self.train(was_training)
        return out

    def evaluate_batch(self, batch: Mapping[str, Tensor], state: Any = None) -> LossOutput:
        out = self.loss(batch)
        paths = self.predict(batch)
        lengths = batch["lengths"].tolist()
        gold = [[self.tags[i] for i in row[:n]] for row, n in zip(batch["tags"].tolist(), lengths)]
        pred = [[self.tags[i] for i in p] for p in paths]
        out.sums = tag_sums(gold, pred, self.scheme, self.span_types())
        return out

    def span_types(self) -> list[str]:
        return sorted({t.split("-", 1)[1] for t in self.tags if "-" in t}) if self.spans else []

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float]:
        count = totals.get("count", 0)
        out = {"loss": totals["loss"] / count if count else float("nan")}
        if "tags_correct" in totals:
            out["accuracy"] = totals["tags_correct"] / count if count else 0.0
        if self.spans and "gold" in totals:
            for kind in ["", *self.span_types()]:
                key = f":{kind}" if kind else ""
                g, p, c = (totals.get(f"{n}{key}", 0.0) for n in ("gold", "pred", "correct"))
                prec, rec = (c / p if p else 0.0), (c / g if g else 0.0)
                f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
                if kind:
                    out[f"f1_{kind}"] = f1
                else:
                    out.update(precision=prec, recall=rec, f1=f1)
        return out


def tag_sums(gold: list[list[str]], pred: list[list[str]], scheme: str | None,
             types: list[str]) -> dict[str, float]:
    """Token-accuracy and span counts of a batch, as sums (every type always present, so the
    totals of any two batches or processes have the same keys)."""
    correct = float(sum(a == b for g, p in zip(gold, pred) for a, b in zip(g, p)))
    sums = {"tags_correct": correct}
    if scheme is None:
        return sums
    from seqlab.text.tags import span_prf

    s = span_prf(gold, pred, "BIOES" if scheme == "BIOES" else None)
    sums.update(gold=float(s.gold), pred=float(s.predicted), correct=float(s.correct))
    for kind in types:
        t = s.per_type.get(kind)
        sums[f"gold:{kind}"] = float(t.gold) if t else 0.0
        sums[f"pred:{kind}"] = float(t.predicted) if t else 0.0
        sums[f"correct:{kind}"] = float(t.correct) if t else 0.0
    unknown = set(s.per_type) - set(types)
    if unknown:
        raise ConfigError(f"predicted span types {sorted(unknown)} are not in the tag set")
    return sums
