r"""Sequence to sequence: an encoder reads the source, a decoder generates the target from it.

    p(y | x) = prod_t p(y_t | y_<t, x),   y_0 = <bos>, the last y_t = <eos>

The encoder, the bridge of its final states and the three decoders (fixed context, Sutskever
et al. 2014; context at every step, Cho et al. 2014; attention, Bahdanau et al. 2015 and Luong
et al. 2015) are written out with their equations in :mod:`seqlab.models.seq2seq_decoders`;
greedy and beam search in :mod:`seqlab.models.seq2seq_search`; data, presets and the task's
batches in :mod:`seqlab.models.seq2seq_task`. Any cell of :data:`RECURRENT_CELLS` builds
either side (e.g. a bidirectional LSTM encoder with a GRU decoder).

Training loss, summed over the N non-pad target tokens of a batch (token-weighted)::

    loss = sum_t (1 - eps) * -log p(y_t | .) + eps * mean_v -log p(v | .)   (label smoothing)

The decoder input at step t is the gold y_t-1 with probability r (teacher forcing ratio),
else the model's own argmax prediction (scheduled sampling, Bengio et al. 2015): r falls
linearly from ``teacher_forcing`` to ``teacher_forcing_min`` over
``teacher_forcing_decay_steps`` training steps (0: constant). Evaluation is always
teacher-forced for the loss and perplexity (of the plain NLL), and decodes greedily (or with
``valid_beam_size``) for BLEU, chrF and exact match.

Example:
    >>> import torch
    >>> model = Seq2Seq(src_vocab_size=12, tgt_vocab_size=12, embedding_dim=8, hidden_size=8,
    ...                 encoder_hidden_size=4, decoder="attention", attention="dot")
    >>> src, lengths = torch.tensor([[5, 6, 7], [8, 9, 0]]), torch.tensor([3, 2])
    >>> tgt = torch.tensor([[2, 7, 6, 5, 3], [2, 9, 8, 3, 0]])
    >>> out = model.loss((src, lengths, tgt, torch.zeros(2, 0, dtype=torch.uint8)))
    >>> out.count, out.sequences
    (7, 2)
    >>> hyp = model.translate_ids(src, lengths, beam_size=2)[0][0]
    >>> hyp.attention.shape[1]
    3
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from seqlab.config import check
from seqlab.errors import ConfigError, DataError
from seqlab.models.base import LossOutput, TaskModel
from seqlab.models.seq2seq_decoders import (
    BRIDGES,
    DECODER_CLASSES,
    DECODERS,
    STYLES,
    Bridge,
    DecoderState,
    Encoder,
    Memory,
)
from seqlab.models.seq2seq_search import PENALTIES, beam_search, greedy_search
from seqlab.nn.attention import SCORES
from seqlab.nn.factory import RECURRENT_CELLS, check_cell
from seqlab.train.metrics import perplexity

PAD_ID, BOS_ID, EOS_ID = 0, 2, 3
INITS = ("default", "uniform")


@dataclass
class Seq2SeqConfig:
    """The encoder-decoder's shape, training and decoding options (see :class:`Seq2Seq`)."""

    HELP: ClassVar[dict[str, str]] = {
        "cell": "encoder cell", "decoder_cell": "decoder cell ('': the encoder's)",
        "embedding_dim": "embedding width (both sides)",
        "hidden_size": "decoder width Hd", "encoder_hidden_size": "encoder width He (0: Hd)",
        "num_layers": "decoder layers", "encoder_layers": "encoder layers (0: num_layers)",
        "bidirectional": "bidirectional encoder", "decoder": "fixed (Sutskever), context "
        "(Cho) or attention", "attention": "attention score", "attention_style": "bahdanau "
        "(attend with s_t-1) or luong (with s_t)", "input_feeding": "Luong's input feeding",
        "attention_size": "additive score's hidden size (0: the key size)",
        "bridge": "encoder final states -> decoder state: linear (concat + linear + tanh), "
                  "sum (of directions), zero",
        "dropout": "dropout on embeddings, between layers and before the output layer",
        "output_dropout": "dropout before the output layer only (-1: model.dropout; the "
                          "bentrevett recipes of the classic presets: 0)",
        "reverse_source": "encoder reads each source backwards (Sutskever et al. 2014); "
                          "its outputs stay in source order",
        "backend": "recurrent backend", "init": "default (PyTorch's) or uniform",
        "init_range": "half-width of the uniform init (Sutskever: 0.08)",
        "teacher_forcing": "probability of feeding the gold previous token in training",
        "teacher_forcing_min": "scheduled sampling's final ratio",
        "teacher_forcing_decay_steps": "steps of the linear decay to teacher_forcing_min (0: "
                                       "constant)", "label_smoothing": "label smoothing eps",
        "max_source_length": "longest source (tokens) the model accepts",
        "valid_beam_size": "beam of the validation BLEU (1: greedy)",
        "length_penalty": "none, average (|y|^alpha) or gnmt", "alpha": "length penalty alpha",
        "max_len_a": "output limit a * source length + b: a", "max_len_b": "... b"}
    CHOICES: ClassVar[dict[str, tuple]] = {
        "cell": tuple(RECURRENT_CELLS), "decoder_cell": ("", *RECURRENT_CELLS),
        "decoder": DECODERS, "attention": SCORES, "attention_style": STYLES, "bridge": BRIDGES,
        "init": INITS, "length_penalty": PENALTIES}
    RESUMABLE: ClassVar[tuple[str, ...]] = ("backend", "valid_beam_size", "length_penalty",
                                            "alpha", "max_len_a", "max_len_b")

    cell: str = "gru"
    decoder_cell: str = ""
    embedding_dim: int = 256
    hidden_size: int = 512
    encoder_hidden_size: int = 0
    num_layers: int = 1
    encoder_layers: int = 0
    bidirectional: bool = True
    decoder: str = "attention"
    attention: str = "additive"
    attention_style: str = "bahdanau"
    input_feeding: bool = False
    attention_size: int = 0
    bridge: str = "linear"
    dropout: float = 0.3
    output_dropout: float = -1.0
    reverse_source: bool = False
    backend: str = "auto"
    init: str = "default"
    init_range: float = 0.08
    teacher_forcing: float = 1.0
    teacher_forcing_min: float = -1.0  # < 0: the same as teacher_forcing
    teacher_forcing_decay_steps: int = 0
    label_smoothing: float = 0.0
    max_source_length: int = 256
    valid_beam_size: int = 1
    length_penalty: str = "gnmt"
    alpha: float = 0.6
    max_len_a: float = 1.5
    max_len_b: int = 10

    def __post_init__(self) -> None:
        check_cell(self.cell, self.bidirectional, name="model.cell")
        if self.decoder_cell:
            check_cell(self.decoder_cell, name="model.decoder_cell")
        for name in ("embedding_dim", "hidden_size", "num_layers", "max_source_length",
                     "valid_beam_size"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, f"model.{name}", "an int > 0", value)
        for name in ("encoder_hidden_size", "encoder_layers", "attention_size",
                     "teacher_forcing_decay_steps", "max_len_b"):
            check(getattr(self, name) >= 0, f"model.{name}", ">= 0", getattr(self, name))
        for name, choices in self.CHOICES.items():
            check(getattr(self, name) in choices, f"model.{name}", f"one of {choices}",
                  getattr(self, name))
        check(0.0 <= self.dropout < 1.0, "model.dropout", "in [0, 1)", self.dropout)
        check(self.output_dropout == -1.0 or 0.0 <= self.output_dropout < 1.0,
              "model.output_dropout", "-1 or in [0, 1)", self.output_dropout)
        check(0.0 <= self.teacher_forcing <= 1.0, "model.teacher_forcing", "in [0, 1]",
              self.teacher_forcing)
        check(self.teacher_forcing_min <= 1.0, "model.teacher_forcing_min", "<= 1",
              self.teacher_forcing_min)
        check(0.0 <= self.label_smoothing < 1.0, "model.label_smoothing", "in [0, 1)",
              self.label_smoothing)
        check(self.max_len_a >= 0, "model.max_len_a", ">= 0", self.max_len_a)
        if self.input_feeding and self.attention_style != "luong":
            raise ConfigError("model.input_feeding is Luong's: set attention_style='luong'")


class Seq2Seq(TaskModel):
    """Encoder-decoder over token ids (module docstring; all options as in
    :class:`Seq2SeqConfig`).

    Task contract: a batch is ``(src (B, S), src_lengths (B,), tgt (B, T), refs (B, R))``:
    ``tgt`` holds ``<bos> y_1 .. y_n <eos>`` padded with 0, ``refs`` the UTF-8 bytes of each
    raw reference (0-padded; empty for training batches: then references are decoded from
    ``tgt``). ``loss`` sums over the non-pad targets; ``evaluate_batch`` adds the BLEU/chrF
    statistics of the decoded batch; ``metrics`` gives loss, ppl, bleu, chrf, tok_bleu and
    exact_match; the best checkpoint is the one of highest validation BLEU.
    """

    task = "seq2seq"
    config_class = Seq2SeqConfig
    log_metrics = ("ppl", "bleu")
    selection = ("bleu", "max")
    bos_id, eos_id, pad_id = BOS_ID, EOS_ID, PAD_ID

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, **options: Any) -> None:
        super().__init__()
        for name, value in (("src_vocab_size", src_vocab_size),
                            ("tgt_vocab_size", tgt_vocab_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= EOS_ID:
                raise DataError(f"{name} must be an int > 3 (the 4 special ids), got {value!r}")
        cfg = self.config = Seq2SeqConfig(**options)
        self.src_vocab_size, self.tgt_vocab_size = src_vocab_size, tgt_vocab_size
        self._assets: dict[str, Any] = {"src_vocab_size": src_vocab_size,
                                        "tgt_vocab_size": tgt_vocab_size}
        self._text: Any = None
        dec_cell = cfg.decoder_cell or cfg.cell
        enc_hidden = cfg.encoder_hidden_size or cfg.hidden_size
        self.encoder = Encoder(src_vocab_size, cfg.embedding_dim, enc_hidden,
                               cfg.encoder_layers or cfg.num_layers, cfg.cell, cfg.bidirectional,
                               cfg.dropout, cfg.backend, cfg.reverse_source)
        self.bridge = Bridge(cfg.bridge, self.encoder, dec_cell, cfg.num_layers, cfg.hidden_size)
        common = dict(vocab_size=tgt_vocab_size, embedding_dim=cfg.embedding_dim,
                      hidden_size=cfg.hidden_size, num_layers=cfg.num_layers, cell=dec_cell,
                      context_size=self.encoder.output_size, dropout=cfg.dropout,
                      backend=cfg.backend)
        if cfg.decoder == "attention":
            common.update(score=cfg.attention, style=cfg.attention_style,
                          input_feeding=cfg.input_feeding,
                          attention_size=cfg.attention_size or None)
        self.decoder = DECODER_CLASSES[cfg.decoder](**common)
        if cfg.output_dropout >= 0:
            self.decoder.out_drop.p = cfg.output_dropout
        self.register_buffer("train_steps", torch.zeros((), dtype=torch.long))
        if cfg.init == "uniform":
            with torch.no_grad():
                for p in self.parameters():
                    p.uniform_(-cfg.init_range, cfg.init_range)

    @classmethod
    def from_config(cls, config: Seq2SeqConfig, assets: Mapping[str, Any]) -> Seq2Seq:
        """``assets``: ``src_vocab``/``tgt_vocab`` (``Vocab.to_dict``) and ``tokenizer`` from
        :mod:`seqlab.models.seq2seq_task`, or only ``src_vocab_size``/``tgt_vocab_size``."""
        sizes = []
        for side in ("src", "tgt"):
            if assets.get(f"{side}_vocab"):
                sizes.append(len(assets[f"{side}_vocab"]["tokens"]))
            elif f"{side}_vocab_size" in assets:
                sizes.append(int(assets[f"{side}_vocab_size"]))
            else:
                raise ConfigError(f"a seq2seq model needs assets with '{side}_vocab' or "
                                  f"'{side}_vocab_size'")
        model = cls(sizes[0], sizes[1], **config.__dict__)
        model._assets = {**dict(assets), "src_vocab_size": sizes[0], "tgt_vocab_size": sizes[1]}
        return model

    def assets(self) -> dict[str, Any]:
        return dict(self._assets)

    @property
    def text(self):
        """The :class:`~seqlab.models.seq2seq_task.TextCodec` of the assets (None without)."""
        if self._text is None and self._assets.get("tokenizer"):
            from seqlab.models.seq2seq_task import TextCodec

            self._text = TextCodec.from_assets(self._assets)
        return self._text

    # ------------------------------------------------------------------------- the model
    def encode(self, src: Tensor, lengths: Tensor) -> DecoderState:
        """Read the sources (B, S) of ``lengths`` (B,): the decoder's initial state."""
        if src.dim() != 2 or lengths.shape != (src.shape[0],):
            raise DataError(f"src must be (B, S) with lengths (B,), got {tuple(src.shape)} and "
                            f"{tuple(lengths.shape)}")
        lengths = lengths.cpu()
        if int(lengths.min()) < 1:
            raise DataError("every source needs at least one token (got a length 0)")
        if int(lengths.max()) > self.config.max_source_length:
            raise DataError(f"a source of {int(lengths.max())} tokens is longer than the model's "
                            f"limit max_source_length={self.config.max_source_length}")
        outputs, final = self.encoder(src, lengths)
        h, c = self.encoder.layers(final)
        S = src.shape[1]
        mask = torch.arange(S, device=src.device)[None, :] < lengths.to(src.device)[:, None]
        memory = Memory(outputs, mask, None, h[-1])
        return self.decoder.start(self.bridge(h, c), memory)

    def step(self, token: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState, Any]:
        """One decoding step: ``token`` (B,) -> logits (B, V), new state, attention or None."""
        return self.decoder.step(token, state)

    def forward(self, src: Tensor, lengths: Tensor, tgt_in: Tensor) -> tuple[Tensor, Any]:
        """Teacher-forced logits (B, T, V) for decoder inputs ``tgt_in`` (B, T), attention."""
        return self.decoder(tgt_in, self.encode(src, lengths))

    def teacher_forcing_ratio(self) -> float:
        cfg = self.config
        low = cfg.teacher_forcing if cfg.teacher_forcing_min < 0 else cfg.teacher_forcing_min
        if not cfg.teacher_forcing_decay_steps:
            return cfg.teacher_forcing
        frac = min(1.0, float(self.train_steps) / cfg.teacher_forcing_decay_steps)
        return cfg.teacher_forcing + (low - cfg.teacher_forcing) * frac

    def _sampled(self, src: Tensor, lengths: Tensor, tgt_in: Tensor, ratio: float) -> Tensor:
        state, token, logits = self.encode(src, lengths), tgt_in[:, 0], []
        for t in range(tgt_in.shape[1]):
            out, state, _ = self.decoder.step(token, state)
            logits.append(out)
            if t + 1 < tgt_in.shape[1]:
                gold = torch.rand(token.shape[0], device=src.device) < ratio
                token = torch.where(gold, tgt_in[:, t + 1], out.detach().argmax(-1))
        return torch.stack(logits, 1)

    # -------------------------------------------------------------------- task contract
    def loss(self, batch: Any, state: Any = None) -> LossOutput:
        """Summed (label-smoothed) cross-entropy over the batch's non-pad target tokens."""
        src, lengths, tgt = batch[0], batch[1], batch[2]
        tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]
        ratio = self.teacher_forcing_ratio() if self.training else 1.0
        if ratio < 1.0:
            logits = self._sampled(src, lengths, tgt_in, ratio)
        else:
            logits, _ = self(src, lengths, tgt_in)
        if self.training:
            self.train_steps += 1
        flat, gold = logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1)
        nll = F.cross_entropy(flat, gold, ignore_index=PAD_ID, reduction="sum")
        eps = self.config.label_smoothing
        loss = nll if not eps else F.cross_entropy(flat, gold, ignore_index=PAD_ID,
                                                   reduction="sum", label_smoothing=eps)
        count = int((gold != PAD_ID).sum())
        return LossOutput(loss, count, src.shape[0], None, {"nll": float(nll.detach())})

    @torch.no_grad()
    def translate_ids(self, src: Tensor, lengths: Tensor, beam_size: int = 1, n_best: int = 1,
                      return_attention: bool = True, **search: Any) -> list[list[Any]]:
        """Decode a batch: per sentence its ``n_best`` hypotheses (greedy for beam 1, n 1)."""
        cfg = self.config
        opts = dict(max_len_a=cfg.max_len_a, max_len_b=cfg.max_len_b,
                    max_len=max(cfg.max_source_length * 2, 16))
        opts.update({k: v for k, v in search.items() if k in opts})
        if beam_size == 1 and n_best == 1:
            return [[h] for h in greedy_search(self, src, lengths,
                                               return_attention=return_attention, **opts)]
        return beam_search(self, src, lengths, beam_size=beam_size, n_best=n_best,
                           length_penalty_mode=search.get("length_penalty", cfg.length_penalty),
                           alpha=search.get("alpha", cfg.alpha),
                           return_attention=return_attention, **opts)

    def ids_to_text(self, ids: list[int]) -> str:
        ids = [i for i in ids if i not in (PAD_ID, BOS_ID, EOS_ID)]
        return self.text.decode(ids) if self.text is not None else " ".join(map(str, ids))

    def evaluate_batch(self, batch: Any, state: Any = None) -> LossOutput:
        """The loss, plus BLEU/chrF statistics and exact matches of the decoded batch."""
        from seqlab.models.seq2seq_text import stat_sums

        out = self.loss(batch)
        src, lengths, tgt, refs = batch
        hyps = self.translate_ids(src, lengths, beam_size=self.config.valid_beam_size,
                                  return_attention=False)
        hyp_text = [self.ids_to_text(h[0].tokens) for h in hyps]
        if refs.numel():
            ref_text = [bytes(r[r != 0].tolist()).decode("utf-8") for r in refs.cpu()]
        else:
            ref_text = [self.ids_to_text(t.tolist()) for t in tgt.cpu()]
        sums = {**out.sums, **stat_sums(hyp_text, ref_text), "sentences": float(len(hyps)),
                "exact": float(sum(h == r for h, r in zip(hyp_text, ref_text)))}
        return LossOutput(out.loss, out.count, out.sequences, None, sums)

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float]:
        """loss (per target token), ppl (of the plain NLL), bleu, chrf, tok_bleu, exact_match
        (NaN for the figures whose statistics the totals lack)."""
        from seqlab.models.seq2seq_text import scores

        count = int(totals.get("count", 0))
        nan = float("nan")
        out = {"loss": totals["loss"] / count if count else nan,
               "ppl": perplexity(totals.get("nll", totals["loss"]), count) if count else nan}
        out.update(scores(totals))
        n = totals.get("sentences", 0)
        out["exact_match"] = totals.get("exact", 0.0) / n if n else nan
        return out
