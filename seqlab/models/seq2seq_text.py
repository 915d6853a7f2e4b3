"""Translation figures with sacrebleu, as sums that add up over batches and processes.

Corpus BLEU and chrF are not means of sentence scores: they are functions of statistics summed
over the corpus (BLEU: n-gram matches and totals for n = 1..4, hypothesis and reference
lengths; chrF: character and word n-gram matches). Each batch adds its statistics to the
split's totals (:func:`stat_sums`) and :func:`scores` computes the figures once from them, so
the result equals ``sacrebleu.corpus_bleu`` / ``corpus_chrf`` over the whole split.

- ``bleu``: sacrebleu's default BLEU (13a tokenisation, cased) on detokenised output, as the
  field reports it.
- ``chrf``: sacrebleu's chrF (character 6-grams, beta 2).
- ``tok_bleu``: BLEU of lower-cased tokens (seqlab's ``word`` tokenizer on both sides, no
  further tokenisation), comparable with the tutorial figures computed on lower-cased spaCy
  tokens.

Example:
    >>> hyps, refs = ["A man is riding a bike ."], ["A man rides a bike ."]
    >>> totals = stat_sums(hyps, refs)
    >>> round(scores(totals)["bleu"], 4) == round(corpus_bleu(hyps, refs), 4)
    True
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from seqlab.errors import DataError

_NO_SPACE_BEFORE = re.compile(r" ([.,!?;:%)\]}]|'s\b|n't\b|'re\b|'ll\b|'m\b|'ve\b|'d\b)")
_NO_SPACE_AFTER = re.compile(r"([(\[{]) ")
BLEU_STATS, CHRF_STATS = 10, 18


def detokenize_words(tokens: Sequence[str]) -> str:
    """Join ``word``-tokenizer tokens into text: no space before ``. , ! ? ; : % ) ] }`` and
    English clitics, none after ``( [ {``.

    >>> detokenize_words(["a", "dog", "(", "black", ")", "runs", "."])
    'a dog (black) runs.'
    """
    text = " ".join(tokens)
    text = _NO_SPACE_BEFORE.sub(r"\1", text)
    return _NO_SPACE_AFTER.sub(r"\1", text)


def _metrics():
    from sacrebleu.metrics import BLEU, CHRF

    # force: the lower-cased token strings end in " ." on purpose (no "detokenize" warning)
    return BLEU(), CHRF(), BLEU(tokenize="none", force=True)


def _lower_tokens(text: str) -> str:
    from seqlab.text.tokenize import WordTokenizer

    return " ".join(WordTokenizer(lowercase=True).tokenize(text))


def stat_sums(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    """The summed BLEU, chrF and tokenised lower-case BLEU statistics of the pairs."""
    if len(hyps) != len(refs):
        raise DataError(f"{len(hyps)} hypotheses for {len(refs)} references")
    sums: dict[str, float] = {}
    if not hyps:
        return sums
    bleu, chrf, tok = _metrics()
    low_h, low_r = [_lower_tokens(h) for h in hyps], [_lower_tokens(r) for r in refs]
    for prefix, metric, h, r, n in (("bleu", bleu, hyps, refs, BLEU_STATS),
                                    ("chrf", chrf, hyps, refs, CHRF_STATS),
                                    ("tbleu", tok, low_h, low_r, BLEU_STATS)):
        stats = metric._extract_corpus_statistics(list(h), [list(r)])
        for i in range(n):
            sums[f"{prefix}_{i}"] = float(sum(s[i] for s in stats))
    return sums


def scores(totals: Mapping[str, float]) -> dict[str, float]:
    """``bleu``, ``chrf`` and ``tok_bleu`` from summed statistics (NaN where absent)."""
    out = {"bleu": float("nan"), "chrf": float("nan"), "tok_bleu": float("nan")}
    if "bleu_0" not in totals:
        return out
    bleu, chrf, tok = _metrics()
    for name, prefix, metric, n in (("bleu", "bleu", bleu, BLEU_STATS),
                                    ("chrf", "chrf", chrf, CHRF_STATS),
                                    ("tok_bleu", "tbleu", tok, BLEU_STATS)):
        stats = [int(round(totals[f"{prefix}_{i}"])) for i in range(n)]
        out[name] = float(metric._compute_score_from_stats(stats).score)
    return out


def corpus_bleu(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """sacrebleu's corpus BLEU of detokenised hypotheses against one reference each."""
    import sacrebleu

    return float(sacrebleu.corpus_bleu(list(hyps), [list(refs)]).score)


def corpus_chrf(hyps: Sequence[str], refs: Sequence[str]) -> float:
    import sacrebleu

    return float(sacrebleu.corpus_chrf(list(hyps), [list(refs)]).score)


def tokenized_bleu(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """BLEU of lower-cased word tokens (the tutorial figures' kind)."""
    import sacrebleu

    return float(sacrebleu.corpus_bleu([_lower_tokens(h) for h in hyps],
                                       [[_lower_tokens(r) for r in refs]],
                                       tokenize="none", force=True).score)
