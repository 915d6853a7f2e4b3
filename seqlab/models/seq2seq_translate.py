"""Translate raw text with a trained :class:`~seqlab.models.seq2seq.Seq2Seq`, in batches.

``translate(model, sentences)`` tokenizes with the checkpoint's own tokenizer and source
vocabulary, sorts by length (little padding), decodes each batch with batched greedy or beam
search, and returns, in the input order, the ``n_best`` :class:`Translation` of each sentence:
detokenised text, score, and the attention matrix over the source tokens.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from seqlab.errors import DataError
from seqlab.models.seq2seq_search import check_search
from seqlab.models.seq2seq_task import collate


@dataclass
class Translation:
    """One hypothesis: ``text``, normalised ``score``, ``log_prob``, the output ``tokens``
    (strings, ``<eos>`` dropped), the source tokens, and ``attention`` (len(tokens), S)."""

    text: str
    score: float
    log_prob: float
    tokens: list[str]
    source_tokens: list[str]
    attention: torch.Tensor | None


def translate(model, sentences: Sequence[str], *, beam_size: int = 5, n_best: int = 1,
              batch_size: int = 64, **search) -> list[list[Translation]]:
    """The ``n_best`` translations of each sentence (module docstring).

    An empty (or all-blank) sentence gets one empty translation, so outputs stay aligned
    with the inputs.

    Raises:
        DataError: a sentence longer than the model's ``max_source_length`` (named by its
            number, never truncated silently).
    """
    check_search(beam_size, n_best)
    codec = model.text
    if codec is None:
        raise DataError("the model has no tokenizer/vocabulary assets (train it with seqlab "
                        "train seq2seq)")
    items, limit, empty = [], model.config.max_source_length, []
    for i, s in enumerate(sentences):
        ids = codec.encode_src(s.strip()) if s.strip() else []
        if not ids:
            empty.append(i)
        elif len(ids) > limit:
            raise DataError(f"sentence {i + 1} has {len(ids)} tokens, more than the model's "
                            f"max_source_length={limit}; split it")
        items.append((ids, [2, 3], ""))
    out: list[list[Translation]] = [[] for _ in items]
    for i in empty:
        out[i].append(Translation("", 0.0, 0.0, [], [], None))
    order = sorted((i for i in range(len(items)) if items[i][0]), key=lambda i: len(items[i][0]))
    model.eval()
    device = next(model.parameters()).device
    for lo in range(0, len(order), batch_size):
        rows = order[lo:lo + batch_size]
        src, lengths, _, _ = collate([items[i] for i in rows], with_refs=False)
        hyps = model.translate_ids(src.to(device), lengths, beam_size=beam_size, n_best=n_best,
                                   **search)
        for i, hs in zip(rows, hyps):
            src_tokens = codec.src_vocab.decode(items[i][0])
            for h in hs:
                ids = [t for t in h.tokens if t != model.eos_id]
                out[i].append(Translation(model.ids_to_text(ids), h.score, h.log_prob,
                                          codec.tgt_vocab.decode(h.tokens), src_tokens,
                                          h.attention))
    return out


def plot_attention(translation: Translation, path: str | os.PathLike) -> None:
    """Save the attention matrix of one translation as a heatmap PNG (atomic write)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if translation.attention is None:
        raise DataError("this model's decoder has no attention (decoder fixed or context): "
                        "nothing to plot")
    att = translation.attention.float().numpy()
    fig, ax = plt.subplots(figsize=(1 + 0.4 * att.shape[1], 1 + 0.4 * att.shape[0]))
    ax.imshow(att, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(att.shape[1]), translation.source_tokens, rotation=90)
    ax.set_yticks(range(att.shape[0]), translation.tokens)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    fig.tight_layout()
    path = str(path)
    tmp = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
