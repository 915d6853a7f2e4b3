r"""The encoder, the bridge and the three decoders of :mod:`seqlab.models.seq2seq`.

Symbols: source x_1..x_S, target y_1..y_T (y_0 = ``<bos>``), E the embeddings, ``RNN`` any
:data:`seqlab.nn.factory.RECURRENT_CELLS` stack, h_j the encoder outputs (both directions
concatenated, size ``Dk = dirs * He``), s_t the decoder's top-layer state (size ``Hd``).

Encoder::

    h_1..h_S, final = RNN_enc(E_src x_1..x_S, lengths)       # padded steps untouched

With ``reverse_source`` (Sutskever et al. 2014, section 3.3) the encoder reads x_S..x_1, each
source reversed within its own length, and its outputs are put back in source order, so h_j
is still the state at x_j for attention and its plots; only the final state differs (it has
read x_1 last, next to the decoder's first steps).

Bridge (encoder final states -> decoder initial state s_0, :class:`Bridge`)::

    linear:  s_0^l = tanh(W_b [h_fwd^l'; h_bwd^l'] + b_b)      # concatenate + linear
    sum:     s_0^l = h_fwd^l' + h_bwd^l'                      # needs He == Hd
    zero:    s_0^l = 0

``l' = l`` when encoder and decoder have as many layers, else the top encoder layer. An LSTM
decoder's cell state c_0 is bridged the same way from the encoder's c (W_c) when the encoder
is an LSTM too, and is 0 otherwise.

Decoders (each :meth:`step` is one t; :meth:`forward` runs all t under teacher forcing)::

    FixedContextDecoder (Sutskever et al. 2014: the context only initialises the decoder)
        s_t = RNN_dec(E_tgt y_t-1, s_t-1)
        p(y_t | y_<t, x) = softmax(W_o s_t + b_o)

    ContextDecoder (Cho et al. 2014: the context c enters every step and the output)
        c = [h_fwd^top; h_bwd^top] (the encoder's final top-layer state)
        s_t = RNN_dec([E_tgt y_t-1; c], s_t-1)
        p(y_t | y_<t, x) = softmax(W_o [s_t; E_tgt y_t-1; c] + b_o)

    AttentionDecoder, style "bahdanau" (Bahdanau et al. 2015: attend with the previous state)
        a_t = softmax_j score(s_t-1, h_j),  c_t = sum_j a_tj h_j
        s_t = RNN_dec([E_tgt y_t-1; c_t], s_t-1)
        p(y_t | y_<t, x) = softmax(W_o [s_t; c_t; E_tgt y_t-1] + b_o)

    AttentionDecoder, style "luong" (Luong et al. 2015: attend with the current state)
        s_t = RNN_dec([E_tgt y_t-1; ht_t-1] if input_feeding else E_tgt y_t-1, s_t-1)
        a_t = softmax_j score(s_t, h_j),  c_t = sum_j a_tj h_j
        ht_t = tanh(W_c [c_t; s_t])                  # the attentional hidden state
        p(y_t | y_<t, x) = softmax(W_o ht_t + b_o)

``score`` is :class:`seqlab.nn.attention.Attention`'s dot, general or additive; padded source
positions get a_tj = 0. Dropout (rate ``dropout``) is applied to the embeddings and to the
input of W_o (there at its own rate ``out_drop.p`` if the model sets one). Decoders without
a dependence of step t on step t-1's output besides the recurrence (fixed, context, luong
without input feeding) run the whole target in one recurrent call when teacher-forced; the
others loop over :meth:`step`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError
from seqlab.nn.attention import Attention
from seqlab.nn.factory import RECURRENT_CELLS, recurrent_stack

PAIR_CELLS = ("lstm", "layernorm_lstm")  # cells whose state is (h, c)
BRIDGES = ("linear", "sum", "zero")
DECODERS = ("fixed", "context", "attention")
STYLES = ("bahdanau", "luong")


def _select(state: Any, index: Tensor, dim: int = 1) -> Any:
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.index_select(dim, index)
    return tuple(s.index_select(dim, index) for s in state)


@dataclass
class Memory:
    """What the decoder reads of the source: outputs (B, S, Dk), mask (B, S) (True = real),
    projected keys for the attention score, the context vector c (B, Dk)."""

    outputs: Tensor
    mask: Tensor
    keys: Tensor | None
    context: Tensor

    def select(self, index: Tensor) -> Memory:
        return Memory(self.outputs.index_select(0, index), self.mask.index_select(0, index),
                      None if self.keys is None else self.keys.index_select(0, index),
                      self.context.index_select(0, index))


@dataclass
class DecoderState:
    """A decoder's state during generation: the recurrent state (L, B, Hd) (a pair for LSTM
    cells), the fed-back vector (``ht_t-1`` of input feeding) or None, and the memory."""

    rnn: Any
    feed: Tensor | None
    memory: Memory

    def select(self, index: Tensor, memory: bool = True) -> DecoderState:
        """Reorder/keep batch rows ``index`` (beams follow parents); ``memory=False`` keeps the
        memory as is (a reorder within each sentence's rows leaves it unchanged)."""
        return DecoderState(_select(self.rnn, index), _select(self.feed, index, 0),
                            self.memory.select(index) if memory else self.memory)


def reversal_index(lengths: Tensor, steps: int) -> Tensor:
    """(B, steps) positions reversing each row's first ``lengths[b]`` steps (pads stay put).

    Its own inverse: gathering with it twice gives the input back.

    >>> reversal_index(torch.tensor([3, 1]), 4).tolist()
    [[2, 1, 0, 3], [0, 1, 2, 3]]
    """
    t = torch.arange(steps, device=lengths.device).expand(len(lengths), steps)
    n = lengths.to(t.device).unsqueeze(1)
    return torch.where(t < n, n - 1 - t, t)


class Encoder(nn.Module):
    """Embedding + a recurrent stack over variable-length sources (module docstring).

    ``forward(src (B, S), lengths (B,))`` returns ``(outputs (B, S, dirs * He), final)``; the
    final state is as the stack returns it (torch.nn's (L * dirs, B, He) layout).
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int,
                 num_layers: int = 1, cell: str = "gru", bidirectional: bool = False,
                 dropout: float = 0.0, backend: str = "auto",
                 reverse_source: bool = False) -> None:
        super().__init__()
        self.cell, self.num_layers, self.hidden_size = cell, num_layers, hidden_size
        self.reverse_source = reverse_source
        self.directions = 2 if bidirectional else 1
        self.output_size = hidden_size * self.directions
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.drop = nn.Dropout(dropout)
        self.rnn = recurrent_stack(cell, embedding_dim, hidden_size, num_layers,
                                   bidirectional=bidirectional, dropout=dropout, backend=backend)

    def forward(self, src: Tensor, lengths: Tensor) -> tuple[Tensor, Any]:
        if not self.reverse_source:
            return self.rnn(self.drop(self.embedding(src)), lengths=lengths)
        order = reversal_index(lengths, src.shape[1])
        outputs, final = self.rnn(self.drop(self.embedding(src.gather(1, order))),
                                  lengths=lengths)
        back = order.unsqueeze(-1).expand(-1, -1, outputs.shape[-1])
        return outputs.gather(1, back), final

    def layers(self, final: Any) -> tuple[Tensor, Tensor | None]:
        """Final states as (L, B, dirs * He): h, and c (or None) for LSTM cells."""
        h, c = final if self.cell in PAIR_CELLS else (final, None)

        def join(s: Tensor) -> Tensor:
            L, D = self.num_layers, self.directions
            return s.view(L, D, *s.shape[1:]).permute(0, 2, 1, 3).reshape(L, s.shape[1], -1)

        return join(h), None if c is None else join(c)


class Bridge(nn.Module):
    """Encoder final states -> decoder initial state (``linear``, ``sum`` or ``zero``)."""

    def __init__(self, mode: str, encoder: Encoder, cell: str, num_layers: int,
                 hidden_size: int) -> None:
        super().__init__()
        if mode not in BRIDGES:
            raise ConfigError(f"model.bridge must be one of {BRIDGES}, got {mode!r}")
        if mode == "sum" and encoder.hidden_size != hidden_size:
            raise ConfigError(f"model.bridge='sum' needs encoder_hidden_size == hidden_size, got "
                              f"{encoder.hidden_size} and {hidden_size}: use bridge='linear'")
        self.mode, self.cell, self.num_layers = mode, cell, num_layers
        self.enc_layers, self.dirs = encoder.num_layers, encoder.directions
        self.pair = cell in PAIR_CELLS
        self.from_c = self.pair and encoder.cell in PAIR_CELLS
        if mode == "linear":
            self.h = nn.Linear(encoder.output_size, hidden_size)
            if self.from_c:
                self.c = nn.Linear(encoder.output_size, hidden_size)
        self.hidden_size = hidden_size

    def _map(self, s: Tensor, proj: nn.Linear | None) -> Tensor:
        if self.enc_layers != self.num_layers:
            s = s[-1:].expand(self.num_layers, *s.shape[1:])
        if self.mode == "sum":
            return s.view(*s.shape[:2], self.dirs, -1).sum(2)
        return torch.tanh(proj(s))

    def forward(self, h: Tensor, c: Tensor | None) -> Any:
        B = h.shape[1]
        zeros = h.new_zeros(self.num_layers, B, self.hidden_size)
        if self.mode == "zero":
            return (zeros, zeros.clone()) if self.pair else zeros
        h0 = self._map(h, getattr(self, "h", None))
        if not self.pair:
            return h0
        c0 = self._map(c, getattr(self, "c", None)) if self.from_c else zeros
        return h0, c0


class _Decoder(nn.Module):
    """Shared parts: embedding, recurrent stack, output layer; subclasses define the rest."""

    uses_attention = False

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, num_layers: int,
                 cell: str, rnn_input: int, out_input: int, dropout: float,
                 backend: str) -> None:
        super().__init__()
        self.cell, self.hidden_size, self.num_layers = cell, hidden_size, num_layers
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.drop = nn.Dropout(dropout)
        self.out_drop = nn.Dropout(dropout)  # before W_o; Seq2Seq sets its own rate if asked
        self.rnn = recurrent_stack(cell, rnn_input, hidden_size, num_layers, dropout=dropout,
                                   backend=backend)
        self.out = nn.Linear(out_input, vocab_size)

    def top(self, rnn_state: Any) -> Tensor:
        """s_t: the top layer's h (B, Hd)."""
        h = rnn_state[0] if self.cell in PAIR_CELLS else rnn_state
        return h[-1]

    def start(self, rnn_state: Any, memory: Memory) -> DecoderState:
        return DecoderState(rnn_state, None, memory)

    def step(self, token: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState,
                                                                Tensor | None]:
        """``token`` y_t-1 (B,) -> (logits (B, V) of y_t, new state, attention (B, S) or None)."""
        raise NotImplementedError

    def forward(self, inputs: Tensor, state: DecoderState) -> tuple[Tensor, Tensor | None]:
        """Teacher forcing over ``inputs`` y_0..y_T-1 (B, T) -> logits (B, T, V), attention
        (B, T, S) or None. Default: the loop over :meth:`step`."""
        logits, weights = [], []
        for t in range(inputs.shape[1]):
            out, state, a = self.step(inputs[:, t], state)
            logits.append(out)
            weights.append(a)
        att = torch.stack(weights, 1) if weights and weights[0] is not None else None
        return torch.stack(logits, 1), att


class FixedContextDecoder(_Decoder):
    """Sutskever et al. (2014): the context is the initial state only (module docstring)."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, num_layers: int,
                 cell: str, context_size: int, dropout: float = 0.0,
                 backend: str = "auto") -> None:
        super().__init__(vocab_size, embedding_dim, hidden_size, num_layers, cell,
                         embedding_dim, hidden_size, dropout, backend)

    def step(self, token, state):
        out, rnn = self.rnn.step(self.drop(self.embedding(token)), state.rnn)
        return self.out(self.out_drop(out)), replace(state, rnn=rnn), None

    def forward(self, inputs, state):
        out, _ = self.rnn(self.drop(self.embedding(inputs)), state.rnn)
        return self.out(self.out_drop(out)), None


class ContextDecoder(_Decoder):
    """Cho et al. (2014): the context enters every step and the output (module docstring)."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, num_layers: int,
                 cell: str, context_size: int, dropout: float = 0.0,
                 backend: str = "auto") -> None:
        super().__init__(vocab_size, embedding_dim, hidden_size, num_layers, cell,
                         embedding_dim + context_size,
                         hidden_size + embedding_dim + context_size, dropout, backend)

    def step(self, token, state):
        e, c = self.drop(self.embedding(token)), state.memory.context
        out, rnn = self.rnn.step(torch.cat([e, c], -1), state.rnn)
        logits = self.out(self.out_drop(torch.cat([out, e, c], -1)))
        return logits, replace(state, rnn=rnn), None

    def forward(self, inputs, state):
        e = self.drop(self.embedding(inputs))
        c = state.memory.context[:, None, :].expand(-1, inputs.shape[1], -1)
        out, _ = self.rnn(torch.cat([e, c], -1), state.rnn)
        return self.out(self.out_drop(torch.cat([out, e, c], -1))), None


class AttentionDecoder(_Decoder):
    """Bahdanau (``style="bahdanau"``) or Luong (``"luong"``, optional input feeding)
    attention decoder over the encoder outputs (module docstring)."""

    uses_attention = True

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, num_layers: int,
                 cell: str, context_size: int, dropout: float = 0.0, backend: str = "auto",
                 score: str = "additive", style: str = "bahdanau",
                 input_feeding: bool = False, attention_size: int | None = None) -> None:
        if style not in STYLES:
            raise ConfigError(f"model.attention_style must be one of {STYLES}, got {style!r}")
        if input_feeding and style != "luong":
            raise ConfigError("model.input_feeding is Luong's: it needs attention_style='luong'")
        if style == "bahdanau":
            rnn_in = embedding_dim + context_size
            out_in = hidden_size + context_size + embedding_dim
        else:
            rnn_in = embedding_dim + (hidden_size if input_feeding else 0)
            out_in = hidden_size
        super().__init__(vocab_size, embedding_dim, hidden_size, num_layers, cell, rnn_in,
                         out_in, dropout, backend)
        self.style, self.input_feeding = style, input_feeding
        self.attention = Attention(hidden_size, context_size, score=score,
                                   hidden_size=attention_size if score == "additive" else None)
        if style == "luong":
            self.combine = nn.Linear(context_size + hidden_size, hidden_size, bias=False)

    def start(self, rnn_state, memory):
        memory = replace(memory, keys=self.attention.project_keys(memory.outputs))
        feed = None
        if self.input_feeding:
            feed = memory.outputs.new_zeros(memory.outputs.shape[0], self.hidden_size)
        return DecoderState(rnn_state, feed, memory)

    def _attend(self, query: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
        return self.attention(query, memory.outputs, memory.mask, projected_keys=memory.keys)

    def _features(self, token: Tensor, state: DecoderState
                  ) -> tuple[Tensor, DecoderState, Tensor]:
        """One step up to the input of W_o: ([s_t; c_t; e] or ht_t, new state, a_t)."""
        e, m = self.drop(self.embedding(token)), state.memory
        if self.style == "bahdanau":
            c, a = self._attend(self.top(state.rnn), m)
            out, rnn = self.rnn.step(torch.cat([e, c], -1), state.rnn)
            return torch.cat([out, c, e], -1), replace(state, rnn=rnn), a
        x = torch.cat([e, state.feed], -1) if self.input_feeding else e
        out, rnn = self.rnn.step(x, state.rnn)
        c, a = self._attend(out, m)
        ht = torch.tanh(self.combine(torch.cat([c, out], -1)))
        return ht, DecoderState(rnn, ht if self.input_feeding else None, m), a

    def step(self, token, state):
        features, state, a = self._features(token, state)
        return self.out(self.out_drop(features)), state, a

    def forward(self, inputs, state):
        if self.style == "bahdanau" or self.input_feeding:
            # the recurrence runs step by step; W_o (the largest product) once for all steps
            features, weights = [], []
            for t in range(inputs.shape[1]):
                f, state, a = self._features(inputs[:, t], state)
                features.append(f)
                weights.append(a)
            return self.out(self.out_drop(torch.stack(features, 1))), torch.stack(weights, 1)
        out, _ = self.rnn(self.drop(self.embedding(inputs)), state.rnn)  # (B, T, Hd)
        c, a = self._attend(out, state.memory)  # (B, T, Dk), (B, T, S)
        ht = torch.tanh(self.combine(torch.cat([c, out], -1)))
        return self.out(self.out_drop(ht)), a


DECODER_CLASSES = {"fixed": FixedContextDecoder, "context": ContextDecoder,
                   "attention": AttentionDecoder}

assert set(PAIR_CELLS) <= set(RECURRENT_CELLS)
