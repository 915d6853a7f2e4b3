"""Recurrent language model p(x_t | x_<t): embedding, a seqlab recurrent stack, a softmax layer.

Equations (one layer shown; ``rnn`` stacks ``num_layers`` of them)::

    e_t          = E[x_t]                          # embedding, (B, T, D)
    h_t, state_t = rnn(dropout(e_t), state_t-1)    # any cell: lstm, gru, rnn; (B, T, H)
    logits_t     = W_out dropout(h_t) + b_out      # (B, T, V); p(x_t+1 | x_<=t) = softmax(logits_t)

With ``tie_weights`` the output matrix is the embedding matrix, W_out = E (Press & Wolf 2017,
Inan et al. 2017), which needs D == H.

Reference: Zaremba, Sutskever & Vinyals (2014), "Recurrent Neural Network Regularization",
section 4.1: dropout on the non-recurrent connections only (embedding -> first layer, between
layers inside ``rnn``, last layer -> softmax) and every parameter initialised from
uniform(-init_range, init_range).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from seqlab.config import check
from seqlab.errors import ConfigError, DataError
from seqlab.models.base import LossOutput, TaskModel
from seqlab.nn.factory import RECURRENT_CELLS, check_cell, recurrent_stack
from seqlab.train.losses import token_nll
from seqlab.train.metrics import bits_per_token, perplexity

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]
INITS = ("uniform", "default")


@dataclass
class LanguageModelConfig:
    """The language model's shape (see :class:`LanguageModel`)."""

    HELP: ClassVar[dict[str, str]] = {
        "cell": "recurrent cell", "embedding_dim": "embedding width D",
        "hidden_size": "recurrent width H", "num_layers": "stacked recurrent layers",
        "dropout": "dropout on non-recurrent connections (Zaremba et al. 2014)",
        "tie_weights": "share embedding and output matrices (needs embedding_dim == "
                       "hidden_size)",
        "backend": "recurrent backend (auto picks the fastest; reference, fused, compiled, "
                   "scan)",
        "init": "uniform: every parameter from U(-init_range, init_range); default: PyTorch's",
        "init_range": "half-width of the uniform init"}
    CHOICES: ClassVar[dict[str, tuple]] = {"cell": tuple(RECURRENT_CELLS), "init": INITS}
    RESUMABLE: ClassVar[tuple[str, ...]] = ("backend",)

    cell: str = "lstm"
    embedding_dim: int = 200
    hidden_size: int = 200
    num_layers: int = 2
    dropout: float = 0.0
    tie_weights: bool = False
    backend: str = "auto"
    init: str = "uniform"
    init_range: float = 0.1

    def __post_init__(self) -> None:
        check_cell(self.cell, name="model.cell")
        for name in ("embedding_dim", "hidden_size", "num_layers"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, f"model.{name}", "an int > 0", value)
        check(0.0 <= self.dropout < 1.0, "model.dropout", "in [0, 1)", self.dropout)
        check(self.init in INITS, "model.init", f"one of {INITS}", self.init)
        check(self.init_range > 0, "model.init_range", "> 0", self.init_range)
        if self.tie_weights and self.embedding_dim != self.hidden_size:
            raise ConfigError(
                "model.tie_weights needs embedding_dim == hidden_size, got "
                f"{self.embedding_dim} and {self.hidden_size}"
            )


class LanguageModel(TaskModel):
    """Word- or character-level recurrent LM.

    Args:
        vocab_size: number of token ids V.
        embedding_dim: embedding width D.
        hidden_size: recurrent width H.
        num_layers: stacked recurrent layers L.
        cell: a name of :data:`seqlab.nn.factory.RECURRENT_CELLS` ("lstm", "gru", "rnn",
            "layernorm_lstm", "simple_gru", "mingru", "minlstm").
        backend: recurrent backend passed to ``seqlab.nn`` ("auto", "fused", "reference", ...).
        dropout: dropout on non-recurrent connections (Zaremba et al.).
        tie_weights: share the embedding and output matrices (needs D == H).
        init: "uniform" (every parameter from U(-init_range, init_range), Zaremba) or
            "default" (PyTorch's layer defaults).
        init_range: half-width of the uniform init.

    Shape:
        tokens: (B, T) long ids in [0, V); logits: (B, T, V); state as the recurrent stack's
        (LSTM: a pair (h, c), each (L, B, H)).

    Task contract (:mod:`seqlab.models.base`): a batch is ``(x, y)`` windows; ``loss`` sums
    -log p over the B*T targets and carries the state; ``metrics`` gives loss (nats/token),
    ``ppl`` and ``bpc``; ``assets`` holds the vocabulary and tokenizer.

    Example:
        >>> model = LanguageModel(vocab_size=50, embedding_dim=16, hidden_size=16, num_layers=1)
        >>> logits, state = model(torch.zeros(2, 5, dtype=torch.long))
        >>> tuple(logits.shape)
        (2, 5, 50)
        >>> out = model.loss((torch.zeros(2, 5, dtype=torch.long),) * 2)
        >>> out.count, out.sequences, sorted(model.metrics({"loss": 2.0, "count": 1}))
        (10, 2, ['bpc', 'loss', 'ppl'])
    """

    task = "lm"
    config_class = LanguageModelConfig
    selection = ("loss", "min")

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 200,
        hidden_size: int = 200,
        num_layers: int = 2,
        cell: str = "lstm",
        backend: str = "auto",
        dropout: float = 0.0,
        tie_weights: bool = False,
        init: str = "uniform",
        init_range: float = 0.1,
    ) -> None:
        super().__init__()
        if not isinstance(vocab_size, int) or vocab_size <= 0:
            raise ConfigError(f"vocab_size must be an int > 0, got {vocab_size!r}")
        self.config = LanguageModelConfig(
            cell=cell, embedding_dim=embedding_dim, hidden_size=hidden_size,
            num_layers=num_layers, dropout=dropout, tie_weights=tie_weights, backend=backend,
            init=init, init_range=init_range)
        self.vocab_size = vocab_size
        self._assets: dict[str, Any] = {"vocab_size": vocab_size}
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.drop = nn.Dropout(dropout)
        rnn_dropout = dropout if num_layers > 1 else 0.0  # between layers only
        self.rnn = recurrent_stack(cell, embedding_dim, hidden_size, num_layers=num_layers,
                                   dropout=rnn_dropout, backend=backend)
        self.decoder = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.decoder.weight = self.embedding.weight
        if init == "uniform":
            with torch.no_grad():
                for p in self.parameters():
                    p.uniform_(-init_range, init_range)

    @classmethod
    def from_config(cls, config: LanguageModelConfig, assets: Mapping[str, Any]
                    ) -> LanguageModel:
        """The model for ``config``; ``assets`` holds ``vocab`` (a ``Vocab.to_dict``) and
        ``tokenizer``, or only ``vocab_size``; ``char_level`` reports bits per character."""
        if "vocab" in assets and assets["vocab"] is not None:
            vocab_size = len(assets["vocab"]["tokens"])
        elif "vocab_size" in assets:
            vocab_size = int(assets["vocab_size"])
        else:
            raise ConfigError("a language model needs assets with 'vocab' or 'vocab_size'")
        model = cls(vocab_size, embedding_dim=config.embedding_dim,
                    hidden_size=config.hidden_size, num_layers=config.num_layers,
                    cell=config.cell, backend=config.backend, dropout=config.dropout,
                    tie_weights=config.tie_weights, init=config.init,
                    init_range=config.init_range)
        model._assets = {**dict(assets), "vocab_size": vocab_size}
        return model

    @classmethod
    def from_checkpoint(cls, path, map_location: str = "cpu") -> LanguageModel:
        """Load a model saved by ``seqlab train lm`` (``seqlab.load`` does any task)."""
        from seqlab.tasks import load

        return load(path, map_location=map_location, task="lm")

    # ------------------------------------------------------------------- task contract
    @property
    def char_level(self) -> bool:
        return bool(self._assets.get("char_level", False))

    @property
    def log_metrics(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("bpc",) if self.char_level else ("ppl",)

    def assets(self) -> dict[str, Any]:
        return dict(self._assets)

    def loss(self, batch: Any, state: State | None = None) -> LossOutput:
        """Summed -log p(y | x) over the window's B*T targets; the state flows on."""
        x, y = batch
        logits, state = self(x, state)
        nll, count = token_nll(logits, y)
        return LossOutput(nll, count, x.shape[0], state)

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float]:
        """Mean nats per token, perplexity exp(loss) and bits per token loss / ln 2."""
        nll, count = totals["loss"], int(totals["count"])
        if count <= 0:
            return {"loss": float("nan"), "ppl": float("nan"), "bpc": float("nan")}
        return {"loss": nll / count, "ppl": perplexity(nll, count),
                "bpc": bits_per_token(nll, count)}

    def check_tokens(self, tokens: torch.Tensor, name: str = "tokens") -> None:
        """Raise DataError unless ``tokens`` is an integer tensor of ids in [0, V)."""
        if not isinstance(tokens, torch.Tensor) or tokens.dtype not in (torch.long, torch.int32):
            got = tokens.dtype if isinstance(tokens, torch.Tensor) else type(tokens).__name__
            raise DataError(f"{name} must be a long tensor of token ids, got {got}")
        if tokens.numel() == 0:
            raise DataError(f"{name} must not be empty, got shape {tuple(tokens.shape)}")
        low, high = int(tokens.min()), int(tokens.max())
        if low < 0 or high >= self.vocab_size:
            bad = low if low < 0 else high
            raise DataError(f"{name} holds id {bad}, outside [0, {self.vocab_size}) "
                            "(the model's vocab_size)")

    def forward(self, tokens: torch.Tensor, state: State | None = None
                ) -> tuple[torch.Tensor, State]:
        """Logits for the next token at every position, and the final recurrent state."""
        if tokens.dim() != 2:
            raise DataError(f"tokens must be 2-D (B, T), got shape {tuple(tokens.shape)}")
        self.check_tokens(tokens)
        emb = self.drop(self.embedding(tokens))  # (B, T, D)
        out, state = self.rnn(emb, state)  # (B, T, H)
        logits = self.decoder(self.drop(out))  # (B, T, V)
        return logits, state

    def step(self, token: torch.Tensor, state: State | None = None
             ) -> tuple[torch.Tensor, State]:
        """One generation step: ``token`` (B,) -> logits (B, V) for the next token, new state."""
        if token.dim() != 1:
            raise DataError(f"token must be 1-D (B,), got shape {tuple(token.shape)}")
        logits, state = self.forward(token[:, None], state)
        return logits[:, 0], state
